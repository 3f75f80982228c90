//! Sandboxed grading (Linux, bubblewrap): each submission is checked inside a sandbox of its
//! own, with the checker itself inside too, so both ends of every check share one private
//! network namespace in which only loopback exists.
//!
//! What a submission sees and may do:
//! - the system read-only (`--ro-bind / /`); the instructor's home, every home, `/tmp`,
//!   `/run`, `/sys`, the submissions folder and the output folder replaced by empty
//!   file systems, so no other submission and none of the instructor's files are in view;
//!   the folders of the tools on the PATH that live in a home (`~/.pyenv`, `~/.cargo`,
//!   `~/.rustup`) come back read-only, so `python3` and `cargo` still work;
//! - a writable scratch copy of its own folder as its home and working folder, and a
//!   private `/tmp`;
//! - a user of its own (one of the [`UID_POOL`] ids from [`FIRST_UID`] that no grading run,
//!   in this process or another, holds at the time: [`UidLease`]), no capabilities, and limits on
//!   memory, processes, CPU time and file size ([`Limits`]); its output is capped by the
//!   checker, which keeps at most 16 MiB of each stream; where root can write to a cgroup
//!   file system, the whole sandbox is in a control group of its own too, with a memory and
//!   a task limit for everything in it together;
//! - at the end of every check, every process left in the sandbox is killed; at the end of
//!   the submission the sandbox's PID namespace goes, and everything in it with it.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::{Lang, Lesson, Options, Report, tr};

/// The first user id given to a sandboxed program: each submission being graded gets its
/// own, so the process limit of one submission never counts another's processes.
pub const FIRST_UID: u32 = 62000;

/// How many user ids from [`FIRST_UID`] the sandboxes take turns with: enough for the slots of
/// several grading runs at once.
pub const UID_POOL: u32 = 1000;

/// Where each id of the pool has its lock file. Root-only (`grade` with a sandbox runs as
/// root) and on a tmpfs, so no lock outlives a reboot.
const UID_LOCKS: &str = "/run/coursecheck/uids";

/// Where the checker's own binary is mounted inside the sandbox.
const CHECKER_INSIDE: &str = "/run/coursecheck/coursecheck";

/// The home and working folder of the submission inside the sandbox.
const HOME_INSIDE: &str = "/home/student";

/// The most a checker inside a sandbox may print (its JSON report).
const REPORT_LIMIT: usize = 8 * 1024 * 1024;

/// The memory of a whole sandbox (every process in it, the checker's included), when the
/// system lets us make a control group: the per-process limit alone would let 128 processes
/// take 128 GiB.
const SANDBOX_MEMORY: u64 = 2 * 1024 * 1024 * 1024;
/// The processes and threads of a whole sandbox, under a control group.
const SANDBOX_TASKS: u64 = 512;

/// A control group holding one sandbox, with a memory and a task limit for all of it
/// together (cgroup v2, or v1's memory and pids hierarchies). Removed when dropped.
struct ControlGroup {
    /// Each folder made.
    folders: Vec<PathBuf>,
    /// Their `cgroup.procs` files, as C strings for the sandbox's process to write to
    /// between fork and exec.
    procs: Vec<std::ffi::CString>,
}

impl ControlGroup {
    /// A new group named `name`, or `None` when this system has no writable cgroup file
    /// system (then only the per-process limits apply).
    fn new(name: &str) -> Option<ControlGroup> {
        let root = Path::new("/sys/fs/cgroup");
        let limits: Vec<(PathBuf, &str, String)> = if root.join("cgroup.controllers").exists() {
            let folder = root.join(name);
            vec![
                (folder.clone(), "memory.max", SANDBOX_MEMORY.to_string()),
                (folder, "pids.max", SANDBOX_TASKS.to_string()),
            ]
        } else {
            vec![
                (
                    root.join("memory").join(name),
                    "memory.limit_in_bytes",
                    SANDBOX_MEMORY.to_string(),
                ),
                (
                    root.join("pids").join(name),
                    "pids.max",
                    SANDBOX_TASKS.to_string(),
                ),
            ]
        };
        let mut group = ControlGroup {
            folders: Vec::new(),
            procs: Vec::new(),
        };
        for (folder, file, value) in limits {
            if !group.folders.contains(&folder) {
                std::fs::create_dir(&folder).ok()?;
                group.folders.push(folder.clone());
                let procs = folder.join("cgroup.procs");
                let procs = std::ffi::CString::new(procs.as_os_str().as_encoded_bytes()).ok()?;
                group.procs.push(procs);
            }
            std::fs::write(folder.join(file), value).ok()?;
        }
        Some(group)
    }

