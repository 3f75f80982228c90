//! # echo_client: send a message, read the echo back in chunks, check it
//!
//! A client of an echo server knows exactly what it should get back: what it sent. So it
//! does not wait for "the answer" (TCP has no such thing, only a stream of bytes); it reads
//! until it has as many bytes as it sent, in whatever pieces they arrive, and then compares.
//!
//! It sends from a second thread while the main thread reads (one thread doing both
//! deadlocks on a large message), half-closes after the last byte, checks the echo byte for
//! byte, and takes at most `--timeout` seconds in all. The Python original and how this
//! differs: `docs/04-tcp-server.md`.
//!
//! ## How to run
//!
//! In one terminal, start an echo server (the kit's, or socat's as an independent check):
//!
//! ```text
//! cargo run --example echo_server
//! socat TCP-LISTEN:9900,bind=127.0.0.1,fork,reuseaddr PIPE
//! ```
//!
//! In another terminal:
//!
//! ```text
//! cargo run --example echo_client
//! cargo run --example echo_client -- --file Cargo.lock --chunk 4096
//! head -c 1000000 /dev/urandom | cargo run --example echo_client -- --stdin
//! ```
//!
//! ## What you should see
//!
//! ```text
//! connected to 127.0.0.1:9900
//! sending 33 bytes
//! received "Test message. Th"
//! received "is will be echoe"
//! received "d"
//! the echo matches: 33 bytes sent, 33 bytes received
//! ```
//!
//! Long messages print one summary line instead of every chunk.

use std::error::Error;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use clap::Parser;
use netutil::cli::{Deadline, Failure, StepExt};
use netutil::lookup;

/// Chunks are printed one by one up to this many; beyond, one summary line.
const MAX_PRINTED_CHUNKS: usize = 32;

/// Send a message to an echo server, read the echo back in chunks, and check it.
#[derive(Parser)]
struct Args {
    /// The echo server's host name or IP address.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The echo server's port.
    #[arg(long, default_value_t = 9900)]
    port: u16,
    /// The message to send.
    #[arg(long, default_value = "Test message. This will be echoed")]
    message: String,
    /// Send the bytes of this file instead of the message.
    #[arg(long, conflicts_with_all = ["message", "stdin"])]
    file: Option<PathBuf>,
    /// Send everything read from standard input instead of the message.
    #[arg(long, conflicts_with = "message")]
    stdin: bool,
    /// Read the echo in chunks of at most this many bytes.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    chunk: u32,
    /// Seconds the whole exchange may take (connect, send, and the whole echo), whatever the
    /// server does.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    netutil::cli::finish(run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    // A control character (a NUL byte, an escape) is in no host name: say which, up front.
    netutil::cli::check_host_name(&args.host)?;
    let message = match (&args.file, args.stdin) {
        (Some(path), _) => std::fs::read(path).step(format!("read {}", path.display()))?,
        (None, true) => {
            let mut bytes = Vec::new();
            io::stdin()
                .read_to_end(&mut bytes)
                .step("read standard input")?;
            bytes
        }
        (None, false) => args.message.as_bytes().to_vec(),
    };
    // --timeout bounds the whole exchange: every wait gets what is left of it, so a server
    // that echoes one byte a second cannot keep the client running.
    let deadline = Deadline::after(Duration::from_secs(args.timeout));
    let stream = connect(&args.host, args.port, &deadline)?;
    println!("sending {} bytes", message.len());

    // Send on a second thread while this one reads the echo (see the header: one thread
    // doing both deadlocks on large messages). A scoped thread may borrow the stream and
    // the message, and is joined before the scope ends.
    let (sent, echo) = thread::scope(|scope| {
        let sender = scope.spawn(|| send(&stream, &message, &deadline));
        let echo = receive(&stream, message.len(), args.chunk as usize, &deadline);
        // If reading failed, the server may have stopped reading too: unblock the sender.
        if echo.is_err() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let sent = sender
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the sender panicked")));
        (sent, echo)
    });
    let echo = echo?;
    // A wrong byte says the most about what the server did, so it is reported first.
    check(&message, &echo.bytes)?;
    if let Some(problem) = echo.problem {
        return Err(problem.into());
    }
    sent.step("send the message")?;
    println!(
        "the echo matches: {} bytes sent, {} bytes received",
        message.len(),
        echo.bytes.len()
    );
    Ok(())
}

