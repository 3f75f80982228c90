//! socket_06 (HTTPS by hand) against its local peer https_server: a verified fetch, the two
//! certificates a client must refuse (an unknown authority, another name), a port that does
//! not speak TLS, a bad `--ca` file, and what the wire carries (a ClientHello with the server's
//! name in clear, never the request). tests/http_interop.rs runs it against nginx too.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use support::{RunningServer, TempDir, run_lesson};

/// https_server on a free port, its authority's certificate in `dir/ca.pem`.
fn https_server(dir: &TempDir, names: &[&str]) -> RunningServer {
    let ca = dir.path().join("ca.pem");
    let mut args = vec![
        "--port",
        "0",
        "--ca-out",
        ca.to_str().expect("a UTF-8 temp path"),
    ];
    for name in names {
        args.extend(["--name", name]);
    }
    RunningServer::start("https_server", &args)
}

fn ca_path(dir: &TempDir) -> String {
    dir.path().join("ca.pem").display().to_string()
}

#[test]
fn fetches_a_page_trusting_the_local_authority() {
    let dir = TempDir::new("tls-fetch");
    let server = https_server(&dir, &[]);
    let port = server.addr.port().to_string();
    let ca = ca_path(&dir);

    let run = run_lesson(
        "socket_06",
        &["localhost", &port, "/", "--ca", &ca, "--body"],
    );
    run.assert_code(0);
    for line in [
        "TLS handshake done: TLSv1_",
        "  certificate chain: 2 certificates, valid for localhost",
        &format!("  Host: localhost:{port}\\r\\n"),
        "HTTP/1.1 200 OK",
        "Body: 65 bytes (Content-Length: 65)",
        "<p>Hello over TLS.",
    ] {
        assert!(run.stdout.contains(line), "no {line:?} in {run:#?}");
    }
    assert_has_the_shape_of_the_notes_run(&run.stdout);
    // The server saw the name the client asked for (SNI) and a request it could decrypt.
    let logged = server.wait_for_line("GET / HTTP/1.1", Duration::from_secs(10));
    assert!(
        logged
            .as_deref()
            .is_some_and(|line| line.contains("server name localhost")),
        "{logged:?}"
    );

    // By IP address: the certificate lists 127.0.0.1 too, and no name is sent (SNI carries
    // host names only).
    let run = run_lesson("socket_06", &["127.0.0.1", &port, "/", "--ca", &ca]);
    run.assert_code(0);
    assert!(run.stdout.contains("valid for 127.0.0.1"), "{run:#?}");
    let logged = server.wait_for_line("GET / HTTP/1.1", Duration::from_secs(10));
    assert!(
        logged
            .as_deref()
            .is_some_and(|line| line.contains("server name (none)")),
        "{logged:?}"
    );
}

/// Every line of the run shown in socket_06's header ("What you should see") appears in
/// `stdout`, in order, once numbers (ports, sizes) are masked on both sides; the body the
/// header leaves out comes after.
fn assert_has_the_shape_of_the_notes_run(stdout: &str) {
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/socket_06.rs"),
    )
    .expect("read socket_06's source");
    let shown: Vec<&str> = source
        .lines()
        .skip_while(|line| *line != "//! ## What you should see")
        .skip(3)
        .take_while(|line| *line != "//! ```")
        .map(|line| line.strip_prefix("//! ").unwrap_or(""))
        .collect();
    assert!(shown.len() > 10, "no run in socket_06's header");
    let mask = |line: &str| -> String {
        line.chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .collect::<String>()
            .replace("##", "#")
            .replace("##", "#")
            .replace("##", "#")
    };
    let printed: Vec<String> = stdout.lines().map(mask).collect();
    let mut at = 0;
    for line in &shown {
        let line = mask(line);
        match printed[at..].iter().position(|printed| *printed == line) {
            Some(found) => at += found + 1,
            None => panic!("the notes' line {line:?} is not in the run, in order:\n{stdout}"),
        }
    }
}

#[test]
fn refuses_a_certificate_from_an_authority_it_does_not_trust() {
    let dir = TempDir::new("tls-unknown");
    let server = https_server(&dir, &[]);
    let port = server.addr.port().to_string();

    // No --ca: only the public authorities are trusted, and none of them issued this one.
    let run = run_lesson("socket_06", &["localhost", &port, "/"]);
    run.assert_clean_failure();
    assert!(
        run.stderr.starts_with(
            "error: could not complete the TLS handshake with localhost: invalid peer \
             certificate: UnknownIssuer\nhint: no authority this program trusts issued the \
             server's certificate: for a local server, pass its authority's certificate with \
             --ca FILE\n"
        ),
        "{run:#?}"
    );
    assert!(
        !run.stdout.contains("Sent "),
        "a request went out: {run:#?}"
    );
    let logged = server.wait_for_line("alert", Duration::from_secs(10));
    assert!(
        logged
            .as_deref()
            .is_some_and(|line| line.contains("UnknownCA")),
        "{logged:?}"
    );
}

#[test]
fn refuses_a_certificate_for_another_name() {
    let dir = TempDir::new("tls-name");
    let server = https_server(&dir, &["other.test"]);
    let port = server.addr.port().to_string();

    let run = run_lesson(
        "socket_06",
        &["localhost", &port, "/", "--ca", &ca_path(&dir)],
    );
    run.assert_clean_failure();
    assert!(
        run.stderr
            .contains("certificate not valid for name \"localhost\""),
        "{run:#?}"
    );
    assert!(
        run.stderr
            .contains("hint: the certificate is for another name"),
        "{run:#?}"
    );
    assert!(
        !run.stdout.contains("Sent "),
        "a request went out: {run:#?}"
    );
}

