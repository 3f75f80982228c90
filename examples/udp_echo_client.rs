//! # udp_echo_client: what datagrams keep and what they lose, in numbers
//!
//! Talks to `udp_echo_server`, one run per idea:
//!
//! - no mode: each word of the message is one `send`, so one datagram; each comes back
//!   whole, one `recv` per `send`: UDP keeps the boundaries.
//! - `tcp`: the same words as writes on a TCP connection to `echo_server` (same port number,
//!   TCP), read after the same pause: they arrive in fewer reads, run together.
//! - `truncate`: a datagram larger than the buffer it is received into is cut, and the rest
//!   is gone; the kernel's `MSG_TRUNC` flag (`WSAEMSGSIZE` on Windows) says so.
//! - `burst`: numbered datagrams as fast as it can; a server that falls behind loses some,
//!   and the kernel's own drop counter shows where.
//!
//! The socket is `connect`ed: the kernel then drops datagrams from anyone but the server,
//! and reports "nothing listening there" as an error instead of letting us time out. The
//! notes: `docs/06-datagrams.md`.
//!
//! ## How to run
//!
//! In one terminal, start the UDP server; in a second one, the TCP `echo_server` for `tcp`:
//!
//! ```text
//! cargo run --example udp_echo_server
//! cargo run --example echo_server
//! ```
//!
//! In another terminal:
//!
//! ```text
//! cargo run --example udp_echo_client
//! cargo run --example udp_echo_client -- tcp
//! cargo run --example udp_echo_client -- truncate
//! cargo run --example udp_echo_client -- burst
//! ```
//!
//! ## What you should see
//!
//! ```text
//! sent 6 datagrams to 127.0.0.1:9900, one per word: 33 bytes
//! received "Test " (5 bytes)
//! received "message. " (9 bytes)
//! received "This " (5 bytes)
//! received "will " (5 bytes)
//! received "be " (3 bytes)
//! received "echoed" (6 bytes)
//! 6 datagrams sent, 6 echoed back whole: one receive per send
//! ```

use std::error::Error;
use std::io::ErrorKind::{TimedOut, WouldBlock};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use clap::{Parser, Subcommand};
use netutil::cli::{Deadline, Hint, StepExt};
use netutil::{lookup, udp};

/// The largest UDP payload: a receive buffer this big never cuts a datagram.
const LARGEST_DATAGRAM: usize = 65_535 - 8;

/// The pause between the last send and the first receive, in both the UDP and the TCP run:
/// every echo has arrived by then, so only the kind of socket decides how the reads split.
const SETTLE: Duration = Duration::from_millis(200);

/// After a burst, the echoes are over once none has come for this long.
const QUIET: Duration = Duration::from_millis(500);

/// What each mode returns: nothing, or why it failed.
type Outcome = Result<(), Box<dyn Error>>;

/// Send datagrams to a UDP echo server and count what comes back. With no mode, each word of
/// --message is one datagram.
#[derive(Parser)]
struct Args {
    /// The echo server's host name or IP address.
    #[arg(long, global = true, default_value = "127.0.0.1")]
    host: String,
    /// The echo server's port (UDP; TCP for `tcp`).
    #[arg(long, global = true, default_value_t = 9900)]
    port: u16,
    /// The message: one datagram (or one TCP write) per word.
    #[arg(
        long,
        global = true,
        default_value = "Test message. This will be echoed"
    )]
    message: String,
    /// Seconds the whole run may take, whatever the server does.
    #[arg(long, global = true, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600))]
    timeout: u64,
    #[command(subcommand)]
    mode: Option<Mode>,
}

#[derive(Subcommand)]
enum Mode {
    /// Send the words as writes on a TCP connection to echo_server, and count the reads.
    Tcp,
    /// Send a datagram larger than the buffer its echo is received into, then into a big one.
    Truncate {
        /// Bytes in the datagram.
        #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u16).range(1..=65507))]
        size: u16,
        /// Bytes in the small receive buffer.
        #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u16).range(1..))]
        buffer: u16,
    },
    /// Send numbered datagrams as fast as possible, then count the echoes.
    Burst {
        /// How many datagrams.
        #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        count: u32,
        /// Bytes in each (the first four are its number).
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(4..=65507))]
        size: u16,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    netutil::cli::finish(run(&args))
}

