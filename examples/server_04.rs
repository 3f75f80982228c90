//! # server_04: serve clients one after another, forever
//!
//! After each client the server goes back to `accept`: whatever one client does (close at
//! once, reset, stay silent for `--timeout`), the next one is served, one at a time.
//!
//! ## How to run
//!
//! ```text
//! cargo run --example server_04     # in one terminal
//! cargo run --example line_client   # in another (or: nc 127.0.0.1 8888, telnet 127.0.0.1 8888)
//! ```
//!
//! ## What you should see
//!
//! ```text
//! Socket created
//! SO_REUSEADDR set
//! Socket bind complete: bound to 127.0.0.1:8888
//! listening on 127.0.0.1:8888 (backlog 10)
//! Connected with 127.0.0.1:52814
//! received 6 bytes from 127.0.0.1:52814: "hello\n"
//! sent the reply; connection closed
//! Connected with 127.0.0.1:52820
//! 127.0.0.1:52820 closed the connection without sending anything
//! Connected with 127.0.0.1:52830
//! 127.0.0.1:52830: could not receive: timed out after 10s
//! ```

use std::error::Error;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use netutil::cli::StepExt;
use netutil::log;
use netutil::server::{AcceptBackoff, explain_timeout};
use socket2::{Domain, Protocol, Socket, Type};

/// How many finished handshakes the kernel may queue before we accept them. The Python
/// original uses 10; when the queue is full, Linux drops further SYNs and the clients retry.
const BACKLOG: i32 = 10;

/// Serve clients one after another, forever: reply "OK..." plus what each one sends.
#[derive(Parser)]
struct Args {
    /// The IP address to bind. 127.0.0.1: only this machine can connect. 0.0.0.0 (or ::):
    /// every network interface, so anyone on your network can connect.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The port to bind (0: the system picks a free one).
    #[arg(long, default_value_t = 8888)]
    port: u16,
    /// Seconds each client gets to send something (or to take our reply).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    netutil::cli::finish(run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let addr = SocketAddr::new(args.host, args.port);
    // The address family (IPv4 or IPv6) must match the address we will bind.
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .step("create a TCP socket")?;
    log!("Socket created");

    // Restarting the server must not fail while old connections sit in TIME_WAIT: see server_01.
    // Not on Windows: there SO_REUSEADDR would let another program take over the port.
    #[cfg(not(windows))]
    {
        socket.set_reuse_address(true).step("set SO_REUSEADDR")?;
        log!("SO_REUSEADDR set");
    }

    socket.bind(&addr.into()).step(format!("bind {addr}"))?;
    // With --port 0 the kernel chose the port: ask the socket which one it got.
    let bound = socket
        .local_addr()
        .step("read the bound address")?
        .as_socket()
        .unwrap_or(addr);
    log!("Socket bind complete: bound to {bound}");

    // From here on clients can connect: the kernel answers their handshakes and queues them.
    socket.listen(BACKLOG).step(format!("listen on {bound}"))?;
    log!("listening on {bound} (backlog {BACKLOG})");

    // A listening socket is all std::net needs; accept blocks until a client has connected.
    let listener = TcpListener::from(socket);
    let timeout = Duration::from_secs(args.timeout);
    let mut backoff = AcceptBackoff::new();
    loop {
        // A failed accept (out of file descriptors, say) is reported, and paused after.
        let Some((client, peer)) = backoff.accept(&listener) else {
            continue;
        };
        log!("Connected with {peer}");
        // One client's failure is that client's problem: print it and serve the next one.
        if let Err(error) = serve(client, peer, timeout) {
            log!("{peer}: {error}");
        }
    }
}

/// Reads once from the client and replies "OK..." plus those bytes; the connection closes on return.
fn serve(mut client: TcpStream, peer: SocketAddr, timeout: Duration) -> Result<(), Box<dyn Error>> {
    // Without a timeout, a client that connects and stays silent blocks us forever; the
    // write timeout does the same for a client that sends but never reads.
    client
        .set_read_timeout(Some(timeout))
        .step("set a read timeout")?;
    client
        .set_write_timeout(Some(timeout))
        .step("set a write timeout")?;

    let mut buffer = [0u8; 1024];
    // One read: whatever has arrived so far, 1 to 1024 bytes (or 0 when the client closed).
    let received = client
        .read(&mut buffer)
        .map_err(|error| explain_timeout(error, timeout))
        .step("receive")?;
    if received == 0 {
        // The original `break`s here, which stops the whole server: we end this client only.
        log!("{peer} closed the connection without sending anything");
        return Ok(());
    }
    let data = &buffer[..received];
    // The bytes may be any bytes, not only text: show them with invalid UTF-8 replaced.
    log!(
        "received {received} bytes from {peer}: {:?}",
        String::from_utf8_lossy(data)
    );

    // One write for the whole reply: the prefix and the data leave in one segment.
    let mut reply = b"OK...".to_vec();
    reply.extend_from_slice(data);
    client
        .write_all(&reply)
        .map_err(|error| explain_timeout(error, timeout))
        .step("send the reply")?;
    // "Sent" means the kernel took the bytes: a client that left meanwhile never reads them.
    log!("sent the reply; connection closed");
    Ok(())
}
