//! `wms admin`: maintenance beside a running stack (`podman exec CONTAINER wms admin ...`),
//! talking to the database directly (`DATABASE_URL`, and `DATABASE_PASSWORD(_FILE)` when the
//! URL carries no password). Without them it reaches the embedded database the way the
//! backend does: its socket, the application role, the password pg-init keeps in PGDATA.
//!
//! `wms admin reset-password EMAIL` gives the user a new password — random (printed on
//! standard output, nothing else is) or the first line of standard input with
//! `--password-stdin` — and revokes every token the user holds. Exit codes: 0 done, 1 no such
//! user or a database failure, 2 invalid input (options, environment, the password read).

use crate::exit::{Failure, Outcome};
use std::io::{BufRead, Read, Write};

use super::auth;
use super::config::DatabaseArgs;
use super::db;
use super::seed::random_password;
use super::users::{self, PASSWORD_MAX, PASSWORD_MIN};

/// `wms admin`.
#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// The maintenance commands.
#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Give a user a new password (random unless --password-stdin) and end their sessions.
    ResetPassword(ResetPasswordArgs),
}

/// `wms admin reset-password`.
#[derive(Debug, clap::Args)]
pub struct ResetPasswordArgs {
    /// The user's e-mail address (compared case-insensitively, as at login).
    pub email: String,

    /// Read the new password from the first line of standard input instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Runs a `wms admin` command with the process's standard input and output.
pub fn run(args: AdminArgs) -> Outcome {
    match args.command {
        AdminCommand::ResetPassword(args) => reset_password(
            args,
            &mut std::io::stdin().lock(),
            &mut std::io::stdout().lock(),
        ),
    }
}

/// `wms admin reset-password`, reading a password from `input` (with `--password-stdin`)
/// and printing a generated one on `output`.
pub fn reset_password(
    args: ResetPasswordArgs,
    input: &mut impl BufRead,
    output: &mut impl Write,
) -> Outcome {
    // Without DATABASE_URL: the embedded database (`podman exec`, as root), with the password
    // file pg-init keeps for its application role.
    let mut database = args.database;
    if database.database_url.is_none() {
        database.database_url = Some(super::config::embedded_database_url());
        let no_password =
            database.database_password.is_none() && database.database_password_file.is_none();
        let file = super::config::embedded_password_file();
        if no_password && file.exists() {
            database.database_password_file = Some(file);
        }
    }
    let config = database.config().map_err(Failure::invalid)?;
    let (password, generated) = if args.password_stdin {
        let password = read_password(input).map_err(|why| {
            Failure::invalid(format!("the password read from standard input {why}"))
        })?;
        (password, false)
    } else {
        (random_password(), true)
    };
    let email = args.email.trim().to_owned();
    let wait = database.db_wait;
    let (email, password) = super::block_on(None, async move {
        let client = db::connect_with_wait(&config, wait)
            .await
            .map_err(|e| format!("cannot connect to the database: {e}"))?;
        let hash = auth::hash_password(password.clone())
            .await
            .map_err(|e| format!("cannot hash the password: {e:?}"))?;
        match users::reset_password(&client, &email, &hash).await {
            Ok(Some(stored)) => Ok((stored, password)),
            Ok(None) => Err(format!("no user with the e-mail address {email:?}")),
            Err(e) => Err(format!("cannot store the password: {e}")),
        }
    })?
    .map_err(Failure::failed)?;
    tracing::info!("new password set for {email}; their sessions are ended");
    if generated && writeln!(output, "{password}").is_err() {
        return Err(Failure::failed(
            "cannot print the new password; run the command again",
        ));
    }
    Ok(())
}

/// The first line of `input` (line end trimmed), 8 to 1024 characters; else why not.
fn read_password(input: &mut impl BufRead) -> Result<String, String> {
    let mut line = String::new();
    // One line at most, so a stream without a newline cannot grow it without bound.
    let mut limited = input.by_ref().take(4 * PASSWORD_MAX as u64 + 2);
    limited
        .read_line(&mut line)
        .map_err(|e| format!("cannot be read: {e}"))?;
    let password = line.trim_end_matches(['\n', '\r']);
    let n = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&n) {
        return Err(format!(
            "has {n} characters; {PASSWORD_MIN} to {PASSWORD_MAX} are needed"
        ));
    }
    Ok(password.to_owned())
}

#[cfg(test)]
mod tests {
    use super::read_password;

    #[test]
    fn passwords_from_standard_input_are_one_line_of_8_to_1024_characters() {
        assert_eq!(
            read_password(&mut "correct horse\nmore".as_bytes()),
            Ok("correct horse".to_owned())
        );
        assert_eq!(
            read_password(&mut "crlf-line-1\r\n".as_bytes()),
            Ok("crlf-line-1".to_owned())
        );
        assert!(read_password(&mut "short\n".as_bytes()).is_err());
        assert!(read_password(&mut "".as_bytes()).is_err());
        let long = "x".repeat(5000);
        assert!(read_password(&mut long.as_bytes()).is_err());
    }
}
