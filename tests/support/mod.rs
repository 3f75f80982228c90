//! The test harness every lesson test shares: it runs a lesson program as a real child process
//! with a timeout, captures what it prints, and can start a server lesson and wait until it
//! listens.
//!
//! Conventions the lessons keep so this works:
//! - a server lesson accepts `--port 0` (the kernel picks a free port, so tests run in
//!   parallel) and prints a line containing `listening on ADDRESS` once it accepts peers;
//! - failures go to stderr as `error: …` and `hint: …`, with exit code 1;
//! - a bad argument exits with code 2.
//!
//! Each test binary compiles its own copy of this module and uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// How long any lesson may run in a test before it counts as hung.
pub const LESSON_TIMEOUT: Duration = Duration::from_secs(30);

/// A host name that no resolver can send to a DNS server, for the "unknown name" tests: its
/// first label is longer than the 63 bytes DNS allows (RFC 1035 §2.3.4), so the resolver
/// refuses it at once as unknown, online or offline, and no query leaves the machine.
/// (`no-such-host.invalid` would be asked of the machine's DNS server: RFC 6761 says a
/// resolver should answer `.invalid` itself, but glibc's does not.)
pub const UNKNOWN_HOST: &str =
    "this-name-is-longer-than-the-sixty-three-bytes-a-dns-label-may-hold.invalid";

/// The lessons behind one of the root package's optional features (root Cargo.toml), with it.
const FEATURE_LESSONS: &[(&str, &str)] = &[
    ("server_06", "many-clients"),
    ("server_07", "many-clients"),
    ("socket_06", "tls"),
    ("https_server", "tls"),
];

/// The path of a lesson's compiled program, building the lessons once per test binary.
///
/// `cargo test` builds the examples before it runs tests, but `cargo test --test NAME` does not,
/// so the harness asks Cargo itself; when everything is fresh this takes a fraction of a second.
pub fn lesson_path(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    static BUILT_WITH_FEATURES: OnceLock<()> = OnceLock::new();
    let build = |args: &[&str]| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet"])
            .args(args)
            .current_dir(kit_root())
            .status()
            .expect("cargo can be run from the tests");
        assert!(status.success(), "building the lessons failed");
    };
    BUILT.get_or_init(|| build(&["--examples"]));
    // A plain build skips the lessons behind a feature: build them, and only them, with theirs.
    if FEATURE_LESSONS.iter().any(|&(lesson, _)| lesson == name) {
        BUILT_WITH_FEATURES.get_or_init(|| {
            let mut features: Vec<&str> = FEATURE_LESSONS.iter().map(|&(_, f)| f).collect();
            features.dedup();
            let features = features.join(",");
            let mut args = vec!["--features", features.as_str()];
            for (lesson, _) in FEATURE_LESSONS {
                args.extend(["--example", lesson]);
            }
            build(&args)
        });
    }
    let path = examples_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "no lesson program at {}", path.display());
    path
}

/// The kit's root folder (the top-level Cargo.toml, examples/, tests/): where the tests of the
/// root package live, and two levels above those of crates/coursecheck, which share this file.
pub fn kit_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("examples").join("server_05.rs").exists())
        .expect("the tests run inside the kit")
        .to_path_buf()
}

fn examples_dir() -> PathBuf {
    // A test binary lives in target/<profile>/deps/; the lessons in target/<profile>/examples/.
    let test_binary = std::env::current_exe().expect("the test binary knows its path");
    let profile_dir = test_binary
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps");
    profile_dir.join("examples")
}

/// A command that runs lesson `name` with `args`.
pub fn lesson(name: &str, args: &[&str]) -> Command {
    let mut command = Command::new(lesson_path(name));
    command.args(args).env_remove("RUST_BACKTRACE");
    command
}

/// What a finished program did.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status.
    pub status: ExitStatus,
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Everything it printed on stderr.
    pub stderr: String,
}

