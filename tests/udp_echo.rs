//! The datagram lessons: udp_echo_server must send each datagram back whole, to its sender
//! only, and keep serving whatever clients do; udp_echo_client must show in numbers what
//! datagrams keep (boundaries) and lose (bytes past the buffer, datagrams past a full queue).

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use support::{RunningServer, binary_payload, free_udp_port, run_lesson};

const PATIENCE: Duration = Duration::from_secs(30);

fn udp_echo_server(extra: &[&str]) -> (RunningServer, String) {
    let mut args = vec!["--port", "0"];
    args.extend(extra);
    let server = RunningServer::start("udp_echo_server", &args);
    let port = server.addr.port().to_string();
    (server, port)
}

/// A client socket on loopback, connected to `server`.
fn client_of(server: SocketAddr) -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    socket.connect(server).unwrap();
    socket
}

/// The number before `word` in `text`: `number_before("sent 2000 datagrams", " datagrams")`.
fn number_before(text: &str, word: &str) -> u64 {
    let (before, _) = text
        .split_once(word)
        .unwrap_or_else(|| panic!("no {word:?} in {text:?}"));
    let digits: String = before
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number before {word:?} in {text:?}"))
}

#[test]
fn each_word_is_one_datagram_and_comes_back_whole() {
    let (server, port) = udp_echo_server(&[]);
    let run = run_lesson("udp_echo_client", &["--port", &port]);
    run.assert_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!("sent 6 datagrams to 127.0.0.1:{port}, one per word: 33 bytes").as_str(),
            "received \"Test \" (5 bytes)",
            "received \"message. \" (9 bytes)",
            "received \"This \" (5 bytes)",
            "received \"will \" (5 bytes)",
            "received \"be \" (3 bytes)",
            "received \"echoed\" (6 bytes)",
            "6 datagrams sent, 6 echoed back whole: one receive per send",
        ]
    );
    for len in [5, 9, 5, 5, 3, 6] {
        let line = server
            .wait_for_line("echoed", PATIENCE)
            .expect("one log line per datagram");
        assert!(line.ends_with(&format!(": echoed {len} bytes")), "{line}");
    }
}

#[test]
fn binary_datagrams_of_every_size_come_back_byte_for_byte() {
    let (server, _) = udp_echo_server(&[]);
    let client = client_of(server.addr);
    let mut buffer = vec![0; 65_536];
    // Empty, one byte, every byte value, a typical Ethernet-sized payload, the IPv4 maximum.
    for (seed, len) in [0, 1, 256, 1472, 65_507].into_iter().enumerate() {
        let datagram = binary_payload(len, seed as u32);
        client.send(&datagram).unwrap();
        let got = client.recv(&mut buffer).unwrap();
        assert_eq!(got, len, "the echo is exactly as long as the request");
        assert!(
            buffer[..got] == datagram[..],
            "the echo of {len} bytes differs"
        );
    }
}

#[test]
fn many_sends_make_as_many_echoes_each_whole() {
    let (server, _) = udp_echo_server(&[]);
    let client = client_of(server.addr);
    // Sizes 1..=100, sent before any is read: 5050 bytes that a stream would run together.
    let sent: Vec<Vec<u8>> = (1..=100)
        .map(|len| binary_payload(len, len as u32))
        .collect();
    for datagram in &sent {
        client.send(datagram).unwrap();
    }
    let mut buffer = vec![0; 65_536];
    let mut echoed: Vec<Vec<u8>> = (0..sent.len())
        .map(|_| {
            let len = client.recv(&mut buffer).unwrap();
            buffer[..len].to_vec()
        })
        .collect();
    echoed.sort();
    let mut expected = sent.clone();
    expected.sort();
    assert!(echoed == expected, "100 sends, 100 whole echoes");
}

#[test]
fn the_server_answers_only_the_sender_of_each_datagram() {
    let (server, _) = udp_echo_server(&[]);
    let alice = client_of(server.addr);
    let bob = client_of(server.addr);
    // A third socket that never sends: nothing may arrive there.
    let bystander = UdpSocket::bind("127.0.0.1:0").unwrap();
    bystander
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buffer = [0; 64];
    for round in 0..10u8 {
        alice.send(&[b'a', round]).unwrap();
        bob.send(&[b'b', round]).unwrap();
        assert_eq!(alice.recv(&mut buffer).unwrap(), 2);
        assert_eq!(&buffer[..2], &[b'a', round]);
        assert_eq!(bob.recv(&mut buffer).unwrap(), 2);
        assert_eq!(&buffer[..2], &[b'b', round]);
    }
    assert!(
        bystander.recv(&mut buffer).is_err(),
        "the server sent to someone who never asked"
    );
}

