//! # https_server: a local HTTPS server for socket_06
//!
//! The peer of socket_06, so that the HTTPS lesson works offline. At start it makes a
//! certificate authority of its own, writes the authority's certificate to a file (the file
//! socket_06's `--ca` trusts), and issues itself a certificate for localhost, 127.0.0.1 and
//! ::1. Then it answers every GET with a short page, over TLS.
//!
//! Explained in `docs/03-http-client.md`, section "HTTPS: the same request over TLS".
//!
//! ## How to run
//!
//! In one terminal, start the server; in another, fetch its page:
//!
//! ```text
//! cargo run --features tls --example https_server
//! cargo run --features tls --example socket_06 -- localhost 8443 / --ca local-ca.pem --body
//! ```
//!
//! ## What you should see
//!
//! ```text
//! wrote the local authority's certificate to local-ca.pem (trust it with socket_06 --ca local-ca.pem)
//! listening on 127.0.0.1:8443 with a certificate for localhost, 127.0.0.1, ::1
//! 127.0.0.1:42784: TLSv1_3, server name localhost, GET / HTTP/1.1: 200 OK, 65 bytes
//! ```

use std::error::Error;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use netutil::cli::StepExt;
use netutil::server::{self, BindOptions, Connection, Event, ThreadPerClient};
use netutil::tls::{LocalAuthority, ServerIdentity};
use netutil::{elog, log};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// The longest request head it reads: a GET has no body, and its head is short.
const MAX_HEAD: u64 = 8 * 1024;

/// Serve a short page over HTTPS, with a certificate from an authority made for this run.
#[derive(Parser)]
struct Args {
    /// The IP address to bind. 127.0.0.1: only this machine can connect.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The port to bind (0: the system picks a free one). 443 is HTTPS's own port.
    #[arg(long, default_value_t = 8443)]
    port: u16,
    /// Where to write the authority's certificate (PEM), for socket_06's --ca.
    #[arg(long, default_value = "local-ca.pem")]
    ca_out: PathBuf,
    /// The names the server's certificate lists; give another to see socket_06 refuse it.
    #[arg(long = "name", default_values_t = ["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()])]
    names: Vec<String>,
    /// Show this certificate chain (PEM, the server's own first) instead of making an
    /// authority: one from mkcert, OpenSSL or `coursecheck https_server`. Needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// The private key (PEM) of --cert's certificate.
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    netutil::cli::finish(run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let (identity, shown) = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => (
            ServerIdentity::read(cert, key)?,
            format!("the certificate in {}", cert.display()),
        ),
        _ => {
            // The authority lives only in this process; its certificate is all a client needs.
            let authority = LocalAuthority::generate().step("make a certificate authority")?;
            std::fs::write(&args.ca_out, authority.certificate_pem())
                .step(format!("write {}", args.ca_out.display()))?;
            let ca = args.ca_out.display();
            log!(
                "wrote the local authority's certificate to {ca} (trust it with socket_06 --ca {ca})"
            );
            let identity = authority
                .issue(&args.names)
                .step("issue the server's certificate")?;
            (
                identity,
                format!("a certificate for {}", args.names.join(", ")),
            )
        }
    };
    let config = identity.server_config().step("set up TLS")?;

    let listener = server::bind(
        SocketAddr::new(args.host, args.port),
        &BindOptions::default(),
    )?;
    let server = ThreadPerClient::new(listener)
        .step("prepare the server")?
        // A handshake or a request that stalls gives its seat up after 10 s.
        .idle_timeout(Some(Duration::from_secs(10)))
        // Plain text would only confuse a TLS client: a turned-away client is just closed.
        .busy_message(Vec::new())
        .on_event(|event| match event {
            Event::AcceptFailed { .. } => elog!("{event}"),
            _ => log!("{event}"),
        });
    server.stop_handle().on_ctrl_c().step("catch Ctrl-C")?;
    let bound = server.local_addr().step("read the bound address")?;
    log!("listening on {bound} with {shown}");

    let summary = server.serve(move |connection, peer| {
        match answer(connection, Arc::clone(&config)) {
            Ok(line) => log!("{peer}: {line}"),
            // A client that refuses the certificate ends the handshake: its alert is here.
            Err(error) => log!("{peer}: {error}"),
        }
        Ok(())
    });
    log!(
        "server stopped: {} clients served, {} turned away, {} cut off",
        summary.served,
        summary.turned_away,
        summary.cut_off
    );
    Ok(())
}

/// Does the handshake, reads one request head and answers it; returns the log line.
fn answer(connection: &Connection, config: Arc<ServerConfig>) -> io::Result<String> {
    let tls = ServerConnection::new(config).map_err(io::Error::other)?;
    let mut stream = StreamOwned::new(tls, connection);
    // The first read drives the handshake; the request follows it, decrypted.
    let mut head = BufReader::new((&mut stream).take(MAX_HEAD));
    let mut request_line = String::new();
    head.read_line(&mut request_line)?;
    let mut line = String::new();
    while head.read_line(&mut line)? > 2 {
        line.clear();
    }
    let request_line = request_line.trim_end();
    let (status, body) = match request_line.split(' ').next() {
        Some("GET") => (
            "200 OK",
            "<!doctype html>\n<title>socket-lessons</title>\n<p>Hello over TLS.\n",
        ),
        _ => ("405 Method Not Allowed", "only GET here\n"),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())?;
    // close_notify: the TLS way to say "that was all", which an attacker cannot forge the way
    // they could a TCP FIN.
    stream.conn.send_close_notify();
    stream.flush()?;
    let version = stream.conn.protocol_version().map(|v| format!("{v:?}"));
    let name = stream.conn.server_name().unwrap_or("(none)");
    Ok(format!(
        "{}, server name {name}, {}: {status}, {} bytes",
        version.unwrap_or_default(),
        netutil::cli::printable(request_line),
        body.len()
    ))
}