impl Finished {
    /// The exit code; a program killed by a signal has none and fails the test.
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal: {self:?}"))
    }

    /// Asserts the exit code and that nothing panicked, with the whole output on failure.
    pub fn assert_code(&self, expected: i32) -> &Self {
        assert_eq!(self.code(), expected, "unexpected exit code: {self:#?}");
        assert!(
            !self.stderr.contains("panicked"),
            "the program panicked: {self:#?}"
        );
        self
    }

    /// Asserts a clean failure: exit code 1, `error: …` on stderr, and no panic.
    pub fn assert_clean_failure(&self) -> &Self {
        self.assert_code(1);
        assert!(
            self.stderr.starts_with("error: "),
            "no error sentence: {self:#?}"
        );
        self
    }
}

/// Runs `command` to completion with `stdin` as its input, killing it after `timeout`.
pub fn run_with_input(mut command: Command, stdin: &[u8], timeout: Duration) -> Finished {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let description = format!("{command:?}");
    let mut child = ChildGuard::spawn(command);
    let mut input = child.0.stdin.take().expect("stdin is piped");
    let stdin = stdin.to_vec();
    // Writing from a thread keeps a large input from deadlocking against a full stdout pipe.
    let writer = thread::spawn(move || {
        use std::io::Write;
        let _ = input.write_all(&stdin);
    });
    let stdout = read_in_background(child.0.stdout.take().expect("stdout is piped"));
    let stderr = read_in_background(child.0.stderr.take().expect("stderr is piped"));
    let status = child.wait_timeout(timeout).unwrap_or_else(|| {
        panic!("{description} did not finish within {timeout:?}");
    });
    let _ = writer.join();
    Finished {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// Runs lesson `name` with `args` and no input, within [`LESSON_TIMEOUT`].
pub fn run_lesson(name: &str, args: &[&str]) -> Finished {
    run_with_input(lesson(name, args), b"", LESSON_TIMEOUT)
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A child process that is killed and reaped when dropped, so no test leaves a server behind
/// (PID 1 here does not reap orphans).
#[derive(Debug)]
pub struct ChildGuard(pub Child);

impl ChildGuard {
    /// Starts `command`; a program that cannot start fails the test with its name.
    pub fn spawn(mut command: Command) -> Self {
        match command.spawn() {
            Ok(child) => ChildGuard(child),
            Err(error) => panic!("could not start {command:?}: {error}"),
        }
    }

    /// Waits up to `timeout` for the child to exit on its own.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.0.try_wait().expect("the child can be polled") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    // Signals are sent with kill(1): Unix only.
    #[cfg(unix)]
    /// Sends SIGTERM (a polite stop, like Ctrl-C's SIGINT) and waits up to `timeout`.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        signal(&self.0, "TERM");
        self.wait_timeout(timeout)
    }

    #[cfg(unix)]
    /// Sends SIGINT, as Ctrl-C in a terminal would, and waits up to `timeout`.
    pub fn interrupt(&mut self, timeout: Duration) -> Option<ExitStatus> {
        signal(&self.0, "INT");
        self.wait_timeout(timeout)
    }
}

#[cfg(unix)]
fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .expect("kill(1) is available");
    assert!(status.success(), "kill -{name} {} failed", child.id());
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A server lesson running in the background, listening at [`RunningServer::addr`].
pub struct RunningServer {
    /// The process; dropping the server kills it.
    pub child: ChildGuard,
    /// The address it printed in its `listening on …` line.
    pub addr: SocketAddr,
    stdout: Receiver<String>,
    stderr: std::sync::Arc<Mutex<String>>,
}

impl RunningServer {
    /// Starts lesson `name` with `args` (pass `--port 0`), and waits for its `listening on`
    /// line for up to ten seconds.
    pub fn start(name: &str, args: &[&str]) -> Self {
        Self::start_command(lesson(name, args))
    }

    /// Starts any command that prints `listening on ADDRESS` when ready.
    pub fn start_command(mut command: Command) -> Self {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = ChildGuard::spawn(command);
        let stdout = child.0.stdout.take().expect("stdout is piped");
        let stderr_pipe = child.0.stderr.take().expect("stderr is piped");
        let (lines_tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::sync::Arc::new(Mutex::new(String::new()));
        let stderr_sink = stderr.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines() {
                let Ok(line) = line else { break };
                let mut sink = stderr_sink.lock().expect("stderr sink");
                sink.push_str(&line);
                sink.push('\n');
            }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = listening_address(&line) {
                        return RunningServer {
                            child,
                            addr,
                            stdout: lines,
                            stderr,
                        };
                    }
                }
                Err(error) => {
                    let status = child.wait_timeout(Duration::from_millis(200));
                    panic!(
                        "the server never printed `listening on ADDRESS` ({error:?}); \
                         exit: {status:?}; stderr: {}",
                        stderr.lock().expect("stderr sink")
                    );
                }
            }
        }
    }

    /// The next line the server prints on stdout, if one comes within `timeout`.
    pub fn next_line(&self, timeout: Duration) -> Option<String> {
        self.stdout.recv_timeout(timeout).ok()
    }

    /// Waits up to `timeout` for a stdout line that contains `needle`, returning it.
    pub fn wait_for_line(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let line = self.next_line(left)?;
            if line.contains(needle) {
                return Some(line);
            }
        }
    }

    /// What the server has printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr sink").clone()
    }
}

