//! # echo_server: send back exactly the bytes received
//!
//! The echo service (RFC 862, port 7) is the oldest test server there is: whatever a client
//! sends comes back unchanged, byte for byte, until the client closes. Each client has its
//! own thread, within the limits of `netutil::server::ThreadPerClient` (the packaged form
//! of `server_05`). It binds 127.0.0.1 unless `--host 0.0.0.0` (then anyone on your network can
//! connect). How it compares with the Python original: `docs/04-tcp-server.md`.
//!
//! | flag | default | at the limit |
//! |---|---|---|
//! | `--max-clients` | 256 | the next client gets `Server busy: too many clients, try again later` |
//! | `--idle-timeout` | 60 s | a client silent (or not reading) for that long is closed |
//! | `--min-rate`, `--rate-window` | 64 bytes per 60 s | a client that moves fewer bytes (sent plus echoed) in a window gets `Too slow: …` and is closed |
//!
//! Ctrl-C (or SIGTERM) stops accepting and gives live clients 5 s to finish.
//!
//! ## How to run
//!
//! In one terminal:
//!
//! ```text
//! cargo run --example echo_server
//! ```
//!
//! In another terminal, use the kit's client, or any other:
//!
//! ```text
//! cargo run --example echo_client
//! cargo run --example echo_client -- --file Cargo.lock
//! nc 127.0.0.1 9900
//! ```
//!
//! ## What you should see
//!
//! ```text
//! listening on 127.0.0.1:9900 (at most 256 clients, idle timeout 60s, at least 64 bytes per 60s)
//! 127.0.0.1:52814 connected
//! 127.0.0.1:52814 left: echoed 33 bytes
//! ^Cserver stopped: 1 clients served, 0 turned away, 0 cut off
//! ```

use std::error::Error;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use netutil::cli::StepExt;
use netutil::server::{self, BindOptions, Connection, Event, MinRate, ThreadPerClient};
use netutil::{elog, log};

/// Echo every byte each client sends back to it, until the client closes.
#[derive(Parser)]
struct Args {
    /// The IP address to bind. 127.0.0.1: only this machine can connect. 0.0.0.0 (or ::):
    /// every network interface, so anyone on your network can connect.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The port to bind (0: the system picks a free one).
    #[arg(long, default_value_t = 9900)]
    port: u16,
    /// At most this many clients at once; the next one is told the server is busy.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    max_clients: u32,
    /// Seconds a client may stay silent before it is disconnected.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
    /// Bytes (received plus echoed) a client must move in each --rate-window, or it is
    /// disconnected as too slow: one byte every few seconds would hold a seat forever. 0: no
    /// minimum.
    #[arg(long, default_value_t = 64)]
    min_rate: u64,
    /// Seconds in each window of --min-rate.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    rate_window: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    netutil::cli::finish(run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let addr = SocketAddr::new(args.host, args.port);
    let listener = server::bind(addr, &BindOptions::default())?;
    let idle_timeout = Duration::from_secs(args.idle_timeout);
    let min_rate = MinRate {
        bytes: args.min_rate,
        window: Duration::from_secs(args.rate_window),
    };
    let server = ThreadPerClient::new(listener)
        .step("prepare the server")?
        .max_clients(args.max_clients as usize)
        .idle_timeout(Some(idle_timeout))
        .min_rate(Some(min_rate))
        // Busy clients, idle or slow clients dropped, accept failures: one line each. log!
        // never blocks or panics: a log nobody reads must not stop the server.
        .on_event(|event| match event {
            Event::AcceptFailed { .. } => elog!("{event}"),
            _ => log!("{event}"),
        });

    // The first Ctrl-C stops accepting and lets live clients finish; a second quits at once.
    server.stop_handle().on_ctrl_c().step("catch Ctrl-C")?;

    let bound = server.local_addr().step("read the bound address")?;
    let rate = match args.min_rate {
        0 => "no minimum rate".to_owned(),
        bytes => format!("at least {bytes} bytes per {:?}", min_rate.window),
    };
    log!(
        "listening on {bound} (at most {} clients, idle timeout {idle_timeout:?}, {rate})",
        args.max_clients
    );
    let summary = server.serve(|connection, peer| {
        log!("{peer} connected");
        let echoed = echo(connection)?;
        log!("{peer} left: echoed {echoed} bytes");
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

/// Sends back everything `stream` receives until the client closes; returns the byte count.
/// The server's limits apply to every read and write.
fn echo(stream: &Connection) -> io::Result<u64> {
    // The buffer starts at 16 KiB and doubles, up to 64 KiB, each time a read fills it: a
    // thousand clients sending short messages then cost 16 KiB each, while a bulk stream soon
    // moves 64 KiB per system call.
    const LARGEST_BUFFER: usize = 64 * 1024;
    let mut buffer = vec![0u8; 16 * 1024];
    let (mut reader, mut writer) = (stream, stream);
    let mut echoed = 0u64;
    loop {
        // A read returns what has arrived so far: any number of bytes, in any pieces. An echo
        // server needs no message boundaries: it sends each piece back as it comes.
        let received = match reader.read(&mut buffer) {
            Ok(0) => return Ok(echoed),
            Ok(received) => received,
            // A signal (the Ctrl-C that starts a graceful shutdown) can land on this thread
            // and interrupt the read: nothing is lost, read again.
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        writer.write_all(&buffer[..received])?;
        echoed += received as u64;
        if received == buffer.len() && buffer.len() < LARGEST_BUFFER {
            buffer.resize(buffer.len() * 2, 0);
        }
    }
}
