//! The echo lessons: echo_server must send back exactly the bytes it gets, and echo_client
//! must read the echo back and tell a right echo from a wrong one.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use support::{
    ChildGuard, RunningServer, TempDir, binary_payload, lesson, listening_address, run_lesson,
    run_with_input,
};

const PATIENCE: Duration = Duration::from_secs(30);

/// Sends `payload` from a thread while reading the echo here, half-closing after the last
/// byte; returns everything the server sent until it closed.
fn raw_echo(addr: SocketAddr, payload: Vec<u8>) -> Vec<u8> {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        writer.write_all(&payload).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let mut echo = Vec::new();
    (&stream).read_to_end(&mut echo).unwrap();
    sender.join().unwrap();
    echo
}

fn echo_server() -> (RunningServer, String) {
    let server = RunningServer::start("echo_server", &["--port", "0"]);
    let port = server.addr.port().to_string();
    (server, port)
}

#[test]
fn echo_client_and_server_exchange_the_cookbook_message() {
    let (server, port) = echo_server();
    let run = run_lesson("echo_client", &["--port", &port]);
    run.assert_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!("connected to 127.0.0.1:{port}").as_str(),
            "sending 33 bytes",
            "received \"Test message. Th\"",
            "received \"is will be echoe\"",
            "received \"d\"",
            "the echo matches: 33 bytes sent, 33 bytes received",
        ]
    );
    assert!(
        server.wait_for_line("echoed 33 bytes", PATIENCE).is_some(),
        "the server says who left and how much it echoed"
    );
}

#[test]
fn ten_mib_of_binary_round_trip_through_echo_client_file() {
    let (_server, port) = echo_server();
    let dir = TempDir::new("echo");
    let file = dir.file("10mib.bin", &binary_payload(10 * 1024 * 1024, 1));
    let file = file.to_str().expect("temp paths are UTF-8 here");
    let run = run_lesson(
        "echo_client",
        &["--port", &port, "--file", file, "--chunk", "65536"],
    );
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("the echo matches: 10485760 bytes sent, 10485760 bytes received"),
        "{run:#?}"
    );
}

#[test]
fn ten_mib_of_binary_round_trip_byte_identical_for_a_raw_client() {
    let (server, _) = echo_server();
    let payload = binary_payload(10 * 1024 * 1024, 2);
    let echo = raw_echo(server.addr, payload.clone());
    assert_eq!(echo.len(), payload.len());
    assert!(echo == payload, "the echo differs from the payload");
}

#[test]
fn echo_client_sends_standard_input() {
    let (_server, port) = echo_server();
    let input = binary_payload(100_000, 3);
    let run = run_with_input(
        lesson("echo_client", &["--port", &port, "--stdin"]),
        &input,
        PATIENCE,
    );
    run.assert_code(0);
    assert!(
        run.stdout.contains("received 100000 bytes in "),
        "a long message prints a summary, not 6250 chunks: {run:#?}"
    );
    assert!(run.stdout.contains("the echo matches: 100000 bytes sent"));
}

#[test]
fn many_clients_at_once_each_get_their_own_bytes_back() {
    let (server, _) = echo_server();
    let addr = server.addr;
    let clients: Vec<_> = (0..40)
        .map(|seed| {
            thread::spawn(move || {
                let payload = binary_payload(256 * 1024, seed);
                assert!(raw_echo(addr, payload.clone()) == payload, "client {seed}");
            })
        })
        .collect();
    for client in clients {
        client.join().expect("every client got its own bytes back");
    }
}

// Ctrl-C is sent as SIGINT with kill(1): Unix only (Windows has no signals to send).
#[cfg(unix)]
#[test]
fn echo_server_stops_on_ctrl_c_with_a_summary() {
    let (mut server, _) = echo_server();
    assert_eq!(raw_echo(server.addr, b"x".to_vec()), b"x");
    let status = server.child.interrupt(PATIENCE).expect("the server stops");
    assert!(status.success(), "{status:?}");
    assert_eq!(
        server.wait_for_line("server stopped", PATIENCE).unwrap(),
        "server stopped: 1 clients served, 0 turned away, 0 cut off"
    );
}

/// Runs echo_client against a one-shot server on 127.0.0.1 that reads until the client
/// half-closes, then answers `reply(received)`; returns the error line echo_client printed.
fn echo_client_error_against(reply: fn(Vec<u8>) -> Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut received = Vec::new();
        stream.read_to_end(&mut received).unwrap();
        stream.write_all(&reply(received)).unwrap();
    });
    let run = run_lesson("echo_client", &["--port", &port]);
    server.join().unwrap();
    run.assert_clean_failure();
    run.stderr.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn echo_client_names_the_first_byte_that_differs() {
    assert_eq!(
        echo_client_error_against(|bytes| bytes.to_ascii_uppercase()),
        "error: the echo differs from the message at byte 1: sent 0x65, received 0x45"
    );
}

#[test]
fn echo_client_notices_an_echo_that_stops_short() {
    assert_eq!(
        echo_client_error_against(|bytes| bytes[..20].to_vec()),
        "error: the server closed the connection after echoing 20 of 33 bytes"
    );
}

