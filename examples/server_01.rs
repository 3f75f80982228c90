//! # server_01: create a socket and bind it to an address
//!
//! A server claims an address so clients can find it: `bind` ties a socket to one IP address
//! of this machine and one port. This one binds, prints the address it got, and exits.
//! It prints with `netutil::log!` (like `println!`, but a server never crashes or stalls
//! because nobody reads its output: see the notes).
//!
//! ## How to run
//!
//! ```text
//! cargo run --example server_01
//! ```
//!
//! ## What you should see
//!
//! ```text
//! Socket created
//! SO_REUSEADDR set
//! Socket bind complete: bound to 127.0.0.1:8888
//! ```

use std::error::Error;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use clap::Parser;
use netutil::cli::StepExt;
use netutil::log;
use socket2::{Domain, Protocol, Socket, Type};

/// Create a TCP socket, set SO_REUSEADDR and bind it to an address (then exit).
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

    // When a server stops, its recent connections stay in TIME_WAIT for up to two minutes so
    // that late packets of the old connections die out. Without SO_REUSEADDR the kernel
    // refuses to bind the port during that time ("address already in use") and a restarted
    // server fails. It must be set before bind. On Linux it still never lets two programs
    // listen on the same port at once.
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
    Ok(())
}