#[test]
fn a_client_gone_before_its_echo_does_not_stop_the_server() {
    // --slow: the echo leaves after the client has closed, and bounces back as an ICMP "port
    // unreachable" (a reset on the server's next receive, on Windows).
    let (server, _) = udp_echo_server(&["--slow", "200"]);
    {
        let leaving = client_of(server.addr);
        leaving.send(b"bye").unwrap();
    }
    std::thread::sleep(Duration::from_millis(400));
    let staying = client_of(server.addr);
    staying.send(b"still there?").unwrap();
    let mut buffer = [0; 64];
    let len = staying.recv(&mut buffer).unwrap();
    assert_eq!(&buffer[..len], b"still there?");
}

#[test]
fn tcp_writes_run_together_where_datagrams_kept_their_boundaries() {
    let server = RunningServer::start("echo_server", &["--port", "0"]);
    let port = server.addr.port().to_string();
    let run = run_lesson("udp_echo_client", &["--port", &port, "tcp"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains(&format!(
            "sent 6 writes to 127.0.0.1:{port} (TCP), one per word: 33 bytes"
        )),
        "{run:#?}"
    );
    let received: String = run
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("received \""))
        .map(|rest| rest.rsplit_once("\" (").expect("a quoted read").0)
        .collect();
    assert_eq!(received, "Test message. This will be echoed");
    let summary = run.stdout.lines().last().unwrap();
    let reads = number_before(summary, " read");
    // Every echoed byte has arrived before the first read: the six writes cannot come back
    // as six reads, because a stream does not keep where one write ended.
    assert!((1..6).contains(&reads), "{summary}");
    assert!(
        summary.ends_with("a stream keeps the bytes, not the writes"),
        "{summary}"
    );
}

#[test]
fn a_datagram_larger_than_the_buffer_is_cut_and_the_client_says_so() {
    let (_server, port) = udp_echo_server(&[]);
    let run = run_lesson("udp_echo_client", &["--port", &port, "truncate"]);
    run.assert_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "sent 2000 bytes; receiving the echo into a 512-byte buffer",
            "received 512 bytes, truncated: the other 1488 are gone",
            "sent 2000 bytes; receiving the echo into a 65527-byte buffer",
            "received 2000 bytes, whole",
        ]
    );
    // A buffer exactly as large as the datagram is not a truncation.
    let run = run_lesson(
        "udp_echo_client",
        &[
            "--port", &port, "truncate", "--size", "700", "--buffer", "700",
        ],
    );
    run.assert_code(0);
    assert_eq!(run.stdout.lines().nth(1), Some("received 700 bytes, whole"));
}

// Unix: the server's own count comes from its Ctrl-C summary, sent as SIGINT with kill(1).
#[cfg(unix)]
#[test]
fn a_burst_overflows_a_slow_server_and_every_datagram_is_accounted_for() {
    let (mut server, port) = udp_echo_server(&["--recv-buffer", "4096", "--slow", "1"]);
    let run = run_lesson("udp_echo_client", &["--port", &port, "burst"]);
    run.assert_code(0);
    let summary = run
        .stdout
        .lines()
        .find(|line| line.starts_with("sent "))
        .expect("a summary line");
    let sent = number_before(summary, " datagrams");
    let echoed = number_before(summary, " echoed back");
    let lost = number_before(summary, " lost");
    assert_eq!(sent, 2000, "{summary}");
    assert_eq!(echoed + lost, sent, "{summary}");
    // The first datagram finds the buffer empty; then the server takes at least 1 ms for
    // each one while the client sends 2000 in a few milliseconds, into a buffer of a few.
    assert!(echoed >= 1 && lost > 0, "{summary}");
    #[cfg(target_os = "linux")]
    {
        let kernel = run
            .stdout
            .lines()
            .find(|line| line.starts_with("the kernel dropped "))
            .expect("the kernel's drop counter, read on Linux");
        // Every datagram lost on loopback was dropped at a full receive buffer (the server's,
        // or the client's own); other programs' drops can only add to the count.
        assert!(
            number_before(kernel, " datagrams meanwhile") >= lost,
            "{kernel}"
        );
    }
    server.child.interrupt(PATIENCE).expect("the server stops");
    let stopped = server
        .wait_for_line("stopped: ", PATIENCE)
        .expect("a summary on Ctrl-C");
    let served = number_before(&stopped, " datagrams");
    assert!(
        (echoed..=sent).contains(&served),
        "the server echoed {served}, the client got {echoed} of {sent}"
    );
}

