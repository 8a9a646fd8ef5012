//! OS accounts: who a process runs as.
//!
//! Shared by the supervisor (privilege drop per service, `user = "..."` in config.toml) and
//! `wms pg-init` (the PostgreSQL server's account owns its directories). Owns the passwd and
//! group lookups and the [`Credentials`] they produce; it changes nothing on the system.

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
    let found = match name.parse::<u32>() {
        Ok(uid) => nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)),
        Err(_) => nix::unistd::User::from_name(name),
    }
    .map_err(|e| e.to_string())?;
    match (found, name.parse::<u32>()) {
        (Some(u), _) => {
            let groups = supplementary_groups(&u.name, u.gid.as_raw());
            Ok(Some(Credentials {
                name: u.name,
                uid: u.uid.as_raw(),
                gid: u.gid.as_raw(),
                groups,
                home: u.dir,
            }))
        }
        (None, Ok(uid)) => Ok(Some(Credentials {
            name: name.to_owned(),
            uid,
            gid: uid,
            groups: Vec::new(),
            home: PathBuf::from("/"),
        })),
        (None, Err(_)) => Ok(None),
    }
}

/// Resolves a group name or numeric gid.
pub fn lookup_group(name: &str) -> Result<Option<u32>, String> {
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(Some(gid));
    }
    nix::unistd::Group::from_name(name)
        .map(|g| g.map(|g| g.gid.as_raw()))
        .map_err(|e| e.to_string())
}

/// The user's supplementary groups, as `initgroups` would set them.
fn supplementary_groups(user: &str, gid: u32) -> Vec<u32> {
    let Ok(cname) = std::ffi::CString::new(user) else {
        return Vec::new();
    };
    nix::unistd::getgrouplist(&cname, nix::unistd::Gid::from_raw(gid))
        .map(|gs| gs.into_iter().map(|g| g.as_raw()).collect())
        .unwrap_or_default()
}