/// Connects to `host`:`port`, trying each address the name resolves to.
fn connect(host: &str, port: u16, deadline: &Deadline) -> Result<TcpStream, Box<dyn Error>> {
    let mut last_error = None;
    for ip in lookup::resolve(host)? {
        let addr = SocketAddr::new(ip, port);
        match TcpStream::connect_timeout(&addr, deadline.left()?) {
            Ok(stream) => {
                println!("connected to {addr}");
                return Ok(stream);
            }
            Err(error) => last_error = Some(deadline.explain(error)),
        }
    }
    let error = last_error.unwrap_or_else(|| io::ErrorKind::AddrNotAvailable.into());
    let failure = Failure::new(format!("connect to {host} port {port}"), error).with_hint(format!(
        "start the echo server first: echo_server --port {port}"
    ));
    Err(failure.into())
}

/// Sends `message` and half-closes, each write waiting at most until the deadline.
fn send(stream: &TcpStream, message: &[u8], deadline: &Deadline) -> io::Result<()> {
    let mut writer = stream;
    // Pieces of 64 KiB, so that the write timeout is renewed with the time left.
    for piece in message.chunks(64 * 1024) {
        stream.set_write_timeout(Some(deadline.left()?))?;
        writer
            .write_all(piece)
            .map_err(|error| deadline.explain(error))?;
    }
    // Nothing more to send: the server reads end of stream after our last byte.
    stream.shutdown(Shutdown::Write)
}

/// What came back: the bytes, and what was wrong besides them, if anything.
struct Echo {
    bytes: Vec<u8>,
    problem: Option<String>,
}

/// Reads up to `expected` bytes in chunks of at most `chunk` bytes, then makes sure the
/// server sends nothing more.
fn receive(
    stream: &TcpStream,
    expected: usize,
    chunk: usize,
    deadline: &Deadline,
) -> Result<Echo, Box<dyn Error>> {
    let print_chunks = expected.div_ceil(chunk) <= MAX_PRINTED_CHUNKS;
    let mut reader = stream;
    let mut echo = Vec::with_capacity(expected);
    let mut buffer = vec![0u8; chunk];
    let mut reads = 0u64;
    while echo.len() < expected {
        let wanted = chunk.min(expected - echo.len());
        stream
            .set_read_timeout(Some(deadline.left()?))
            .step("set a read timeout")?;
        // Up to `wanted` bytes: a read returns what has arrived, maybe fewer.
        let received = match reader.read(&mut buffer[..wanted]) {
            Ok(0) => {
                let problem = format!(
                    "the server closed the connection after echoing {} of {expected} bytes",
                    echo.len()
                );
                return Ok(Echo {
                    bytes: echo,
                    problem: Some(problem),
                });
            }
            Ok(received) => received,
            Err(error) => {
                let step = format!(
                    "receive the echo ({} of {expected} bytes so far)",
                    echo.len()
                );
                return Err(Failure::new(step, deadline.explain(error)).into());
            }
        };
        let data = &buffer[..received];
        if print_chunks {
            println!(
                "received \"{}\"",
                String::from_utf8_lossy(data).escape_debug()
            );
        }
        echo.extend_from_slice(data);
        reads += 1;
    }
    if !print_chunks {
        println!("received {} bytes in {reads} reads", echo.len());
    }
    // An echo server that got our end of stream closes after the echo: anything more is wrong.
    // A server that keeps the connection open is fine too, so this waits only briefly.
    let brief = Duration::from_millis(500).min(deadline.left().unwrap_or(Duration::from_millis(1)));
    stream
        .set_read_timeout(Some(brief))
        .step("set a read timeout")?;
    let mut extra = [0u8; 1];
    let problem = match reader.read(&mut extra) {
        Ok(1) => Some("the server sent more bytes than it received".to_owned()),
        _ => None,
    };
    Ok(Echo {
        bytes: echo,
        problem,
    })
}

/// Compares the echo with the message, naming the first byte that differs.
fn check(message: &[u8], echo: &[u8]) -> Result<(), Box<dyn Error>> {
    if let Some(at) = message.iter().zip(echo).position(|(sent, got)| sent != got) {
        return Err(format!(
            "the echo differs from the message at byte {at}: sent 0x{:02x}, received 0x{:02x}",
            message[at], echo[at]
        )
        .into());
    }
    Ok(())
}