    /// What the sandbox's process runs between fork and exec to move itself into the group,
    /// so everything it starts is in the group from its first instruction.
    fn joiner(&self) -> impl FnMut() -> std::io::Result<()> + Send + Sync + 'static {
        let procs = self.procs.clone();
        move || join_control_group(&procs)
    }
}

/// Writes "0" (the writer itself) into each `cgroup.procs` file of `procs`.
fn join_control_group(procs: &[std::ffi::CString]) -> std::io::Result<()> {
    for procs in procs {
        // SAFETY: open, write and close with a C string made before fork and a static
        // buffer: async-signal-safe, as the time between fork and exec requires.
        unsafe {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let written = libc::write(fd, b"0".as_ptr().cast(), 1);
            libc::close(fd);
            if written != 1 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

impl Drop for ControlGroup {
    fn drop(&mut self) {
        // The sandbox is gone, so the group is empty, or about to be: its last processes may
        // take a moment to be reaped.
        for folder in &self.folders {
            for _ in 0..50 {
                if std::fs::remove_dir(folder).is_ok() {
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// A user id of the pool, held for one submission until dropped. Its hold is an exclusive
/// `flock` on the id's lock file, which every grading run takes the same way: two `grade`
/// runs at once (or two slots of one) never run two submissions as one user, whose process
/// limit and leftover-process sweep would then reach each other. The kernel releases the
/// lock when the file closes, even if the grader is killed.
#[derive(Debug)]
pub struct UidLease {
    uid: u32,
    /// Held open for the lock; closing it releases the id.
    _lock: std::fs::File,
}

impl UidLease {
    /// The first id of the pool whose lock file in `locks` nobody holds; an error when every
    /// one is held or the folder cannot be written.
    pub fn take(locks: &Path) -> std::io::Result<UidLease> {
        use std::os::unix::io::AsRawFd;
        std::fs::create_dir_all(locks)?;
        for uid in FIRST_UID..FIRST_UID + UID_POOL {
            let lock = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(locks.join(uid.to_string()))?;
            // SAFETY: flock(2) takes the descriptor of a file we hold open, and integers.
            if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(UidLease { uid, _lock: lock });
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::WouldBlock {
                return Err(error);
            }
        }
        Err(std::io::Error::other(format!(
            "all {UID_POOL} sandbox user ids from {FIRST_UID} are in use by other grading runs"
        )))
    }

    /// The id held.
    pub fn uid(&self) -> u32 {
        self.uid
    }
}

/// What a sandboxed program may use, per process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Address space, in MiB.
    pub memory_mib: u64,
    /// Processes and threads of the program's user.
    pub processes: u64,
    /// The largest file it may write, in MiB.
    pub file_mib: u64,
    /// CPU time, in seconds.
    pub cpu_seconds: u64,
    /// The user and group id the program runs as.
    pub uid: u32,
}

impl Limits {
    /// The limits for a program run as `uid` with checks of at most `timeout`.
    pub fn for_uid(uid: u32, timeout: Duration) -> Limits {
        Limits {
            memory_mib: 1024,
            processes: 128,
            file_mib: 64,
            cpu_seconds: timeout.as_secs() + 5,
            uid,
        }
    }

    /// The form the checker inside the sandbox reads back with [`Limits::parse`].
    pub fn to_arg(self) -> String {
        format!(
            "{}:{}:{}:{}:{}",
            self.memory_mib, self.processes, self.file_mib, self.cpu_seconds, self.uid
        )
    }

    /// Reads [`Limits::to_arg`]'s form.
    pub fn parse(text: &str) -> Result<Limits, String> {
        let numbers: Vec<u64> = text
            .split(':')
            .map(|part| {
                part.parse::<u64>()
                    .map_err(|error| format!("{part}: {error}"))
            })
            .collect::<Result<_, _>>()?;
        let [memory_mib, processes, file_mib, cpu_seconds, uid] = numbers[..] else {
            return Err(format!("{text}: expected five numbers separated by ':'"));
        };
        Ok(Limits {
            memory_mib,
            processes,
            file_mib,
            cpu_seconds,
            uid: u32::try_from(uid).map_err(|error| error.to_string())?,
        })
    }

    /// Applies the limits to the calling process: called between fork and exec.
    pub(crate) fn apply(self) -> std::io::Result<()> {
        let mib = 1024 * 1024;
        for (resource, value) in [
            (libc::RLIMIT_AS, self.memory_mib * mib),
            (libc::RLIMIT_NPROC, self.processes),
            (libc::RLIMIT_FSIZE, self.file_mib * mib),
            (libc::RLIMIT_CPU, self.cpu_seconds),
            (libc::RLIMIT_CORE, 0),
        ] {
            let limit = libc::rlimit {
                rlim_cur: value,
                rlim_max: value,
            };
            // SAFETY: setrlimit reads the struct we pass and touches nothing else.
            if unsafe { libc::setrlimit(resource, &limit) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

/// Kills every process in the sandbox but the checker (and the sandbox's init): what a
/// check's program left behind, even detached and ignoring SIGTERM. Only ever called by a
/// checker that is process 2 of its own PID namespace, which is what bwrap makes it: outside
/// a sandbox, kill(-1) would reach every process of the user.
pub(crate) fn kill_everything_else() {
    if std::process::id() == 2 {
        // SAFETY: kill(2) takes plain integers and touches no memory of ours.
        unsafe {
            libc::kill(-1, libc::SIGKILL);
        }
    }
}

/// A sandbox ready to grade submissions in.
#[derive(Debug)]
pub struct Sandbox {
    bwrap: PathBuf,
    checker: PathBuf,
    hidden: Vec<PathBuf>,
    tools: Vec<PathBuf>,
    scratch: PathBuf,
}

/// The first `bwrap` on the PATH.
fn find_bwrap() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("bwrap"))
        .find(|candidate| candidate.is_file())
}

impl Sandbox {
    /// A sandbox for grading the submissions in `submissions` into `out`, or one sentence on
    /// why there can be none here and what to do instead.
    pub fn new(submissions: &Path, out: &Path, lang: Lang) -> Result<Sandbox, String> {
        let instead = lang.pick(
            "or grade with --no-sandbox to run the submissions unconfined, on purpose",
            "o califica con --no-sandbox para ejecutar las entregas sin aislamiento, a propósito",
        );
        if !cfg!(target_os = "linux") {
            return Err(crate::sandbox_needs_linux(lang));
        }
        let Some(bwrap) = find_bwrap() else {
            return Err(tr!(
                lang,
                "grade runs each submission in a sandbox, and bubblewrap (bwrap) is not installed: install it (sudo apt-get install bubblewrap), {}.",
                "grade ejecuta cada entrega en un entorno aislado, y bubblewrap (bwrap) no está instalado: instálalo (sudo apt-get install bubblewrap), {}.",
                instead
            ));
        };
        // SAFETY: geteuid has no arguments and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return Err(tr!(
                lang,
                "grade runs each submission as a user of its own in a sandbox, which needs root: run it with sudo, {}.",
                "grade ejecuta cada entrega con un usuario propio en un entorno aislado, lo que necesita root: ejecútalo con sudo, {}.",
                instead
            ));
        }
        let probe = Command::new(&bwrap)
            .args(["--ro-bind", "/", "/", "--unshare-net", "--unshare-pid"])
            .args(["--die-with-parent", "true"])
            .stdin(Stdio::null())
            .output();
        match probe {
            Ok(output) if output.status.success() => {}
            Ok(output) => {
                return Err(tr!(
                    lang,
                    "bubblewrap cannot make a sandbox on this system ({}): check that the kernel allows namespaces, {}.",
                    "bubblewrap no puede crear un entorno aislado en este sistema ({}): revisa que el kernel permita los namespaces, {}.",
                    String::from_utf8_lossy(&output.stderr).trim(),
                    instead
                ));
            }
            Err(error) => {
                return Err(tr!(
                    lang,
                    "bubblewrap cannot be run ({}): {}.",
                    "no se puede ejecutar bubblewrap ({}): {}.",
                    error,
                    instead
                ));
            }
        }
        let checker = std::env::current_exe().map_err(|error| error.to_string())?;
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let mut hidden: Vec<PathBuf> = ["/home", "/root", "/tmp", "/var/tmp", "/run", "/sys"]
            .into_iter()
            .map(PathBuf::from)
            .chain(home.clone())
            .collect();
        for folder in [submissions, out] {
            if let Ok(folder) = folder.canonicalize() {
                hidden.push(folder);
            }
        }
        hidden.retain(|path| path.exists());
        hidden.sort();
        hidden.dedup();
        // A shorter path first, so a hidden folder inside another is mounted after it.
        hidden.sort_by_key(|path| path.components().count());
        let tools = tool_folders(&hidden, home.as_deref());
        let scratch =
            std::env::temp_dir().join(format!("coursecheck-sandbox-{}", std::process::id()));
        std::fs::create_dir_all(&scratch).map_err(|error| {
            tr!(
                lang,
                "cannot create the scratch folder {}: {}.",
                "no se puede crear la carpeta temporal {}: {}.",
                scratch.display(),
                error
            )
        })?;
        Ok(Sandbox {
            bwrap,
            checker,
            hidden,
            tools,
            scratch,
        })
    }

    /// Checks the submission in `folder` against `lesson` inside a sandbox of its own, in
    /// grading slot `slot` (each slot at a time runs one submission).
    pub fn check(
        &self,
        lesson: Lesson,
        folder: &Path,
        command: &[String],
        slot: usize,
        options: &Options,
    ) -> Result<Report, String> {
        let lang = options.lang;
        // Held until the submission is graded and its processes are gone with the sandbox.
        let lease = UidLease::take(Path::new(UID_LOCKS)).map_err(|error| {
            tr!(
                lang,
                "No user id is free for the sandbox ({}): wait for the other grading runs to end.",
                "No hay un id de usuario libre para el entorno aislado ({}): espera a que terminen las otras calificaciones.",
                error
            )
        })?;
        let limits = Limits::for_uid(lease.uid(), options.timeout);
        let copy = self.scratch.join(format!("slot-{slot}"));
        let _ = std::fs::remove_dir_all(&copy);
        let copied = copy_tree(folder, &copy).and_then(|()| chown_tree(&copy, limits.uid));
        if let Err(error) = copied {
            let _ = std::fs::remove_dir_all(&copy);
            return Err(tr!(
                lang,
                "Could not copy the submission into the sandbox: {}.",
                "No se pudo copiar la entrega al entorno aislado: {}.",
                error
            ));
        }
        let mut sandbox = Command::new(&self.bwrap);
        sandbox.args(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]);
        for path in &self.hidden {
            sandbox.arg("--perms").arg(if path == Path::new("/tmp") {
                "1777"
            } else {
                "0755"
            });
            sandbox.arg("--tmpfs").arg(path);
        }
        for tool in &self.tools {
            sandbox.arg("--ro-bind").arg(tool).arg(tool);
        }
        sandbox
            .arg("--ro-bind")
            .arg(&self.checker)
            .arg(CHECKER_INSIDE)
            .arg("--bind")
            .arg(&copy)
            .arg(HOME_INSIDE)
            .args(["--chdir", HOME_INSIDE, "--setenv", "HOME", HOME_INSIDE])
            .args([
                "--unshare-net",
                "--unshare-pid",
                "--unshare-ipc",
                "--unshare-uts",
            ])
            .args(["--die-with-parent", "--new-session", "--", CHECKER_INSIDE])
            .arg(lesson.name())
            .args(["--format", "json", "--lang", lang.pick("en", "es")])
            .arg("--timeout")
            .arg(options.timeout.as_secs().to_string())
            .arg("--sandboxed")
            .arg(limits.to_arg());
        for only in &options.only {
            sandbox.arg("--only").arg(only);
        }
        sandbox
            .arg("--")
            .args(command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let group = ControlGroup::new(&format!("coursecheck-{}-{slot}", std::process::id()));
        if let Some(group) = &group {
            // SAFETY: the joiner only calls open, write and close (join_control_group).
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut sandbox, group.joiner());
            }
        }
        let outcome = run_bounded(sandbox, budget(lesson, options), lang);
        drop(group);
        let _ = std::fs::remove_dir_all(&copy);
        let (stdout, stderr) = outcome?;
        Report::from_json(lesson, &stdout, lang).map_err(|error| {
            tr!(
                lang,
                "The checker inside the sandbox gave no report ({}); it said: {}",
                "El verificador dentro del entorno aislado no entregó un informe ({}); dijo: {}",
                error,
                String::from_utf8_lossy(&stderr).trim()
            )
        })
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// The longest a whole submission may take: every check's timeout, the SNTP no-reply wait,
/// and a margin for starting the sandbox.
fn budget(lesson: Lesson, options: &Options) -> Duration {
    let checks = u32::try_from(lesson.check_ids().len()).unwrap_or(u32::MAX);
    options.timeout * checks + crate::clients::NO_REPLY_LIMIT + Duration::from_secs(15)
}

/// Runs the sandbox until it ends or `budget` passes (then kills it, and with it everything
/// inside); what it printed on stdout (capped) and stderr.
fn run_bounded(
    mut sandbox: Command,
    budget: Duration,
    lang: Lang,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut child = sandbox.spawn().map_err(|error| {
        tr!(
            lang,
            "Could not start the sandbox: {}.",
            "No se pudo iniciar el entorno aislado: {}.",
            error
        )
    })?;
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(pipe) = pipe {
                let _ = pipe.take(REPORT_LIMIT as u64).read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + budget;
    let finished = loop {
        match child.try_wait() {
            Ok(Some(_)) => break true,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
            _ => break false,
        }
    };
    if !finished {
        let _ = child.kill();
        let _ = child.wait();
        return Err(tr!(
            lang,
            "The submission's sandbox was still running after {} s, the most its checks may take together: it was killed with everything in it.",
            "El entorno aislado de la entrega seguía ejecutándose después de {} s, lo máximo que pueden durar todas sus pruebas: se terminó con todo lo que tenía adentro.",
            budget.as_secs()
        ));
    }
    Ok((
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default(),
    ))
}

/// The folders of the PATH's tools that a hidden folder would hide (`~/.pyenv` for
/// `~/.pyenv/shims`), and `~/.rustup` with `~/.cargo`, since cargo's binaries need it.
fn tool_folders(hidden: &[PathBuf], home: Option<&Path>) -> Vec<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut tools = Vec::new();
    for entry in std::env::split_paths(&path) {
        for hidden in hidden {
            if let Ok(rest) = entry.strip_prefix(hidden) {
                if let Some(first) = rest.components().next() {
                    tools.push(hidden.join(first));
                }
            }
        }
    }
    if let Some(home) = home {
        if tools.contains(&home.join(".cargo")) {
            tools.push(home.join(".rustup"));
        }
    }
    tools.retain(|tool| tool.is_dir());
    tools.sort();
    tools.dedup();
    tools
}

/// Copies the folder `from` to `to`: files, folders and symbolic links (as links).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Gives the folder `root` and everything in it to `uid` (as its group too).
fn chown_tree(root: &Path, uid: u32) -> std::io::Result<()> {
    std::os::unix::fs::lchown(root, Some(uid), Some(uid))?;
    if std::fs::symlink_metadata(root)?.is_dir() {
        for entry in std::fs::read_dir(root)? {
            chown_tree(&entry?.path(), uid)?;
        }
    }
    Ok(())
}

/// The processes of every sandbox user (the whole pool from [`FIRST_UID`]) still running:
/// after grading, none may be.
pub fn leftover_processes() -> Vec<u32> {
    let users = FIRST_UID..FIRST_UID + UID_POOL;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let uid = std::fs::metadata(entry.path()).ok()?.uid();
            users.contains(&uid).then_some(pid)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_uid_goes_to_no_one_else_until_its_lease_is_dropped() {
        let locks = std::env::temp_dir().join(format!("coursecheck-uids-{}", std::process::id()));
        let first = UidLease::take(&locks).expect("a first id");
        let second = UidLease::take(&locks).expect("a second id");
        assert_eq!(first.uid(), FIRST_UID);
        assert_eq!(second.uid(), FIRST_UID + 1);
        // A lock held elsewhere, as another grading run holds it: an open file of its own.
        let elsewhere = std::fs::File::create(locks.join((FIRST_UID + 2).to_string()))
            .expect("the third lock file");
        // SAFETY: flock(2) on a descriptor we hold open.
        let held = unsafe {
            libc::flock(
                std::os::unix::io::AsRawFd::as_raw_fd(&elsewhere),
                libc::LOCK_EX | libc::LOCK_NB,
            )
        };
        assert_eq!(held, 0);
        assert_eq!(
            UidLease::take(&locks).expect("a fourth id").uid(),
            FIRST_UID + 3
        );
        drop(first);
        assert_eq!(
            UidLease::take(&locks).expect("the first id again").uid(),
            FIRST_UID
        );
        drop((second, elsewhere));
        let _ = std::fs::remove_dir_all(&locks);
    }
}