/// The address in a line such as `listening on 127.0.0.1:8888` or `listening on udp [::1]:123`.
pub fn listening_address(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("listening on ")?;
    rest.split_whitespace().find_map(|word| word.parse().ok())
}

/// Fails the test with an install hint when an external program the test needs is missing:
/// such tests are `#[ignore]`d by default and `.ci/run` installs their programs first.
pub fn require_program(program: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{program} is not installed: `.ci/run` shows how to install it"
    );
}

/// The path of binary `name` of workspace package `package` (a tool such as `netbench`),
/// building that package's binaries once per test binary, as [`lesson_path`] does for lessons.
pub fn workspace_binary(package: &str, name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().expect("the build list");
    if !built.iter().any(|p| p == package) {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--bins", "-p", package])
            .current_dir(kit_root())
            .status()
            .expect("cargo can be run from the tests");
        assert!(status.success(), "building {package} failed");
        built.push(package.to_owned());
    }
    let profile_dir = examples_dir()
        .parent()
        .expect("examples/ sits in target/<profile>")
        .to_path_buf();
    let path = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "no program at {}", path.display());
    path
}

/// A fresh directory under the system's temp dir, unique to this process and call, removed
/// with everything in it when dropped: config files for peers, payload files for clients.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `socket-lessons-LABEL-PID-N` in the temp dir.
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "socket-lessons-{label}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create a temp dir");
        TempDir(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `bytes` to file `name` in the directory and returns its path.
    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("write a temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago: for a peer that must bind it itself
/// (nginx, socat), or as a port where nothing listens. The caller retries on a collision.
pub fn free_tcp_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("the bound address").port()
}

/// A UDP port on 127.0.0.1 that was free a moment ago (see [`free_tcp_port`]).
pub fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback port");
    socket.local_addr().expect("the bound address").port()
}

/// `len` bytes that are not text, reproducible from `seed`: every byte value, a NUL every
/// seventh byte, and no short period that an off-by-one in framing could hide behind.
pub fn binary_payload(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            if i % 7 == 0 { 0 } else { (state >> 24) as u8 }
        })
        .collect()
}

/// Starts a TCP server that cannot be told to pick its own port (nginx, socat, Python's
/// http.server): `command(port)` is started on a free loopback port and the call returns once
/// that port accepts, retrying on a fresh port when the server exits first (the port was
/// taken meanwhile).
pub fn start_tcp_peer(mut command: impl FnMut(u16) -> Command) -> (ChildGuard, u16) {
    for _ in 0..5 {
        let port = free_tcp_port();
        let mut command = command(port);
        command.stdin(Stdio::null()).stdout(Stdio::null());
        let mut child = ChildGuard::spawn(command);
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && child.0.try_wait().ok().flatten().is_none() {
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return (child, port);
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("the peer server never listened on a loopback port");
}

/// Whether this machine has an IPv6 loopback (`::1`). One without it (IPv6 turned off, a
/// container without IPv6) cannot run the IPv6 tests: they print why and check nothing there.
pub fn has_ipv6_loopback(test: &str) -> bool {
    match std::net::TcpListener::bind("[::1]:0") {
        Ok(_) => true,
        Err(error) => {
            println!("skipped {test}: this machine has no IPv6 loopback ({error})");
            false
        }
    }
}
