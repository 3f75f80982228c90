//! The server lessons (server_01..05) as real processes, each checked by a test client that
//! looks at the exact bytes of every step.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
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
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream.set_write_timeout(Some(PATIENCE)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Client { stream, reader }
    }

    /// Connects and reads server_05's greeting.
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

fn port_arg(addr: SocketAddr) -> String {
    addr.port().to_string()
}

fn expect_exit(server: &mut RunningServer, code: i32) {
    let status = server
        .child
        .wait_timeout(PATIENCE)
        .expect("the server exits on its own");
    assert_eq!(status.code(), Some(code), "stderr: {}", server.stderr());
}

/// Waits for the server's stderr to contain `needle` (it is read on another thread).
fn stderr_contains(server: &RunningServer, needle: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if server.stderr().contains(needle) {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

// server_01: bind

#[test]
fn server_01_binds_the_address_and_exits() {
    let run = run_lesson("server_01", &["--port", "0"]);
    run.assert_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[..2], ["Socket created", "SO_REUSEADDR set"]);
    let bound = lines[2]
        .strip_prefix("Socket bind complete: bound to ")
        .expect("the bind line");
    let bound: SocketAddr = bound.parse().unwrap();
    assert_eq!(bound.ip().to_string(), "127.0.0.1");
    assert_ne!(bound.port(), 0, "the real port, not the 0 we asked for");
    assert_eq!(lines.len(), 3);
}

#[test]
fn server_01_binds_ipv6_loopback() {
    if !support::has_ipv6_loopback("server_01_binds_ipv6_loopback") {
        return;
    }
    let run = run_lesson("server_01", &["--host", "::1", "--port", "0"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("Socket bind complete: bound to [::1]:"),
        "{run:#?}"
    );
}

#[test]
fn server_01_reports_a_port_another_program_listens_on() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let run = run_lesson("server_01", &["--port", &port]);
    run.assert_clean_failure();
    let mut stderr = run.stderr.lines();
    let error = stderr.next().unwrap();
    assert!(
        error.starts_with(&format!("error: could not bind 127.0.0.1:{port}: ")),
        "{error}"
    );
    assert!(error.contains("in use"), "{error}");
    assert!(stderr.next().unwrap().starts_with("hint: "));
    assert!(
        run.stderr.contains("--port"),
        "the hint names the way out: {run:#?}"
    );
}

#[test]
fn server_01_rejects_a_host_that_is_not_an_ip_address() {
    run_lesson("server_01", &["--host", "not-an-ip", "--port", "0"]).assert_code(2);
}

// server_02: listen and accept one client

#[test]
fn server_02_accepts_one_client_and_says_who_it_is() {
    let mut server = RunningServer::start("server_02", &["--port", "0"]);
    let client = Client::connect(server.addr);
    let line = server
        .wait_for_line("Connected with", PATIENCE)
        .expect("the server names its client");
    assert_eq!(line, format!("Connected with {}", client.local_addr()));
    expect_exit(&mut server, 0);
}

#[test]
fn server_02_reports_a_port_another_program_listens_on() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = port_arg(taken.local_addr().unwrap());
    let run = run_lesson("server_02", &["--port", &port]);
    run.assert_clean_failure();
    assert!(
        run.stderr
            .starts_with(&format!("error: could not bind 127.0.0.1:{port}: ")),
        "{run:#?}"
    );
}

// server_03: receive, reply, close

#[test]
fn server_03_sends_back_what_one_read_returned_and_closes() {
    let mut server = RunningServer::start("server_03", &["--port", "0"]);
    let mut client = Client::connect(server.addr);
    client.send(b"hello\n");
    assert_eq!(client.rest(), b"hello\n");
    let peer = client.local_addr();
    assert_eq!(
        server.wait_for_line("received", PATIENCE).unwrap(),
        format!("received 6 bytes from {peer}: \"hello\\n\"")
    );
    expect_exit(&mut server, 0);
}