#[test]
fn nothing_listening_is_one_sentence_and_exit_1_within_the_deadline() {
    let port = free_udp_port().to_string();
    for mode in [None, Some("truncate"), Some("burst")] {
        let mut args = vec!["--port", &port, "--timeout", "3"];
        args.extend(mode);
        let started = Instant::now();
        let run = run_lesson("udp_echo_client", &args);
        assert!(started.elapsed() < Duration::from_secs(3 + 5), "{mode:?}");
        run.assert_clean_failure();
        let mut lines = run.stderr.lines();
        let error = lines.next().unwrap();
        // Linux and macOS hear the ICMP "port unreachable" as "connection refused"; a
        // system that drops it silently leaves only the deadline.
        assert!(
            error.contains("Connection refused") || error.contains("gave up after 3s"),
            "{mode:?}: {error}"
        );
        assert_eq!(
            lines.next(),
            Some(
                format!("hint: start the UDP echo server first: udp_echo_server --port {port}")
                    .as_str()
            ),
            "{mode:?}"
        );
    }
    let tcp = run_lesson("udp_echo_client", &["--port", &port, "tcp"]);
    tcp.assert_clean_failure();
    assert!(
        tcp.stderr.starts_with(&format!(
            "error: could not connect to tcp 127.0.0.1:{port}: "
        )),
        "{tcp:#?}"
    );
}

#[test]
fn a_silent_server_is_a_timeout_at_the_deadline() {
    // Bound, so no ICMP error comes back, and never read: the datagrams just wait there.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let started = Instant::now();
    let run = run_lesson("udp_echo_client", &["--port", &port, "--timeout", "1"]);
    let took = started.elapsed();
    run.assert_clean_failure();
    assert!(
        run.stderr.starts_with(&format!(
            "error: could not receive the echo from udp 127.0.0.1:{port}: gave up after 1s"
        )),
        "{run:#?}"
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(6),
        "{took:?}"
    );
}

#[test]
fn the_server_reports_a_port_in_use() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let run = run_lesson("udp_echo_server", &["--port", &port]);
    run.assert_clean_failure();
    assert!(
        run.stderr
            .starts_with(&format!("error: could not bind udp 127.0.0.1:{port}: ")),
        "{run:#?}"
    );
    assert!(run.stderr.contains("hint: "), "{run:#?}");
}

#[test]
fn bad_arguments_are_usage_errors() {
    for (lesson, args) in [
        ("udp_echo_server", &["--slow", "5000"][..]),
        ("udp_echo_server", &["--recv-buffer", "0"][..]),
        ("udp_echo_client", &["--port", "70000"][..]),
        ("udp_echo_client", &["burst", "--count", "0"][..]),
        ("udp_echo_client", &["truncate", "--size", "70000"][..]),
        ("udp_echo_client", &["no-such-mode"][..]),
    ] {
        let run = run_lesson(lesson, args);
        run.assert_code(2);
        assert!(
            run.stderr.starts_with("error: "),
            "{lesson} {args:?}: {run:#?}"
        );
    }
}

#[test]
fn the_pair_works_over_ipv6_loopback() {
    let server = RunningServer::start("udp_echo_server", &["--host", "::1", "--port", "0"]);
    assert_eq!(server.addr.ip(), "::1".parse::<std::net::IpAddr>().unwrap());
    let port = server.addr.port().to_string();
    let run = run_lesson("udp_echo_client", &["--host", "::1", "--port", &port]);
    run.assert_code(0);
    assert!(
        run.stdout
            .starts_with(&format!("sent 6 datagrams to [::1]:{port}, one per word")),
        "{run:#?}"
    );
    // The largest datagram the client sends (IPv4's limit, 65,507 bytes) comes back whole.
    let run = run_lesson(
        "udp_echo_client",
        &[
            "--host", "::1", "--port", &port, "truncate", "--size", "65507",
        ],
    );
    run.assert_code(0);
    assert_eq!(
        run.stdout.lines().nth(1),
        Some("received 512 bytes, truncated: the other 64995 are gone")
    );
    assert_eq!(
        run.stdout.lines().nth(3),
        Some("received 65507 bytes, whole")
    );
}