fn run(args: &Args) -> Outcome {
    netutil::cli::check_host_name(&args.host)?;
    let deadline = Deadline::after(Duration::from_secs(args.timeout));
    let ip = *lookup::resolve(&args.host)?
        .first()
        .ok_or("the name has no address")?;
    let server = SocketAddr::new(ip, args.port);
    let words: Vec<&[u8]> = args
        .message
        .split_inclusive(' ')
        .map(str::as_bytes)
        .collect();
    match args.mode {
        None => datagrams(server, &words, &deadline),
        Some(Mode::Tcp) => tcp_writes(server, &words, &deadline),
        Some(Mode::Truncate { size, buffer }) => truncate(server, size, buffer, &deadline),
        Some(Mode::Burst { count, size }) => burst(server, count, size.into(), &deadline),
    }
}

/// The hint when nothing answers at `server`.
fn start_it_first(server: SocketAddr) -> String {
    format!(
        "start the UDP echo server first: udp_echo_server --port {}",
        server.port()
    )
}

/// A UDP socket on a free port, connected to `server`: it receives from `server` only.
fn connected_udp(server: SocketAddr) -> Result<UdpSocket, Box<dyn Error>> {
    let any = if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = UdpSocket::bind(any).step("open a UDP socket")?;
    // connect() on UDP sends nothing: it only fixes the peer.
    socket
        .connect(server)
        .step(format!("set the peer to udp {server}"))?;
    Ok(socket)
}

/// Receives one datagram into `buffer`, waiting at most until the deadline.
fn receive(
    socket: &UdpSocket,
    buffer: &mut [u8],
    deadline: &Deadline,
) -> Result<udp::Datagram, Box<dyn Error>> {
    socket.set_read_timeout(Some(deadline.left()?))?;
    let server = socket.peer_addr()?;
    let datagram = udp::recv_datagram(socket, buffer).map_err(|error| deadline.explain(error));
    Ok(datagram
        .step(format!("receive the echo from udp {server}"))
        .hint(start_it_first(server))?)
}

fn datagrams(server: SocketAddr, words: &[&[u8]], deadline: &Deadline) -> Outcome {
    let socket = connected_udp(server)?;
    for word in words {
        // One send, one datagram.
        socket
            .send(word)
            .step("send a datagram")
            .hint(start_it_first(server))?;
    }
    let (count, total) = (words.len(), words.concat().len());
    println!("sent {count} datagrams to {server}, one per word: {total} bytes");
    thread::sleep(SETTLE);
    let mut buffer = vec![0; LARGEST_DATAGRAM];
    for _ in words {
        let echo = receive(&socket, &mut buffer, deadline)?;
        let bytes = &buffer[..echo.len];
        println!(
            "received \"{}\" ({} bytes)",
            String::from_utf8_lossy(bytes).escape_debug(),
            echo.len
        );
        if !words.contains(&bytes) {
            return Err("the echo is none of the datagrams sent".into());
        }
    }
    println!("{count} datagrams sent, {count} echoed back whole: one receive per send");
    Ok(())
}

