//! Every command the notes show is run, so the notes cannot drift from the programs (issue 11
//! §4).
//!
//! The test extracts each command from the lessons' `## How to run` blocks (the `//!` headers
//! of `examples/*.rs`), from the shell blocks of `README*.md`, `docs/*.md` and `docs/es/*.md`,
//! and from the code in their tables. Each distinct command must match a rule in [`RULES`]:
//! either it runs (against the local peer the notes name, started here on a free port) or it
//! is skipped with the reason printed. A command no rule knows fails the test, so a new
//! command in the notes must be classified here.
//!
//! A run checks the exit code and, where the rule says so, the *shape* of the output against
//! the lesson's `## What you should see` block: every line of the block must appear, in order,
//! once ports, addresses, times, dates, sizes and other numbers are masked on both sides.
//!
//! Commands use the notes' ports (8888, 9900, 12300, 8000); they are rewritten to the peer's
//! free port, and servers are started with `--port 0`. `cargo run --example X -- ARGS` runs the
//! built lesson directly. The test prints one table line per command: `ran`, `skipped` with
//! the reason, or `FAILED` with what differed and where the command is written.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::thread;
use std::time::Duration;

use support::{Finished, RunningServer, TempDir, lesson_path, run_with_input, start_tcp_peer};

/// How long one documented command may run before it counts as hung.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The ports the notes use; each is rewritten to the port of the peer actually started.
const NOTES_PORTS: [&str; 4] = ["8888", "9900", "12300", "8000"];

/// The page of the notes' `python3 -m http.server -d /tmp/www` exercise.
const WWW_INDEX: &str = "<h1>Hello from the lab</h1>\n";

// ---- The rules: what each documented command needs, and what its output must look like.

