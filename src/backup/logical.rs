//! Logical backup and restore of the app database: `wms backup [--output FILE]` and
//! `wms restore FILE|-` (pg_dump's custom format).
//!
//! The dump is written to a temp file beside `--output` and renamed over it only when
//! pg_dump succeeded, so a failed run never replaces a good dump; without `--output` it
//! goes to stdout (`podman exec wms wms backup > wms.dump`), which must not be a terminal.
//!
//! A restore goes into a database without warehouse data (a new stack's: schema and seed
//! only, or no schema at all); over products or journal rows only with `--force`. Either
//! way it runs as one transaction (`pg_restore --single-transaction --clean --if-exists`):
//! if anything fails, PostgreSQL rolls it all back and the old data is untouched. Objects
//! are owned by the user the command connects as (`--no-owner --no-privileges`), so a dump
//! restores into a stack whose role names differ.

use std::fs::File;
use std::io::IsTerminal;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use tracing::info;

use super::db::Target;
use super::error::{BackupError, io_err};
use super::settings::Settings;
use super::tools::{Account, ToolError, Tools, tail_text};

/// Where a dump goes.
pub enum Output {
    /// Our stdout.
    Stdout,
    /// A file (written beside it first, then renamed).
    File(PathBuf),
}

/// Where a dump comes from.
pub enum Input {
    /// Our stdin.
    Stdin,
    /// A file.
    File(PathBuf),
}

fn tools_for(settings: &Settings, target: &Target) -> Result<Tools, BackupError> {
    let account = if target.is_embedded() {
        Account::for_tools(settings.os_user.as_deref())?
    } else {
        None
    };
    Ok(Tools::detect(account)?)
}

/// `wms backup [--output FILE]`.
pub fn backup(settings: &Settings, output: Output) -> Result<(), BackupError> {
    let target = Target::from_settings(settings)?;
    let tools = tools_for(settings, &target)?;
    let started = Instant::now();
    let (sink, tmp) = match &output {
        Output::Stdout => {
            if std::io::stdout().is_terminal() {
                return Err(BackupError::Usage(
                    "the dump is binary: give --output FILE or redirect stdout (wms backup > wms.dump)"
                        .into(),
                ));
            }
            (Stdio::inherit(), None)
        }
        Output::File(path) => {
            let tmp = temp_beside(path);
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io_err("cannot create", &tmp))?;
            (Stdio::from(file), Some(TempFile(tmp)))
        }
    };
    let out = tools
        .command("pg_dump")
        .args(["--format=custom", "--no-password", "--dbname"])
        .arg(target.conninfo())
        .envs(target.tool_env())
        .stdout(sink)
        .stderr(Stdio::piped())
        .output()
        .map_err(|source| ToolError::Spawn {
            program: "pg_dump".into(),
            source,
        })?;
    if !out.status.success() {
        return Err(ToolError::Failed {
            program: "pg_dump".into(),
            status: out.status.to_string(),
            output: tail_text(&out.stderr, b""),
        }
        .into());
    }
    match (&output, tmp) {
        (Output::File(path), Some(tmp)) => {
            let bytes = tmp.persist(path)?;
            info!(
                "backup of {} written to {}: {bytes} bytes in {:.1} s",
                target.describe(),
                path.display(),
                started.elapsed().as_secs_f64()
            );
        }
        _ => info!(
            "backup of {} written to stdout in {:.1} s",
            target.describe(),
            started.elapsed().as_secs_f64()
        ),
    }
    Ok(())
}

