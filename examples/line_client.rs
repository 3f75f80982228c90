//! # line_client: talk to a line server by hand
//!
//! Your own `nc`/`telnet`, for every server lesson, on Windows, macOS and Linux alike: it
//! sends each line you type and prints whatever the server sends back.
//!
//! The idea: a conversation has two directions that do not take turns. The server may speak
//! first (a greeting), answer late, or hang up while you are typing, so one thread cannot both
//! wait for your keyboard and wait for the server. Here the main thread sends your lines, a
//! second thread prints the server's bytes the moment they arrive, and whichever side ends
//! first ends the program:
//!
//! - You end your input (Ctrl-D on Linux and macOS; Ctrl-Z then Enter on Windows): the client
//!   half-closes the connection (`shutdown(Write)`: "nothing more from me") and still prints
//!   what the server sends, until the server closes too or `--timeout` seconds pass.
//! - The server closes the connection: the client says so and exits, even mid-line.
//!
//! Standard output carries exactly the bytes the server sent; the client's own notes go to
//! standard error. Lines are sent with a plain `\n` on every system.
//!
//! ## How to run
//!
//! In one terminal, start a server lesson:
//!
//! ```text
//! cargo run --example server_05
//! ```
//!
//! In another terminal, connect and type lines (`--host`, `--port` for other servers):
//!
//! ```text
//! cargo run --example line_client
//! ```
//!
//! ## What you should see
//!
//! After typing `hello` and `world`, then Ctrl-D:
//!
//! ```text
//! connected to 127.0.0.1:8888: type lines; Ctrl-D ends (Windows: Ctrl-Z, Enter)
//! Welcome to the server. Type something and hit enter
//! hello
//! OK...hello
//! world
//! OK...world
//! the server closed the connection
//! ```
//!
//! With no server listening there, one sentence and exit code 1:
//!
//! ```text
//! error: could not connect to 127.0.0.1 port 8888: Connection refused (os error 111)
//! hint: start the server first (for example the server_05 lesson), or check --host and --port
//! ```

use std::error::Error;
use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use netutil::cli::{Failure, StepExt};
use netutil::lookup;
use netutil::server::explain_timeout;

/// Send the lines you type to a server and print what it sends back.
#[derive(Parser)]
struct Args {
    /// The server's host name or IP address.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The server's port.
    #[arg(long, default_value_t = 8888)]
    port: u16,
    /// Seconds to wait for the connection, and for the server's last words after your input ends.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
}

/// What the two helper threads tell the main thread.
enum Event {
    /// Your input ended and the write side is closed.
    InputEnded,
    /// Reading what you type failed.
    InputFailed(io::Error),
    /// Sending a line failed.
    SendFailed(io::Error),
    /// The server closed its side: nothing more will arrive.
    ServerClosed,
    /// Receiving failed.
    ReceiveFailed(io::Error),
}

fn main() -> ExitCode {
    let args = Args::parse();
    netutil::cli::finish(run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let timeout = Duration::from_secs(args.timeout);
    let stream = connect(&args.host, args.port, timeout)?;
    let peer = stream.peer_addr().step("read the server's address")?;
    eprintln!("connected to {peer}: type lines; Ctrl-D ends (Windows: Ctrl-Z, Enter)");

    // Two threads, one per direction; each reports how its direction ended.
    let (events_tx, events) = mpsc::channel();
    let receiving = stream.try_clone().step("share the connection")?;
    let receiver_events = events_tx.clone();
    thread::spawn(move || print_what_arrives(receiving, receiver_events));
    thread::spawn(move || send_typed_lines(stream, events_tx));

    // Once your input has ended, the server gets `timeout` to finish and close.
    let mut deadline: Option<Instant> = None;
    loop {
        let event = match deadline {
            None => events.recv().unwrap_or(Event::ServerClosed),
            Some(deadline) => {
                match events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(event) => event,
                    Err(RecvTimeoutError::Timeout) => {
                        eprintln!("the server sent nothing more for {timeout:?}: closing");
                        return Ok(());
                    }
                    Err(RecvTimeoutError::Disconnected) => Event::ServerClosed,
                }
            }
        };
        match event {
            Event::InputEnded => deadline = Some(Instant::now() + timeout),
            Event::ServerClosed => {
                eprintln!("the server closed the connection");
                return Ok(());
            }
            Event::InputFailed(error) => return Err(Failure::new("read your input", error).into()),
            Event::SendFailed(error) => return Err(Failure::new("send your line", error).into()),
            Event::ReceiveFailed(error) => {
                return Err(Failure::new("receive from the server", error).into());
            }
        }
    }
}

/// Connects to `host`:`port`, trying each address the name resolves to.
fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, Box<dyn Error>> {
    let mut last_error = None;
    for ip in lookup::resolve(host)? {
        match TcpStream::connect_timeout(&SocketAddr::new(ip, port), timeout) {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = Some(explain_timeout(error, timeout)),
        }
    }
    let error = last_error.unwrap_or_else(|| io::ErrorKind::AddrNotAvailable.into());
    let failure = Failure::new(format!("connect to {host} port {port}"), error).with_hint(
        "start the server first (for example the server_05 lesson), or check --host and --port",
    );
    Err(failure.into())
}

/// The receiving direction: copies the server's bytes to standard output as they arrive.
fn print_what_arrives(mut stream: TcpStream, events: Sender<Event>) {
    let mut buffer = [0u8; 4096];
    let event = loop {
        match stream.read(&mut buffer) {
            Ok(0) => break Event::ServerClosed,
            Ok(received) => {
                let mut stdout = io::stdout().lock();
                // Flushed at once: a prompt without a newline must show too.
                if let Err(error) = stdout
                    .write_all(&buffer[..received])
                    .and_then(|()| stdout.flush())
                {
                    break Event::ReceiveFailed(error);
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => break Event::ReceiveFailed(error),
        }
    };
    // The main thread may have finished already; then nobody needs to know.
    let _ = events.send(event);
}

/// The sending direction: sends each line typed on standard input, then half-closes.
fn send_typed_lines(mut stream: TcpStream, events: Sender<Event>) {
    let mut stdin = io::stdin().lock();
    let mut line = Vec::new();
    let event = loop {
        line.clear();
        match stdin.read_until(b'\n', &mut line) {
            Ok(0) => {
                // End of input: "nothing more from me"; the server may still answer.
                break match stream.shutdown(Shutdown::Write) {
                    Ok(()) => Event::InputEnded,
                    Err(error) => Event::SendFailed(error),
                };
            }
            Ok(_) => {
                // A Windows console ends lines with \r\n; send \n, as on Linux and macOS.
                if line.ends_with(b"\r\n") {
                    line.splice(line.len() - 2.., *b"\n");
                }
                if let Err(error) = stream.write_all(&line) {
                    break Event::SendFailed(error);
                }
            }
            Err(error) => break Event::InputFailed(error),
        }
    };
    // The main thread may have finished already; then nobody needs to know.
    let _ = events.send(event);
}
