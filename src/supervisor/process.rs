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

use std::ffi::CString;
use std::io;
use std::os::fd::{OwnedFd, RawFd};
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
    /// Listening sockets to pass as descriptors 3, 4, … (`LISTEN_FDS`), with their names.
    pub pass_fds: &'a [(String, RawFd)],
}

/// Most sockets one service may be passed.
pub const PASS_FDS_MAX: usize = 64;

/// What the child needs to exec itself with passed sockets, all built before the fork: the
/// child may not allocate. std's `Command` builds the environment before the fork too, so
/// `LISTEN_PID` (the child's own pid, unknown until then) cannot go through it; the child
/// writes its pid into a buffer reserved here and calls `execve` itself.
struct SelfExec {
    path: CString,
    _argv: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    _env: Vec<CString>,
    /// `LISTEN_PID=` followed by room for the digits and the NUL.
    pid_entry: Vec<u8>,
    envp_ptrs: Vec<*const libc::c_char>,
    fds: [RawFd; PASS_FDS_MAX],
    fd_count: usize,
}

// SAFETY: the raw pointers point into the vectors owned by the same struct; the struct is
// moved into the pre_exec closure and used only in the forked child, which has one thread.
unsafe impl Send for SelfExec {}
// SAFETY: as above; nothing reads it concurrently.
unsafe impl Sync for SelfExec {}

impl SelfExec {
    fn new(
        path: &Path,
        argv: &[String],
        env: &[(String, String)],
        pass_fds: &[(String, RawFd)],
    ) -> io::Result<SelfExec> {
        let c =
            |s: &str| CString::new(s).map_err(|_| io::Error::other(format!("{s:?} contains NUL")));
        if pass_fds.len() > PASS_FDS_MAX {
            return Err(io::Error::other(format!(
                "more than {PASS_FDS_MAX} sockets"
            )));
        }
        let path = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| io::Error::other("the program path contains NUL"))?;
        let argv: Vec<CString> = argv.iter().map(|a| c(a)).collect::<io::Result<_>>()?;
        let names: Vec<&str> = pass_fds.iter().map(|(n, _)| n.as_str()).collect();
        let mut env: Vec<CString> = env
            .iter()
            .filter(|(k, _)| !k.starts_with("LISTEN_"))
            .map(|(k, v)| c(&format!("{k}={v}")))
            .collect::<io::Result<_>>()?;
        env.push(c(&format!("LISTEN_FDS={}", pass_fds.len()))?);
        env.push(c(&format!("LISTEN_FDNAMES={}", names.join(":")))?);
        let mut pid_entry = b"LISTEN_PID=".to_vec();
        pid_entry.resize(pid_entry.len() + 24, 0);
        let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        argv_ptrs.push(std::ptr::null());
        let mut envp_ptrs: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
        envp_ptrs.push(pid_entry.as_ptr().cast());
        envp_ptrs.push(std::ptr::null());
        let mut fds = [-1; PASS_FDS_MAX];
        for (i, (_, fd)) in pass_fds.iter().enumerate() {
            fds[i] = *fd;
        }
        Ok(SelfExec {
            path,
            _argv: argv,
            argv_ptrs,
            _env: env,
            pid_entry,
            envp_ptrs,
            fds,
            fd_count: pass_fds.len(),
        })
    }

    /// In the child: the sockets to 3, 4, …, `LISTEN_PID`, exec. Returns only on failure,
    /// and then after the sockets moved (std's own error channel may be gone): it says why
    /// on stderr and exits 127, which the supervisor sees as a death.
    ///
    /// Only async-signal-safe calls (fcntl, dup2, close, getpid, execve, write, _exit).
    unsafe fn exec(&mut self) -> io::Error {
        let n = self.fd_count as i32;
        let mut high = [-1; PASS_FDS_MAX];
        for (slot, fd) in high.iter_mut().zip(&self.fds).take(self.fd_count) {
            // Above the target range first, so no socket overwrites another on its way.
            // SAFETY: fcntl on a descriptor we hold.
            let t = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, 3 + n) };
            if t < 0 {
                return io::Error::last_os_error();
            }
            *slot = t;
        }
        for (i, fd) in high.iter().enumerate().take(self.fd_count) {
            // dup2 leaves the copy without close-on-exec: it survives the exec.
            // SAFETY: plain descriptor calls.
            unsafe {
                if libc::dup2(*fd, 3 + i as i32) < 0 {
                    libc::_exit(127);
                }
                libc::close(*fd);
            }
        }
        // SAFETY: getpid cannot fail.
        let mut pid = unsafe { libc::getpid() } as u64;
        let start = b"LISTEN_PID=".len();
        let mut digits = [0u8; 20];
        let mut len = 0;
        loop {
            digits[len] = b'0' + (pid % 10) as u8;
            len += 1;
            pid /= 10;
            if pid == 0 {
                break;
            }
        }
        for i in 0..len {
            self.pid_entry[start + i] = digits[len - 1 - i];
        }
        self.pid_entry[start + len] = 0;
        // SAFETY: NUL-terminated strings and NULL-terminated pointer arrays built above.
        unsafe {
            libc::execve(
                self.path.as_ptr(),
                self.argv_ptrs.as_ptr(),
                self.envp_ptrs.as_ptr(),
            );
            let msg = b"wms supervise: exec failed after passing sockets\n";
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(127);
        }
    }
}

