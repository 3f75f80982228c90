//! The time lessons (basics_04, basics_05, ntp_server) as a student runs them, and
//! `netutil::ntp`'s client and server against fake peers that misbehave on purpose and against
//! independent implementations (ntplib, chronyd; `#[ignore]`d, run by `.ci/run`).

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use chrono::{Local, NaiveDateTime, TimeZone};
use netutil::ntp::{
    self, Error, Header, Ignored, Leap, Mode, QueryOptions, Server, ServerConfig, Timestamp,
};
use support::{RunningServer, run_lesson};

/// The `time: …` line the time lessons print, as local time (Python's ctime layout), checked to
/// be within a few seconds of this test's own clock.
fn assert_prints_the_time_now(stdout: &str) {
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("time: "))
        .unwrap_or_else(|| panic!("no `time:` line in {stdout:?}"));
    let naive = NaiveDateTime::parse_from_str(line, "%a %b %e %H:%M:%S %Y")
        .unwrap_or_else(|error| panic!("{line:?} is not in ctime's layout: {error}"));
    let printed = Local
        .from_local_datetime(&naive)
        .earliest()
        .expect("a local time");
    let gap = (Local::now() - printed).num_seconds().abs();
    assert!(gap <= 5, "printed {printed}, {gap} s away from now");
}

fn lesson_server() -> RunningServer {
    RunningServer::start("ntp_server", &["--port", "0"])
}

#[test]
fn basics_04_tells_the_time_of_ntp_server() {
    let server = lesson_server();
    let port = server.addr.port().to_string();
    let run = run_lesson("basics_04", &["127.0.0.1", "--port", &port]);
    run.assert_code(0);
    assert_prints_the_time_now(&run.stdout);
    assert!(run.stdout.contains("stratum: 10\n"), "{run:#?}");
    assert!(
        run.stdout
            .contains(&format!("server: 127.0.0.1:{port} (reference 127.127.1.1)")),
        "{run:#?}"
    );
    let offset: f64 = run
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("offset: ")?.strip_suffix(" s"))
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no offset line: {run:#?}"));
    assert!(offset.abs() < 0.5, "same clock, offset {offset}");
    assert!(
        server
            .wait_for_line("answered 127.0.0.1:", Duration::from_secs(5))
            .is_some(),
        "the server did not report the request"
    );
}

#[test]
fn basics_05_tells_the_time_of_ntp_server() {
    let server = lesson_server();
    let port = server.addr.port().to_string();
    let run = run_lesson("basics_05", &["127.0.0.1", "--port", &port]);
    run.assert_code(0);
    assert_eq!(
        run.stdout.lines().next(),
        Some(format!("reply from 127.0.0.1:{port} (48 bytes)").as_str())
    );
    assert_prints_the_time_now(&run.stdout);
    let line = server
        .wait_for_line("answered", Duration::from_secs(5))
        .expect("the server reports the request");
    assert!(line.ends_with("(NTP version 3)"), "{line}");
}

#[test]
fn basics_04_and_05_work_over_ipv6() {
    if !support::has_ipv6_loopback("basics_04_and_05_work_over_ipv6") {
        return;
    }
    let server = RunningServer::start("ntp_server", &["--host", "::1", "--port", "0"]);
    assert!(server.addr.is_ipv6());
    let port = server.addr.port().to_string();
    for lesson in ["basics_04", "basics_05"] {
        let run = run_lesson(lesson, &["::1", "--port", &port]);
        run.assert_code(0);
        assert_prints_the_time_now(&run.stdout);
        assert!(run.stdout.contains(&format!("[::1]:{port}")), "{run:#?}");
    }
}

