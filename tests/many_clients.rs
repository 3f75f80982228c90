//! The "going further" line servers, server_06 (a mio readiness loop) and server_07 (tokio
//! tasks), as real processes: the same protocol and limits as server_05, checked the same way
//! (tests/server.rs), plus what only a single-threaded server can get wrong: replies larger
//! than the socket buffers, and a thousand clients at once.
//!
//! Each check is a function taking the lesson's name; `line_server_tests!` runs every check
//! against both lessons.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use support::{RunningServer, run_lesson};

const WELCOME: &[u8] = b"Welcome to the server. Type something and hit enter\n";
const BUSY: &[u8] = b"Server busy: too many clients, try again later\n";
/// Generous: the machine is shared and tests run in parallel.
const PATIENCE: Duration = Duration::from_secs(20);

/// A test client: a connection with timeouts and a buffered reader over it.
struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        Client::over(stream)
    }

    fn over(stream: TcpStream) -> Client {
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream.set_write_timeout(Some(PATIENCE)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Client { stream, reader }
    }

    /// Connects and reads the greeting.
    fn greeted(addr: SocketAddr) -> Client {
        let mut client = Client::connect(addr);
        assert_eq!(client.line(), WELCOME);
        client
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// The next line, "\n" included (or what came before the end of the stream).
    fn line(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).unwrap();
        line
    }

    /// Sends `line` and returns the reply line.
    fn ask(&mut self, line: &[u8]) -> Vec<u8> {
        self.send(line);
        self.line()
    }

    /// Everything until the server closes the connection.
    fn rest(&mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest).unwrap();
        rest
    }

    fn local_addr(&self) -> SocketAddr {
        self.stream.local_addr().unwrap()
    }

    /// Sends a few bytes, then closes with a reset (RST) instead of a normal close.
    fn reset_after(mut self, bytes: &[u8]) {
        self.send(bytes);
        socket2::SockRef::from(&self.stream)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    }
}

fn ok(line: &[u8]) -> Vec<u8> {
    [b"OK...".as_slice(), line].concat()
}

fn start(lesson: &str, args: &[&str]) -> RunningServer {
    let mut all = vec!["--port", "0"];
    all.extend_from_slice(args);
    RunningServer::start(lesson, &all)
}

fn greets_and_answers_each_line_with_ok(lesson: &str) {
    let server = start(lesson, &[]);
    let mut client = Client::greeted(server.addr);
    assert_eq!(client.ask(b"hello\n"), b"OK...hello\n");
    assert_eq!(client.ask(b"\n"), b"OK...\n");
    // A line that arrives in pieces is still one line, answered once.
    client.send(b"hel");
    thread::sleep(Duration::from_millis(100));
    assert_eq!(client.ask(b"lo again\n"), b"OK...hello again\n");
    // Several lines in one write: one answer each.
    client.send(b"a\nb\nc\n");
    assert_eq!(
        [client.line(), client.line(), client.line()].concat(),
        b"OK...a\nOK...b\nOK...c\n"
    );
    // A last line without "\n" is answered, then the connection ends.
    let peer = client.local_addr();
    client.send(b"bye");
    client.stream.shutdown(Shutdown::Write).unwrap();
    assert_eq!(client.rest(), b"OK...bye");
    assert_eq!(
        server
            .wait_for_line(&format!("{peer} left"), PATIENCE)
            .unwrap(),
        format!("{peer} left after 7 lines")
    );
}

fn answers_invalid_utf8_as_bytes(lesson: &str) {
    let server = start(lesson, &[]);
    let mut client = Client::greeted(server.addr);
    assert_eq!(
        client.ask(b"\xff\xfe\xc3(\x00\n"),
        ok(b"\xff\xfe\xc3(\x00\n")
    );
    assert_eq!(client.ask(b"fine\n"), b"OK...fine\n");
}