/// `wms restore FILE|- [--force]`.
pub fn restore(settings: &Settings, input: Input, force: bool) -> Result<(), BackupError> {
    let target = Target::from_settings(settings)?;
    let tools = tools_for(settings, &target)?;
    let source = match &input {
        Input::Stdin => {
            if std::io::stdin().is_terminal() {
                return Err(BackupError::Usage(
                    "give the dump as a file, or on stdin: wms restore - < wms.dump".into(),
                ));
            }
            Stdio::inherit()
        }
        Input::File(path) => {
            let file = File::open(path).map_err(io_err("cannot open the dump", path))?;
            Stdio::from(file)
        }
    };
    let started = Instant::now();
    if let Some((products, movements)) = warehouse_counts(&tools, &target)? {
        if products + movements > 0 {
            if !force {
                return Err(BackupError::Refused(format!(
                    "{} already holds warehouse data ({products} products, {movements} journal \
                     rows); restore over it with --force (one transaction: the old data stays \
                     if the restore fails)",
                    target.describe()
                )));
            }
            info!(
                "replacing {products} products and {movements} journal rows in {} (--force)",
                target.describe()
            );
        }
    }
    // The embedded database belongs to the application's role: restore as that role (the
    // superuser connects and SET ROLEs), so the app can use what the restore creates.
    let role = match target.is_embedded() {
        true => app_role(&tools, &target, &settings.app_role)?,
        false => None,
    };
    let mut cmd = tools.command("pg_restore");
    if let Some(r) = &role {
        cmd.arg(format!("--role={r}"));
    }
    let out = cmd
        .args([
            "--single-transaction",
            "--exit-on-error",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--no-password",
            "--dbname",
        ])
        .arg(target.conninfo())
        .envs(target.tool_env())
        .stdin(source)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|source| ToolError::Spawn {
            program: "pg_restore".into(),
            source,
        })?;
    if !out.status.success() {
        return Err(BackupError::Failed(format!(
            "the restore failed and was rolled back; {} is unchanged: {}",
            target.describe(),
            tail_text(&out.stderr, &out.stdout)
        )));
    }
    let counts = warehouse_counts(&tools, &target)?.unwrap_or((0, 0));
    info!(
        "restored {} in {:.1} s: {} products, {} journal rows; restart the backend \
         (wms ctl restart backend) so it reloads its settings",
        target.describe(),
        started.elapsed().as_secs_f64(),
        counts.0,
        counts.1
    );
    Ok(())
}

/// Products and journal rows in the target (`None` when it has no such tables), asked
/// through `psql` as the tools' account (the socket authenticates that account, not root).
fn warehouse_counts(tools: &Tools, target: &Target) -> Result<Option<(u64, u64)>, BackupError> {
    let present = psql(tools, target, crate::ledger::DATA_TABLES_PRESENT)?;
    if present != "t" {
        return Ok(None);
    }
    let counts = psql(tools, target, crate::ledger::WAREHOUSE_COUNTS)?;
    let mut it = counts.split_whitespace().map(str::parse::<u64>);
    match (it.next(), it.next()) {
        (Some(Ok(p)), Some(Ok(m))) => Ok(Some((p, m))),
        _ => Err(BackupError::Failed(format!(
            "unexpected answer {counts:?} counting products and journal rows"
        ))),
    }
}

/// `name` if that role exists in the target.
fn app_role(tools: &Tools, target: &Target, name: &str) -> Result<Option<String>, BackupError> {
    let literal = format!("'{}'", name.replace('\'', "''"));
    let found = psql(
        tools,
        target,
        &format!("SELECT count(*) FROM pg_roles WHERE rolname = {literal}"),
    )?;
    Ok((found == "1").then(|| name.to_owned()))
}

/// One query through `psql`, its single value.
fn psql(tools: &Tools, target: &Target, sql: &str) -> Result<String, BackupError> {
    let out = Tools::output(
        tools
            .command("psql")
            .args([
                "--no-psqlrc",
                "--no-align",
                "--tuples-only",
                "--no-password",
                "--quiet",
                "-v",
                "ON_ERROR_STOP=1",
                "--dbname",
            ])
            .arg(target.conninfo())
            .envs(target.tool_env())
            .arg("--command")
            .arg(sql),
    )?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `DIR/.NAME.tmp-PID` beside `path`.
fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "dump".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// A temp file removed on drop unless persisted.
struct TempFile(PathBuf);

impl TempFile {
    /// Syncs it and renames it to `path`; returns its size.
    fn persist(self, path: &Path) -> Result<u64, BackupError> {
        let file = File::open(&self.0).map_err(io_err("cannot reopen", &self.0))?;
        file.sync_all().map_err(io_err("cannot sync", &self.0))?;
        let bytes = file.metadata().map_or(0, |m| m.len());
        std::fs::rename(&self.0, path).map_err(io_err("cannot rename the dump to", path))?;
        std::mem::forget(self);
        Ok(bytes)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
