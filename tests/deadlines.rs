//! Every client lesson finishes within its `--timeout` (plus a second) whatever the peer does:
//! here the peers answer, but one byte per second, forever, or never.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use support::{Finished, lesson, run_with_input};

/// The `--timeout` the tests pass.
const TIMEOUT_SECS: u64 = 2;

/// What a run may take: the timeout, the promised second, and a second of slack for a busy
/// machine. The runs these tests catch took 15 s and more.
const ALLOWED: Duration = Duration::from_secs(TIMEOUT_SECS + 2);

/// Sends `bytes` to `stream` one per second, until the client goes away.
fn trickle(mut stream: &TcpStream, bytes: impl IntoIterator<Item = u8>) {
    for byte in bytes {
        if stream.write_all(&[byte]).is_err() {
            return;
        }
        thread::sleep(Duration::from_secs(1));
    }
}

/// A TCP server on a free loopback port that serves each client with `serve` on a thread.
fn tcp_server(serve: fn(TcpStream)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || serve(stream));
        }
    });
    port
}

/// Runs lesson `name` with `args`, returning what it did and how long it took.
fn timed_run(name: &str, args: &[&str]) -> (Finished, Duration) {
    // Built before the clock starts: the first call builds the lessons.
    let command = lesson(name, args);
    let started = Instant::now();
    // The harness kills a lesson after 30 s: long after ALLOWED, so a hang reads as one.
    let run = run_with_input(command, b"", Duration::from_secs(30));
    (run, started.elapsed())
}

fn assert_gives_up_in_time(name: &str, args: &[&str]) -> Finished {
    let (run, took) = timed_run(name, args);
    run.assert_clean_failure();
    assert!(
        took < ALLOWED,
        "{name} ran for {took:?}, more than --timeout {TIMEOUT_SECS} allows: {run:#?}"
    );
    assert_eq!(
        run.stderr
            .lines()
            .filter(|line| line.starts_with("error: "))
            .count(),
        1,
        "one error sentence: {run:#?}"
    );
    run
}

#[test]
fn socket_05_gives_up_on_a_body_that_trickles() {
    let port = tcp_server(|stream| {
        let mut request = [0u8; 1024];
        let _ = (&stream).read(&mut request);
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
        if (&stream).write_all(head).is_ok() {
            trickle(&stream, std::iter::repeat(b'x'));
        }
    });
    let port = port.to_string();
    let timeout = TIMEOUT_SECS.to_string();
    let run = assert_gives_up_in_time(
        "socket_05",
        &["127.0.0.1", &port, "/", "--timeout", &timeout],
    );
    assert!(run.stderr.contains("whole run"), "{run:#?}");
}

#[test]
fn socket_05_gives_up_on_a_head_that_trickles() {
    let port = tcp_server(|stream| trickle(&stream, b"HTTP/1.1 200 OK\r\n".repeat(1000)));
    let port = port.to_string();
    let timeout = TIMEOUT_SECS.to_string();
    assert_gives_up_in_time(
        "socket_05",
        &["127.0.0.1", &port, "/", "--timeout", &timeout],
    );
}

#[test]
fn echo_client_gives_up_on_an_echo_that_trickles() {
    // Echoes what it gets, one byte per second.
    let port = tcp_server(|stream| {
        let mut received = [0u8; 4096];
        let Ok(count) = (&stream).read(&mut received) else {
            return;
        };
        trickle(&stream, received[..count].to_vec());
    });
    let port = port.to_string();
    let timeout = TIMEOUT_SECS.to_string();
    let run = assert_gives_up_in_time("echo_client", &["--port", &port, "--timeout", &timeout]);
    assert!(run.stderr.contains("whole run"), "{run:#?}");
}

#[test]
fn echo_client_gives_up_on_a_server_that_never_reads() {
    let port = tcp_server(|stream| {
        thread::sleep(Duration::from_secs(60));
        drop(stream);
    });
    let port = port.to_string();
    let timeout = TIMEOUT_SECS.to_string();
    // 64 MiB cannot fit in the socket buffers, so the sender blocks until the deadline.
    let dir = support::TempDir::new("deadline");
    let file = dir.file("big", &vec![b'x'; 64 << 20]);
    let file = file.to_str().unwrap();
    assert_gives_up_in_time(
        "echo_client",
        &["--port", &port, "--timeout", &timeout, "--file", file],
    );
}

