//! `wms pg-init`: make PostgreSQL ready to start, idempotently. Runs at every boot.
//!
//! 1. The socket directory is created with the right owner (it lives on a tmpfs in
//!    containers, so it is gone after every restart).
//! 2. The data directory is inspected (`datadir.rs`). An existing cluster of the right
//!    version and owner is used as is; anything wrong stops here with a message that says
//!    what and how to fix it. Nothing is ever deleted.
//! 3. On first boot only: `initdb` (UTF8, `C.UTF-8` unless a locale is given, superuser and
//!    password). A marker in PGDATA notes an unfinished first boot.
//! 4. Every boot: `pg_hba.conf` / `pg_ident.conf` say who may connect (`access.rs`: `peer`
//!    for the server's OS account as the superuser, `scram-sha-256` for everyone else; no
//!    `trust`).
//! 5. When the application role's password file is missing (first boot, or a volume made
//!    by an earlier version): a temporary server on a private socket creates the role, the
//!    database it owns (first boot) and runs the init scripts, hands every object of the
//!    `public` schema to the role, and is stopped again; then the password file is written.

use crate::exit::{Failure, Outcome};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use rand::RngCore;
use tracing::{info, warn};

use super::access::{self, HbaAction};
use super::binaries::{BinError, PgBin};
use super::datadir::{self, INIT_PENDING, Verdict};
use super::settings::{PasswordSource, Settings, SettingsError};
use crate::accounts::{self, Credentials};

/// Where a generated superuser password is kept, inside PGDATA.
pub const GENERATED_PASSWORD_FILE: &str = "wms-postgres-password";
/// Where the application role's password is kept, inside PGDATA (written after the role is
/// set up; its absence means the setup is still to be done).
pub const APP_PASSWORD_FILE: &str = "wms-app-password";
/// How long the temporary first-boot server may take to start or stop.
const SERVER_DEADLINE: Duration = Duration::from_secs(120);

/// Why `pg-init` failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A setting is unusable.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// No server binaries.
    #[error(transparent)]
    Binaries(#[from] BinError),
    /// The OS account does not exist.
    #[error("PG_OS_USER: unknown user {0:?}")]
    UnknownAccount(String),
    /// The data directory cannot be used.
    #[error("{0}")]
    Refused(String),
    /// A file system operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On what.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// `initdb` failed.
    #[error("initdb failed ({status}):\n{output}")]
    Initdb {
        /// Its exit status.
        status: String,
        /// What it printed.
        output: String,
    },
    /// The temporary server failed.
    #[error("the temporary first-boot server {0}")]
    Server(String),
    /// SQL during first boot failed.
    #[error("{what}: {message}")]
    Sql {
        /// What was running (statement or init script).
        what: String,
        /// The server's message.
        message: String,
    },
    /// An init shell script failed.
    #[error("init script {path} failed: {status}")]
    Script {
        /// The script.
        path: PathBuf,
        /// Its exit status or spawn error.
        status: String,
    },
}

