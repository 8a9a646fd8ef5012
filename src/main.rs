//! `wms`: command-line dispatch. Each subcommand lives in its module and returns an
//! [`Outcome`]; here, and only here, a failure is reported and becomes one of the exit codes
//! of [`wms::exit::Exit`] (the same four for every subcommand):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (for `supervise`: a requested shutdown completed) |
//! | 1 | failed at run time (cannot connect, bind, a tool failed, a check found a problem) |
//! | 2 | invalid configuration or command line; nothing started or changed |
//! | 3 | a precondition is not met: schema not migrated (`backend`), data would be overwritten (`restore` without `--force`), the supervisor cannot be reached (`ctl`) |

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use wms::exit::{Exit, Failure, Outcome};
use wms::supervisor::ctl::CtlCommand;
use wms::supervisor::{config, ctl, probe, runtime};
use wms::{backend, backup, postgres, web};

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
    /// Talk to a running supervisor: status, start, stop, restart.
    Ctl {
        #[command(subcommand)]
        action: CtlAction,
        /// The control socket (default: $WMS_CONTROL_SOCKET, else the config's control_socket).
        #[arg(long, global = true)]
        socket: Option<PathBuf>,
        /// The config file naming the control socket.
        #[arg(long, env = "WMS_CONFIG", default_value = "config.toml", global = true)]
        config: PathBuf,
    },
    /// Exit 0 if URL answers 2xx, 1 otherwise (a HEALTHCHECK without curl).
    Probe {
        /// An http:// URL.
        url: String,
        /// How long to wait for the answer.
        #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
    /// Serve the built frontend and proxy /api to the backend.
    Web(web::WebArgs),
    /// Serve the WMS HTTP API.
    Backend(backend::BackendArgs),
    /// Apply database migrations, then exit.
    Migrate(backend::MigrateArgs),
    /// Maintenance beside a running stack: `wms admin reset-password EMAIL`.
    Admin(backend::admin::AdminArgs),
    /// Prepare embedded PostgreSQL (first boot: initdb, password, database, init scripts).
    PgInit,
    /// Back up the app database (a dump to stdout or --output), or run an archive job.
    Backup(backup::BackupArgs),
    /// Restore a dump (FILE or - for stdin), or rebuild PGDATA from the archive
    /// (--latest, --at TIME).
    Restore(backup::RestoreArgs),
    /// Run the PostgreSQL server found via PG_BIN or /usr/lib/postgresql/*/bin (newest).
    Postgres {
        /// Arguments for `postgres`, e.g. `-D /var/lib/postgresql/data`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum CtlAction {
    /// Every service's state, like `docker compose ps`.
    Status {
        /// Print the /health JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Start a stopped service.
    Start {
        /// The service.
        service: Option<String>,
    },
    /// Stop a service and keep it stopped.
    Stop {
        /// The service.
        service: Option<String>,
    },
    /// Restart a service (rolling when its sockets are held and it says READY=1).
    Restart {
        /// The service.
        service: Option<String>,
    },
    /// Re-read the config file and apply what changed (as SIGHUP to the supervisor does).
    Reload,
    /// Send a signal to a service's processes (e.g. `wms ctl signal web SIGHUP`).
    Signal {
        /// The service.
        service: String,
        /// The signal: SIGHUP, HUP, USR1, ...
        signal: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let voice = Voice::of(&cli.command);
    match run(cli.command) {
        Ok(()) => Exit::Success.into(),
        Err(failure) => {
            voice.report(&failure);
            failure.exit().into()
        }
    }
}

/// How a failure is told. The services' stderr is the supervisor's log stream, so they log
/// it like everything else; the commands a person types print it as it is.
#[derive(Clone, Copy)]
enum Voice {
    Log,
    Plain,
}

impl Voice {
    fn of(command: &Command) -> Voice {
        match command {
            Command::Check { .. } | Command::Ctl { .. } | Command::Probe { .. } => Voice::Plain,
            _ => Voice::Log,
        }
    }

    fn report(self, failure: &Failure) {
        match self {
            Voice::Log => tracing::error!("{failure}"),
            Voice::Plain => eprintln!("{failure}"),
        }
    }
}

/// Runs one subcommand to its [`Outcome`].
fn run(command: Command) -> Outcome {
    match command {
        Command::Supervise { config } => supervise(&config),
        Command::Check { config } => check(&config),
        Command::Ctl {
            action,
            socket,
            config,
        } => {
            let socket = ctl::socket_path(socket, &config);
            let service = |command: &'static str, service| CtlCommand::Service { command, service };
            let command = match action {
                CtlAction::Status { json } => CtlCommand::Status { is_json: json },
                CtlAction::Start { service: s } => service("start", s),
                CtlAction::Stop { service: s } => service("stop", s),
                CtlAction::Restart { service: s } => service("restart", s),
                CtlAction::Reload => CtlCommand::Reload,
                CtlAction::Signal { service, signal } => CtlCommand::Signal { service, signal },
            };
            ctl::run(&socket, command)
        }
        Command::Probe { url, timeout } => probe::run_cli(&url, timeout),
        Command::Web(args) => web::run(args),
        Command::Backend(args) => backend::run(args),
        Command::Migrate(args) => backend::migrate(args),
        Command::Admin(args) => backend::admin::run(args),
        Command::PgInit => postgres::init::run(),
        Command::Postgres { args } => postgres::exec_server(&args),
        Command::Backup(args) => backup::run_backup(args),
        Command::Restore(args) => backup::run_restore(args),
    }
}

/// Runs the stack; an invalid config or a listener that cannot be bound (a port in use,
/// named with its service) is [`Exit::Invalid`]: nothing was started.
fn supervise(path: &Path) -> Outcome {
    // A process that runs for months on little memory: without glibc's per-thread cache.
    wms::resident::restart_without_thread_cache();
    let plan = config::load(path).map_err(Failure::invalid)?;
    let sections = wms::stack::sections(&plan);
    runtime::run(plan, sections).map_err(|e| match e {
        runtime::RuntimeError::Listen(_) => Failure::invalid(format!("{}: {e}", path.display())),
        e => Failure::failed(e),
    })
}

/// Validates a config: the resolved plan on stdout, or every problem with its position.
fn check(path: &Path) -> Outcome {
    match config::load(path) {
        Ok(plan) => {
            print!("{plan}");
            println!("ok: {} is valid", path.display());
            Ok(())
        }
        Err(e) => {
            let n = e.problems.len();
            Err(Failure::invalid(format!(
                "{e}\ninvalid: {n} problem{}",
                if n == 1 { "" } else { "s" }
            )))
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