#[test]
fn server_03_sends_back_bytes_that_are_not_text() {
    let mut server = RunningServer::start("server_03", &["--port", "0"]);
    let mut client = Client::connect(server.addr);
    client.send(b"\x00\xff\xfe binary\n");
    assert_eq!(client.rest(), b"\x00\xff\xfe binary\n");
    expect_exit(&mut server, 0);
}

#[test]
fn server_03_gives_up_on_a_silent_client_after_the_timeout() {
    let mut server = RunningServer::start("server_03", &["--port", "0", "--timeout", "1"]);
    let mut client = Client::connect(server.addr);
    expect_exit(&mut server, 1);
    assert!(
        stderr_contains(
            &server,
            &format!(
                "error: could not receive from {}: timed out after 1s",
                client.local_addr()
            )
        ),
        "{}",
        server.stderr()
    );
    assert_eq!(client.rest(), b"");
}

#[test]
fn server_03_reports_a_client_that_sends_nothing() {
    let mut server = RunningServer::start("server_03", &["--port", "0"]);
    let client = Client::connect(server.addr);
    let peer = client.local_addr();
    client.stream.shutdown(Shutdown::Both).unwrap();
    assert_eq!(
        server.wait_for_line("closed", PATIENCE).unwrap(),
        format!("{peer} closed the connection without sending anything")
    );
    expect_exit(&mut server, 0);
}

// server_04: one client after another, forever

#[test]
fn server_04_keeps_serving_whatever_a_client_does() {
    let mut server = RunningServer::start("server_04", &["--port", "0", "--timeout", "1"]);
    let addr = server.addr;

    let mut first = Client::connect(addr);
    first.send(b"hello\n");
    assert_eq!(first.rest(), b"OK...hello\n");

    // Closes without sending anything: the Python original `break`s out of its loop here.
    let empty = Client::connect(addr);
    empty.stream.shutdown(Shutdown::Both).unwrap();
    drop(empty);

    // Resets the connection.
    Client::connect(addr).reset_after(b"half a mess");

    // Stays silent: the next client waits in the backlog until the 1 s timeout frees the loop.
    let _silent = Client::connect(addr);

    let mut garbage = Client::connect(addr);
    garbage.send(b"\xff\x00\xc3(garbage");
    assert_eq!(garbage.rest(), ok(b"\xff\x00\xc3(garbage"));

    let mut last = Client::connect(addr);
    last.send(b"still there?\n");
    assert_eq!(last.rest(), b"OK...still there?\n");

    assert!(
        server
            .wait_for_line("without sending anything", PATIENCE)
            .is_some(),
        "the empty client is reported"
    );
    assert!(
        server
            .wait_for_line("timed out after 1s", PATIENCE)
            .is_some(),
        "the silent client is reported"
    );
    assert!(
        server.child.0.try_wait().unwrap().is_none(),
        "the server is still running"
    );
}

// server_05: a thread per client, bounded

#[test]
fn server_05_greets_and_answers_each_line_with_ok() {
    let server = RunningServer::start("server_05", &["--port", "0"]);
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
    client.send(b"bye");
    client.stream.shutdown(Shutdown::Write).unwrap();
    assert_eq!(client.rest(), b"OK...bye");
}

#[test]
fn server_05_answers_invalid_utf8_as_bytes() {
    let server = RunningServer::start("server_05", &["--port", "0"]);
    let mut client = Client::greeted(server.addr);
    assert_eq!(
        client.ask(b"\xff\xfe\xc3(\x00\n"),
        ok(b"\xff\xfe\xc3(\x00\n")
    );
    assert_eq!(client.ask(b"fine\n"), b"OK...fine\n");
}