fn assert_offline_hint(run: &support::Finished, lesson: &str) {
    run.assert_clean_failure();
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "one error line and one hint: {run:#?}");
    // The program names, not `cargo run --example`: a lesson copied into a homework
    // project is not an example there.
    assert!(lines[1].contains("`ntp_server`"), "{run:#?}");
    assert!(
        lines[1].contains(&format!("`{lesson} 127.0.0.1 --port 12300`")),
        "{run:#?}"
    );
    assert!(!lines[1].contains("cargo run"), "{run:#?}");
    assert!(run.stdout.is_empty(), "{run:#?}");
}

#[test]
fn offline_the_lessons_say_what_to_start() {
    let port = support::free_udp_port().to_string();
    for lesson in ["basics_04", "basics_05"] {
        let run = run_lesson(lesson, &["127.0.0.1", "--port", &port, "--timeout", "2"]);
        assert_offline_hint(&run, lesson);
        let run = run_lesson(lesson, &[support::UNKNOWN_HOST]);
        assert_offline_hint(&run, lesson);
        assert!(
            run.stderr
                .contains(&format!("could not resolve {}", support::UNKNOWN_HOST)),
            "{run:#?}"
        );
    }
}

/// A UDP socket on 127.0.0.1 that reads requests and never answers.
fn silent_peer() -> (UdpSocket, SocketAddr) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let addr = socket.local_addr().expect("bound address");
    (socket, addr)
}

#[test]
fn a_silent_server_is_a_timeout_in_the_lessons() {
    let (_socket, addr) = silent_peer();
    let port = addr.port().to_string();
    for lesson in ["basics_04", "basics_05"] {
        let started = Instant::now();
        let run = run_lesson(lesson, &["127.0.0.1", "--port", &port, "--timeout", "1"]);
        assert_offline_hint(&run, lesson);
        assert!(run.stderr.contains("no reply"), "{run:#?}");
        // basics_04 tries twice.
        assert!(started.elapsed() < Duration::from_secs(10), "{run:#?}");
    }
}

#[test]
fn basics_05_rejects_a_reply_to_someone_else() {
    let (addr, peer) = fake_server(|socket, request, client| {
        let mut reply = good_reply(request);
        reply.origin_time = Timestamp::new(1, 2);
        socket.send_to(&reply.to_bytes(), client).expect("reply");
    });
    let run = run_lesson(
        "basics_05",
        &["127.0.0.1", "--port", &addr.port().to_string()],
    );
    run.assert_clean_failure();
    assert!(
        run.stderr
            .contains("error: the reply does not answer our request"),
        "{run:#?}"
    );
    peer.join().expect("fake server");
}

// Ctrl-C is sent as SIGINT with kill(1): Unix only (Windows has no signals to send).
#[cfg(unix)]
#[test]
fn ntp_server_stops_cleanly_on_ctrl_c() {
    let mut server = lesson_server();
    let status = server
        .child
        .interrupt(Duration::from_secs(5))
        .expect("the server stops within 5 s of Ctrl-C");
    assert!(status.success(), "{status:?}: {}", server.stderr());
    assert_eq!(
        server.next_line(Duration::from_secs(1)).as_deref(),
        Some("stopped")
    );
}

#[test]
fn ntp_server_help_and_bad_arguments() {
    let run = run_lesson("ntp_server", &["--help"]);
    run.assert_code(0);
    assert!(run.stdout.contains("[default: 12300]"), "{run:#?}");
    assert!(run.stdout.contains("[default: 127.0.0.1]"), "{run:#?}");
    run_lesson("ntp_server", &["--stratum", "16"]).assert_code(2);
    run_lesson("ntp_server", &["--reference-id", "TOOLONG"]).assert_code(2);
    let run = run_lesson("basics_05", &["--help"]);
    assert!(
        run.stdout.contains("[default: 0.uk.pool.ntp.org]"),
        "{run:#?}"
    );
    let run = run_lesson("basics_04", &["--help"]);
    assert!(run.stdout.contains("[default: pool.ntp.org]"), "{run:#?}");
}