/// What to do with a documented command.
enum Action {
    /// Not run here, for this reason.
    Skip(&'static str),
    /// Run it to the end, with `peer` listening first and `input` as what is typed into it.
    Run {
        peer: Peer,
        input: &'static [u8],
        expect: Expect,
    },
    /// The same, if the shell line `probe` succeeds (a peer's library is installed);
    /// otherwise skipped, saying what is `missing`.
    RunIf {
        probe: &'static str,
        missing: &'static str,
        peer: Peer,
        expect: Expect,
    },
    /// It starts a server: start it on a free port, run `clients` against it one after the
    /// other, stop it (Ctrl-C on Unix), and check what it printed.
    Serve {
        clients: &'static [Client],
        expect: Expect,
    },
}

/// A peer started before a command runs, on a free loopback port.
#[derive(Clone, Copy, Debug)]
enum Peer {
    Nothing,
    /// The kit's SNTP server (`cargo run --example ntp_server`).
    Ntp,
    /// `python3 -m http.server` serving this checkout, as the notes run it from the kit.
    Http,
    /// `python3 -m http.server -d /tmp/www` with the notes' one-line `index.html`.
    HttpWww,
    /// The kit's `echo_server`.
    Echo,
    /// The kit's `server_05`.
    Server05,
    /// The kit's `udp_echo_server`.
    UdpEcho,
}

/// A client of a server the notes start.
enum Client {
    /// A documented command, with the notes' port (rewritten to the server's).
    Command(&'static str),
    /// Connect, send these bytes, half-close, read until the server closes.
    Send(&'static [u8]),
}

/// What a finished command must show.
#[derive(Clone, Copy)]
enum Expect {
    /// Exit code 0.
    Success,
    /// This exit code.
    Code(i32),
    /// Exit code 0, and the output has the shape of the first `What you should see` block of
    /// the lesson's header that contains the text `block`, leaving out the block's lines that
    /// contain one of `ignore`, or equal it when it starts with `=` (each use says why the run
    /// cannot reproduce them).
    Shape {
        lesson: &'static str,
        block: &'static str,
        ignore: &'static [&'static str],
    },
}

/// The mark of a command from a PowerShell or cmd block of the notes.
const WINDOWS: &str = "(Windows) ";

const INTERNET: &str = "needs internet: it talks to a public host, and DNS and the internet \
                        are not there offline";
const INTERACTIVE: &str = "interactive: the student types into it (the lessons' tests drive \
                           the same servers with scripted clients)";

const fn skip(reason: &'static str) -> Action {
    Action::Skip(reason)
}

const fn run(peer: Peer, expect: Expect) -> Action {
    typing(b"", peer, expect)
}

const fn typing(input: &'static [u8], peer: Peer, expect: Expect) -> Action {
    Action::Run {
        peer,
        input,
        expect,
    }
}

const fn serve(clients: &'static [Client], expect: Expect) -> Action {
    Action::Serve { clients, expect }
}

const fn shape(
    lesson: &'static str,
    block: &'static str,
    ignore: &'static [&'static str],
) -> Expect {
    Expect::Shape {
        lesson,
        block,
        ignore,
    }
}

use Client::{Command as Typed, Send};
use Expect::{Code, Success};
use Peer::{Echo, Http, HttpWww, Nothing, Ntp, Server05, UdpEcho};

/// The rules, first match wins: `(pattern, action)`, where the pattern is the command as the
/// notes write it, with `*` for any text. Keep one rule per documented command or family.
const RULES: &[(&str, Action)] = &[
    // -- Not run here, with the reason.
    ("cargo test", skip("it runs this very test suite")),
    (
        "docs/book/build",
        skip(
            "needs mdBook, mdbook-mermaid and Chromium: tests/book.rs (ignored, run by .ci/run) builds both books and checks them in Chromium",
        ),
    ),
    (
        "cargo install --locked mdbook *",
        skip("installs a tool from the registry: .ci/run does it before tests/book.rs"),
    ),
    (
        "cargo install --locked mdbook-mermaid *",
        skip("installs a tool from the registry: .ci/run does it before tests/book.rs"),
    ),
    (
        "bench/compare",
        skip("the ten-minute benchmark: speed is never run or asserted in tests"),
    ),
    (
        "cp -r socket-lessons/docs/homework *",
        skip("tests/homework.rs builds a project from the template"),
    ),
    (
        "echo \"127.0.1.1 $(hostname)\" | sudo tee -a /etc/hosts",
        skip("needs root, and changes this machine's /etc/hosts"),
    ),
    ("getent ahosts www.google.com", skip(INTERNET)),
    ("cargo run --example basics_02", skip(INTERNET)),
    ("cargo run --example basics_04", skip(INTERNET)),
    ("cargo run --example basics_05", skip(INTERNET)),
    ("cargo run --example socket_02", skip(INTERNET)),
    ("cargo run --example socket_03", skip(INTERNET)),
    ("cargo run --example socket_04", skip(INTERNET)),
    ("cargo run --example socket_05", skip(INTERNET)),
    ("nc 127.0.0.1 *", skip(INTERACTIVE)),
    ("telnet 127.0.0.1 *", skip(INTERACTIVE)),
    (
        "nc -l 127.0.0.1 *",
        skip(
            "interactive: it waits for a client to type to (server_01's tests take the port \
             with a listener of their own)",
        ),
    ),
    (
        "printf 'x\\n' | nc 127.0.0.1 8888",
        skip(
            "the last step of an interactive exercise: two nc clients typed into must hold \
             the server's seats first",
        ),
    ),
    (
        "coursecheck *",
        skip(
            "the installed homework checker: its usage, a check of a student's program ({port} \
             is its to fill in) or a class's grading; crates/coursecheck/tests/lessons.rs runs every lesson's \
             check and grade",
        ),
    ),
    (
        "cargo install --path crates/coursecheck",
        skip(
            "installs the homework checker into ~/.cargo/bin; the tests run the one cargo \
             builds (target/debug/coursecheck)",
        ),
    ),
    (
        "python3 * --port {port}",
        skip("a student's program, as the homework checker starts it"),
    ),
    ("sudo *", skip("needs root")),
    (
        "(Windows) *",
        skip("a PowerShell or cmd line: this test runs the notes' POSIX shell lines only"),
    ),
    (
        "cargo run --features tls *",
        skip(
            "socket_06 and https_server (tls feature): tests/tls.rs runs them against each other, every line of the notes' run checked, and tests/http_interop.rs runs socket_06 against nginx",
        ),
    ),
    (
        "cargo run --features *",
        skip(
            "server_06/07 (many-clients feature): tests/many_clients.rs runs them through every check server_05 gets",
        ),
    ),
    // The cold-build timings in docs/05: a fresh target directory would rebuild everything.
    (
        "cargo build *",
        skip("a cold-build timing from the notes; cargo test builds every lesson already"),
    ),
    // -- The system's own tools, for comparison: they must work as shown.
    ("hostname", run(Nothing, Success)),
    ("getent *", run(Nothing, Success)),
    ("grep -w 25/tcp /etc/services", run(Nothing, Success)),
    ("ulimit -n", run(Nothing, Success)),
    // Named in a common-errors row as a cause (the per-user process limit), not a step to run.
    (
        "ulimit -u",
        skip("a cause named in a table of errors, not a command to run"),
    ),
    ("ss -tan", run(Nothing, Success)),
    ("ss -ltnp *", run(Server05, Success)),
    // diff exits with 1 when the files differ, and consecutive lessons always do.
    ("diff examples/*", run(Nothing, Code(1))),
    // -- Socket utils. This machine's name and addresses are not the example's, and whether
    // -- localhost has an IPv6 address depends on its /etc/hosts.
    (
        "cargo run --example basics_01",
        run(
            Nothing,
            shape("basics_01", "Host name:", &["Host name:", "IP address:"]),
        ),
    ),
    (
        "cargo run --example basics_02 -- localhost",
        run(
            Nothing,
            shape("basics_02", "IP addresses of localhost", &["::1"]),
        ),
    ),
    ("cargo run --example basics_02 -- *", run(Nothing, Success)),
    (
        "cargo run --example basics_03",
        run(Nothing, shape("basics_03", "25/tcp", &[])),
    ),
    ("cargo run --example basics_03 -- *", run(Nothing, Success)),
    // -- Time.
    (
        "cargo run --example basics_04 -- 127.0.0.1 --port 12300",
        run(Ntp, shape("basics_04", "time:", &[])),
    ),
    (
        "cargo run --example basics_05 -- 127.0.0.1 --port 12300",
        run(Ntp, shape("basics_05", "reply from", &[])),
    ),
    ("chronyd -Q -t 3 *", run(Ntp, Success)),
    (
        "python3 -c \"import ntplib; *",
        Action::RunIf {
            probe: "python3 -c 'import ntplib'",
            missing: "Python's ntplib is not installed (`pip install ntplib`)",
            peer: Ntp,
            expect: Success,
        },
    ),
    (
        "cargo run --example ntp_server",
        serve(
            &[
                Typed("cargo run --example basics_04 -- 127.0.0.1 --port 12300"),
                Typed("cargo run --example basics_05 -- 127.0.0.1 --port 12300"),
            ],
            shape("ntp_server", "listening on", &[]),
        ),
    ),
    // -- HTTP client.
    (
        "python3 -m http.server -b 127.0.0.1 8000",
        serve(
            &[Typed("cargo run --example socket_05 -- 127.0.0.1 8000 /")],
            Success,
        ),
    ),
    (
        "python3 -m http.server -b 127.0.0.1 8000 -d /tmp/www",
        serve(
            &[Typed(
                "cargo run --example socket_05 -- 127.0.0.1 8000 /index.html --body",
            )],
            Success,
        ),
    ),
    ("mkdir -p /tmp/www && *", run(Nothing, Success)),
    (
        "cargo run --example socket_01",
        run(Nothing, shape("socket_01", "Socket created", &[])),
    ),
    (
        "cargo run --example socket_02 -- localhost",
        run(
            Nothing,
            shape("socket_02", "IP addresses of localhost", &["::1"]),
        ),
    ),
    (
        "cargo run --example socket_03 -- 127.0.0.1 8000",
        run(Http, shape("socket_03", "Connected to", &[])),
    ),
    (
        "cargo run --example socket_04 -- 127.0.0.1 8000 /",
        run(Http, shape("socket_04", "Sent", &[])),
    ),
    (
        "cargo run --example socket_05 -- 127.0.0.1 8000 /",
        run(Http, shape("socket_05", "Received", &[])),
    ),
    (
        "cargo run --example socket_05 -- 127.0.0.1 8000 /index.html *",
        run(HttpWww, Success),
    ),
    (
        "cargo run --example socket_05 -- 127.0.0.1 8000 *",
        run(Http, Success),
    ),
    ("curl -v http://127.0.0.1:8000/", run(Http, Success)),
    // -- TCP server.
    (
        "cargo run --example server_01",
        run(Nothing, shape("server_01", "Socket bind complete", &[])),
    ),
    // An IPv4-only machine has no ::1 to bind.
    (
        "cargo run --example server_01 -- --host ::1",
        Action::RunIf {
            probe: "python3 -c 'import socket; socket.create_server((\"::1\", 0), family=socket.AF_INET6)'",
            missing: "this machine has no IPv6 loopback (::1)",
            peer: Nothing,
            expect: Success,
        },
    ),
    ("cargo run --example server_01 -- *", run(Nothing, Success)),
    (
        "cargo run --example server_02",
        serve(&[Send(b"")], shape("server_02", "Connected with", &[])),
    ),
    // The offline tables give each server its port: `-- --port 8888`.
    (
        "cargo run --example server_02 -- *",
        serve(&[Send(b"")], Success),
    ),
    (
        "cargo run --example server_03",
        serve(&[Send(b"hello\n")], shape("server_03", "received", &[])),
    ),
    (
        "cargo run --example server_03 -- *",
        serve(&[Send(b"hello\n")], Success),
    ),
    // The example's third client stays silent until the 10 s timeout: too slow here (the
    // lesson's own tests cover it).
    (
        "cargo run --example server_04",
        serve(
            &[Send(b"hello\n"), Send(b"")],
            shape("server_04", "received", &["Connected with", "timed out"]),
        ),
    ),
    // The example has a second client still connected at Ctrl-C, cut off after the grace
    // period; this run has one client, gone before Ctrl-C.
    (
        "cargo run --example server_04 -- *",
        serve(&[Send(b"hello\n"), Send(b"")], Success),
    ),
    (
        "cargo run --example server_05",
        serve(
            &[Send(b"hello\nworld\n")],
            shape(
                "server_05",
                "listening on",
                &["(2 live)", "live client(s)", "server stopped"],
            ),
        ),
    ),
    (
        "cargo run --example server_05 -- *",
        serve(&[Send(b"hello\n")], Success),
    ),
    // The --max-line exercise: server_05 answers a too-long line with an error and hangs up.
    (
        "head -c 100000 /dev/zero | nc 127.0.0.1 8888",
        run(Server05, Success),
    ),
    // nc (ncat) half-closes at the end of its input, and server_05 then hangs up.
    ("printf * | nc 127.0.0.1 8888*", run(Server05, Success)),
    (
        "printf * | socat -t 2 - TCP:127.0.0.1:8888",
        run(Server05, Success),
    ),
    // The server_04 exercise's client: any line server answers it and closes, server_05 too.
    (
        "printf * | socat -t 15 - TCP:127.0.0.1:8888",
        run(Server05, Success),
    ),
    // The kit's own nc: the lines typed into it are the terminal's echo, not its output.
    (
        "cargo run --example line_client",
        typing(
            b"hello\nworld\n",
            Server05,
            shape("line_client", "Welcome", &["=hello", "=world"]),
        ),
    ),
    (
        "cargo run --example line_client -- *",
        typing(b"hello\n", Echo, Success),
    ),
    // -- Echo.
    (
        "cargo run --example echo_server*",
        serve(
            &[Typed("cargo run --example echo_client -- --port 9900")],
            shape("echo_server", "listening on", &[]),
        ),
    ),
    (
        "socat *TCP-LISTEN:9900,bind=127.0.0.1,fork,reuseaddr PIPE",
        serve(
            &[Typed("cargo run --example echo_client -- --port 9900")],
            Success,
        ),
    ),
    (
        "cargo run --example echo_client",
        run(Echo, shape("echo_client", "the echo matches", &[])),
    ),
    (
        "cargo run --example echo_client -- --port 9900",
        run(Echo, shape("echo_client", "the echo matches", &[])),
    ),
    // The notes' exercise: server_05 greets first, so the echo differs and the client says
    // at which byte, with exit code 1.
    (
        "cargo run --example echo_client -- --port 8888",
        run(Server05, Code(1)),
    ),
    ("cargo run --example echo_client -- *", run(Echo, Success)),
    (
        "* | cargo run --example echo_client -- --stdin*",
        run(Echo, Success),
    ),
    // -- Datagrams. The server's block shows the six echoes of the client's default run.
    (
        "cargo run --example udp_echo_server",
        serve(
            &[Typed("cargo run --example udp_echo_client -- --port 9900")],
            shape("udp_echo_server", "listening on", &[]),
        ),
    ),
    (
        "cargo run --example udp_echo_server -- *",
        serve(
            &[Typed(
                "cargo run --example udp_echo_client -- burst --port 9900",
            )],
            Success,
        ),
    ),
    (
        "cargo run --example udp_echo_client",
        run(
            UdpEcho,
            shape("udp_echo_client", "one receive per send", &[]),
        ),
    ),
    // The same port number, over TCP: the kit's echo_server.
    (
        "cargo run --example udp_echo_client -- tcp",
        run(Echo, Success),
    ),
    (
        "cargo run --example udp_echo_client -- *",
        run(UdpEcho, Success),
    ),
    ("grep Udp: /proc/net/snmp", run(Nothing, Success)),
];

fn matches(pattern: &str, command: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = command.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    if parts.is_empty() {
        return rest.is_empty();
    }
    for (i, part) in parts.iter().enumerate() {
        if i == parts.len() - 1 {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

fn rule_for(command: &str) -> Option<&'static Action> {
    RULES
        .iter()
        .find(|(pattern, _)| matches(pattern, command))
        .map(|(_, action)| action)
}

// ---- Extracting the commands.

fn checkout() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn files_in(dir: &str, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(checkout().join(dir))
        .unwrap_or_else(|e| panic!("read {dir}: {e}"))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == extension))
        .collect();
    files.sort();
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(checkout())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// A command line as the notes write it, without a trailing `# comment` or a `$ ` prompt.
fn clean_command(line: &str) -> String {
    let line = line.trim().trim_start_matches("$ ");
    // A comment line of a shell block (`# macOS: …`) is prose, not a command.
    if line.starts_with('#') {
        return String::new();
    }
    let line = match line.find(" #") {
        Some(at) => &line[..at],
        None => line,
    };
    line.trim().to_owned()
}

/// A lesson's `//!` header, one line per element, without the `//! ` prefix.
fn header_lines(source: &str) -> Vec<String> {
    source
        .lines()
        .map_while(|line| line.strip_prefix("//!"))
        .map(|line| line.strip_prefix(' ').unwrap_or(line).to_owned())
        .collect()
}

/// The fenced blocks of `section` (`## How to run`) in a header or a Markdown file, each
/// with the line number (1-based) of its first line and its lines.
fn blocks_in_section(lines: &[String], section: &str) -> Vec<(usize, Vec<String>)> {
    let mut blocks = Vec::new();
    let mut in_section = false;
    let mut block: Option<(usize, Vec<String>)> = None;
    for (number, line) in lines.iter().enumerate() {
        if line.starts_with("## ") {
            in_section = line.trim() == section;
            continue;
        }
        if line.trim_start().starts_with("```") {
            match block.take() {
                Some(done) => {
                    if in_section {
                        blocks.push(done);
                    }
                }
                None => block = Some((number + 2, Vec::new())),
            }
            continue;
        }
        if let Some((_, lines)) = block.as_mut() {
            lines.push(line.clone());
        }
    }
    blocks
}

/// The `What you should see` blocks of a lesson's header.
fn expected_blocks(lesson: &str) -> Vec<Vec<String>> {
    let source = read(&checkout().join("examples").join(format!("{lesson}.rs")));
    blocks_in_section(&header_lines(&source), "## What you should see")
        .into_iter()
        .map(|(_, lines)| lines)
        .collect()
}

/// Whether `code`, from a Markdown table cell, is a command (not a flag, an error message or
/// a name): it starts with a program the notes run and has arguments.
fn looks_like_command(code: &str) -> bool {
    const PROGRAMS: &[&str] = &[
        "cargo",
        "coursecheck",
        "nc",
        "python3",
        "socat",
        "telnet",
        "curl",
        "chronyd",
        "getent",
        "hostname",
        "ss",
        "printf",
        "head",
        "diff",
        "bash",
        "ntpdig",
        "iperf3",
        "sudo",
        "grep",
        "ulimit",
        "cp",
        "mkdir",
        "echo",
    ];
    let first = code.split_whitespace().next().unwrap_or("");
    PROGRAMS.contains(&first) && code.contains(' ')
}

/// Where a command is written, and the output the notes show right after it, if they do.
struct Written {
    /// `file:line`.
    source: String,
    /// The lines after a `$ command` line in a text block, up to the next prompt or the end:
    /// what the notes say the command prints (`…` stands for lines left out).
    output: Option<Vec<String>>,
}

/// The pages of notes whose commands are checked: the READMEs, the lessons' notes in both
/// languages, and the instructors' pages (issue 17: their demos and lab sheets are commands
/// too).
fn notes() -> Vec<PathBuf> {
    let mut notes = vec![
        checkout().join("README.md"),
        checkout().join("README.es.md"),
    ];
    for dir in [
        "docs",
        "docs/es",
        "docs/instructors",
        "docs/es/instructores",
    ] {
        notes.extend(files_in(dir, "md"));
    }
    notes
}

/// Every documented command, with where it is written.
fn documented_commands() -> BTreeMap<String, Vec<Written>> {
    let mut commands: BTreeMap<String, Vec<Written>> = BTreeMap::new();
    let mut add = |command: String, source: String, output: Option<Vec<String>>| {
        if !command.is_empty() {
            commands
                .entry(command)
                .or_default()
                .push(Written { source, output });
        }
    };
    for file in files_in("examples", "rs") {
        let header = header_lines(&read(&file));
        for (first, lines) in blocks_in_section(&header, "## How to run") {
            for (offset, line) in lines.iter().enumerate() {
                let source = format!("{}:{}", relative(&file), first + offset);
                add(clean_command(line), source, None);
            }
        }
    }
    for file in notes() {
        let text = read(&file);
        // Generated by bench/compare from its own runs; its commands are the benchmark's.
        if file.ends_with("performance.md") || file.ends_with("rendimiento.md") {
            continue;
        }
        let mut fence: Option<String> = None;
        // A `$ command` in a text block, waiting for the output lines that follow it.
        let mut prompt: Option<(String, String, Vec<String>)> = None;
        for (number, line) in text.lines().enumerate() {
            let source = format!("{}:{}", relative(&file), number + 1);
            let trimmed = line.trim();
            let prompted = trimmed.starts_with("$ ");
            if trimmed.starts_with("```") || prompted {
                if let Some((command, source, output)) = prompt.take() {
                    add(command, source, Some(output));
                }
            }
            if let Some(info) = trimmed.strip_prefix("```") {
                fence = match fence {
                    Some(_) => None,
                    None => Some(info.trim().to_owned()),
                };
                continue;
            }
            match fence.as_deref() {
                Some("sh" | "bash" | "console" | "shell") => {
                    add(clean_command(trimmed), source, None);
                }
                Some("powershell" | "ps1" | "pwsh" | "cmd" | "bat") => {
                    add(format!("{WINDOWS}{}", trimmed), source, None);
                }
                // A text block holds output, or commands mixed with it: a command starts with
                // a prompt or with a program the notes run.
                Some(_) if prompted => prompt = Some((clean_command(trimmed), source, Vec::new())),
                Some(_) => match prompt.as_mut() {
                    Some((_, _, output)) => output.push(line.to_owned()),
                    None if looks_like_command(trimmed) => {
                        add(clean_command(trimmed), source, None);
                    }
                    None => {}
                },
                None if trimmed.starts_with('|') => {
                    let row = trimmed.replace("\\|", "|");
                    for code in row.split('`').skip(1).step_by(2) {
                        if looks_like_command(code) {
                            add(code.trim().to_owned(), source.clone(), None);
                        }
                    }
                }
                None => {}
            }
        }
    }
    commands
}

// ---- Comparing output shapes.

/// `line` with what changes from run to run masked: every run of digits, hex digits, dots
/// and colons that holds a digit (ports, addresses, times, sizes, durations, versions), a
/// sign before a number, and the names of days and months. Spaces collapse to one.
fn mask(line: &str) -> String {
    const NAMES: &[&str] = &[
        "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Jan", "Feb", "Mar", "Apr", "May", "Jun",
        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let line = line.trim();
    let line = line.strip_prefix("^C").unwrap_or(line);
    let chars: Vec<char> = line.chars().collect();
    let in_run = |c: char| c.is_ascii_hexdigit() || c == '.' || c == ':';
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let sign = (chars[i] == '+' || chars[i] == '-')
            && chars.get(i + 1).is_some_and(char::is_ascii_digit)
            && (i == 0 || !chars[i - 1].is_alphanumeric() && chars[i - 1] != '-');
        if sign || in_run(chars[i]) {
            let start = i;
            i += 1;
            while i < chars.len() && in_run(chars[i]) {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            if run.chars().any(|c| c.is_ascii_digit()) {
                out.push('#');
            } else {
                out.push_str(&run);
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out.split_whitespace()
        .map(|word| {
            let bare = word.trim_end_matches(',');
            if NAMES.contains(&bare) {
                word.replacen(bare, "#", 1)
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a command printed.
struct Output {
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.stdout, self.stderr)
    }
}

/// Checks that every line of `expected` (but the ignored ones) appears in one of the
/// `streams` (stdout, stderr), in order within each, once masked; returns the first expected
/// line that does not. The notes show both streams in one block, as a terminal does.
fn shape_mismatch(expected: &[String], ignore: &[&str], streams: &[&str]) -> Option<String> {
    let streams: Vec<Vec<String>> = streams
        .iter()
        .map(|text| text.lines().map(mask).collect())
        .collect();
    let mut positions = vec![0; streams.len()];
    for line in expected {
        // What a server prints on Ctrl-C (`^C…` in the notes) cannot be asked for where the
        // test cannot send SIGINT (see LoggedServer::stop).
        let elided = matches!(line.trim(), "" | "…" | "...")
            || (cfg!(not(unix)) && line.trim_start().starts_with("^C"));
        let ignored = ignore.iter().any(|part| match part.strip_prefix('=') {
            Some(whole) => line.trim() == whole,
            None => line.contains(part),
        });
        if elided || ignored {
            continue;
        }
        let wanted = mask(line);
        let found = streams.iter().enumerate().find_map(|(i, lines)| {
            let at = lines[positions[i]..]
                .iter()
                .position(|got| *got == wanted)?;
            Some((i, positions[i] + at + 1))
        });
        match found {
            Some((stream, next)) => positions[stream] = next,
            None => return Some(line.clone()),
        }
    }
    None
}

// ---- Running a command.

/// What happened to one documented command.
enum Outcome {
    Ran,
    Skipped(String),
    Failed(String),
}

/// The directories and ports a command runs with.
struct Setting {
    /// Replaces `/tmp/www` of the notes' exercise.
    www: PathBuf,
    /// The peer's port, replacing the notes' ports in the command.
    port: Option<u16>,
}

/// `command` with the notes' ports replaced by `port` and `/tmp/www` by the test's own dir.
fn rewrite(command: &str, setting: &Setting) -> String {
    let mut text = command.replace("/tmp/www", &setting.www.to_string_lossy());
    if let Some(port) = setting.port {
        for notes_port in NOTES_PORTS {
            text = replace_number(&text, notes_port, &port.to_string());
        }
    }
    text
}

/// Replaces `number` where it stands alone (not inside a longer number).
fn replace_number(text: &str, number: &str, with: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(number) {
        out.push_str(&rest[..at]);
        let before = out.chars().last();
        let after = rest[at + number.len()..].chars().next();
        let inside =
            before.is_some_and(|c| c.is_ascii_digit()) || after.is_some_and(|c| c.is_ascii_digit());
        out.push_str(if inside { number } else { with });
        rest = &rest[at + number.len()..];
    }
    out.push_str(rest);
    out
}

const SHELL_METACHARACTERS: &[char] = &['|', '&', ';', '<', '>', '$', '\'', '"', '(', ')'];

/// The process for a documented command: a lesson runs as its built program; anything else
/// through `sh` (Unix only: the notes' shell lines are POSIX shell).
fn process_for(command: &str) -> Result<Command, String> {
    // No let-chain here: the kit builds with Rust 1.85, which does not have them.
    let direct = command
        .strip_prefix("cargo run --example ")
        .filter(|_| !command.contains(SHELL_METACHARACTERS));
    if let Some(rest) = direct {
        let mut words = rest.split_whitespace();
        let lesson = words.next().unwrap_or_default();
        let args: Vec<&str> = words.skip_while(|word| *word != "--").skip(1).collect();
        let mut process = Command::new(lesson_path(lesson));
        process.args(args);
        return Ok(process);
    }
    shell(command)
}

#[cfg(unix)]
fn shell(command: &str) -> Result<Command, String> {
    // Lessons inside a pipeline run as their built programs too.
    let mut text = command.to_owned();
    while let Some(at) = text.find("cargo run --example ") {
        let rest = &text[at + "cargo run --example ".len()..];
        let lesson: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let mut end = at + "cargo run --example ".len() + lesson.len();
        if text[end..].starts_with(" --") && !text[end..].starts_with(" --e") {
            end += " --".len();
        }
        let path = lesson_path(&lesson)
            .to_string_lossy()
            .replace('\'', "'\\''");
        text.replace_range(at..end, &format!("'{path}'"));
    }
    for program in programs_in(&text) {
        if !installed(&program) {
            return Err(format!("{program} is not installed"));
        }
    }
    let mut process = Command::new("sh");
    process.arg("-c").arg(text);
    Ok(process)
}

#[cfg(not(unix))]
fn shell(_command: &str) -> Result<Command, String> {
    // The notes' shell lines are POSIX shell; their Windows forms are not extracted yet.
    Err("a POSIX shell command: not run on this system".to_owned())
}

/// The programs a shell line starts (the first word of each pipeline stage), except shell
/// built-ins and paths.
#[cfg(unix)]
fn programs_in(text: &str) -> Vec<String> {
    const BUILT_INS: &[&str] = &["ulimit", "echo", "printf", "cd", "test"];
    // Pipeline stages, split outside quotes (awk programs hold `&&` and `|`).
    let mut stages = vec![String::new()];
    let mut quote = None;
    for c in text.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (None, '|' | ';' | '&') => stages.push(String::new()),
            _ => {}
        }
        stages.last_mut().expect("one stage at least").push(c);
    }
    stages
        .iter()
        .filter_map(|stage| {
            stage
                .trim_start_matches(['|', ';', '&'])
                .split_whitespace()
                .next()
        })
        .filter(|word| !word.starts_with('\'') && !word.contains('/') && !word.contains('='))
        .filter(|word| !BUILT_INS.contains(word))
        .map(str::to_owned)
        .collect()
}

/// Whether `program` is on the PATH.
fn installed(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            dir.join(program).is_file()
                || dir
                    .join(format!("{program}{}", std::env::consts::EXE_SUFFIX))
                    .is_file()
        })
    })
}

/// A running peer, kept only to be stopped when dropped.
struct RunningPeer {
    _lesson: Option<RunningServer>,
    _other: Option<support::ChildGuard>,
}

/// A server lesson started by the test, with every line it printed kept: the notes show the
/// lines before `listening on` too, which [`RunningServer`] consumes.
struct LoggedServer {
    child: support::ChildGuard,
    port: u16,
    stdout: mpsc::Receiver<String>,
    stderr: thread::JoinHandle<String>,
    printed: String,
}

impl LoggedServer {
    fn start(mut process: Command) -> Result<Self, String> {
        process
            .current_dir(checkout())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = support::ChildGuard::spawn(process);
        let stdout = child.0.stdout.take().expect("stdout is piped");
        let mut stderr = child.0.stderr.take().expect("stderr is piped");
        let (lines_tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut printed = String::new();
        loop {
            let Ok(line) = lines.recv_timeout(Duration::from_secs(10)) else {
                drop(child);
                let stderr = stderr.join().unwrap_or_default();
                return Err(format!(
                    "the server never printed `listening on ADDRESS`:\n{printed}{stderr}"
                ));
            };
            printed.push_str(&line);
            printed.push('\n');
            if let Some(addr) = support::listening_address(&line) {
                return Ok(LoggedServer {
                    child,
                    port: addr.port(),
                    stdout: lines,
                    stderr,
                    printed,
                });
            }
        }
    }

    /// Stops the server as the notes do (Ctrl-C, on Unix; elsewhere it is killed, and the
    /// lines it prints on Ctrl-C are missing) and returns everything it printed.
    fn stop(mut self) -> Output {
        // Give the server a moment to log the last client's departure.
        thread::sleep(Duration::from_millis(300));
        if matches!(self.child.0.try_wait(), Ok(None)) {
            #[cfg(unix)]
            self.child.interrupt(Duration::from_secs(10));
            let _ = self.child.0.kill();
        }
        let _ = self.child.0.wait();
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(2)) {
            self.printed.push_str(&line);
            self.printed.push('\n');
        }
        Output {
            stdout: self.printed,
            stderr: self.stderr.join().unwrap_or_default(),
        }
    }
}

/// Starts `peer`, returning it and the port it listens on.
fn start_peer(peer: Peer, www: &Path) -> Result<(RunningPeer, Option<u16>), String> {
    let lesson = |name: &str, args: &[&str]| {
        let server = RunningServer::start(name, args);
        let port = server.addr.port();
        Ok((
            RunningPeer {
                _lesson: Some(server),
                _other: None,
            },
            Some(port),
        ))
    };
    match peer {
        Peer::Nothing => Ok((
            RunningPeer {
                _lesson: None,
                _other: None,
            },
            None,
        )),
        Peer::Ntp => lesson("ntp_server", &["--port", "0"]),
        Peer::Echo => lesson("echo_server", &["--port", "0"]),
        Peer::Server05 => lesson("server_05", &["--port", "0"]),
        Peer::UdpEcho => lesson("udp_echo_server", &["--port", "0"]),
        Peer::Http | Peer::HttpWww => {
            if !installed("python3") {
                return Err("python3 is not installed (the notes' HTTP peer)".to_owned());
            }
            let dir = match peer {
                Peer::HttpWww => www.to_path_buf(),
                _ => checkout().to_path_buf(),
            };
            let (child, port) = start_tcp_peer(|port| {
                let mut python = Command::new("python3");
                python
                    .args(["-m", "http.server", "-b", "127.0.0.1"])
                    .arg("-d")
                    .arg(&dir)
                    .arg(port.to_string())
                    .stderr(Stdio::null());
                python
            });
            Ok((
                RunningPeer {
                    _lesson: None,
                    _other: Some(child),
                },
                Some(port),
            ))
        }
    }
}

/// Runs `command` from the checkout with `input` typed into it, bounded in time.
fn finished(command: Command, input: &[u8]) -> Finished {
    let mut command = command;
    command.current_dir(checkout()).env_remove("RUST_BACKTRACE");
    run_with_input(command, input, COMMAND_TIMEOUT)
}

fn check(expect: Expect, code: Option<i32>, output: &Output) -> Result<(), String> {
    let (wanted_code, shape) = match expect {
        Expect::Success => (0, None),
        Expect::Code(code) => (code, None),
        Expect::Shape {
            lesson,
            block,
            ignore,
        } => (0, Some((lesson, block, ignore))),
    };
    if output.stderr.contains("panicked") {
        return Err(format!("it panicked:\n{output}"));
    }
    if code != Some(wanted_code) {
        return Err(format!(
            "exit code {code:?}, the notes expect {wanted_code}:\n{output}"
        ));
    }
    if let Some((lesson, block, ignore)) = shape {
        let blocks = expected_blocks(lesson);
        let Some(expected) = blocks
            .iter()
            .find(|lines| lines.iter().any(|line| line.contains(block)))
        else {
            return Err(format!(
                "{lesson}'s header has no `What you should see` block with `{block}` in it"
            ));
        };
        if let Some(line) = shape_mismatch(expected, ignore, &[&output.stdout, &output.stderr]) {
            return Err(format!(
                "no line shaped like `{line}` (from {lesson}'s `What you should see` block \
                 with `{block}`) in the output:\n{output}"
            ));
        }
    }
    Ok(())
}

/// Checks `output` against every output the notes show after the command (`$ command`).
fn check_written(written: &[Written], expect: Expect, output: &Output) -> Result<(), String> {
    let ignore = match expect {
        Expect::Shape { ignore, .. } => ignore,
        _ => &[],
    };
    for Written {
        source,
        output: shown,
    } in written
    {
        let Some(shown) = shown else { continue };
        if let Some(line) = shape_mismatch(shown, ignore, &[&output.stdout, &output.stderr]) {
            return Err(format!(
                "no line shaped like `{line}` (from the output shown at {source}) in the \
                 output:\n{output}"
            ));
        }
    }
    Ok(())
}

fn run_command(command: &str, action: &Action, written: &[Written]) -> Outcome {
    let dir = TempDir::new("docs-www");
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).expect("create the www dir");
    std::fs::write(www.join("index.html"), WWW_INDEX).expect("write index.html");
    match action {
        Action::Skip(reason) => Outcome::Skipped((*reason).to_owned()),
        Action::RunIf {
            probe,
            missing,
            peer,
            expect,
        } => {
            let probed = process_for(probe).map(|probe| finished(probe, b"").status.success());
            if probed != Ok(true) {
                return Outcome::Skipped((*missing).to_owned());
            }
            run_command(command, &run(*peer, *expect), written)
        }
        Action::Run {
            peer,
            input,
            expect,
        } => {
            let (_peer, port) = match start_peer(*peer, &www) {
                Ok(started) => started,
                Err(reason) => return Outcome::Skipped(reason),
            };
            let mut text = rewrite(command, &Setting { www, port });
            match port {
                // A server lesson run to its end (server_01) binds a free port, not the notes'.
                None if text.starts_with("cargo run --example server_") => {
                    text = with_port_zero(&text);
                }
                // A lesson that talks to the notes' port by default is told the peer's.
                Some(port) if !text.contains(&port.to_string()) => {
                    text = with_port(&text, port);
                }
                _ => {}
            }
            let process = match process_for(&text) {
                Ok(process) => process,
                Err(reason) => return Outcome::Skipped(reason),
            };
            let run = finished(process, input);
            let output = Output {
                stdout: run.stdout,
                stderr: run.stderr,
            };
            match check(*expect, run.status.code(), &output)
                .and_then(|()| check_written(written, *expect, &output))
            {
                Ok(()) => Outcome::Ran,
                Err(problem) => Outcome::Failed(problem),
            }
        }
        Action::Serve { clients, expect } => run_server(command, clients, *expect, &www, written),
    }
}

/// A lesson command with its `--port` set to 0, or `-- --port 0` added.
fn with_port_zero(command: &str) -> String {
    with_port(command, 0)
}

/// A command ending in a lesson, with its `--port` set to `port`, or `-- --port PORT` added.
fn with_port(command: &str, port: u16) -> String {
    let mut words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
    match words.iter().position(|word| word == "--port") {
        Some(at) if at + 1 < words.len() => words[at + 1] = port.to_string(),
        _ => {
            if !words.iter().any(|word| word == "--") {
                words.push("--".to_owned());
            }
            words.extend(["--port".to_owned(), port.to_string()]);
        }
    }
    words.join(" ")
}

fn run_server(
    command: &str,
    clients: &[Client],
    expect: Expect,
    www: &Path,
    written: &[Written],
) -> Outcome {
    let setting = Setting {
        www: www.to_path_buf(),
        port: None,
    };
    let command = rewrite(command, &setting);
    // The server: a lesson on port 0, or another program on a free port.
    let (server, port) = if command.starts_with("cargo run --example ") {
        let process = match process_for(&with_port_zero(&command)) {
            Ok(process) => process,
            Err(reason) => return Outcome::Skipped(reason),
        };
        match LoggedServer::start(process) {
            Ok(server) => {
                let port = server.port;
                (Ok(server), port)
            }
            Err(problem) => return Outcome::Failed(problem),
        }
    } else {
        let words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
        if !installed(&words[0]) {
            return Outcome::Skipped(format!("{} is not installed", words[0]));
        }
        let (child, port) = start_tcp_peer(|port| {
            let mut process = Command::new(&words[0]);
            for word in &words[1..] {
                process.arg(replace_all_ports(word, port));
            }
            process.current_dir(checkout()).stderr(Stdio::null());
            process
        });
        (Err(child), port)
    };
    let setting = Setting {
        www: www.to_path_buf(),
        port: Some(port),
    };
    let mut problems = Vec::new();
    for client in clients {
        match client {
            Client::Command(text) => match process_for(&rewrite(text, &setting)) {
                Ok(process) => {
                    let run = finished(process, b"");
                    // Against a lesson server, the server's log is what is checked.
                    if run.status.code() != Some(0) && !matches!(expect, Expect::Shape { .. }) {
                        problems.push(format!(
                            "client `{text}` failed:\n{}{}",
                            run.stdout, run.stderr
                        ));
                    }
                }
                Err(reason) => return Outcome::Skipped(format!("its client: {reason}")),
            },
            Client::Send(bytes) => {
                if let Err(error) = send(SocketAddr::from(([127, 0, 0, 1], port)), bytes) {
                    problems.push(format!("a client sending {bytes:?} failed: {error}"));
                }
            }
        }
    }
    let output = match server {
        Ok(lesson) => lesson.stop(),
        Err(other) => {
            drop(other);
            Output {
                stdout: String::new(),
                stderr: String::new(),
            }
        }
    };
    if !problems.is_empty() {
        return Outcome::Failed(format!(
            "{}\nthe server printed:\n{output}",
            problems.join("\n")
        ));
    }
    match check(expect, Some(0), &output).and_then(|()| check_written(written, expect, &output)) {
        Ok(()) => Outcome::Ran,
        Err(problem) => Outcome::Failed(problem),
    }
}

fn replace_all_ports(word: &str, port: u16) -> String {
    NOTES_PORTS
        .iter()
        .fold(word.to_owned(), |text, notes_port| {
            replace_number(&text, notes_port, &port.to_string())
        })
}

/// One client: connect, send `bytes`, half-close, read until the server closes.
fn send(addr: SocketAddr, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(bytes)?;
    stream.shutdown(Shutdown::Write)?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    Ok(reply)
}

#[test]
fn every_documented_command_runs_as_the_notes_say() {
    let commands: Vec<(String, Vec<Written>)> = documented_commands().into_iter().collect();
    assert!(!commands.is_empty(), "no commands found in the notes");
    let outcomes: Mutex<BTreeMap<usize, Outcome>> = Mutex::new(BTreeMap::new());
    let next = AtomicUsize::new(0);
    // A few at a time: each command starts its own peer on its own port.
    thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some((command, written)) = commands.get(index) else {
                        break;
                    };
                    let outcome = match rule_for(command) {
                        None => Outcome::Failed(
                            "no rule in tests/docs_commands.rs says how to run it or why not: \
                             add one to RULES"
                                .to_owned(),
                        ),
                        Some(action) => {
                            let run =
                                std::panic::catch_unwind(|| run_command(command, action, written));
                            run.unwrap_or_else(|panic| {
                                let message = panic
                                    .downcast_ref::<String>()
                                    .cloned()
                                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                                    .unwrap_or_default();
                                Outcome::Failed(format!("the run panicked: {message}"))
                            })
                        }
                    };
                    outcomes.lock().unwrap().insert(index, outcome);
                }
            });
        }
    });

    let outcomes = outcomes.into_inner().unwrap();
    let (mut ran, mut skipped, mut failed) = (0, 0, 0);
    let mut report = String::new();
    let mut failures = String::new();
    for (index, (command, written)) in commands.iter().enumerate() {
        let sources: Vec<&str> = written.iter().map(|w| w.source.as_str()).collect();
        let source = match sources.len() {
            1 => sources[0].to_owned(),
            n => format!("{} (+{} more)", sources[0], n - 1),
        };
        let (status, detail) = match &outcomes[&index] {
            Outcome::Ran => {
                ran += 1;
                ("ran", String::new())
            }
            Outcome::Skipped(reason) => {
                skipped += 1;
                ("skipped", reason.clone())
            }
            Outcome::Failed(problem) => {
                failed += 1;
                failures.push_str(&format!(
                    "\n--- `{command}`\n    written at: {}\n{problem}\n",
                    sources.join(", ")
                ));
                ("FAILED", problem.lines().next().unwrap_or("").to_owned())
            }
        };
        report.push_str(&format!("{status:8} {command}\n         at {source}"));
        if !detail.is_empty() {
            report.push_str(&format!(": {detail}"));
        }
        report.push('\n');
    }
    println!("\n{report}");
    println!(
        "documented commands: {} ({ran} ran, {skipped} skipped, {failed} failed)",
        commands.len()
    );
    assert!(
        failed == 0,
        "{failed} documented command(s) failed:{failures}"
    );
}

