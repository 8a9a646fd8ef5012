//! Starting a service's process: own process group, privilege drop, environment, working
//! directory, stdout/stderr pipes.
//!
//! Least privilege, in the forked child before exec: `no_new_privs` (no setuid binary or
//! file capability can raise it again), the capability bounding set reduced to what the
//! service's config keeps (nothing by default), ambient capabilities cleared, then the
//! switch to the service's account. The environment is exactly the one given (see
//! `environ.rs`): nothing of the supervisor's leaks through.
//!
//! [`spawn`] returns the pid and the read ends of the output pipes, and never waits: every
//! exit status goes through the one reaper (`reaper.rs`). We use `std::process::Command`
//! with `pre_exec`, not `tokio::process`, whose own child reaping would race `waitpid(-1)`.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::engine::Pid;
use super::plan::{Credentials, Signal};

/// A started process.
#[derive(Debug)]
pub struct Child {
    /// Its pid, which is also its process group id.
    pub pid: Pid,
    /// Read end of its stdout.
    pub stdout: OwnedFd,
    /// Read end of its stderr (`None` when merged into stdout).
    pub stderr: Option<OwnedFd>,
}

/// How to start a process.
#[derive(Debug)]
pub struct Launch<'a> {
    /// Program and arguments (the program `wms` means this very binary).
    pub argv: &'a [String],
    /// The whole environment (nothing else is passed).
    pub env: &'a [(String, String)],
    /// Capabilities kept in the bounding set, as a bit mask (bit n: capability n).
    pub keep_caps: u64,
    /// Identity to switch to.
    pub user: Option<&'a Credentials>,
    /// Working directory.
    pub workdir: Option<&'a Path>,
    /// Also route stderr into the stdout pipe (probes want one stream).
    pub merge_stderr: bool,
}

/// The program to execute for `argv[0]`: `wms` is this binary, wherever it is installed,
/// so configs can name it without knowing the path. It is executed as `/proc/self/exe`
/// (in the forked child that is still the supervisor's image), which works even after the
/// file on disk was replaced or deleted by an upgrade, and runs the very same version.
pub fn resolve_program(name: &str) -> PathBuf {
    if name == "wms" {
        let own = Path::new("/proc/self/exe");
        if own.exists() {
            return own.to_path_buf();
        }
        if let Ok(exe) = std::env::current_exe() {
            return exe;
        }
    }
    PathBuf::from(name)
}

/// Starts the process in a new process group. Errors carry the OS reason (missing program,
/// permission denied, bad working directory, failed privilege drop).
pub fn spawn(launch: &Launch<'_>) -> io::Result<Child> {
    let (program, args) = launch
        .argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    let mut cmd = Command::new(resolve_program(program));
    cmd.arg0(program)
        .args(args)
        .stdin(Stdio::null())
        .process_group(0);
    cmd.env_clear().envs(launch.env.iter().map(|(k, v)| (k, v)));
    if let Some(dir) = launch.workdir {
        cmd.current_dir(dir);
    }

    let (out_read, out_write) = nix::unistd::pipe().map_err(io::Error::from)?;
    let (err_read, err_write) = if launch.merge_stderr {
        (None, out_write.try_clone()?)
    } else {
        let (r, w) = nix::unistd::pipe().map_err(io::Error::from)?;
        (Some(r), w)
    };
    cmd.stdout(Stdio::from(out_write))
        .stderr(Stdio::from(err_write));

    let identity = launch.user.map(|u| (u.uid, u.gid, u.groups.clone()));
    let parent = std::process::id() as libc::pid_t;
    let keep_caps = launch.keep_caps;
    // SAFETY: the closure runs in the forked child before exec and calls only
    // async-signal-safe functions (prctl, setgroups, setgid, setuid, getppid, getpid, kill);
    // it does not allocate: the group list and the capability mask were built before the
    // fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The bounding set: what no exec can give this process or its children again.
            // Without CAP_SETPCAP (a supervisor that is not root) nothing can be dropped,
            // and nothing needs to be: such a process has no capabilities to pass on, and
            // no_new_privs keeps it from gaining any.
            for cap in 0..=super::caps::LAST {
                if keep_caps & (1u64 << cap) != 0 {
                    continue;
                }
                if libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) != 0 {
                    match *libc::__errno_location() {
                        // Past the kernel's last capability, or no right to drop: done.
                        libc::EINVAL | libc::EPERM => break,
                        _ => return Err(io::Error::last_os_error()),
                    }
                }
            }
            let _ = libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
                0,
                0,
                0,
            );
            if let Some((uid, gid, groups)) = &identity {
                if libc::setgroups(groups.len(), groups.as_ptr()) != 0 {
                    return Err(io::Error::last_os_error());
                }
                if libc::setgid(*gid) != 0 {
                    return Err(io::Error::last_os_error());
                }
                if libc::setuid(*uid) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            // If the supervisor dies (it is not PID 1 here, or it crashed), take the service
            // down too rather than leaving it holding ports and data directories. Set after
            // the uid change, which clears it.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    // The write ends were moved into `cmd`; drop it so only the child holds them and EOF
    // arrives when the child (and its descendants) close them.
    drop(cmd);
    let pid = Pid(i32::try_from(child.id()).map_err(|_| io::Error::other("pid out of range"))?);
    // `child` is dropped without waiting: the reaper collects the exit status.
    drop(child);
    Ok(Child {
        pid,
        stdout: out_read,
        stderr: err_read,
    })
}

/// Sends `signal` to the process group `pid` leads. A group that is already gone is fine.
pub fn signal_group(pid: Pid, signal: Signal) -> io::Result<()> {
    // SAFETY: plain syscall; a negative pid addresses the process group.
    let rc = unsafe { libc::kill(-pid.0, signal.as_raw()) };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::ESRCH) => Ok(()),
        _ => Err(err),
    }
}