fn io_err(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> InitError + use<> {
    let path = path.to_owned();
    move |source| InitError::Io { what, path, source }
}

/// `wms pg-init`.
pub fn run() -> Outcome {
    prepare().map_err(|e| Failure::failed(format!("pg-init: {e}")))
}

fn prepare() -> Result<(), InitError> {
    let settings = Settings::from_env()?;
    let bin = PgBin::detect()?;
    let major = bin.major()?;
    let account = match &settings.os_user {
        Some(name) => Some(
            accounts::lookup_user(name)
                .ok()
                .flatten()
                .ok_or_else(|| InitError::UnknownAccount(name.clone()))?,
        ),
        None => None,
    };
    let account = account.as_ref();
    make_socket_dir(&settings.socket_dir, account)?;

    let pgdata = &settings.pgdata;
    let found = datadir::inspect(pgdata).map_err(io_err("cannot inspect PGDATA", pgdata))?;
    let is_first_boot = match datadir::verdict(&found, pgdata, major, account.map(|a| a.uid)) {
        Verdict::Refuse(message) => return Err(InitError::Refused(message)),
        Verdict::Use { fix_mode } => {
            if fix_mode {
                warn!(
                    "PGDATA {} was group/world accessible; setting mode 0700",
                    pgdata.display()
                );
                std::fs::set_permissions(pgdata, std::fs::Permissions::from_mode(0o700))
                    .map_err(io_err("cannot chmod", pgdata))?;
            }
            info!(
                "using the existing PostgreSQL {major} cluster in {}",
                pgdata.display()
            );
            false
        }
        Verdict::Initialize => {
            initdb(&settings, &bin, account)?;
            true
        }
    };
    write_access_files(&settings, account, is_first_boot)?;
    if is_first_boot || !pgdata.join(APP_PASSWORD_FILE).exists() {
        if !is_first_boot {
            info!(
                "this volume has no application role yet (made by an earlier version): creating {:?} and handing it the database",
                settings.app_user
            );
        }
        set_up_roles(&settings, &bin, account, is_first_boot)?;
    }
    Ok(())
}

/// `pg_hba.conf` and `pg_ident.conf` (see `access.rs` for who may connect).
/// On first boot initdb's own file is always replaced.
fn write_access_files(
    s: &Settings,
    account: Option<&Credentials>,
    is_first_boot: bool,
) -> Result<(), InitError> {
    let hba_path = s.pgdata.join("pg_hba.conf");
    let existing = match std::fs::read_to_string(&hba_path) {
        _ if is_first_boot => None,
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err("cannot read", &hba_path)(e)),
    };
    match access::hba_action(existing.as_deref(), s.is_hba_kept) {
        HbaAction::Keep => {
            info!(
                "{} is not managed by wms (WMS_PG_HBA=keep, or no marker line): left as it is",
                hba_path.display()
            );
            return Ok(());
        }
        HbaAction::Upgrade => warn!(
            "{} trusted local connections (an earlier version's default): replacing it with peer for the server's account and scram-sha-256 for everyone else",
            hba_path.display()
        ),
        HbaAction::Write => {}
    }
    let os_account = match account {
        Some(a) => a.name.clone(),
        None => nix::unistd::User::from_uid(nix::unistd::getuid())
            .ok()
            .flatten()
            .map_or_else(|| nix::unistd::getuid().to_string(), |u| u.name),
    };
    replace_private(&hba_path, &access::hba(&s.superuser), account)?;
    replace_private(
        &s.pgdata.join("pg_ident.conf"),
        &access::ident(&os_account, &s.superuser),
        account,
    )
}

/// Creates the socket directory: owner = the server's account, mode 2775 (as Debian does).
fn make_socket_dir(dir: &Path, account: Option<&Credentials>) -> Result<(), InitError> {
    std::fs::create_dir_all(dir).map_err(io_err("cannot create the socket directory", dir))?;
    chown(dir, account)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o2775))
        .map_err(io_err("cannot chmod the socket directory", dir))
}

fn chown(path: &Path, account: Option<&Credentials>) -> Result<(), InitError> {
    match account {
        Some(a) => std::os::unix::fs::chown(path, Some(a.uid), Some(a.gid))
            .map_err(io_err("cannot chown", path)),
        None => Ok(()),
    }
}

/// A command run as the server's account.
fn as_account(program: PathBuf, account: Option<&Credentials>) -> Command {
    let mut cmd = Command::new(program);
    if let Some(a) = account {
        cmd.uid(a.uid)
            .gid(a.gid)
            .env("HOME", &a.home)
            .env("USER", &a.name);
    }
    cmd
}

/// Creates a new file (mode 0600) only `account` can read.
fn write_private(
    path: &Path,
    contents: &str,
    account: Option<&Credentials>,
) -> Result<(), InitError> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(contents.as_bytes()))
        .map_err(io_err("cannot write", path))?;
    chown(path, account)
}