#[test]
fn the_shape_mask_hides_what_changes_between_runs() {
    assert_eq!(
        mask("time: Thu Nov 26 07:13:14 2026"),
        mask("time: Fri Dec  4 23:01:59 2027")
    );
    assert_eq!(mask("offset: +0.000008 s"), mask("offset: -0.000120 s"));
    assert_eq!(
        mask("127.0.0.1:52814 connected (1 live)"),
        mask("127.0.0.1:8888 connected (12 live)")
    );
    assert_ne!(mask("sending 33 bytes"), mask("received 33 bytes"));
    let expected = [
        "Socket created".to_owned(),
        "…".to_owned(),
        "listening on 127.0.0.1:8888".to_owned(),
    ];
    let printed = "Socket created\nSO_REUSEADDR set\nlistening on 127.0.0.1:40123\n";
    assert_eq!(shape_mismatch(&expected, &[], &[printed]), None);
    // A line may come from stdout or stderr, as in a terminal.
    assert_eq!(
        shape_mismatch(
            &expected,
            &[],
            &["listening on 127.0.0.1:1\n", "Socket created\n"]
        ),
        None
    );
    assert_eq!(
        shape_mismatch(
            &expected,
            &[],
            &["listening on 127.0.0.1:40123\nSocket created\n"]
        ),
        Some("listening on 127.0.0.1:8888".to_owned()),
        "the lines must come in the notes' order"
    );
    assert_eq!(
        shape_mismatch(
            &expected,
            &[],
            &["Socket created\nlistening at 127.0.0.1:40123\n"]
        ),
        Some("listening on 127.0.0.1:8888".to_owned())
    );
    assert_eq!(
        replace_number("TCP:127.0.0.1:8888 and 18888", "8888", "4242"),
        "TCP:127.0.0.1:4242 and 18888"
    );
    assert_eq!(
        with_port_zero("cargo run --example server_05"),
        "cargo run --example server_05 -- --port 0"
    );
    assert_eq!(
        with_port_zero("cargo run --example echo_server -- --port 9900"),
        "cargo run --example echo_server -- --port 0"
    );
    assert!(matches(
        "socat *TCP-LISTEN:9900,x PIPE",
        "socat -b 4096 TCP-LISTEN:9900,x PIPE"
    ));
    assert!(matches("cargo test", "cargo test"));
    assert!(!matches("cargo test", "cargo test --release"));
}

