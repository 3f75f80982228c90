//! # server_02: listen, and accept one client
//!
//! `listen` turns the bound socket into a listening one: the kernel completes the handshakes
//! and queues the clients. `accept` takes the next one: this server accepts one and exits.
//!
//! ## How to run
//!
//! ```text
//! cargo run --example server_02     # in one terminal
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
//! ```

use std::error::Error;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::process::ExitCode;

use clap::Parser;
use netutil::cli::StepExt;
use netutil::log;
use socket2::{Domain, Protocol, Socket, Type};

/// How many finished handshakes the kernel may queue before we accept them. The Python
/// original uses 10; when the queue is full, Linux drops further SYNs and the clients retry.
const BACKLOG: i32 = 10;

/// Bind, listen, accept one client and print who it is (then exit).
#[derive(Parser)]
struct Args {
    /// The IP address to bind. 127.0.0.1: only this machine can connect. 0.0.0.0 (or ::):
    /// every network interface, so anyone on your network can connect.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The port to bind (0: the system picks a free one).
    #[arg(long, default_value_t = 8888)]
    port: u16,
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
    let (_client, peer) = listener.accept().step("accept a client")?;
    log!("Connected with {peer}");
    Ok(())
}