/// Writes a file (mode 0600) only `account` can read, replacing any old one atomically.
fn replace_private(
    path: &Path,
    contents: &str,
    account: Option<&Credentials>,
) -> Result<(), InitError> {
    let tmp = path.with_extension("wms-tmp");
    let _ = std::fs::remove_file(&tmp);
    write_private(&tmp, contents, account)?;
    std::fs::rename(&tmp, path).map_err(io_err("cannot replace", path))
}

/// A private file that is removed on drop.
struct SecretFile(PathBuf);

impl SecretFile {
    fn create(
        path: PathBuf,
        contents: &str,
        account: Option<&Credentials>,
    ) -> Result<Self, InitError> {
        let file = SecretFile(path);
        write_private(&file.0, contents, account)?;
        Ok(file)
    }
}

impl Drop for SecretFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A fresh name in the temp directory (pids repeat across PID namespaces, so add randomness).
fn temp_path(prefix: &str) -> PathBuf {
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::env::temp_dir().join(format!("{prefix}-{suffix}"))
}

fn generate_password() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

fn initdb(s: &Settings, bin: &PgBin, account: Option<&Credentials>) -> Result<(), InitError> {
    let pgdata = &s.pgdata;
    info!(
        "first boot: creating a PostgreSQL cluster in {}",
        pgdata.display()
    );
    std::fs::create_dir_all(pgdata).map_err(io_err("cannot create PGDATA", pgdata))?;
    chown(pgdata, account)?;
    std::fs::set_permissions(pgdata, std::fs::Permissions::from_mode(0o700))
        .map_err(io_err("cannot chmod PGDATA", pgdata))?;

    let (password, generated) = resolve_password(&s.password, "POSTGRES_PASSWORD_FILE")?;
    let pwfile = SecretFile::create(temp_path("wms-pg-init-pw"), &password, account)?;

    let mut args: Vec<String> = vec![
        "-D".into(),
        pgdata.display().to_string(),
        "-U".into(),
        s.superuser.clone(),
        format!("--pwfile={}", pwfile.0.display()),
        "--encoding=UTF8".into(),
        // Replaced by pg-init's own pg_hba.conf right after; never `trust`, even briefly.
        "--auth-local=peer".into(),
        "--auth-host=scram-sha-256".into(),
    ];
    if !s
        .initdb_args
        .iter()
        .any(|a| a.starts_with("--locale") || a.starts_with("--lc-"))
    {
        args.push("--locale=C.UTF-8".into());
    }
    args.extend(s.initdb_args.iter().cloned());
    let out = as_account(bin.path("initdb"), account)
        .args(&args)
        .output()
        .map_err(io_err("cannot run", &bin.path("initdb")))?;
    drop(pwfile);
    if !out.status.success() {
        let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
        output.push_str(&String::from_utf8_lossy(&out.stderr));
        return Err(InitError::Initdb {
            status: out.status.to_string(),
            output,
        });
    }
    write_private(
        &pgdata.join(INIT_PENDING),
        "first boot in progress\n",
        account,
    )?;
    if generated {
        let path = pgdata.join(GENERATED_PASSWORD_FILE);
        write_private(&path, &format!("{password}\n"), account)?;
        info!(
            "generated a password for database user {:?}; it is in {}",
            s.superuser,
            path.display()
        );
    }
    Ok(())
}

/// A password from its source: `(password, true if generated)`.
fn resolve_password(
    source: &PasswordSource,
    file_variable: &str,
) -> Result<(String, bool), InitError> {
    match source {
        PasswordSource::Given(p) => Ok((p.clone(), false)),
        PasswordSource::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| InitError::Io {
                what: "cannot read the password file",
                path: path.clone(),
                source: std::io::Error::new(e.kind(), format!("{file_variable}: {e}")),
            })?;
            Ok((text.trim_end_matches(['\n', '\r']).to_owned(), false))
        }
        PasswordSource::Generate => Ok((generate_password(), true)),
    }
}