/// Every `coursecheck LESSON …` the notes write, in a code span or a code block, names a
/// lesson the checker knows (`grade` and `watch` take it as their next word): a misspelt or
/// renamed lesson would send students to a usage error instead of their checks. A word in
/// capitals (`LESSON`, `LECCIÓN`) is the usage's placeholder, one starting with `-` an option.
#[test]
fn every_coursecheck_command_in_the_notes_names_a_lesson_it_knows() {
    // The checker's own list: the names its --help prints ("  - socket_05: …").
    let help = Command::new(support::workspace_binary("coursecheck", "coursecheck"))
        .arg("--help")
        .output()
        .expect("coursecheck --help runs");
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    // Only the <LESSON> argument's values: --format and --lang list theirs the same way.
    let lessons: Vec<&str> = help
        .lines()
        .skip_while(|line| line.trim() != "<LESSON>")
        .take_while(|line| !line.trim().starts_with("<COMMAND>"))
        .filter_map(|line| line.trim().strip_prefix("- ")?.split_once(':'))
        .map(|(name, _)| name)
        .collect();
    assert!(
        lessons.contains(&"server_05"),
        "no lessons in coursecheck's --help:\n{help}"
    );
    let mut unknown = Vec::new();
    let mut named = 0;
    for file in notes() {
        let mut in_block = false;
        for (number, line) in read(&file).lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.starts_with("```") {
                in_block = !in_block;
                continue;
            }
            let mut codes: Vec<&str> = line.split('`').skip(1).step_by(2).collect();
            if in_block {
                codes.push(trimmed.trim_start_matches("$ "));
            }
            for code in codes {
                let mut words = code.split_whitespace();
                if words.next() != Some("coursecheck") {
                    continue;
                }
                let mut lesson = words.next();
                if matches!(lesson, Some("grade" | "watch")) {
                    lesson = words.next();
                }
                match lesson {
                    // The tool's name alone, in a sentence.
                    None => {}
                    Some(word) if lessons.contains(&word) => named += 1,
                    Some(word) if word.starts_with('-') || word == word.to_uppercase() => {}
                    Some(_) => {
                        unknown.push(format!("{}:{}: `{code}`", relative(&file), number + 1))
                    }
                }
            }
        }
    }
    assert!(named > 0, "no coursecheck command found in the notes");
    assert!(
        unknown.is_empty(),
        "coursecheck commands naming no lesson `coursecheck --help` lists:\n{}",
        unknown.join("\n")
    );
}