#[test]
fn ntp_server_announces_the_stratum_and_reference_it_is_given() {
    let server = RunningServer::start(
        "ntp_server",
        &["--port", "0", "--stratum", "1", "--reference-id", "GPS"],
    );
    let reply = ntp::query_addr(server.addr, &quick()).expect("a reply");
    assert_eq!((reply.stratum, reply.reference_id.as_str()), (1, "GPS"));
}

#[test]
fn ntp_server_reports_a_port_in_use() {
    let taken = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("bound").port().to_string();
    let run = run_lesson("ntp_server", &["--port", &port]);
    run.assert_clean_failure();
    assert!(
        run.stderr
            .starts_with(&format!("error: could not bind udp 127.0.0.1:{port}: ")),
        "{run:#?}"
    );
    assert!(run.stderr.contains("hint: "), "{run:#?}");
}

// ---- netutil::ntp::query against fake servers -------------------------------------------

fn quick() -> QueryOptions {
    QueryOptions {
        timeout: Duration::from_secs(5),
        retries: 0,
        ..QueryOptions::default()
    }
}

/// A correct reply to `request`: server mode, stratum 2, our clock, origin = its transmit time.
fn good_reply(request: &[u8]) -> Header {
    let request = Header::parse(request).expect("the client sends a whole header");
    assert_eq!(request.mode, Mode::Client);
    let now = Timestamp::from(SystemTime::now());
    Header {
        mode: Mode::Server,
        stratum: 2,
        poll: 4,
        precision: -20,
        reference_id: [192, 0, 2, 1],
        reference_time: now,
        origin_time: request.transmit_time,
        receive_time: now,
        transmit_time: now,
        ..request
    }
}

/// A server on 127.0.0.1 that reads one request and lets `answer` reply (or not).
fn fake_server(
    answer: impl FnOnce(&UdpSocket, &[u8], SocketAddr) + Send + 'static,
) -> (SocketAddr, JoinHandle<()>) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let addr = socket.local_addr().expect("bound address");
    let peer = thread::spawn(move || {
        let mut buffer = [0; 512];
        let (len, client) = socket.recv_from(&mut buffer).expect("a request");
        answer(&socket, &buffer[..len], client);
    });
    (addr, peer)
}

/// Queries a fake server that answers with `reply(request)` as raw bytes.
fn query_fake(reply: impl FnOnce(&[u8]) -> Vec<u8> + Send + 'static) -> Result<ntp::Reply, Error> {
    let (addr, peer) = fake_server(move |socket, request, client| {
        socket.send_to(&reply(request), client).expect("reply");
    });
    let result = ntp::query_addr(
        addr,
        &QueryOptions {
            timeout: Duration::from_millis(500),
            ..quick()
        },
    );
    peer.join().expect("fake server");
    result
}

#[test]
fn client_skips_a_wrong_origin_and_takes_the_right_reply_after_it() {
    let (addr, peer) = fake_server(|socket, request, client| {
        let mut stale = good_reply(request);
        stale.origin_time = Timestamp::new(stale.origin_time.seconds, 0xDEAD_BEEF);
        stale.stratum = 7;
        socket.send_to(&stale.to_bytes(), client).expect("stale");
        thread::sleep(Duration::from_millis(50));
        socket
            .send_to(&good_reply(request).to_bytes(), client)
            .expect("good");
    });
    let reply = ntp::query_addr(addr, &quick()).expect("the second reply counts");
    assert_eq!(reply.stratum, 2, "the stale reply was taken");
    assert_eq!(reply.reference_id, "192.0.2.1");
    assert_eq!(
        (reply.mode, reply.leap, reply.version),
        (Mode::Server, Leap::NoWarning, 4)
    );
    assert!(reply.offset.abs() < 0.5 && reply.delay >= 0.0, "{reply:?}");
    peer.join().expect("fake server");
}

