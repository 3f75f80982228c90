//! The echo lessons: echo_server must send back exactly the bytes it gets, and echo_client
//! must read the echo back and tell a right echo from a wrong one.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use support::{RunningServer, TempDir, binary_payload, lesson, run_lesson, run_with_input};

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
        Some("hint: start the echo server first: cargo run --example echo_server")
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
