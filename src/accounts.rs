//! OS accounts: who a process runs as.
//!
//! Shared by the supervisor (privilege drop per service, `user = "..."` in config.toml) and
//! `wms pg-init` (the PostgreSQL server's account owns its directories). Owns the passwd and
//! group lookups and the [`Credentials`] they produce; it changes nothing on the system.
//!
//! Lookups read `/etc/passwd` and `/etc/group` first and ask the C library's NSS only for
//! names and ids those files do not have (directory services). NSS loads a shared library
//! per source (`libnss_systemd` on a systemd host: 320 KiB of private memory in the
//! supervisor, which would keep it for its whole life), and the service accounts of a
//! container or a host install are local ones. A local user's supplementary groups are
//! those `/etc/group` lists it in.

use std::path::PathBuf;

/// A resolved user to drop privileges to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The user's name (or the number as written, when it has no passwd entry).
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// Home directory, exported as `HOME`.
    pub home: PathBuf,
}

/// Resolves a user name or numeric uid. A bare number without a passwd entry is accepted,
/// as in `docker run --user 1234` (its group is the same number). `Err` carries the lookup
/// failure's text; `Ok(None)` means no such user.
pub fn lookup_user(name: &str) -> Result<Option<Credentials>, String> {
    let want = match name.parse::<u32>() {
        Ok(uid) => Want::Id(uid),
        Err(_) => Want::Name(name),
    };
    let found = match read_local(PASSWD).and_then(|text| find_user(&text, want)) {
        Some(local) => {
            let groups = read_local(GROUP)
                .map(|text| member_groups(&text, &local.name, local.gid))
                .unwrap_or_else(|| vec![local.gid]);
            Some(Credentials { groups, ..local })
        }
        None => nss_user(want)?,
    };
    Ok(match (found, want) {
        (Some(c), _) => Some(c),
        (None, Want::Id(uid)) => Some(Credentials {
            name: name.to_owned(),
            uid,
            gid: uid,
            groups: Vec::new(),
            home: PathBuf::from("/"),
        }),
        (None, Want::Name(_)) => None,
    })
}

/// Resolves a group name or numeric gid.
pub fn lookup_group(name: &str) -> Result<Option<u32>, String> {
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(Some(gid));
    }
    if let Some(gid) = read_local(GROUP).and_then(|text| find_group(&text, name)) {
        return Ok(Some(gid));
    }
    nix::unistd::Group::from_name(name)
        .map(|g| g.map(|g| g.gid.as_raw()))
        .map_err(|e| e.to_string())
}

const PASSWD: &str = "/etc/passwd";
const GROUP: &str = "/etc/group";

/// A user asked for by name or by id.
#[derive(Clone, Copy)]
enum Want<'a> {
    Name(&'a str),
    Id(u32),
}

/// The file's text, or `None` when it cannot be read (NSS decides then).
fn read_local(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// The passwd line (`name:x:uid:gid:gecos:home:shell`) of the user, if any; malformed
/// lines are skipped. `groups` holds the primary group only.
fn find_user(passwd: &str, want: Want<'_>) -> Option<Credentials> {
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        let [name, _, uid, gid, _, home, ..] = f.as_slice() else {
            return None;
        };
        let (uid, gid) = (uid.parse().ok()?, gid.parse().ok()?);
        let is_it = match want {
            Want::Name(n) => *name == n,
            Want::Id(id) => uid == id,
        };
        is_it.then(|| Credentials {
            name: (*name).to_owned(),
            uid,
            gid,
            groups: vec![gid],
            home: PathBuf::from(home),
        })
    })
}

/// The gid of the group line (`name:x:gid:members`) named `name`.
fn find_group(group: &str, name: &str) -> Option<u32> {
    group.lines().find_map(|line| {
        let mut f = line.split(':');
        (f.next()? == name).then_some(())?;
        f.nth(1)?.parse().ok()
    })
}

/// `primary`, then every group whose member list names `user`, as `initgroups` would set
/// them from the files.
fn member_groups(group: &str, user: &str, primary: u32) -> Vec<u32> {
    let mut gids = vec![primary];
    for line in group.lines() {
        let f: Vec<&str> = line.split(':').collect();
        let [_, _, gid, members, ..] = f.as_slice() else {
            continue;
        };
        let Ok(gid) = gid.parse::<u32>() else {
            continue;
        };
        if members.split(',').any(|m| m.trim() == user) && !gids.contains(&gid) {
            gids.push(gid);
        }
    }
    gids
}

/// The C library's lookup (every NSS source), for accounts the files do not have.
fn nss_user(want: Want<'_>) -> Result<Option<Credentials>, String> {
    let found = match want {
        Want::Id(uid) => nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)),
        Want::Name(name) => nix::unistd::User::from_name(name),
    }
    .map_err(|e| e.to_string())?;
    Ok(found.map(|u| {
        let groups = supplementary_groups(&u.name, u.gid.as_raw());
        Credentials {
            name: u.name,
            uid: u.uid.as_raw(),
            gid: u.gid.as_raw(),
            groups,
            home: u.dir,
        }
    }))
}

/// The user's supplementary groups, as `initgroups` would set them (every NSS source).
fn supplementary_groups(user: &str, gid: u32) -> Vec<u32> {
    let Ok(cname) = std::ffi::CString::new(user) else {
        return Vec::new();
    };
    nix::unistd::getgrouplist(&cname, nix::unistd::Gid::from_raw(gid))
        .map(|gs| gs.into_iter().map(|g| g.as_raw()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD_TEXT: &str = "root:x:0:0:root:/root:/bin/bash\n\
        broken line\n\
        postgres:x:102:105:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n\
        wms:x:999:999::/var/lib/wms:/usr/sbin/nologin\n";
    const GROUP_TEXT: &str = "root:x:0:\n\
        ssl-cert:x:104:postgres\n\
        postgres:x:105:\n\
        wms:x:999:\n\
        staff:x:50:alice, wms\n\
        bad:x:notanumber:wms\n";

    #[test]
    fn users_by_name_and_by_id() {
        let pg = find_user(PASSWD_TEXT, Want::Name("postgres")).unwrap();
        assert_eq!((pg.uid, pg.gid), (102, 105));
        assert_eq!(pg.home, PathBuf::from("/var/lib/postgresql"));
        let wms = find_user(PASSWD_TEXT, Want::Id(999)).unwrap();
        assert_eq!(wms.name, "wms");
        assert!(find_user(PASSWD_TEXT, Want::Name("nobody")).is_none());
        assert!(find_user(PASSWD_TEXT, Want::Name("broken line")).is_none());
    }

    #[test]
    fn groups_and_memberships() {
        assert_eq!(find_group(GROUP_TEXT, "postgres"), Some(105));
        assert_eq!(find_group(GROUP_TEXT, "missing"), None);
        assert_eq!(find_group(GROUP_TEXT, "bad"), None);
        assert_eq!(member_groups(GROUP_TEXT, "postgres", 105), [105, 104]);
        assert_eq!(member_groups(GROUP_TEXT, "wms", 999), [999, 50]);
        assert_eq!(member_groups(GROUP_TEXT, "root", 0), [0]);
    }

    #[test]
    fn the_files_agree_with_the_c_library_for_local_accounts() {
        // root is in /etc/passwd on every machine this runs on.
        let files = find_user(&read_local(PASSWD).unwrap(), Want::Id(0)).unwrap();
        let nss = nss_user(Want::Id(0)).unwrap().unwrap();
        assert_eq!(
            (files.name, files.uid, files.gid, files.home),
            (nss.name, nss.uid, nss.gid, nss.home)
        );
    }
}