fn turns_away_the_client_over_the_cap(lesson: &str) {
    let server = start(lesson, &["--max-clients", "3"]);
    let addr = server.addr;
    let mut seated: Vec<Client> = (0..3).map(|_| Client::greeted(addr)).collect();
    let mut fourth = Client::connect(addr);
    let peer = fourth.local_addr();
    assert_eq!(fourth.rest(), BUSY, "exactly one line, then the close");
    assert_eq!(
        server.wait_for_line("turned away", PATIENCE).unwrap(),
        format!("{peer} turned away: 3 clients already connected")
    );
    // The three still work, and when one leaves its seat is free again.
    for client in &mut seated {
        assert_eq!(client.ask(b"ping\n"), b"OK...ping\n");
    }
    seated.pop();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut next = Client::connect(addr);
        let first = next.line();
        if first == WELCOME {
            assert_eq!(next.ask(b"in\n"), b"OK...in\n");
            break;
        }
        assert_eq!(first, BUSY);
        assert!(Instant::now() < deadline, "the seat was never freed");
        thread::sleep(Duration::from_millis(50));
    }
}

fn drops_an_idle_client_but_not_a_talking_one(lesson: &str) {
    let server = start(lesson, &["--idle-timeout", "2"]);
    let mut idle = Client::greeted(server.addr);
    let mut talker = Client::greeted(server.addr);
    let started = Instant::now();
    // Talking every 300 ms for 3 s: longer than the timeout, never silent for that long.
    for n in 0..10 {
        thread::sleep(Duration::from_millis(300));
        let line = format!("{n}\n");
        assert_eq!(talker.ask(line.as_bytes()), ok(line.as_bytes()));
    }
    assert_eq!(idle.rest(), b"Idle for 2s: disconnecting. Bye\n");
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(
        server
            .wait_for_line("idle for 2s: disconnected", PATIENCE)
            .is_some(),
        "the server says so"
    );
}

fn drops_a_client_whose_line_never_ends(lesson: &str) {
    let server = start(lesson, &["--line-timeout", "1", "--idle-timeout", "30"]);
    let mut slow = Client::greeted(server.addr);
    let mut steady = Client::greeted(server.addr);
    let started = Instant::now();
    // One byte every 200 ms: never idle, but the line never ends.
    slow.send(b"s");
    for n in 0..8 {
        thread::sleep(Duration::from_millis(200));
        let _ = slow.stream.write_all(b"l");
        // Whole lines, each well within the line timeout, go on for longer than it.
        let line = format!("{n}\n");
        assert_eq!(steady.ask(line.as_bytes()), ok(line.as_bytes()));
    }
    assert_eq!(
        slow.rest(),
        b"Too slow: a line must arrive whole within 1s. Bye\n"
    );
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
    assert!(
        server
            .wait_for_line("too slow: no whole line within 1s: disconnected", PATIENCE)
            .is_some(),
        "the server says so"
    );
}

fn respects_max_line_exactly(lesson: &str) {
    let server = start(lesson, &["--max-line", "8"]);
    let mut client = Client::greeted(server.addr);
    assert_eq!(client.ask(b"12345678\n"), b"OK...12345678\n", "8 bytes fit");
    assert_eq!(
        client.ask(b"123456789\n"),
        b"Line too long: the limit is 8 bytes. Bye\n"
    );
    assert_eq!(client.rest(), b"");
    assert!(
        server
            .wait_for_line("sent a line over 8 bytes: disconnected", PATIENCE)
            .is_some()
    );
}

fn closes_a_16_mib_line_without_hurting_others(lesson: &str) {
    let server = start(lesson, &[]);
    let mut other = Client::greeted(server.addr);
    assert_eq!(other.ask(b"before\n"), b"OK...before\n");

    let mut flood = Client::greeted(server.addr);
    let mut writer = flood.stream.try_clone().unwrap();
    // Write from a thread: the server stops answering after 4097 bytes, so a write of 16 MiB
    // finishes only if the server drains it (or fails when the server closes).
    let sender = thread::spawn(move || {
        let line = vec![b'x'; 16 * 1024 * 1024];
        let sent = writer.write_all(&line);
        let _ = writer.shutdown(Shutdown::Write);
        sent
    });
    assert_eq!(
        flood.line(),
        b"Line too long: the limit is 4096 bytes. Bye\n"
    );
    assert_eq!(other.ask(b"during\n"), b"OK...during\n");
    let _ = sender.join().unwrap();
    // What follows the error line is the end of the stream (or a reset, if the flood
    // outlasted the server's patience): never an answer to the long line.
    let mut rest = Vec::new();
    let _ = flood.reader.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{} more bytes", rest.len());
    assert_eq!(other.ask(b"after\n"), b"OK...after\n");
}

