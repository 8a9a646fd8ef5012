//! `wms`: command-line dispatch only. Each subcommand lives in its module and returns an
//! exit code:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (for `supervise`: a requested shutdown completed) |
//! | 1 | runtime failure (cannot set up signals, sockets, ...) |
//! | 2 | invalid configuration or command line |

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use wms::{backend, postgres};
use wms::supervisor::{config, runtime};

/// Exit code for an invalid config or command line.
const EXIT_INVALID: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "wms",
    version,
    about = "Warehouse management system in one container"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the services of a config as their supervisor (PID 1 in the container).
    Supervise {
        /// The config file.
        #[arg(long, env = "WMS_CONFIG", default_value = "config.toml")]
        config: PathBuf,
    },
    /// Validate a config and print the resolved plan (exit 0 valid, 2 invalid).
    Check {
        /// The config file.
        #[arg(long, env = "WMS_CONFIG", default_value = "config.toml")]
        config: PathBuf,
    },
    /// Serve the WMS HTTP API.
    Backend(backend::BackendArgs),
    /// Apply database migrations, then exit.
    Migrate(backend::MigrateArgs),
    /// Prepare embedded PostgreSQL (first boot: initdb, password, database, init scripts).
    PgInit,
    /// Run the PostgreSQL server found via PG_BIN or /usr/lib/postgresql/*/bin (newest).
    Postgres {
        /// Arguments for `postgres`, e.g. `-D /var/lib/postgresql/data`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Command::Supervise { config } => supervise(&config),
        Command::Check { config } => check(&config),
        Command::Backend(args) => backend::run(args),
        Command::Migrate(args) => backend::migrate(args),
        Command::PgInit => postgres::init::run(),
        Command::Postgres { args } => postgres::exec_server(&args),
    }
}

fn supervise(path: &Path) -> ExitCode {
    let plan = match config::load(path) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    match runtime::run(plan) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn check(path: &Path) -> ExitCode {
    match config::load(path) {
        Ok(plan) => {
            print!("{plan}");
            println!("ok: {} is valid", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            let n = e.problems.len();
            eprintln!("invalid: {n} problem{}", if n == 1 { "" } else { "s" });
            ExitCode::from(EXIT_INVALID)
        }
    }
}

/// Logs go to stderr; `WMS_LOG` (e.g. `debug`, `wms=debug`) sets the filter.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WMS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}
