//! netutil::http and socket_05 against independent HTTP implementations on loopback: nginx
//! (Content-Length, chunked from its echo module, close-delimited for HTTP/1.0), Python's
//! `http.server`, and curl as the reference client. They are `#[ignore]`d by default because
//! they need those programs; `.ci/run` installs them and runs these tests.
// The peers (nginx, socat, ncat, curl, kill) are installed and driven the Linux way by .ci/run.
#![cfg(target_os = "linux")]

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use netutil::http::{self, Framing, Limits, Method, Options};
use support::{ChildGuard, TempDir, run_lesson};

const TEN_MIB: usize = 10 * 1024 * 1024;

/// 10 MiB of binary bytes in `dir/random.bin`: every byte value, no pattern that an
/// off-by-one in the framing could hide behind.
fn random_file(dir: &Path) -> Vec<u8> {
    let bytes = support::binary_payload(TEN_MIB, 7);
    std::fs::write(dir.join("random.bin"), &bytes).expect("write the test file");
    bytes
}

/// A peer server started from `command(port)`, retried on a fresh port if it cannot listen.
struct Peer {
    child: ChildGuard,
    port: u16,
    stop_signal: Option<&'static str>,
}

impl Peer {
    fn start(stop_signal: Option<&'static str>, command: impl FnMut(u16) -> Command) -> Peer {
        let (child, port) = support::start_tcp_peer(command);
        Peer {
            child,
            port,
            stop_signal,
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // nginx's graceful stop; the guard then kills whatever is left and reaps it.
        if let Some(signal) = self.stop_signal {
            let _ = Command::new("kill")
                .args([format!("-{signal}"), self.child.0.id().to_string()])
                .status();
            let _ = self.child.wait_timeout(Duration::from_secs(5));
        }
    }
}

fn start_nginx(dir: &Path) -> Peer {
    start_nginx_listening(dir, "")
}

/// nginx with TLS on its port, showing `dir/server.pem` (from [`openssl_certificates`]).
fn start_nginx_tls(dir: &Path) -> Peer {
    let d = dir.display();
    start_nginx_listening(
        dir,
        &format!(
            " ssl;\n        ssl_certificate {d}/server.pem;\n        ssl_certificate_key {d}/server.key"
        ),
    )
}

/// `listen` gets `listen_extra` after its address: "" for plain HTTP, " ssl; …" for HTTPS.
fn start_nginx_listening(dir: &Path, listen_extra: &str) -> Peer {
    std::fs::create_dir_all(dir.join("tmp")).expect("create nginx's temp dir");
    std::fs::create_dir_all(dir.join("www")).expect("create nginx's root");
    Peer::start(Some("QUIT"), |port| {
        let d = dir.display();
        let config = format!(
            "daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log stderr;
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port}{listen_extra};
        root {d}/www;
        location /echo {{
            echo 'first line';
            echo_flush;
            echo_sleep 0.05;
            echo 'second line';
        }}
    }}
}}
"
        );
        std::fs::write(dir.join("nginx.conf"), config).expect("write nginx.conf");
        let mut command = Command::new("nginx");
        command
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-e", "stderr"])
            .stderr(Stdio::null());
        command
    })
}

/// An authority (`dir/ca.pem`) and a server certificate it issued for localhost and 127.0.0.1
/// (`dir/server.pem`, `dir/server.key`), made by OpenSSL: certificates from another
/// implementation than the kit's own (rcgen).
fn openssl_certificates(dir: &Path) {
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName = DNS:localhost, IP:127.0.0.1\n",
    )
    .expect("write the extension file");
    let steps: [&[&str]; 3] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=interop test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    ];
    for step in steps {
        let output = Command::new("openssl")
            .args(step)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            output.status.success(),
            "openssl {step:?} failed: {output:?}"
        );
    }
}

fn curl(port: u16, path: &str) -> Vec<u8> {
    let output = Command::new("curl")
        .args(["-s", "--max-time", "30"])
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .output()
        .expect("curl runs");
    assert!(output.status.success(), "curl failed: {output:?}");
    output.stdout
}

fn options() -> Options {
    Options {
        total_timeout: Duration::from_secs(60),
        ..Options::default()
    }
}

#[test]
#[ignore = "needs nginx and curl: .ci/run installs them"]
fn nginx_10_mib_file_is_byte_identical_to_the_file_and_to_curl() {
    support::require_program("nginx");
    support::require_program("curl");
    let dir = TempDir::new("nginx-file");
    std::fs::create_dir_all(dir.path().join("www")).unwrap();
    let file = random_file(&dir.path().join("www"));
    let nginx = start_nginx(dir.path());

    let response = http::get("127.0.0.1", nginx.port, "/random.bin", &options()).unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.framing, Framing::ContentLength(TEN_MIB as u64));
    assert!(response.body == file, "the body differs from the file");
    assert!(
        response.body == curl(nginx.port, "/random.bin"),
        "the body differs from what curl received"
    );

    let head = http::head("127.0.0.1", nginx.port, "/random.bin", &options()).unwrap();
    assert_eq!(head.header("content-length"), Some("10485760"));
    assert!(head.body.is_empty());

    let missing = http::get("127.0.0.1", nginx.port, "/no-such-file", &options()).unwrap();
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body, curl(nginx.port, "/no-such-file"));

    let port = nginx.port.to_string();
    let run = run_lesson("socket_05", &["127.0.0.1", &port, "/random.bin"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("Body: 10485760 bytes (Content-Length: 10485760)\n"),
        "{run:#?}"
    );
}