#[test]
fn echo_client_notices_an_echo_that_sends_too_much() {
    assert_eq!(
        echo_client_error_against(|bytes| [bytes.as_slice(), b"!"].concat()),
        "error: the server sent more bytes than it received"
    );
}

#[test]
fn echo_client_names_the_first_byte_when_the_server_greets_first() {
    // server_05 greets, then answers "OK..." + the line: more bytes than sent, and the first
    // byte already differs. The byte is the more useful answer.
    assert_eq!(
        echo_client_error_against(|bytes| [b"Welcome to the server\n".as_slice(), &bytes].concat()),
        "error: the echo differs from the message at byte 0: sent 0x54, received 0x57"
    );
}

#[test]
fn echo_client_names_the_first_byte_even_when_the_echo_stops_short() {
    assert_eq!(
        echo_client_error_against(|bytes| bytes[..20].to_ascii_lowercase()),
        "error: the echo differs from the message at byte 0: sent 0x54, received 0x74"
    );
}

#[test]
fn echo_client_without_a_server_fails_in_one_sentence() {
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port().to_string();
    drop(free);
    let run = run_lesson("echo_client", &["--port", &port]);
    run.assert_clean_failure();
    let mut lines = run.stderr.lines();
    assert!(
        lines.next().unwrap().starts_with(&format!(
            "error: could not connect to 127.0.0.1 port {port}: "
        )),
        "{run:#?}"
    );
    assert_eq!(
        lines.next(),
        Some(format!("hint: start the echo server first: echo_server --port {port}").as_str()),
        "the hint names the program, not a cargo command that fails in a homework project"
    );
}

#[test]
fn echo_server_turns_away_clients_over_its_cap() {
    let server = RunningServer::start("echo_server", &["--port", "0", "--max-clients", "1"]);
    let seated = TcpStream::connect(server.addr).unwrap();
    seated.set_read_timeout(Some(PATIENCE)).unwrap();
    // A round trip proves the first client holds its seat before the second arrives.
    (&seated).write_all(b"ping").unwrap();
    let mut pong = [0u8; 4];
    (&seated).read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"ping");
    let mut turned_away = TcpStream::connect(server.addr).unwrap();
    turned_away.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut reply = Vec::new();
    turned_away.read_to_end(&mut reply).unwrap();
    assert_eq!(reply, b"Server busy: too many clients, try again later\n");
}

#[test]
fn echo_server_drops_an_idle_client() {
    let server = RunningServer::start("echo_server", &["--port", "0", "--idle-timeout", "1"]);
    let mut idle = TcpStream::connect(server.addr).unwrap();
    idle.set_read_timeout(Some(PATIENCE)).unwrap();
    let peer = idle.local_addr().unwrap();
    let mut rest = Vec::new();
    idle.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"", "the server closes the connection");
    assert_eq!(
        server.wait_for_line("idle", PATIENCE).unwrap(),
        format!("{peer} dropped: idle for too long")
    );
}

#[test]
fn echo_server_cuts_off_a_trickling_client_and_seats_the_next_one() {
    let window = Duration::from_secs(2);
    let server = RunningServer::start(
        "echo_server",
        &[
            "--port",
            "0",
            "--max-clients",
            "1",
            "--min-rate",
            "64",
            "--rate-window",
            "2",
        ],
    );
    let addr = server.addr;
    let trickler = TcpStream::connect(addr).unwrap();
    trickler.set_read_timeout(Some(PATIENCE)).unwrap();
    let peer = trickler.local_addr().unwrap();
    // The first byte's echo proves the trickler holds the only seat.
    (&trickler).write_all(b"x").unwrap();
    let mut first = [0u8; 1];
    (&trickler).read_exact(&mut first).unwrap();
    let seated = Instant::now();
    // One byte every 250 ms: never silent, so the idle timeout alone would never end it.
    let sender = {
        let trickler = trickler.try_clone().unwrap();
        thread::spawn(move || {
            while seated.elapsed() < PATIENCE && (&trickler).write_all(b"x").is_ok() {
                thread::sleep(Duration::from_millis(250));
            }
        })
    };
    // A client that talks normally keeps trying until it gets the seat.
    let served_after = loop {
        assert!(seated.elapsed() < PATIENCE, "no client got the seat");
        let client = TcpStream::connect(addr).unwrap();
        client.set_read_timeout(Some(PATIENCE)).unwrap();
        (&client).write_all(b"hello").unwrap();
        let mut reply = [0u8; 5];
        if (&client).read_exact(&mut reply).is_ok() && &reply == b"hello" {
            break seated.elapsed();
        }
        thread::sleep(Duration::from_millis(100));
    };
    assert!(
        served_after < window + Duration::from_secs(2),
        "the next client waited {served_after:?}"
    );
    let mut rest = Vec::new();
    let _ = (&trickler).read_to_end(&mut rest);
    let said = String::from_utf8_lossy(&rest);
    assert!(
        said.contains("Too slow: ") && said.ends_with("fewer than the 64 required. Bye\n"),
        "the trickler is told why: {said:?}"
    );
    let logged = server.wait_for_line("too slow", PATIENCE).unwrap();
    assert!(
        logged.starts_with(&format!("{peer} dropped: too slow: ")),
        "{logged}"
    );
    sender.join().unwrap();
}