/// With a temporary server on a private socket: the application role (password set), the
/// database it owns, on first boot the init scripts, then every object of `public` handed
/// to the role. Writes the role's password file last, and on first boot clears the marker.
fn set_up_roles(
    s: &Settings,
    bin: &PgBin,
    account: Option<&Credentials>,
    is_first_boot: bool,
) -> Result<(), InitError> {
    let (app_password, _) = resolve_password(&s.app_password, "WMS_DB_PASSWORD_FILE")?;
    let runtime =
        crate::rt::current_thread().map_err(|e| InitError::Server(format!("cannot start: {e}")))?;
    let sock = temp_path("wms-pg-init");
    std::fs::create_dir(&sock).map_err(io_err("cannot create", &sock))?;
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o700))
        .map_err(io_err("cannot chmod", &sock))?;
    chown(&sock, account)?;
    // The temporary server trusts its private socket (a 0700 directory of the server's
    // account that only pg-init reaches), and nothing else: no TCP.
    let hba = sock.join("pg_hba.conf");
    replace_private(&hba, "local all all trust\n", account)?;
    let mut server = TempServer::start(bin, s, &sock, &hba, account)?;
    let setup = runtime.block_on(setup_database(
        s,
        &sock,
        &mut server,
        account,
        &app_password,
        is_first_boot,
    ));
    // Dropping the runtime closes the clients' sockets (their connection tasks live there);
    // the server is stopped only then, so it terminates no client connection.
    drop(runtime);
    let stopped = server.stop();
    let _ = std::fs::remove_dir_all(&sock);
    setup?;
    stopped?;
    replace_private(
        &s.pgdata.join(APP_PASSWORD_FILE),
        &format!("{app_password}\n"),
        account,
    )?;
    if is_first_boot {
        let marker = s.pgdata.join(INIT_PENDING);
        std::fs::remove_file(&marker).map_err(io_err("cannot remove", &marker))?;
        info!(
            "first boot complete: database {:?} owned by the application role {:?}",
            s.database, s.app_user
        );
    } else {
        info!(
            "the application role {:?} owns database {:?}",
            s.app_user, s.database
        );
    }
    Ok(())
}

/// The first-boot server: private socket, no TCP.
struct TempServer {
    child: Child,
    /// `pg_ctl` and the data directory, to stop it as its own account.
    pg_ctl: PathBuf,
    pgdata: PathBuf,
    account: Option<Credentials>,
}

impl TempServer {
    fn start(
        bin: &PgBin,
        s: &Settings,
        sock: &Path,
        hba: &Path,
        account: Option<&Credentials>,
    ) -> Result<Self, InitError> {
        let child = as_account(bin.path("postgres"), account)
            .arg("-D")
            .arg(&s.pgdata)
            .args(["-c", "listen_addresses="])
            .arg("-c")
            .arg(format!("hba_file={}", hba.display()))
            .arg("-c")
            .arg(format!("unix_socket_directories={}", sock.display()))
            .arg("-c")
            .arg(format!("port={}", s.port))
            .spawn()
            .map_err(|e| InitError::Server(format!("cannot start: {e}")))?;
        Ok(TempServer {
            child,
            pg_ctl: bin.path("pg_ctl"),
            pgdata: s.pgdata.clone(),
            account: account.cloned(),
        })
    }

    fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        }
    }

    /// Fast shutdown, waiting for the exit. `pg_ctl` runs as the server's account, so
    /// pg-init needs no right to signal another account's processes (no CAP_KILL).
    fn stop(mut self) -> Result<(), InitError> {
        if self.exited().is_some() {
            return Ok(());
        }
        let asked = as_account(self.pg_ctl.clone(), self.account.as_ref())
            .args(["stop", "--no-wait", "-m", "fast", "-D"])
            .arg(&self.pgdata)
            .stdout(std::process::Stdio::null())
            .status();
        if !asked.is_ok_and(|s| s.success()) {
            // SAFETY: plain syscall on our own child (works when we may signal it).
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        }
        let deadline = Instant::now() + SERVER_DEADLINE;
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Err(InitError::Server("did not stop in time; killed".into()))
    }
}