#[test]
#[ignore = "needs nginx and curl: .ci/run installs them"]
fn nginx_chunked_and_close_delimited_bodies() {
    support::require_program("nginx");
    support::require_program("curl");
    let dir = TempDir::new("nginx-echo");
    let nginx = start_nginx(dir.path());
    let expected = b"first line\nsecond line\n";

    // HTTP/1.1 with no length known in advance: nginx chunks the body.
    let response = http::get("127.0.0.1", nginx.port, "/echo", &options()).unwrap();
    assert_eq!(response.framing, Framing::Chunked);
    assert_eq!(response.body, expected);
    assert_eq!(response.body, curl(nginx.port, "/echo"));

    // HTTP/1.0 has no chunked coding: nginx ends the body by closing the connection.
    let address = ([127, 0, 0, 1], nginx.port).into();
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /echo HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let response = http::read_response(&mut stream, Method::Get, Limits::default()).unwrap();
    assert_eq!(response.framing, Framing::UntilClose);
    assert_eq!(response.body, expected);

    let port = nginx.port.to_string();
    let run = run_lesson("socket_05", &["127.0.0.1", &port, "/echo", "--body"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .ends_with("Body: 23 bytes (Transfer-Encoding: chunked)\nfirst line\nsecond line\n"),
        "{run:#?}"
    );
}

#[test]
#[ignore = "needs python3 and curl: .ci/run installs them"]
fn python_http_server_file_is_byte_identical() {
    support::require_program("python3");
    support::require_program("curl");
    let dir = TempDir::new("python-http");
    let file = random_file(dir.path());
    let server = Peer::start(None, |port| {
        let mut command = Command::new("python3");
        command
            .args(["-m", "http.server", "-b", "127.0.0.1", "-d"])
            .arg(dir.path())
            .arg(port.to_string())
            .stderr(Stdio::null());
        command
    });

    let response = http::get("127.0.0.1", server.port, "/random.bin", &options()).unwrap();
    assert_eq!(response.status_line(), "HTTP/1.0 200 OK");
    assert_eq!(response.framing, Framing::ContentLength(TEN_MIB as u64));
    assert!(response.body == file, "the body differs from the file");
    assert!(response.body == curl(server.port, "/random.bin"));

    // The course's offline recipe, exactly: the directory listing.
    let listing = http::get("127.0.0.1", server.port, "/", &options()).unwrap();
    assert!(String::from_utf8_lossy(&listing.body).contains("random.bin"));
    let port = server.port.to_string();
    let run = run_lesson("socket_05", &["127.0.0.1", &port, "/"]);
    run.assert_code(0);
    assert!(run.stdout.contains("HTTP/1.0 200 OK\n"), "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "Body: {0} bytes (Content-Length: {0})\n",
            listing.body.len()
        )),
        "{run:#?}"
    );
}

#[test]
#[ignore = "needs nginx and openssl: .ci/run installs them"]
fn socket_06_over_tls_to_nginx() {
    support::require_program("nginx");
    support::require_program("openssl");
    let dir = TempDir::new("nginx-tls");
    std::fs::create_dir_all(dir.path().join("www")).unwrap();
    let file = random_file(&dir.path().join("www"));
    openssl_certificates(dir.path());
    let nginx = start_nginx_tls(dir.path());
    let port = nginx.port.to_string();
    let ca = dir.path().join("ca.pem").display().to_string();

    // 10 MiB through TLS records (16 KiB each at most), byte for byte. socket_06's own
    // --timeout bounds the run, so plain `output()` cannot hang.
    let output = support::lesson(
        "socket_06",
        &[
            "localhost",
            &port,
            "/random.bin",
            "--ca",
            &ca,
            "--body",
            "--timeout",
            "60",
        ],
    )
    .output()
    .expect("socket_06 runs");
    assert!(output.status.success(), "{output:?}");
    let marker = b"Body: 10485760 bytes (Content-Length: 10485760)\n";
    let at = output
        .stdout
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("the body line");
    let head = String::from_utf8_lossy(&output.stdout[..at]);
    assert!(head.contains("TLS handshake done: TLSv1_"), "{head}");
    assert!(
        output.stdout[at + marker.len()..] == file[..],
        "the body differs from the file"
    );

    // A chunked body inside TLS: the framing is socket_05's, unchanged.
    let run = run_lesson(
        "socket_06",
        &["localhost", &port, "/echo", "--ca", &ca, "--body"],
    );
    run.assert_code(0);
    assert!(
        run.stdout
            .ends_with("Body: 23 bytes (Transfer-Encoding: chunked)\nfirst line\nsecond line\n"),
        "{run:#?}"
    );

    // Without --ca, OpenSSL's authority is unknown: refused before any request.
    let run = run_lesson("socket_06", &["localhost", &port, "/"]);
    run.assert_clean_failure();
    assert!(run.stderr.contains("UnknownIssuer"), "{run:#?}");
}

#[test]
#[ignore = "needs openssl and curl: .ci/run installs them"]
fn https_server_shows_an_openssl_certificate_to_curl() {
    support::require_program("openssl");
    support::require_program("curl");
    let dir = TempDir::new("https-server-openssl");
    openssl_certificates(dir.path());
    // OpenSSL writes the key as PKCS #8 and the chain without the authority: both as nginx
    // takes them.
    let cert = dir.path().join("server.pem").display().to_string();
    let key = dir.path().join("server.key").display().to_string();
    let server = support::RunningServer::start(
        "https_server",
        &["--port", "0", "--cert", &cert, "--key", &key],
    );
    let output = Command::new("curl")
        .args(["-s", "--max-time", "30", "--cacert"])
        .arg(dir.path().join("ca.pem"))
        .arg(format!("https://localhost:{}/", server.addr.port()))
        .output()
        .expect("curl runs");
    assert!(output.status.success(), "curl failed: {output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("<p>Hello over TLS."),
        "{output:?}"
    );
}