/// Queries a fake server whose otherwise correct reply `spoil` has changed.
fn query_spoiled(spoil: impl FnOnce(&mut Header) + Send + 'static) -> Error {
    query_fake(|request| {
        let mut reply = good_reply(request);
        spoil(&mut reply);
        reply.to_bytes().to_vec()
    })
    .expect_err("a spoiled reply is not taken")
}

/// Why the last packet was ignored, when `error` is a timeout.
fn ignored(error: &Error) -> Option<&Ignored> {
    match error {
        Error::Timeout { ignored, .. } => ignored.as_ref(),
        _ => None,
    }
}

#[test]
fn client_reports_a_wrong_origin_alone_as_a_timeout_that_says_why() {
    let error = query_spoiled(|reply| reply.origin_time = Timestamp::ZERO);
    assert_eq!(ignored(&error), Some(&Ignored::WrongOrigin), "{error:?}");
    assert!(error.to_string().contains("stale or forged"), "{error}");
}

#[test]
fn client_ignores_a_reply_in_the_wrong_mode() {
    let error = query_spoiled(|reply| reply.mode = Mode::Client);
    let expected = Ignored::NotServerMode(Mode::Client);
    assert_eq!(ignored(&error), Some(&expected), "{error:?}");
}

#[test]
fn client_ignores_a_short_packet() {
    let error = query_fake(|request| good_reply(request).to_bytes()[..40].to_vec()).unwrap_err();
    assert_eq!(ignored(&error), Some(&Ignored::TooShort(40)), "{error:?}");
}

#[test]
fn client_names_the_kiss_o_death_code() {
    let error = query_spoiled(|reply| {
        reply.stratum = 0;
        reply.reference_id = *b"RATE";
    });
    assert!(
        matches!(&error, Error::KissOfDeath { code, .. } if code == "RATE"),
        "{error:?}"
    );
    assert!(error.to_string().contains("code RATE"), "{error}");
}

#[test]
fn client_refuses_an_unsynchronized_server() {
    let error = query_spoiled(|reply| reply.leap = Leap::Unsynchronized);
    assert!(matches!(error, Error::Unsynchronized { .. }), "{error:?}");
}

#[test]
fn client_refuses_a_reply_without_a_transmit_time() {
    let error = query_spoiled(|reply| reply.transmit_time = Timestamp::ZERO);
    assert!(matches!(error, Error::NoTransmitTime { .. }), "{error:?}");
}

#[test]
fn client_ignores_a_reply_from_another_address() {
    let (addr, peer) = fake_server(|_socket, request, client| {
        let impostor = UdpSocket::bind("127.0.0.1:0").expect("bind");
        impostor
            .send_to(&good_reply(request).to_bytes(), client)
            .expect("reply");
    });
    let error = ntp::query_addr(
        addr,
        &QueryOptions {
            timeout: Duration::from_millis(500),
            ..quick()
        },
    )
    .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    peer.join().expect("fake server");
}