fn tcp_writes(server: SocketAddr, words: &[&[u8]], deadline: &Deadline) -> Outcome {
    let mut stream = TcpStream::connect_timeout(&server, deadline.left()?)
        .map_err(|error| deadline.explain(error))
        .step(format!("connect to tcp {server}"))
        .hint(format!(
            "start the TCP echo server first: echo_server --port {}",
            server.port()
        ))?;
    stream.set_write_timeout(Some(deadline.left()?))?;
    for word in words {
        // One write each, as the datagrams were sent.
        stream.write_all(word).step("send a write")?;
    }
    let sent = words.concat();
    println!(
        "sent {} writes to {server} (TCP), one per word: {} bytes",
        words.len(),
        sent.len()
    );
    thread::sleep(SETTLE);
    let (mut echo, mut reads) = (Vec::new(), 0);
    let mut buffer = vec![0; LARGEST_DATAGRAM];
    while echo.len() < sent.len() {
        stream.set_read_timeout(Some(deadline.left()?))?;
        let len = stream
            .read(&mut buffer)
            .map_err(|error| deadline.explain(error))
            .step("receive the echo")?;
        if len == 0 {
            return Err("the server closed before echoing every byte".into());
        }
        println!(
            "received \"{}\" ({len} bytes)",
            String::from_utf8_lossy(&buffer[..len]).escape_debug()
        );
        echo.extend_from_slice(&buffer[..len]);
        reads += 1;
    }
    if echo != sent {
        return Err("the echo differs from the bytes sent".into());
    }
    let plural = if reads == 1 { "" } else { "s" };
    let writes = words.len();
    println!(
        "{writes} writes arrived in {reads} read{plural}: a stream keeps the bytes, not the writes"
    );
    Ok(())
}

fn truncate(server: SocketAddr, size: u16, small: u16, deadline: &Deadline) -> Outcome {
    let socket = connected_udp(server)?;
    let datagram: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    for buffer_size in [small.into(), LARGEST_DATAGRAM] {
        socket
            .send(&datagram)
            .step("send the datagram")
            .hint(start_it_first(server))?;
        println!("sent {size} bytes; receiving the echo into a {buffer_size}-byte buffer");
        let mut buffer = vec![0; buffer_size];
        let echo = receive(&socket, &mut buffer, deadline)?;
        if buffer[..echo.len] != datagram[..echo.len] {
            return Err("the echo differs from the datagram sent".into());
        }
        // The kernel says so: recvmsg sets MSG_TRUNC (Windows: recv fails with WSAEMSGSIZE).
        match echo.truncated {
            true => println!(
                "received {} bytes, truncated: the other {} are gone",
                echo.len,
                datagram.len() - echo.len
            ),
            false => println!("received {} bytes, whole", echo.len),
        }
    }
    Ok(())
}

fn burst(server: SocketAddr, count: u32, size: usize, deadline: &Deadline) -> Outcome {
    let socket = connected_udp(server)?;
    let drops_before = udp::receive_buffer_drops();
    println!("sending {count} datagrams of {size} bytes to {server}, as fast as possible");
    let mut datagram = vec![0; size];
    for number in 0..count {
        datagram[..4].copy_from_slice(&number.to_be_bytes());
        socket
            .send(&datagram)
            .step("send a datagram")
            .hint(start_it_first(server))?;
    }
    // The echoes wait in our own receive buffer (and some may not fit): read them all now.
    let mut echoed = vec![false; count as usize];
    let mut buffer = vec![0; LARGEST_DATAGRAM];
    loop {
        socket.set_read_timeout(Some(QUIET.min(deadline.left()?)))?;
        let len = match socket.recv(&mut buffer) {
            Ok(len) => len,
            // Nothing for QUIET: the echoes are over.
            Err(error) if matches!(error.kind(), WouldBlock | TimedOut) => break,
            Err(error) => Err(error)
                .step("receive the echoes")
                .hint(start_it_first(server))?,
        };
        let number = u32::from_be_bytes(buffer[..4].try_into()?);
        match echoed.get_mut(number as usize) {
            Some(seen) if len == size => *seen = true,
            _ => {
                return Err(
                    format!("an echo that was never sent: {len} bytes, number {number}").into(),
                );
            }
        }
    }
    let back = echoed.iter().filter(|&&seen| seen).count();
    println!(
        "sent {count} datagrams, {back} echoed back, {} lost",
        count as usize - back
    );
    // The kernel counts what it dropped; UDP itself tells neither end.
    match (drops_before, udp::receive_buffer_drops()) {
        (Ok(before), Ok(after)) => println!(
            "the kernel dropped {} datagrams meanwhile at a full receive buffer: {}",
            after - before,
            udp::DROP_COUNTER
        ),
        (_, Err(error)) | (Err(error), _) => {
            println!("the kernel's count of dropped datagrams: {error}")
        }
    }
    Ok(())
}
