//! # server_01: create a socket and bind it to an address
//!
//! A server starts like a client, with a socket, but then claims an address of its own so
//! clients can find it: `bind` ties the socket to one IP address of this machine and one port.
//! This lesson only binds (it does not listen yet), prints the address it got, and exits.
//!
//! Mirrors `server-01.py` of the Python course, which binds `''`:8888 and prints "Socket
//! created" and "Socket bind complete". Three differences, all on purpose:
//!
//! - We bind 127.0.0.1 by default, not `''` (every interface): a lesson server should not be
//!   reachable from the whole network unless you ask for it. `--host 0.0.0.0` (or `--host ::`
//!   for IPv6) binds every interface: then anyone who can reach this machine over the network
//!   (the lab, the café Wi-Fi) can connect to your server.
//! - We set `SO_REUSEADDR` before `bind` (the Python course only does it from `server-03.py`
//!   on). Without it, restarting a server right after stopping it fails with "address already
//!   in use" for a minute or two, while the connections of the old run wait in `TIME_WAIT`.
//! - A failure prints one sentence and exits with code 1, instead of an error code and a
//!   message that still exits 0.
//!
//! We use the `socket2` crate because `std::net::TcpListener::bind` does socket, options,
//! bind and listen in one call: here each step is written out.
//!
//! ## How to run
//!
//! In one terminal:
//!
//! ```text
//! cargo run --example server_01
//! cargo run --example server_01 -- --port 0        # let the system pick a free port
//! ```
//!
//! In another terminal, take the port first and watch `server_01` fail politely:
//!
//! ```text
//! nc -l 127.0.0.1 8888                             # (or: python3 -m http.server -b 127.0.0.1 8888)
//! ```
//!
//! ## What you should see
//!
//! ```text
//! Socket created
//! SO_REUSEADDR set
//! Socket bind complete: bound to 127.0.0.1:8888
//! ```
//!
//! With another program listening on port 8888, exit code 1:
//!
//! ```text
//! Socket created
//! SO_REUSEADDR set
//! error: could not bind 127.0.0.1:8888: Address already in use (os error 98)
//! hint: another program already uses that port: stop it, or pick another with --port
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