fn survives_a_client_that_resets_mid_line(lesson: &str) {
    let server = start(lesson, &[]);
    let mut other = Client::greeted(server.addr);
    assert_eq!(other.ask(b"before\n"), b"OK...before\n");
    let resetting = Client::greeted(server.addr);
    let peer = resetting.local_addr();
    resetting.reset_after(b"half a li");
    assert!(
        server
            .wait_for_line(&format!("{peer} dropped"), PATIENCE)
            .is_some(),
        "the server notices the reset"
    );
    assert_eq!(other.ask(b"after\n"), b"OK...after\n");
    let mut newcomer = Client::greeted(server.addr);
    assert_eq!(newcomer.ask(b"hi\n"), b"OK...hi\n");
}

/// A client with a fixed receive buffer sends 400,000 lines (3.2 MB) and reads nothing for a
/// second: the 5.2 MB of replies cannot fit in the socket buffers (the server's send buffer
/// grows to 4 MiB at most, `tcp_wmem`), so the server must keep them, wait until the socket
/// is writable again, and stop reading meanwhile. Then the client reads everything: every
/// reply, in order.
fn delivers_replies_larger_than_the_socket_buffers(lesson: &str) {
    let server = start(lesson, &[]);
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    // Before connecting, so the window the client advertises stays fixed. Not smaller than two
    // segments: loopback's segments are 64 KiB, and a window that can never hold one makes
    // the sender wait for its zero-window probes, whose interval doubles each time (0.2 s,
    // 0.4 s, ... up to 2 minutes). A 4 KiB buffer here stalled runs for 10-15 s, and on a busy
    // machine past the server's 60 s idle timeout: a reset, though the server was right.
    socket.set_recv_buffer_size(128 * 1024).unwrap();
    socket.connect(&server.addr.into()).unwrap();
    let mut client = Client::over(socket.into());
    let peer = client.local_addr();
    const LINES: usize = 400_000;
    let mut writer = client.stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        let lines: Vec<u8> = (0..LINES)
            .flat_map(|n| format!("{n:07}\n").into_bytes())
            .collect();
        writer.write_all(&lines).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    thread::sleep(Duration::from_secs(1));
    let expected: Vec<u8> = WELCOME
        .iter()
        .copied()
        .chain((0..LINES).flat_map(|n| format!("OK...{n:07}\n").into_bytes()))
        .collect();
    let received = client.rest();
    sender.join().unwrap();
    assert_eq!(received.len(), expected.len());
    assert!(received == expected, "every reply, in order");
    assert_eq!(
        server
            .wait_for_line(&format!("{peer} left"), PATIENCE)
            .unwrap(),
        format!("{peer} left after {LINES} lines")
    );
}

fn drops_a_client_that_never_reads_its_replies(lesson: &str) {
    let server = start(lesson, &["--idle-timeout", "1"]);
    let deaf = Client::greeted(server.addr);
    let peer = deaf.local_addr();
    // Lines without end, replies never read: both directions' buffers fill up, and the
    // server gives up on the client once no reply could be sent for the idle timeout.
    let mut writer = deaf.stream.try_clone().unwrap();
    let flood = thread::spawn(move || {
        let lines = b"x\n".repeat(64 * 1024);
        while writer.write_all(&lines).is_ok() {}
    });
    let line = server
        .wait_for_line(&format!("{peer} dropped"), PATIENCE)
        .expect("the server gives up on the deaf client");
    assert!(line.ends_with("timed out after 1s"), "{line}");
    let mut other = Client::greeted(server.addr);
    assert_eq!(other.ask(b"fine\n"), b"OK...fine\n");
    drop(deaf);
    flood.join().unwrap();
}