#[test]
fn echo_server_keeps_a_client_that_types_a_line_now_and_then() {
    let server = RunningServer::start(
        "echo_server",
        &["--port", "0", "--min-rate", "64", "--rate-window", "2"],
    );
    let client = TcpStream::connect(server.addr).unwrap();
    client.set_read_timeout(Some(PATIENCE)).unwrap();
    // A line of 33 bytes every 800 ms, as a person pasting lines: 66+ bytes each way a window.
    for _ in 0..8 {
        let line = b"a line a person typed, and Enter\n";
        (&client).write_all(line).unwrap();
        let mut echo = vec![0u8; line.len()];
        (&client).read_exact(&mut echo).unwrap();
        assert_eq!(echo, line);
        thread::sleep(Duration::from_millis(800));
    }
}

/// Starts echo_server with its stdout a pipe; returns the process, its stdout (the
/// `listening on` line already read) and the address.
fn echo_server_with_piped_stdout() -> (ChildGuard, std::process::ChildStdout, SocketAddr) {
    use std::process::Stdio;
    let mut command = lesson("echo_server", &["--port", "0"]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = ChildGuard::spawn(command);
    let mut stdout = child.0.stdout.take().unwrap();
    // Byte by byte, so that nothing after the first line is read.
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while byte != *b"\n" {
        stdout.read_exact(&mut byte).unwrap();
        line.push(byte[0]);
    }
    let line = String::from_utf8(line).unwrap();
    let addr = listening_address(line.lines().next().unwrap()).unwrap();
    (child, stdout, addr)
}

fn assert_echoes(addr: SocketAddr, message: &[u8]) {
    let client = TcpStream::connect(addr).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    (&client).write_all(message).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let mut echo = Vec::new();
    (&client).read_to_end(&mut echo).unwrap();
    assert_eq!(echo, message);
}

fn assert_still_running_without_a_panic(child: &mut ChildGuard) {
    assert!(child.0.try_wait().unwrap().is_none(), "the server exited");
    let _ = child.0.kill();
    let _ = child.0.wait();
    let mut stderr = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn echo_server_serves_on_after_its_log_reader_goes_away() {
    // As `echo_server | head -n 1`: the reader closes the pipe after the first line.
    let (mut child, stdout, addr) = echo_server_with_piped_stdout();
    drop(stdout);
    for _ in 0..3 {
        assert_echoes(addr, b"still here");
    }
    assert_still_running_without_a_panic(&mut child);
}

#[test]
fn echo_server_serves_on_when_nobody_reads_its_log() {
    // The pipe stays open, unread: after about 64 KiB of log a blocking print would stop.
    let (mut child, _stdout, addr) = echo_server_with_piped_stdout();
    for _ in 0..3000 {
        assert_echoes(addr, b"x");
    }
    assert_still_running_without_a_panic(&mut child);
}

// Signals are a Unix notion; Windows has no SIGTERM to send.
#[cfg(unix)]
#[test]
fn echo_server_stops_gracefully_on_sigterm() {
    let (mut server, _) = echo_server();
    let live = TcpStream::connect(server.addr).unwrap();
    live.set_read_timeout(Some(PATIENCE)).unwrap();
    (&live).write_all(b"a").unwrap();
    let mut echo = [0u8; 1];
    (&live).read_exact(&mut echo).unwrap();
    // SIGTERM (kill, systemctl stop, docker stop) starts the same drain as Ctrl-C ...
    let pid = server.child.0.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    assert!(killed.unwrap().success());
    assert!(
        server
            .wait_for_line("stopped accepting", PATIENCE)
            .is_some()
    );
    // ... the live client is still served, and when it leaves the server ends cleanly.
    (&live).write_all(b"b").unwrap();
    (&live).read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"b");
    drop(live);
    let status = server
        .child
        .wait_timeout(PATIENCE)
        .expect("the server stops");
    assert!(status.success(), "{status:?}");
    assert_eq!(
        server.wait_for_line("server stopped", PATIENCE).unwrap(),
        "server stopped: 1 clients served, 0 turned away, 0 cut off"
    );
}

#[test]
fn echo_server_says_a_client_stopped_reading_rather_than_idle() {
    let server = RunningServer::start("echo_server", &["--port", "0", "--idle-timeout", "1"]);
    let client = TcpStream::connect(server.addr).unwrap();
    let peer = client.local_addr().unwrap();
    // Send without ever reading: the echo fills both buffers and the server's write waits.
    client
        .set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let block = vec![b'x'; 64 * 1024];
    let started = Instant::now();
    while (&client).write_all(&block).is_ok() && started.elapsed() < PATIENCE {}
    assert_eq!(
        server.wait_for_line("dropped", PATIENCE).unwrap(),
        format!("{peer} dropped: stopped reading for 1s"),
        "the client sent the whole time: it was not idle"
    );
}