async fn connect(
    s: &Settings,
    sock: &Path,
    dbname: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host_path(sock)
        .port(s.port)
        .user(&s.superuser)
        .dbname(dbname);
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

fn sql_err(what: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> InitError {
    let what = what.into();
    move |e| InitError::Sql {
        what,
        message: crate::pgerror::describe(&e),
    }
}

async fn setup_database(
    s: &Settings,
    sock: &Path,
    server: &mut TempServer,
    account: Option<&Credentials>,
    app_password: &str,
    is_first_boot: bool,
) -> Result<(), InitError> {
    let deadline = Instant::now() + SERVER_DEADLINE;
    let admin = loop {
        match connect(s, sock, "postgres").await {
            Ok(c) => break c,
            Err(e) => {
                if let Some(status) = server.exited() {
                    return Err(InitError::Server(format!(
                        "exited ({status}) before accepting connections"
                    )));
                }
                if Instant::now() > deadline {
                    return Err(InitError::Server(format!(
                        "did not accept connections: {e}"
                    )));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    admin
        .batch_execute(&access::app_role_sql(&s.app_user, app_password))
        .await
        .map_err(sql_err(format!("setting up the role {}", s.app_user)))?;
    let exists = admin
        .query_opt(
            "SELECT 1 FROM pg_database WHERE datname = $1",
            &[&s.database],
        )
        .await
        .map_err(sql_err("looking up the database"))?
        .is_some();
    if !exists {
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {} OWNER {}",
                access::quote_ident(&s.database),
                access::quote_ident(&s.app_user)
            ))
            .await
            .map_err(sql_err(format!("CREATE DATABASE {}", s.database)))?;
    }
    drop(admin);
    if is_first_boot {
        run_init_scripts(s, sock, account).await?;
    }
    let db = connect(s, sock, &s.database)
        .await
        .map_err(sql_err(format!("connecting to {}", s.database)))?;
    db.batch_execute(&access::ownership_sql(&s.database, &s.app_user))
        .await
        .map_err(sql_err(format!(
            "handing database {} to {}",
            s.database, s.app_user
        )))
}

/// Runs `*.sql` (in the new database) and `*.sh` (as the server's account, with `PGHOST`
/// etc. set) from the init directory, in name order.
async fn run_init_scripts(
    s: &Settings,
    sock: &Path,
    account: Option<&Credentials>,
) -> Result<(), InitError> {
    let mut scripts: Vec<PathBuf> = match std::fs::read_dir(&s.init_dir) {
        Ok(entries) => entries.filter_map(Result::ok).map(|e| e.path()).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("cannot read the init directory", &s.init_dir)(e)),
    };
    scripts.sort();
    for path in scripts {
        match path.extension().and_then(|e| e.to_str()) {
            Some("sql") => {
                info!("running init script {}", path.display());
                let sql = std::fs::read_to_string(&path).map_err(io_err("cannot read", &path))?;
                let client = connect(s, sock, &s.database)
                    .await
                    .map_err(sql_err(format!("connecting for {}", path.display())))?;
                client
                    .batch_execute(&sql)
                    .await
                    .map_err(sql_err(path.display().to_string()))?;
            }
            Some("sh") => {
                info!("running init script {}", path.display());
                let status = as_account(PathBuf::from("sh"), account)
                    .arg(&path)
                    .env("PGHOST", sock)
                    .env("PGPORT", s.port.to_string())
                    .env("PGUSER", &s.superuser)
                    .env("PGDATABASE", &s.database)
                    .env("POSTGRES_USER", &s.superuser)
                    .env("POSTGRES_DB", &s.database)
                    .status()
                    .map_err(|e| InitError::Script {
                        path: path.clone(),
                        status: e.to_string(),
                    })?;
                if !status.success() {
                    return Err(InitError::Script {
                        path,
                        status: status.to_string(),
                    });
                }
            }
            _ => info!("ignoring {} (not .sql or .sh)", path.display()),
        }
    }
    Ok(())
}