#[test]
fn says_when_the_server_does_not_speak_tls() {
    // A plain HTTP server answers the ClientHello as it would any garbage.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("bound").port().to_string();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.read(&mut [0; 4096]);
            let _ = stream.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\n");
        }
    });
    let run = run_lesson("socket_06", &["127.0.0.1", &port, "/"]);
    run.assert_clean_failure();
    assert!(
        run.stderr
            .contains("hint: the server did not answer in TLS"),
        "{run:#?}"
    );
}

#[test]
fn names_what_is_wrong_with_the_ca_file() {
    let dir = TempDir::new("tls-ca-file");
    let server = https_server(&dir, &[]);
    let port = server.addr.port().to_string();

    let missing = dir.path().join("missing.pem").display().to_string();
    let run = run_lesson("socket_06", &["localhost", &port, "/", "--ca", &missing]);
    run.assert_clean_failure();
    assert!(
        run.stderr
            .starts_with(&format!("error: cannot read {missing}: ")),
        "{run:#?}"
    );

    let not_pem = dir.file("notes.txt", b"just some text\n");
    let run = run_lesson(
        "socket_06",
        &["localhost", &port, "/", "--ca", not_pem.to_str().unwrap()],
    );
    run.assert_clean_failure();
    assert!(run.stderr.contains("holds no certificate"), "{run:#?}");
    assert!(
        run.stderr.contains("hint: --ca wants a PEM file"),
        "{run:#?}"
    );
}

/// Forwards one connection from a loopback port to `target`, keeping a copy of what the
/// client sent.
fn recording_relay(target: std::net::SocketAddr) -> (u16, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("bound").port();
    let sent = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&sent);
    thread::spawn(move || {
        let (client, _) = listener.accept().expect("the lesson connects");
        let server = TcpStream::connect(target).expect("connect to the server");
        let (mut from_server, mut to_client) =
            (server.try_clone().unwrap(), client.try_clone().unwrap());
        thread::spawn(move || {
            let _ = std::io::copy(&mut from_server, &mut to_client);
            let _ = to_client.shutdown(Shutdown::Write);
        });
        let (mut from_client, mut to_server) = (client, server);
        let mut buffer = [0; 4096];
        while let Ok(count @ 1..) = from_client.read(&mut buffer) {
            record.lock().unwrap().extend_from_slice(&buffer[..count]);
            if to_server.write_all(&buffer[..count]).is_err() {
                break;
            }
        }
        let _ = to_server.shutdown(Shutdown::Write);
    });
    (port, sent)
}

/// The bytes the notes (docs/03-http-client.md, "What the wire carries") point at.
#[test]
fn the_wire_carries_a_client_hello_with_the_name_and_never_the_request() {
    let dir = TempDir::new("tls-wire");
    let server = https_server(&dir, &[]);
    let (port, sent) = recording_relay(server.addr);

    let run = run_lesson(
        "socket_06",
        &["localhost", &port.to_string(), "/", "--ca", &ca_path(&dir)],
    );
    run.assert_code(0);
    let sent = sent.lock().unwrap().clone();
    // A TLS record: 0x16 handshake, version 03 01, a two-byte length; inside it, handshake
    // message 0x01 (ClientHello), a three-byte length, then client version 03 03.
    assert_eq!(sent[0], 0x16, "not a handshake record: {sent:02x?}");
    assert_eq!(&sent[1..3], [0x03, 0x01]);
    assert_eq!(sent[5], 0x01, "not a ClientHello");
    assert_eq!(&sent[9..11], [0x03, 0x03]);
    // The server_name extension (type 00 00) carries "localhost" as it is: anyone on the path
    // learns which site, though not what is asked of it.
    let server_name: &[u8] = b"\x00\x00\x00\x0e\x00\x0c\x00\x00\x09localhost";
    assert!(
        sent.windows(server_name.len()).any(|w| w == server_name),
        "no server_name extension for localhost: {sent:02x?}"
    );
    // Then records only: 0x14 (ChangeCipherSpec, sent for old middleboxes' sake), and 0x17
    // application data twice: the encrypted Finished, then the request. Its bytes (59 with a
    // four-digit port) travel as 17 more: one byte of hidden content type and a 16-byte
    // authentication tag.
    let mut records = Vec::new();
    let mut rest = &sent[..];
    while rest.len() >= 5 {
        let length = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        records.push((rest[0], length));
        rest = &rest[(5 + length).min(rest.len())..];
    }
    let types: Vec<u8> = records.iter().map(|&(kind, _)| kind).collect();
    assert_eq!(types, [0x16, 0x14, 0x17, 0x17], "{records:?}");
    let request = format!("GET / HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n");
    assert!(
        run.stdout
            .contains(&format!("Sent {} bytes:", request.len())),
        "{run:#?}"
    );
    assert_eq!(records[3].1, request.len() + 1 + 16, "{records:?}");
    for plain in [&b"GET /"[..], b"Host:", b"Connection: close"] {
        assert!(
            !sent.windows(plain.len()).any(|w| w == plain),
            "{:?} went out unencrypted",
            String::from_utf8_lossy(plain)
        );
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_https_server_with_its_summary() {
    let dir = TempDir::new("tls-stop");
    let mut server = https_server(&dir, &[]);
    let port = server.addr.port().to_string();
    run_lesson(
        "socket_06",
        &["localhost", &port, "/", "--ca", &ca_path(&dir)],
    )
    .assert_code(0);
    let status = server.child.interrupt(Duration::from_secs(10));
    assert_eq!(
        status.and_then(|status| status.code()),
        Some(0),
        "{}",
        server.stderr()
    );
    let summary = server.wait_for_line("server stopped:", Duration::from_secs(5));
    assert_eq!(
        summary.as_deref(),
        Some("server stopped: 1 clients served, 0 turned away, 0 cut off")
    );
}