/// The absolute path `execve` needs: names without `/` are looked up in `PATH` (of the
/// service's environment, else the supervisor's).
fn exec_path(program: &Path, env: &[(String, String)]) -> io::Result<PathBuf> {
    if program.as_os_str().as_encoded_bytes().contains(&b'/') {
        return Ok(program.to_path_buf());
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var("PATH").ok())
        .unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| {
                m.is_file()
                    && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
            })
        })
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not found in PATH"))
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
    let resolved = resolve_program(program);
    let mut self_exec = if launch.pass_fds.is_empty() {
        None
    } else {
        let path = exec_path(&resolved, launch.env)?;
        Some(SelfExec::new(
            &path,
            launch.argv,
            launch.env,
            launch.pass_fds,
        )?)
    };
    let mut cmd = Command::new(resolved);
    cmd.arg0(program)
        .args(args)
        .stdin(Stdio::null())
        .process_group(0);
    cmd.env_clear().envs(launch.env.iter().map(|(k, v)| (k, v)));
    if let Some(dir) = launch.workdir {
        cmd.current_dir(dir);
    }

    // Close-on-exec: only this child gets its own pipe ends (as its stdout/stderr); no later
    // service inherits another's (and could read its output).
    let (out_read, out_write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    let (err_read, err_write) = if launch.merge_stderr {
        (None, out_write.try_clone()?)
    } else {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)?;
        (Some(r), w)
    };
    cmd.stdout(Stdio::from(out_write))
        .stderr(Stdio::from(err_write));

    let identity = launch.user.map(|u| (u.uid, u.gid, u.groups.clone()));
    let parent = std::process::id() as libc::pid_t;
    let keep_caps = launch.keep_caps;
    // SAFETY: the closure runs in the forked child before exec and calls only
    // async-signal-safe functions (close_range, prctl, setgroups, setgid, setuid, getppid,
    // getpid, kill);
    // it does not allocate: the group list and the capability mask were built before the
    // fork.
    unsafe {
        cmd.pre_exec(move || {
            // Nothing beyond stdin/stdout/stderr passes on, whatever the supervisor itself
            // inherited (a test harness's jobserver pipe, say). A kernel without
            // close_range (before 5.11) leaves it to close-on-exec flags.
            libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            );
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
            if let Some(x) = self_exec.as_mut() {
                return Err(x.exec());
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