/// 1,000 clients connected at once, all sending 20 lines at the same time, one at a time
/// each, checking every reply.
fn serves_1000_clients_at_once(lesson: &str) {
    const CLIENTS: usize = 1000;
    let server = start(lesson, &["--max-clients", "1000"]);
    // They connect one after another, each waiting for its greeting: 1,000 handshakes at the
    // same instant would overflow the listen backlog (128), and the kernel drops the excess
    // silently (with SYN cookies on, those clients would wait forever for their greeting).
    let streams: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| {
            let stream = TcpStream::connect(server.addr).unwrap();
            stream.set_read_timeout(Some(PATIENCE)).unwrap();
            let mut greeting = vec![0; WELCOME.len()];
            (&stream).read_exact(&mut greeting).unwrap();
            assert_eq!(greeting, WELCOME);
            stream
        })
        .collect();
    let start = std::sync::Arc::new(std::sync::Barrier::new(CLIENTS));
    let clients: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(id, stream)| {
            let start = start.clone();
            thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    start.wait();
                    // One descriptor per client (no try_clone): 1,000 of them at once.
                    let mut reader = BufReader::new(&stream);
                    let mut line = Vec::new();
                    for n in 0..20 {
                        let sent = format!("client {id} line {n}\n");
                        (&stream).write_all(sent.as_bytes()).unwrap();
                        line.clear();
                        reader.read_until(b'\n', &mut line).unwrap();
                        assert_eq!(line, ok(sent.as_bytes()));
                    }
                })
                .unwrap()
        })
        .collect();
    for client in clients {
        client.join().expect("every client got every answer");
    }
}

fn reports_a_taken_port_in_one_sentence(lesson: &str) {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let run = run_lesson(lesson, &["--port", &port]);
    run.assert_clean_failure();
    // The same socket setup as server_05, so the same sentence.
    let error = run.stderr.lines().next().unwrap();
    assert!(
        error.starts_with(&format!("error: could not bind 127.0.0.1:{port}: ")),
        "{run:#?}"
    );
    assert!(error.contains("in use"), "{run:#?}");
    assert!(run.stderr.contains("--port"), "{run:#?}");
}

fn listens_on_ipv6_loopback(lesson: &str) {
    if !support::has_ipv6_loopback("listens_on_ipv6_loopback") {
        return;
    }
    let server = RunningServer::start(lesson, &["--host", "::1", "--port", "0"]);
    assert!(server.addr.is_ipv6());
    let mut client = Client::greeted(server.addr);
    assert_eq!(client.ask(b"v6\n"), b"OK...v6\n");
}

/// Ctrl-C (SIGINT) or SIGTERM: no new clients, live ones may finish, then a summary.
#[cfg(unix)]
fn stops_gracefully_on(lesson: &str, signal: &str) {
    let mut server = start(lesson, &["--grace", "20"]);
    let mut live = Client::greeted(server.addr);
    match signal {
        "INT" => server.child.interrupt(Duration::ZERO),
        _ => server.child.terminate(Duration::ZERO),
    };
    assert_eq!(
        server.wait_for_line("stopping", PATIENCE).unwrap(),
        "stopping: no new clients; waiting up to 20s for 1 live client(s)"
    );
    // No new clients: the listener is closed.
    let refused = TcpStream::connect(server.addr).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    // The live client still talks, and when it leaves the server ends at once.
    assert_eq!(live.ask(b"still here\n"), b"OK...still here\n");
    drop(live);
    let status = server
        .child
        .wait_timeout(PATIENCE)
        .expect("the server exits");
    assert_eq!(status.code(), Some(0), "stderr: {}", server.stderr());
    assert_eq!(
        server.wait_for_line("server stopped", PATIENCE).unwrap(),
        "server stopped: 1 clients served, 0 turned away, 0 cut off after the grace period"
    );
}

/// A client that stays past the grace period is cut off, and counted.
#[cfg(unix)]
fn cuts_off_a_client_after_the_grace_period(lesson: &str) {
    let mut server = start(lesson, &["--grace", "1"]);
    let mut stays = Client::greeted(server.addr);
    let started = Instant::now();
    let status = server.child.interrupt(PATIENCE).expect("the server stops");
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(stays.rest(), b"");
    assert_eq!(
        server.wait_for_line("server stopped", PATIENCE).unwrap(),
        "server stopped: 1 clients served, 0 turned away, 1 cut off after the grace period"
    );
}

