//! line_client, the students' own client, against server_05 and against small servers written
//! here that misbehave on purpose (hang up first, never hang up).

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use support::{ChildGuard, LESSON_TIMEOUT, RunningServer, free_tcp_port, lesson, run_with_input};

#[test]
fn talks_to_server_05_and_ends_after_the_input_ends() {
    let server = RunningServer::start("server_05", &["--port", "0"]);
    let port = server.addr.port().to_string();
    let run = run_with_input(
        lesson("line_client", &["--port", &port]),
        b"hello\nworld\n",
        LESSON_TIMEOUT,
    );
    run.assert_code(0);
    // Standard output is exactly what the server sent.
    assert_eq!(
        run.stdout,
        "Welcome to the server. Type something and hit enter\nOK...hello\nOK...world\n"
    );
    assert!(
        run.stderr
            .starts_with(&format!("connected to {}: type lines", server.addr)),
        "{run:#?}"
    );
    // After our half-close server_05 reads end of stream and closes: that ends the client.
    assert!(
        run.stderr.ends_with("the server closed the connection\n"),
        "{run:#?}"
    );
}

#[test]
fn ends_when_the_server_hangs_up_while_input_is_still_open() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let mut command = lesson("line_client", &["--port", &port]);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut client = ChildGuard::spawn(command);
    // Keep the client's stdin open: only the server's close may end it.
    let _typing = client.0.stdin.take().unwrap();
    let (mut accepted, _) = listener.accept().unwrap();
    accepted.write_all(b"bye\n").unwrap();
    drop(accepted);

    let status = client
        .wait_timeout(Duration::from_secs(10))
        .expect("the client ends when the server closes");
    assert!(status.success(), "{status:?}");
    let mut stdout = String::new();
    client
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert_eq!(stdout, "bye\n");
    let mut stderr = String::new();
    client
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        stderr.ends_with("the server closed the connection\n"),
        "{stderr}"
    );
}

#[test]
fn after_the_input_ends_it_waits_for_a_silent_server_only_until_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    // A server that reads to end of stream, answers late, and never closes.
    let server = thread::spawn(move || {
        let (accepted, _) = listener.accept().unwrap();
        let mut received = Vec::new();
        (&accepted).read_to_end(&mut received).unwrap();
        (&accepted).write_all(b"late answer\n").unwrap();
        thread::sleep(Duration::from_secs(4));
        received
    });
    let command = lesson("line_client", &["--port", &port, "--timeout", "1"]);
    let started = Instant::now();
    let run = run_with_input(command, b"one\r\ntwo\n", LESSON_TIMEOUT);
    run.assert_code(0);
    assert!(started.elapsed() < Duration::from_secs(4), "{run:#?}");
    assert_eq!(run.stdout, "late answer\n");
    assert!(
        run.stderr
            .ends_with("the server sent nothing more for 1s: closing\n"),
        "{run:#?}"
    );
    // Every line arrived with a plain \n, and then the end of stream (the half-close).
    assert_eq!(server.join().unwrap(), b"one\ntwo\n");
}

#[test]
fn a_refused_connection_is_one_sentence_with_a_hint() {
    let port = free_tcp_port().to_string();
    let run = run_with_input(
        lesson("line_client", &["--port", &port]),
        b"never sent\n",
        LESSON_TIMEOUT,
    );
    run.assert_clean_failure();
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{run:#?}");
    assert!(
        lines[0].starts_with(&format!(
            "error: could not connect to 127.0.0.1 port {port}: "
        )),
        "{run:#?}"
    );
    assert_eq!(
        lines[1],
        "hint: start the server first (for example the server_05 lesson), or check --host and --port"
    );
    assert!(run.stdout.is_empty());
}

#[test]
fn two_clients_talk_to_server_05_at_once() {
    let server = RunningServer::start("server_05", &["--port", "0"]);
    let port = server.addr.port().to_string();
    // The first client connects and stays (its input stays open) while the second one talks.
    let mut command = lesson("line_client", &["--port", &port]);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut first = ChildGuard::spawn(command);
    let mut first_input = first.0.stdin.take().unwrap();
    let mut first_output = BufReader::new(first.0.stdout.take().unwrap());
    let mut greeting = String::new();
    first_output.read_line(&mut greeting).unwrap();
    assert_eq!(
        greeting,
        "Welcome to the server. Type something and hit enter\n"
    );

    let second = run_with_input(
        lesson("line_client", &["--port", &port]),
        b"second\n",
        LESSON_TIMEOUT,
    );
    second.assert_code(0);
    assert!(second.stdout.ends_with("OK...second\n"), "{second:#?}");

    first_input.write_all(b"first\n").unwrap();
    drop(first_input);
    let mut rest = String::new();
    first_output.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "OK...first\n");
    let status = first.wait_timeout(Duration::from_secs(10));
    assert!(status.is_some_and(|status| status.success()), "{status:?}");
}