#[test]
fn server_05_serves_200_clients_at_once_100_lines_each() {
    let server = RunningServer::start("server_05", &["--port", "0"]);
    let addr = server.addr;
    let clients: Vec<_> = (0..200)
        .map(|id| {
            thread::spawn(move || {
                let mut client = Client::greeted(addr);
                for n in 0..100 {
                    let line = format!("client {id} line {n}\n");
                    assert_eq!(client.ask(line.as_bytes()), ok(line.as_bytes()));
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("every client got every answer");
    }
}

#[test]
fn server_05_turns_away_the_client_over_the_cap() {
    let server = RunningServer::start("server_05", &["--port", "0", "--max-clients", "3"]);
    let addr = server.addr;
    let mut seated: Vec<Client> = (0..3).map(|_| Client::greeted(addr)).collect();
    let mut fourth = Client::connect(addr);
    assert_eq!(fourth.rest(), BUSY, "exactly one line, then the close");
    assert!(
        server.wait_for_line("turned away", PATIENCE).is_some(),
        "the server says so"
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

#[test]
fn server_05_drops_an_idle_client_but_not_a_talking_one() {
    let server = RunningServer::start("server_05", &["--port", "0", "--idle-timeout", "2"]);
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

#[test]
fn server_05_closes_a_16_mib_line_without_hurting_others() {
    let server = RunningServer::start("server_05", &["--port", "0"]);
    let mut other = Client::greeted(server.addr);
    assert_eq!(other.ask(b"before\n"), b"OK...before\n");

    let mut flood = Client::greeted(server.addr);
    let mut writer = flood.stream.try_clone().unwrap();
    // Write from a thread: the server stops reading after 4097 bytes, so a write of 16 MiB
    // can only finish while the server drains it.
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

#[test]
fn server_05_respects_max_line_exactly() {
    let server = RunningServer::start("server_05", &["--port", "0", "--max-line", "8"]);
    let mut client = Client::greeted(server.addr);
    assert_eq!(client.ask(b"12345678\n"), b"OK...12345678\n", "8 bytes fit");
    assert_eq!(
        client.ask(b"123456789\n"),
        b"Line too long: the limit is 8 bytes. Bye\n"
    );
    assert_eq!(client.rest(), b"");
}

#[test]
fn server_05_survives_a_client_that_resets_mid_line() {
    let server = RunningServer::start("server_05", &["--port", "0"]);
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

// Ctrl-C is sent as SIGINT with kill(1): Unix only (Windows has no signals to send).
#[cfg(unix)]
#[test]
fn server_05_stops_on_ctrl_c_and_lets_live_clients_finish() {
    let mut server = RunningServer::start("server_05", &["--port", "0", "--grace", "20"]);
    let mut live = Client::greeted(server.addr);
    server.child.interrupt(Duration::ZERO);
    assert!(
        server.wait_for_line("stopping", PATIENCE).is_some(),
        "the server announces the shutdown"
    );
    // No new clients: the listener is closed.
    let refused = TcpStream::connect(server.addr).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    // The live client still talks, and when it leaves the server ends at once.
    assert_eq!(live.ask(b"still here\n"), b"OK...still here\n");
    drop(live);
    expect_exit(&mut server, 0);
    assert_eq!(
        server.wait_for_line("server stopped", PATIENCE).unwrap(),
        "server stopped: 1 clients served, 0 turned away, 0 cut off after the grace period"
    );
}

// Ctrl-C is sent as SIGINT with kill(1): Unix only (Windows has no signals to send).
#[cfg(unix)]
#[test]
fn server_05_restarts_on_the_same_port_right_after_a_stop() {
    let mut first = RunningServer::start("server_05", &["--port", "0", "--grace", "1"]);
    let addr = first.addr;
    let mut client = Client::greeted(addr);
    assert_eq!(client.ask(b"one\n"), b"OK...one\n");
    // The client stays connected: the server closes first when the grace period ends, and
    // its side of the connection goes to TIME_WAIT (the case SO_REUSEADDR is for).
    let status = first.child.interrupt(PATIENCE).expect("the server stops");
    assert!(status.success(), "stopped cleanly: {status:?}");
    assert_eq!(client.rest(), b"");

    let second = RunningServer::start("server_05", &["--port", &port_arg(addr)]);
    assert_eq!(second.addr, addr);
    let mut client = Client::greeted(addr);
    assert_eq!(client.ask(b"two\n"), b"OK...two\n");
}

#[test]
fn server_05_reports_a_taken_port_in_one_sentence() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = port_arg(taken.local_addr().unwrap());
    let run = run_lesson("server_05", &["--port", &port]);
    run.assert_clean_failure();
    // The same socket setup as server_01..04, so the same sentence.
    let error = run.stderr.lines().next().unwrap();
    assert!(
        error.starts_with(&format!("error: could not bind 127.0.0.1:{port}: ")),
        "{error}"
    );
    assert!(error.contains("in use"), "{error}");
    assert!(run.stderr.lines().nth(1).unwrap().contains("--port"));
}

#[test]
fn server_05_listens_on_ipv6_loopback() {
    if !support::has_ipv6_loopback("server_05_listens_on_ipv6_loopback") {
        return;
    }
    let server = RunningServer::start("server_05", &["--host", "::1", "--port", "0"]);
    assert!(server.addr.is_ipv6());
    let mut client = Client::greeted(server.addr);
    assert_eq!(client.ask(b"v6\n"), b"OK...v6\n");
}

// `sh -c 'ulimit -n'` and EMFILE's message: Unix only.
#[cfg(unix)]
/// Starts `lesson` with at most 12 open files: after a handful of clients, `accept` fails with
/// EMFILE until one of them leaves. The accept loop must back off (a few lines of errors in
/// two seconds), not spin (thousands), and serve again once descriptors are free.
fn backs_off_when_out_of_file_descriptors(lesson: &str, check_service: fn(SocketAddr)) {
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
    check_service(server.addr);
}

// `sh -c 'ulimit -n'` and EMFILE's message: Unix only.
#[cfg(unix)]
#[test]
fn server_05_pauses_instead_of_spinning_when_out_of_file_descriptors() {
    backs_off_when_out_of_file_descriptors("server_05", |addr| {
        let mut client = Client::greeted(addr);
        assert_eq!(client.ask(b"back\n"), b"OK...back\n");
    });
}

// `sh -c 'ulimit -n'` and EMFILE's message: Unix only.
#[cfg(unix)]
#[test]
fn netutil_server_pauses_instead_of_spinning_when_out_of_file_descriptors() {
    // echo_server is built on netutil::server::ThreadPerClient: this checks the library's own loop.
    backs_off_when_out_of_file_descriptors("echo_server", |addr| {
        let mut client = Client::connect(addr);
        assert_eq!(client.ask(b"back\n"), b"back\n");
    });
}

#[test]
fn server_05_drops_a_client_that_never_reads_its_replies() {
    let server = RunningServer::start("server_05", &["--port", "0", "--idle-timeout", "1"]);
    let deaf = Client::greeted(server.addr);
    let peer = deaf.local_addr();
    // Lines without end, replies never read: both directions' buffers fill up, the server's
    // write blocks, and the write timeout (the idle timeout) frees its thread.
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

#[test]
fn server_05_cuts_off_a_client_that_trickles_a_line_and_frees_its_seat() {
    let line_timeout = Duration::from_secs(2);
    let server = RunningServer::start(
        "server_05",
        &[
            "--port",
            "0",
            "--max-clients",
            "1",
            "--line-timeout",
            "2",
            "--idle-timeout",
            "1",
        ],
    );
    let addr = server.addr;
    let mut trickler = Client::greeted(addr);
    let peer = trickler.local_addr();
    let started = Instant::now();
    // One byte every 300 ms and never a "\n" ("slowloris"): each read gets a byte well
    // within the 1 s idle timeout, so only a deadline for the whole line can stop it.
    let mut writer = trickler.stream.try_clone().unwrap();
    let trickle = thread::spawn(move || {
        for _ in 0..40 {
            if writer.write_all(b"x").is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(300));
        }
    });
    // A legitimate client meanwhile: busy while the trickler holds the only seat, then seated
    // within the bound (the line timeout, plus the second the goodbye lingers) + 2 s.
    let bound = line_timeout + Duration::from_secs(1);
    let waiting = thread::spawn(move || {
        let mut busy = 0;
        loop {
            let mut next = Client::connect(addr);
            let first = next.line();
            if first == WELCOME {
                assert_eq!(next.ask(b"my turn\n"), b"OK...my turn\n");
                return (started.elapsed(), busy);
            }
            assert_eq!(first, BUSY);
            busy += 1;
            if started.elapsed() > bound + Duration::from_secs(2) {
                return (started.elapsed(), busy);
            }
            thread::sleep(Duration::from_millis(100));
        }
    });
    assert_eq!(
        trickler.line(),
        b"Too slow: a line must arrive whole within 2s. Bye\n"
    );
    let cut_after = started.elapsed();
    assert!(
        (line_timeout..bound + Duration::from_secs(2)).contains(&cut_after),
        "cut off after {cut_after:?}"
    );
    let (seated_after, busy) = waiting.join().unwrap();
    assert!(busy > 0, "the legitimate client waited on the busy line");
    assert!(
        seated_after <= bound + Duration::from_secs(2),
        "the legitimate client got a seat only after {seated_after:?}"
    );
    assert!(
        server
            .wait_for_line(
                &format!("{peer} too slow: no whole line within 2s: disconnected"),
                PATIENCE
            )
            .is_some(),
        "the server says so"
    );
    trickle.join().unwrap();
}

#[test]
fn server_04_serves_a_trickling_client_within_its_timeout() {
    // server_04 reads once per client: the read returns with the first byte, so a trickling
    // client gets its reply at once and cannot hold the loop beyond --timeout.
    let server = RunningServer::start("server_04", &["--port", "0", "--timeout", "2"]);
    let mut trickler = Client::connect(server.addr);
    let started = Instant::now();
    trickler.send(b"x");
    thread::sleep(Duration::from_millis(300));
    let _ = trickler.stream.write_all(b"y");
    let reply = trickler.rest();
    assert!(reply == b"OK...x" || reply == b"OK...xy", "{reply:?}");
    assert!(started.elapsed() < Duration::from_secs(2) + Duration::from_secs(2));
    let mut next = Client::connect(server.addr);
    next.send(b"next\n");
    assert_eq!(next.rest(), b"OK...next\n");
}

/// Starts `lesson` with stdout a pipe the test holds, reads it up to the `listening on` line,
/// and returns the process, its address, the rest of its stdout (unread) and its stderr.
fn start_with_stdout_pipe(
    lesson: &str,
    args: &[&str],
) -> (
    support::ChildGuard,
    SocketAddr,
    BufReader<std::process::ChildStdout>,
    thread::JoinHandle<String>,
) {
    let mut command = support::lesson(lesson, args);
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = support::ChildGuard::spawn(command);
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut stderr = child.0.stderr.take().unwrap();
    let stderr = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let addr = loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "no listening line"
        );
        if let Some(addr) = support::listening_address(&line) {
            break addr;
        }
    };
    (child, addr, stdout, stderr)
}

/// Like `server | head -n 4`: the log's reader goes away; the server must go on serving.
fn keeps_serving_after_its_log_reader_leaves(lesson: &str, check_service: fn(SocketAddr)) {
    let (mut child, addr, stdout, stderr) = start_with_stdout_pipe(lesson, &["--port", "0"]);
    drop(stdout);
    for _ in 0..3 {
        check_service(addr);
    }
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "{lesson} exited when its stdout closed"
    );
    drop(child);
    let stderr = stderr.join().unwrap();
    assert!(!stderr.contains("panicked"), "{lesson} panicked: {stderr}");
}

#[test]
fn server_05_keeps_serving_after_its_stdout_is_closed() {
    keeps_serving_after_its_log_reader_leaves("server_05", |addr| {
        let mut client = Client::greeted(addr);
        assert_eq!(client.ask(b"hi\n"), b"OK...hi\n");
    });
}

#[test]
fn server_04_keeps_serving_after_its_stdout_is_closed() {
    keeps_serving_after_its_log_reader_leaves("server_04", |addr| {
        let mut client = Client::connect(addr);
        client.send(b"hi\n");
        assert_eq!(client.rest(), b"OK...hi\n");
    });
}

#[test]
fn server_05_keeps_serving_when_nobody_reads_its_log() {
    // The pipe stays open but unread: after about 64 KiB of log lines a println! would block.
    let (_child, addr, _unread, _stderr) = start_with_stdout_pipe("server_05", &["--port", "0"]);
    for _ in 0..3000 {
        drop(Client::greeted(addr));
    }
    let mut client = Client::greeted(addr);
    assert_eq!(client.ask(b"still here?\n"), b"OK...still here?\n");
}

/// `kill` sends SIGTERM, as `systemctl stop` and `docker stop` do: a Unix signal (Windows has
/// none; its console Ctrl-C and Ctrl-Break are what ctrlc handles there).
#[cfg(unix)]
#[test]
fn server_05_stops_gracefully_on_sigterm() {
    let mut server = RunningServer::start("server_05", &["--port", "0", "--grace", "20"]);
    let mut live = Client::greeted(server.addr);
    assert!(server.child.terminate(Duration::ZERO).is_none());
    assert_eq!(
        server.wait_for_line("stopping", PATIENCE).unwrap(),
        "stopping: no new clients; waiting up to 20s for 1 live client(s)"
    );
    assert_eq!(live.ask(b"finishing\n"), b"OK...finishing\n");
    drop(live);
    expect_exit(&mut server, 0);
    assert_eq!(
        server.wait_for_line("server stopped", PATIENCE).unwrap(),
        "server stopped: 1 clients served, 0 turned away, 0 cut off after the grace period"
    );
}

/// The server runs with its address space capped just above what it uses when idle, so the
/// 2 MiB stack of a client thread cannot be mapped and `spawn` fails (root ignores
/// `ulimit -u`, not `ulimit -v`). Linux only: the size comes from /proc. MALLOC_ARENA_MAX=1
/// keeps glibc from reserving 64 MiB of address space per thread that allocates, which would
/// make the idle size vary from run to run by more than a stack.
#[cfg(target_os = "linux")]
#[test]
fn server_05_says_busy_when_no_thread_can_be_started() {
    let vm_size_kib = |pid: u32| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmSize:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let idle_kib = {
        let mut command = support::lesson("server_05", &["--port", "0"]);
        command.env("MALLOC_ARENA_MAX", "1");
        let server = RunningServer::start_command(command);
        // Its threads (log writer, signal handler) may still be starting: wait until it settles.
        let mut size = vm_size_kib(server.child.0.id());
        loop {
            thread::sleep(Duration::from_millis(200));
            let now = vm_size_kib(server.child.0.id());
            if now == size {
                break size;
            }
            size = now;
        }
    };
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg(r#"ulimit -v "$1" && exec "$0" --port 0"#)
        .arg(support::lesson_path("server_05"))
        .arg((idle_kib + 512).to_string())
        .env("MALLOC_ARENA_MAX", "1");
    let mut server = RunningServer::start_command(command);
    let mut refused = Client::connect(server.addr);
    assert_eq!(refused.rest(), BUSY, "one line, then the close");
    assert!(
        server.child.terminate(PATIENCE).is_some(),
        "the server stops"
    );
    assert_eq!(
        server.wait_for_line("server stopped", PATIENCE).unwrap(),
        "server stopped: 0 clients served, 1 turned away, 0 cut off after the grace period"
    );
}