#[test]
fn client_times_out_on_silence_within_the_configured_time_and_retries() {
    let (socket, addr) = silent_peer();
    let options = QueryOptions {
        timeout: Duration::from_millis(400),
        retries: 2,
        ..QueryOptions::default()
    };
    let started = Instant::now();
    let error = ntp::query_addr(addr, &options).unwrap_err();
    let waited = started.elapsed();
    assert!(
        matches!(
            error,
            Error::Timeout {
                tries: 3,
                ignored: None,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        waited >= Duration::from_millis(1200) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("no reply from {addr} within 0.4 s (3 tries)")
    );
    // Three requests arrived, each a fresh client request.
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let mut buffer = [0; 512];
    for _ in 0..3 {
        let (len, _) = socket.recv_from(&mut buffer).expect("a request");
        assert_eq!(len, 48);
        assert_eq!(buffer[0], 0x23, "LI 0, version 4, mode 3");
    }
    assert!(socket.recv_from(&mut buffer).is_err(), "a fourth request");
}

#[test]
fn client_reports_a_closed_port_at_once() {
    let port = support::free_udp_port();
    let started = Instant::now();
    let error = ntp::query("127.0.0.1", port, &quick()).unwrap_err();
    assert!(matches!(error, Error::Refused { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn client_reports_an_unknown_name() {
    let error = ntp::query(support::UNKNOWN_HOST, 123, &quick()).unwrap_err();
    assert!(matches!(error, Error::Resolve(_)), "{error:?}");
}

// ---- netutil::ntp::Server -------------------------------------------------------------

fn spawn_server(address: &str) -> ntp::ServerThread {
    Server::bind(
        address.parse().expect("an address"),
        ServerConfig::default(),
    )
    .expect("bind")
    .spawn()
    .expect("spawn")
}

/// Sends `packet` to `server` and returns the reply, if one comes within half a second.
fn exchange(server: SocketAddr, packet: &[u8]) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    socket.send_to(packet, server).expect("send");
    let mut buffer = [0; 512];
    let (len, _) = socket.recv_from(&mut buffer).ok()?;
    Some(buffer[..len].to_vec())
}

#[test]
fn server_answers_over_ipv4_and_ipv6() {
    for address in ["127.0.0.1:0", "[::1]:0"] {
        if address.starts_with('[') && !support::has_ipv6_loopback("the IPv6 half") {
            continue;
        }
        let server = spawn_server(address);
        let reply = ntp::query_addr(server.addr(), &quick()).expect("a reply");
        assert_eq!(reply.server, server.addr());
        assert!(reply.offset.abs() < 0.5, "{reply:?}");
        let age = SystemTime::now().duration_since(reply.transmit_time);
        assert!(
            age.is_ok_and(|age| age < Duration::from_secs(1)),
            "{reply:?}"
        );
        server.stop().expect("a clean stop");
    }
}

#[test]
fn client_asks_a_server_by_name() {
    // Where localhost resolves to ::1 before 127.0.0.1, the first try is refused and the
    // retry goes to the next address (the unit tests of ntp::client check that order).
    let server = spawn_server("127.0.0.1:0");
    let options = QueryOptions {
        retries: 1,
        ..quick()
    };
    let reply = ntp::query("localhost", server.addr().port(), &options).expect("a reply");
    assert_eq!(reply.server, server.addr());
    let reply = ntp::query("127.0.0.1", server.addr().port(), &quick()).expect("a reply");
    assert_eq!(reply.server, server.addr());
}

#[test]
fn server_ignores_short_packets_and_other_modes() {
    let server = spawn_server("127.0.0.1:0");
    let request = Header::client_request(4, Timestamp::new(0xE000_0000, 99)).to_bytes();
    assert_eq!(exchange(server.addr(), &request[..47]), None);
    assert_eq!(exchange(server.addr(), &[]), None);
    for mode in [0, 1, 2, 4, 5, 6, 7] {
        let mut packet = request;
        packet[0] = (packet[0] & !0b111) | mode;
        assert_eq!(exchange(server.addr(), &packet), None, "mode {mode}");
    }
    let reply = exchange(server.addr(), &request).expect("a client request is answered");
    assert_eq!(reply.len(), 48);
    assert_eq!(reply[24..32], request[40..48], "origin = our transmit time");
}

#[test]
fn server_never_answers_with_more_than_it_received() {
    let server = spawn_server("127.0.0.1:0");
    let mut long = Header::client_request(4, Timestamp::new(0xE000_0000, 1))
        .to_bytes()
        .to_vec();
    long.extend_from_slice(&[0; 20]); // as if followed by a MAC
    let reply = exchange(server.addr(), &long).expect("answered");
    assert_eq!(reply.len(), 48);
}

#[test]
fn server_survives_random_bytes() {
    let server = spawn_server("127.0.0.1:0");
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    for _ in 0..300 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = (state % 100) as usize;
        let packet: Vec<u8> = (0..len).map(|i| (state >> (i % 8 * 8)) as u8).collect();
        socket.send_to(&packet, server.addr()).expect("send");
    }
    // A burst can fill the server's receive buffer, and then the kernel drops datagrams (ours
    // too): that is UDP, and why the client retries.
    let patient = QueryOptions {
        timeout: Duration::from_secs(1),
        retries: 4,
        ..QueryOptions::default()
    };
    ntp::query_addr(server.addr(), &patient).expect("still serving");
    server.stop().expect("the loop never failed");
}

#[test]
fn server_serves_many_clients_at_once() {
    let server = spawn_server("127.0.0.1:0");
    let addr = server.addr();
    let clients: Vec<_> = (0..16)
        .map(|_| {
            thread::spawn(move || {
                for _ in 0..10 {
                    ntp::query_addr(addr, &quick()).expect("every client gets its own reply");
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("client thread");
    }
}

#[test]
fn server_stops_on_its_shutdown_handle() {
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), ServerConfig::default()).unwrap();
    let handle = server.shutdown_handle();
    let runner = thread::spawn(move || server.run(|_, _| {}));
    thread::sleep(Duration::from_millis(50));
    let asked = Instant::now();
    handle.shutdown();
    runner.join().expect("no panic").expect("a clean stop");
    assert!(asked.elapsed() < Duration::from_secs(2));
}

// ---- interop with independent implementations ----------------------------------------
//
// Python's `ntplib` and chrony's `chronyd` as clients of our server, `chronyd` as the server
// our client and the lessons ask. `.ci/run` installs these programs; the tests are `#[ignore]`d
// so that a plain `cargo test` needs nothing but Rust.

// The peers' install commands and flags are Linux's (apt, chronyd, socat).
#[cfg(target_os = "linux")]
mod interop {
    use super::*;

    use std::fs;
    use std::process::{Command, Stdio};

    use support::{ChildGuard, TempDir, require_program, run_with_input};

    /// chronyd serving SNTP on 127.0.0.1 from the local clock, never touching it (`-x`).
    struct Chronyd {
        port: u16,
        _child: ChildGuard,
        _dir: TempDir,
    }

    impl Chronyd {
        fn start() -> Chronyd {
            require_program("chronyd");
            let mut last_log = String::new();
            for _ in 0..5 {
                let dir = TempDir::new("chronyd");
                let port = support::free_udp_port();
                let config = dir.path().join("chrony.conf");
                fs::write(
                    &config,
                    format!(
                        "port {port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 10\n\
                         cmdport 0\nbindcmdaddress /\npidfile {}\n",
                        dir.path().join("chronyd.pid").display()
                    ),
                )
                .expect("write chrony.conf");
                let log = fs::File::create(dir.path().join("log")).expect("create the log");
                let mut command = Command::new("chronyd");
                command
                    .args(["-x", "-d", "-u", "root", "-f"])
                    .arg(&config)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log);
                let mut child = ChildGuard::spawn(command);
                if answers_within(port, &mut child, Duration::from_secs(10)) {
                    return Chronyd {
                        port,
                        _child: child,
                        _dir: dir,
                    };
                }
                last_log = fs::read_to_string(dir.path().join("log")).unwrap_or_default();
            }
            panic!("chronyd never answered on loopback; its last log:\n{last_log}");
        }

        fn port(&self) -> String {
            self.port.to_string()
        }
    }

    /// Whether chronyd answers an SNTP query on `port` before `limit` (false if it exited).
    fn answers_within(port: u16, child: &mut ChildGuard, limit: Duration) -> bool {
        let server = SocketAddr::from(([127, 0, 0, 1], port));
        let probe = QueryOptions {
            timeout: Duration::from_millis(300),
            retries: 0,
            ..QueryOptions::default()
        };
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if ntp::query_addr(server, &probe).is_ok() {
                return true;
            }
            if child.0.try_wait().ok().flatten().is_some() {
                return false;
            }
            thread::sleep(Duration::from_millis(50));
        }
        false
    }

    #[test]
    #[ignore = "needs python3 with ntplib: .ci/run installs it"]
    fn ntplib_gets_a_valid_reply_from_ntp_server() {
        require_program("python3");
        let server = RunningServer::start("ntp_server", &["--port", "0"]);
        let script = "import sys, time, ntplib\n\
                      r = ntplib.NTPClient().request('127.0.0.1', port=int(sys.argv[1]), version=3, timeout=5)\n\
                      print('mode', r.mode)\nprint('version', r.version)\nprint('leap', r.leap)\n\
                      print('stratum', r.stratum)\n\
                      print('ref_id', ntplib.ref_id_to_text(r.ref_id, r.stratum))\n\
                      print('offset', r.offset)\nprint('delay', r.delay)\n\
                      print('tx_age', time.time() - r.tx_time)\n";
        let mut command = Command::new("python3");
        command
            .args(["-c", script])
            .arg(server.addr.port().to_string());
        let run = run_with_input(command, b"", Duration::from_secs(20));
        run.assert_code(0);
        let field = |name: &str| -> String {
            run.stdout
                .lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
                .unwrap_or_else(|| panic!("ntplib printed no {name}: {run:#?}"))
                .to_owned()
        };
        assert_eq!(field("mode"), "4");
        assert_eq!(field("version"), "3");
        assert_eq!(field("leap"), "0");
        assert_eq!(field("stratum"), "10");
        assert_eq!(field("ref_id"), "127.127.1.1");
        for name in ["offset", "tx_age"] {
            let seconds: f64 = field(name).parse().expect("a number");
            assert!(seconds.abs() < 0.5, "{name} = {seconds}");
        }
        let delay: f64 = field("delay").parse().expect("a number");
        assert!((0.0..0.5).contains(&delay), "delay = {delay}");
        assert!(
            server
                .wait_for_line("answered", Duration::from_secs(5))
                .is_some()
        );
    }

    #[test]
    #[ignore = "needs chronyd: .ci/run installs it"]
    fn chronyd_as_a_strict_client_accepts_ntp_server() {
        require_program("chronyd");
        let server = RunningServer::start("ntp_server", &["--port", "0"]);
        let dir = TempDir::new("chronyd-q");
        let mut command = Command::new("chronyd");
        command.args([
            "-Q".to_owned(),
            "-t".to_owned(),
            "3".to_owned(),
            format!(
                "server 127.0.0.1 port {} iburst maxsamples 1",
                server.addr.port()
            ),
            format!("pidfile {}", dir.path().join("chronyd.pid").display()),
        ]);
        let run = run_with_input(command, b"", Duration::from_secs(20));
        run.assert_code(0);
        let line = run
            .stderr
            .lines()
            .find(|line| line.contains("System clock wrong by"))
            .unwrap_or_else(|| panic!("chronyd took no sample: {run:#?}"));
        let wrong_by: f64 = line
            .split("wrong by ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|number| number.parse().ok())
            .unwrap_or_else(|| panic!("no number in {line:?}"));
        assert!(wrong_by.abs() < 0.1, "{line}");
        assert!(
            server
                .wait_for_line("answered 127.0.0.1:", Duration::from_secs(5))
                .is_some()
        );
    }

    #[test]
    #[ignore = "needs chronyd: .ci/run installs it"]
    fn our_client_agrees_with_chronyd() {
        let chronyd = Chronyd::start();
        for version in [3, 4] {
            let options = QueryOptions {
                version,
                ..QueryOptions::default()
            };
            let reply = ntp::query("127.0.0.1", chronyd.port, &options).expect("chronyd answers");
            assert!(reply.offset.abs() < 0.010, "offset {} s", reply.offset);
            assert!((0.0..0.5).contains(&reply.delay), "delay {} s", reply.delay);
            assert_eq!((reply.mode, reply.leap), (Mode::Server, Leap::NoWarning));
            assert_eq!(reply.version, version);
            assert_eq!(reply.stratum, 10);
            assert_eq!(reply.reference_id, "127.127.1.1");
        }
    }

    #[test]
    #[ignore = "needs chronyd: .ci/run installs it"]
    fn basics_04_and_05_read_chronyds_time() {
        let chronyd = Chronyd::start();
        let port = chronyd.port();
        let run = run_lesson("basics_04", &["127.0.0.1", "--port", &port]);
        run.assert_code(0);
        assert!(run.stdout.contains("stratum: 10\n"), "{run:#?}");
        assert_prints_the_time_now(&run.stdout);
        let run = run_lesson("basics_05", &["127.0.0.1", "--port", &port]);
        run.assert_code(0);
        assert!(
            run.stdout
                .starts_with(&format!("reply from 127.0.0.1:{port} (48 bytes)\n")),
            "{run:#?}"
        );
        assert_prints_the_time_now(&run.stdout);
    }
}

/// Starts ntp_server with its stdout a pipe; returns the process, its stdout (the
/// `listening on` line already read, byte by byte so nothing after it is) and the address.
fn ntp_server_with_piped_stdout() -> (support::ChildGuard, std::process::ChildStdout, SocketAddr) {
    use std::io::Read;
    use std::process::Stdio;
    let mut command = support::lesson("ntp_server", &["--port", "0"]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = support::ChildGuard::spawn(command);
    let mut stdout = child.0.stdout.take().unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while byte != *b"\n" {
        stdout.read_exact(&mut byte).unwrap();
        line.push(byte[0]);
    }
    let addr = support::listening_address(&String::from_utf8(line).unwrap()).unwrap();
    (child, stdout, addr)
}

/// One query with a short timeout and no retry: a server that stopped answering fails it.
fn assert_answers(addr: SocketAddr) {
    let options = QueryOptions {
        timeout: Duration::from_secs(2),
        retries: 0,
        ..QueryOptions::default()
    };
    if let Err(error) = ntp::query_addr(addr, &options) {
        panic!("ntp_server stopped answering: {error}");
    }
}

fn assert_still_running_without_a_panic(child: &mut support::ChildGuard) {
    use std::io::Read;
    assert!(child.0.try_wait().unwrap().is_none(), "the server exited");
    let _ = child.0.kill();
    let _ = child.0.wait();
    let mut stderr = String::new();
    let mut pipe = child.0.stderr.take().unwrap();
    pipe.read_to_string(&mut stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn ntp_server_answers_on_after_its_log_reader_goes_away() {
    // As `ntp_server | head -n 1`: the reader closes the pipe after the first line.
    let (mut child, stdout, addr) = ntp_server_with_piped_stdout();
    drop(stdout);
    for _ in 0..3 {
        assert_answers(addr);
    }
    assert_still_running_without_a_panic(&mut child);
}

#[test]
fn ntp_server_answers_on_when_nobody_reads_its_log() {
    // The pipe stays open, unread: after about 64 KiB of log a blocking print would stop.
    let (mut child, _stdout, addr) = ntp_server_with_piped_stdout();
    for _ in 0..3000 {
        assert_answers(addr);
    }
    assert_still_running_without_a_panic(&mut child);
}

// Signals are a Unix notion; Windows has no SIGTERM to send.
#[cfg(unix)]
#[test]
fn ntp_server_stops_cleanly_on_sigterm() {
    let mut server = lesson_server();
    assert_answers(server.addr);
    // SIGTERM (kill, systemctl stop, docker stop) stops it as Ctrl-C does: exit code 0.
    let status = server
        .child
        .terminate(Duration::from_secs(10))
        .expect("the server stops");
    assert!(status.success(), "{status:?}");
    assert!(
        server
            .wait_for_line("stopped", Duration::from_secs(5))
            .is_some()
    );
}
