//! # udp_echo_server: send each datagram back to whoever sent it
//!
//! The echo service over UDP (RFC 862 gives it port 7, on TCP and on UDP alike): one socket,
//! no connections, no threads. Each `recv_from` returns one whole datagram and the address it
//! came from; `send_to` sends the same bytes back to that address, and only there. The reply
//! is never larger than the request, so nobody can use the server to flood a third party.
//!
//! It listens on 127.0.0.1 port 9900, the port number `echo_server` uses for TCP: UDP and TCP
//! ports are separate, so both can run at once. `--recv-buffer` shrinks the socket's receive
//! buffer (SO_RCVBUF) and `--slow` pretends each datagram takes time to handle: together they
//! make the server fall behind a burst, and the kernel drops what does not fit. The notes:
//! `docs/06-datagrams.md`.
//!
//! ## How to run
//!
//! In one terminal:
//!
//! ```text
//! cargo run --example udp_echo_server
//! cargo run --example udp_echo_server -- --recv-buffer 4096 --slow 1   # to lose a burst
//! ```
//!
//! In another terminal:
//!
//! ```text
//! cargo run --example udp_echo_client
//! cargo run --example udp_echo_client -- burst
//! ```
//!
//! Stop the server with Ctrl-C.
//!
//! ## What you should see
//!
//! ```text
//! receive buffer: 212992 bytes
//! listening on udp 127.0.0.1:9900
//! 127.0.0.1:55589: echoed 5 bytes
//! 127.0.0.1:55589: echoed 9 bytes
//! 127.0.0.1:55589: echoed 5 bytes
//! 127.0.0.1:55589: echoed 5 bytes
//! 127.0.0.1:55589: echoed 3 bytes
//! 127.0.0.1:55589: echoed 6 bytes
//! ^Cstopped: echoed 6 datagrams, 33 bytes
//! ```

use std::error::Error;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use clap::Parser;
use netutil::cli::{Failure, StepExt};
use netutil::{elog, log};
use socket2::{Domain, Protocol, Socket, Type};

/// The largest UDP payload (65,535 bytes less the 8-byte UDP header): a buffer this big
/// receives any datagram whole, so the echo is always the whole datagram.
const LARGEST_DATAGRAM: usize = 65_535 - 8;

/// How often the loop looks up from `recv_from` to see whether Ctrl-C was pressed.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// Send every datagram back, unchanged, to the address it came from.
#[derive(Parser)]
struct Args {
    /// The IP address to bind. 127.0.0.1: only this machine can send to it. 0.0.0.0 (or ::):
    /// every network interface.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The UDP port to bind (0: the system picks a free one).
    #[arg(long, default_value_t = 9900)]
    port: u16,
    /// The socket's receive buffer in bytes (SO_RCVBUF), where datagrams wait for
    /// `recv_from`; the kernel drops those that do not fit. Default: the system's.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    recv_buffer: Option<u32>,
    /// Milliseconds to wait before each echo, as a busy server would: a burst then fills the
    /// receive buffer faster than the server empties it.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1000))]
    slow: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    netutil::cli::finish(run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let address = SocketAddr::new(args.host, args.port);
    // socket2, not UdpSocket::bind: the receive buffer is set between socket() and bind().
    let socket = Socket::new(
        Domain::for_address(address),
        Type::DGRAM,
        Some(Protocol::UDP),
    )
    .step("open a UDP socket")?;
    if let Some(bytes) = args.recv_buffer {
        socket
            .set_recv_buffer_size(bytes as usize)
            .step("set the receive buffer size")?;
    }
    // The kernel may round what it was asked for (Linux doubles it, for its own bookkeeping).
    let buffer_size = socket
        .recv_buffer_size()
        .step("read the receive buffer size")?;
    match args.recv_buffer {
        Some(asked) => log!("receive buffer: {buffer_size} bytes (asked for {asked})"),
        None => log!("receive buffer: {buffer_size} bytes"),
    }
    socket
        .bind(&address.into())
        .step(format!("bind udp {address}"))?;
    let socket = UdpSocket::from(socket);
    // A timeout on every blocking call: the receive wakes up to look at the stop flag, and a
    // send never waits long for room in the send buffer.
    socket
        .set_read_timeout(Some(STOP_CHECK))
        .step("set the read timeout")?;
    socket
        .set_write_timeout(Some(Duration::from_secs(1)))
        .step("set the write timeout")?;

    let stop = Arc::new(AtomicBool::new(false));
    let stop_flag = stop.clone();
    // The handler also catches SIGTERM (kill, systemctl stop, docker stop) on Unix.
    ctrlc::set_handler(move || stop_flag.store(true, Ordering::Relaxed)).step("catch Ctrl-C")?;
    let bound = socket.local_addr().step("read the bound address")?;
    log!("listening on udp {bound}");

    let (mut datagrams, mut bytes) = (0u64, 0u64);
    let mut buffer = vec![0u8; LARGEST_DATAGRAM];
    while !stop.load(Ordering::Relaxed) {
        let (len, client) = match socket.recv_from(&mut buffer) {
            Ok(received) => received,
            // Nothing arrived within STOP_CHECK, or Ctrl-C interrupted the wait: look at the
            // stop flag again.
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            // Windows: an ICMP "port unreachable" for an echo sent earlier to a client that
            // had gone. That client is gone, the socket is fine: keep serving the others.
            Err(error) if netutil::os::is_stale_udp_error(&error) => continue,
            Err(error) => return Err(Failure::new(format!("receive on udp {bound}"), error).into()),
        };
        if args.slow > 0 {
            thread::sleep(Duration::from_millis(args.slow));
        }
        // The same bytes, to the address they came from: never more, never anyone else.
        match socket.send_to(&buffer[..len], client) {
            Ok(_) => {
                datagrams += 1;
                bytes += len as u64;
                log!("{client}: echoed {len} bytes");
            }
            // One echo that cannot leave is that client's loss, not a reason to stop.
            Err(error) => elog!("{client}: could not echo {len} bytes: {error}"),
        }
    }
    log!("stopped: echoed {datagrams} datagrams, {bytes} bytes");
    Ok(())
}