/// A UDP "server" on a free loopback port that reads requests and never answers.
fn silent_udp_server() -> (UdpSocket, String) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port().to_string();
    (socket, port)
}

#[test]
fn basics_04_gives_up_within_its_timeout_not_twice_it() {
    let (_server, port) = silent_udp_server();
    let timeout = TIMEOUT_SECS.to_string();
    let (run, took) = timed_run(
        "basics_04",
        &["127.0.0.1", "--port", &port, "--timeout", &timeout],
    );
    run.assert_clean_failure();
    // Two tries of the whole timeout each took twice as long as promised.
    assert!(
        took < Duration::from_secs(TIMEOUT_SECS) + Duration::from_millis(1500),
        "basics_04 ran for {took:?} with --timeout {TIMEOUT_SECS}: {run:#?}"
    );
}

#[test]
fn basics_05_gives_up_within_its_timeout() {
    let (_server, port) = silent_udp_server();
    let timeout = TIMEOUT_SECS.to_string();
    assert_gives_up_in_time(
        "basics_05",
        &["127.0.0.1", "--port", &port, "--timeout", &timeout],
    );
}

/// Listeners on 127.0.0.1 and ::1 at one port (both addresses of `localhost`) whose backlogs
/// are full: Linux then drops new SYNs, so a connect there waits until its timeout. Returns
/// the port and what must stay alive for the listeners to stay full.
#[cfg(target_os = "linux")]
fn full_backlogs() -> (u16, Vec<socket2::Socket>, Vec<TcpStream>) {
    use socket2::{Domain, Socket, Type};
    use std::net::SocketAddr;
    let mut port = 0;
    let mut listeners = Vec::new();
    let mut fillers = Vec::new();
    for ip in ["127.0.0.1", "::1"] {
        // Without IPv6, localhost is 127.0.0.1 alone.
        if ip == "::1" && !support::has_ipv6_loopback("the ::1 listener") {
            continue;
        }
        let address: SocketAddr = SocketAddr::new(ip.parse().unwrap(), port);
        let socket = Socket::new(Domain::for_address(address), Type::STREAM, None).unwrap();
        socket.bind(&address.into()).unwrap();
        socket.listen(0).unwrap();
        let bound = socket.local_addr().unwrap().as_socket().unwrap();
        port = bound.port();
        // Fill the queue: a connect that times out is one whose SYN was dropped.
        while let Ok(stream) = TcpStream::connect_timeout(&bound, Duration::from_millis(300)) {
            fillers.push(stream);
            assert!(fillers.len() < 64, "the backlog never filled");
        }
        listeners.push(socket);
    }
    (port, listeners, fillers)
}

// Dropped SYNs on a full backlog are Linux behaviour (Windows answers with a reset), and the
// test needs `localhost` to have two addresses, as it has on Linux.
#[cfg(target_os = "linux")]
#[test]
fn socket_03_and_04_give_up_within_their_timeout_over_all_addresses() {
    use std::net::ToSocketAddrs;
    // With a single address the per-address timeout and the whole-run one are the same.
    let addresses: Vec<_> = ("localhost", 1).to_socket_addrs().unwrap().collect();
    if addresses.len() < 2 {
        eprintln!(
            "skipped: localhost has one address here ({addresses:?}), so there is no second \
             address to spend a second timeout on"
        );
        return;
    }
    let (port, _listeners, _fillers) = full_backlogs();
    let port = port.to_string();
    let timeout = TIMEOUT_SECS.to_string();
    for lesson in ["socket_03", "socket_04"] {
        // Each address used to get the whole timeout: two addresses, twice the time.
        let (run, took) = timed_run(lesson, &["localhost", &port, "--timeout", &timeout]);
        run.assert_clean_failure();
        assert!(
            took < Duration::from_secs(TIMEOUT_SECS) + Duration::from_millis(1500),
            "{lesson} ran for {took:?} with --timeout {TIMEOUT_SECS}: {run:#?}"
        );
    }
}