/// With at most 12 open files, `accept` fails (EMFILE) after a few clients. The loop must
/// pause (a few error lines in two seconds), not spin, and serve again once clients leave.
#[cfg(unix)]
fn pauses_instead_of_spinning_when_out_of_file_descriptors(lesson: &str) {
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg(r#"ulimit -n 12 && exec "$0" --port 0"#)
        .arg(support::lesson_path(lesson));
    let server = RunningServer::start_command(command);
    let clients: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    thread::sleep(Duration::from_secs(2));
    let failures = server.stderr().matches("Too many open files").count();
    assert!(
        (1..50).contains(&failures),
        "{lesson}: {failures} accept failures in 2 s: {}",
        server.stderr()
    );
    drop(clients);
    let deadline = Instant::now() + PATIENCE;
    // The freed descriptors go to clients still queued in the backlog first.
    loop {
        let mut client = Client::connect(server.addr);
        if client.line() == WELCOME {
            assert_eq!(client.ask(b"back\n"), b"OK...back\n");
            break;
        }
        assert!(Instant::now() < deadline, "never served again");
    }
}

macro_rules! line_server_tests {
    ($lesson:ident) => {
        mod $lesson {
            const LESSON: &str = stringify!($lesson);

            #[test]
            fn greets_and_answers_each_line_with_ok() {
                super::greets_and_answers_each_line_with_ok(LESSON);
            }

            #[test]
            fn answers_invalid_utf8_as_bytes() {
                super::answers_invalid_utf8_as_bytes(LESSON);
            }

            #[test]
            fn turns_away_the_client_over_the_cap() {
                super::turns_away_the_client_over_the_cap(LESSON);
            }

            #[test]
            fn drops_an_idle_client_but_not_a_talking_one() {
                super::drops_an_idle_client_but_not_a_talking_one(LESSON);
            }

            #[test]
            fn drops_a_client_whose_line_never_ends() {
                super::drops_a_client_whose_line_never_ends(LESSON);
            }

            #[test]
            fn respects_max_line_exactly() {
                super::respects_max_line_exactly(LESSON);
            }

            #[test]
            fn closes_a_16_mib_line_without_hurting_others() {
                super::closes_a_16_mib_line_without_hurting_others(LESSON);
            }

            #[test]
            fn survives_a_client_that_resets_mid_line() {
                super::survives_a_client_that_resets_mid_line(LESSON);
            }

            #[test]
            fn delivers_replies_larger_than_the_socket_buffers() {
                super::delivers_replies_larger_than_the_socket_buffers(LESSON);
            }

            #[test]
            fn drops_a_client_that_never_reads_its_replies() {
                super::drops_a_client_that_never_reads_its_replies(LESSON);
            }

            #[test]
            fn serves_1000_clients_at_once() {
                super::serves_1000_clients_at_once(LESSON);
            }

            #[test]
            fn reports_a_taken_port_in_one_sentence() {
                super::reports_a_taken_port_in_one_sentence(LESSON);
            }

            #[test]
            fn listens_on_ipv6_loopback() {
                super::listens_on_ipv6_loopback(LESSON);
            }

            #[cfg(unix)]
            #[test]
            fn stops_on_ctrl_c_and_lets_live_clients_finish() {
                super::stops_gracefully_on(LESSON, "INT");
            }

            #[cfg(unix)]
            #[test]
            fn stops_on_sigterm_like_on_ctrl_c() {
                super::stops_gracefully_on(LESSON, "TERM");
            }

            #[cfg(unix)]
            #[test]
            fn cuts_off_a_client_after_the_grace_period() {
                super::cuts_off_a_client_after_the_grace_period(LESSON);
            }

            #[cfg(unix)]
            #[test]
            fn pauses_instead_of_spinning_when_out_of_file_descriptors() {
                super::pauses_instead_of_spinning_when_out_of_file_descriptors(LESSON);
            }
        }
    };
}

line_server_tests!(server_06);
line_server_tests!(server_07);
