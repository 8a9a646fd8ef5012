//! What the runtime does for a service right before spawning it, with root's rights: create
//! its `directories` (owned by its account, mode 0700), read its `secret_env` files, and
//! build its environment (`environ.rs` decides what passes). Errors are one line naming the
//! path and the variable, reported as a failed start (the service backs off and retries:
//! a secret that `pg-init` generates appears a moment later).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::environ;
use super::plan::ServiceSpec;

/// Most bytes read from a secret file.
const SECRET_MAX: u64 = 64 * 1024;

/// Creates the service's directories and hands them to its account.
pub fn directories(spec: &ServiceSpec) -> Result<(), String> {
    for dir in &spec.directories {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create directory {}: {e}", dir.display()))?;
        if let Some(u) = &spec.user {
            std::os::unix::fs::chown(dir, Some(u.uid), Some(u.gid))
                .map_err(|e| format!("cannot chown {}: {e}", dir.display()))?;
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot chmod {}: {e}", dir.display()))?;
    }
    Ok(())
}

/// The service's whole environment, with its secrets read now; `NOTIFY_SOCKET` when it is
/// ready by notification.
pub fn environment(
    spec: &ServiceSpec,
    notify_socket: Option<&Path>,
) -> Result<Vec<(String, String)>, String> {
    let mut explicit = spec.env.clone();
    for secret in &spec.secret_env {
        if secret.is_optional && !secret.path.exists() {
            continue;
        }
        let value =
            read_secret(&secret.path).map_err(|e| format!("secret_env {}: {e}", secret.name))?;
        explicit.retain(|(k, _)| *k != secret.name);
        explicit.push((secret.name.clone(), value));
    }
    let account: Vec<(&str, String)> = match &spec.user {
        Some(u) => vec![
            ("HOME", u.home.display().to_string()),
            ("USER", u.name.clone()),
            ("LOGNAME", u.name.clone()),
        ],
        None => Vec::new(),
    };
    let mut env = environ::build(std::env::vars(), &spec.inherit_env, &account, &explicit);
    let is_notify = spec.ready.as_ref().is_some_and(|r| r.is_notify);
    if let (true, Some(path)) = (is_notify, notify_socket) {
        env.push(("NOTIFY_SOCKET".into(), path.display().to_string()));
    }
    Ok(env)
}

/// A secret file's first line (a trailing newline is not part of the secret).
fn read_secret(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut text = String::new();
    file.take(SECRET_MAX)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let secret = text.lines().next().unwrap_or("").to_owned();
    if secret.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(secret)
}
