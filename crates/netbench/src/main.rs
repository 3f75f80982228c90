//! `netbench`: measure a server on loopback. `netbench --help` lists the modes; the crate
//! documentation (`src/lib.rs`) says what each one measures and `bench/compare` shows them
//! all in use.

use std::error::Error;
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use netbench::report::Report;
use netbench::target::resolve_loopback;
use netbench::{blocking, ntp, tcp};
use netutil::cli::{Hint, StepExt};

/// Measure a server on this machine's loopback (127.0.0.0/8 or ::1 only).
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// C connections send S-byte messages and wait for each echo: messages/s, MB/s, latency.
    Echo {
        #[command(flatten)]
        common: Common,
        /// Message size in bytes.
        #[arg(short, long, default_value_t = 64)]
        size: usize,
        /// Stop after this many messages in total (sooner than --duration if reached).
        #[arg(short, long)]
        messages: Option<u64>,
        /// server_05's protocol: read its greeting, send lines, expect "OK..." + the line.
        #[arg(long)]
        line: bool,
    },
    /// Stream bytes through an echo server, check every byte that comes back: MB/s.
    Bulk {
        #[command(flatten)]
        common: Common,
        /// Bytes per write.
        #[arg(short, long, default_value_t = 64 * 1024)]
        size: usize,
        /// Stop after this many bytes in total (sooner than --duration if reached).
        #[arg(short, long)]
        bytes: Option<u64>,
    },
    /// One blocking connection, one message in flight: the round-trip latency floor.
    Pingpong {
        #[command(flatten)]
        common: Common,
        /// Message size in bytes.
        #[arg(short, long, default_value_t = 1)]
        size: usize,
        /// server_05's line protocol.
        #[arg(long)]
        line: bool,
    },
    /// SNTP requests per second and their latency (C clients, one request in flight each).
    Ntp {
        #[command(flatten)]
        common: Common,
    },
    /// Connections opened, served once and closed per second; or with --hold, C clients held
    /// open at once while the server's memory is read from /proc.
    Connect {
        #[command(flatten)]
        common: Common,
        /// Keep C connections open for --duration instead of cycling them.
        #[arg(long)]
        hold: bool,
        /// The server's process id, to read its VmRSS/VmHWM from /proc/PID/status.
        #[arg(long)]
        pid: Option<u32>,
        /// server_05's protocol: a served connection is one that sent the greeting.
        #[arg(long)]
        line: bool,
        /// Size of the round trip that proves an echo connection is served.
        #[arg(short, long, default_value_t = 16)]
        size: usize,
    },
    /// Fetch a file with netutil::http (the kit's HTTP client): MB/s of body, best and mean.
    /// The body is streamed and thrown away, as `curl -o /dev/null` does.
    Http {
        #[command(flatten)]
        common: Common,
        /// The path to GET.
        #[arg(long, default_value = "/")]
        path: String,
        /// How many fetches (one after another) at most, within --duration.
        #[arg(short = 'n', long, default_value_t = 3)]
        fetches: u32,
        /// Collect each body in memory (netutil::http::get) instead of streaming it.
        #[arg(long)]
        collect: bool,
    },
    /// Run the minimal blocking echo server that `pingpong` measures the floor against.
    RawEcho {
        /// The loopback address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// The port (0: the kernel picks a free one; the `listening on` line shows it).
        #[arg(short, long, default_value_t = 0)]
        port: u16,
    },
}

#[derive(Args)]
struct Common {
    /// The server, as HOST:PORT (e.g. 127.0.0.1:8888 or [::1]:8888).
    target: String,
    /// Connections (or NTP clients) at once.
    #[arg(short, long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20_000))]
    connections: u32,
    /// Seconds to measure, once all connections are up.
    #[arg(short, long, default_value_t = 5.0, value_parser = seconds)]
    duration: f64,
    /// Seconds any one connect, read or write may take before it counts as an error.
    #[arg(long, default_value_t = 5.0, value_parser = seconds)]
    timeout: f64,
    /// Seconds a new connection may take to be served the first time (setup, not measured).
    #[arg(long, default_value_t = 30.0, value_parser = seconds)]
    setup_timeout: f64,
    /// Hard cap on the whole run in seconds, setup included (default: duration + setup + 60).
    #[arg(long, value_parser = seconds)]
    max_time: Option<f64>,
    /// Event-loop threads (1 leaves the other core to the server on a 2-core machine).
    #[arg(short, long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    threads: u16,
    /// Open the connections from this many loopback source addresses in turn (127.0.0.1,
    /// 127.0.0.2, ...): one address runs out of ephemeral ports near 28,000 connections a
    /// minute. IPv4 targets only; Linux answers on all of 127.0.0.0/8, macOS only on 127.0.0.1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=200))]
    sources: u8,
    /// Print one JSON object instead of readable lines.
    #[arg(long)]
    json: bool,
}

/// A duration in seconds between 0.01 and one hour: every run is bounded.
fn seconds(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if (0.01..=3600.0).contains(&value) {
        Ok(value)
    } else {
        Err("must be between 0.01 and 3600 seconds".to_owned())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    netutil::cli::finish(run(cli.mode))
}

fn run(mode: Mode) -> Result<(), Box<dyn Error>> {
    if let Mode::RawEcho { host, port } = &mode {
        let addr = resolve_loopback(&format!("{host}:{port}"))
            .or_else(|_| resolve_loopback(&format!("[{host}]:{port}")))?;
        let listener = TcpListener::bind(addr)
            .step(format!("listen on {addr}"))
            .hint("pick another port with --port, or 0 for any free one")?;
        println!("raw-echo listening on {}", listener.local_addr()?);
        blocking::raw_echo(listener).step("accept a connection")?;
        return Ok(());
    }
    let common = match &mode {
        Mode::Echo { common, .. }
        | Mode::Bulk { common, .. }
        | Mode::Pingpong { common, .. }
        | Mode::Ntp { common }
        | Mode::Http { common, .. }
        | Mode::Connect { common, .. } => common,
        Mode::RawEcho { .. } => unreachable!("handled above"),
    };
    // The loopback check comes before any socket exists: a refused target is never touched.
    let addr = resolve_loopback(&common.target)?;
    let duration = Duration::from_secs_f64(common.duration);
    let cap = common
        .max_time
        .unwrap_or(common.duration + common.setup_timeout + 60.0);
    start_watchdog(Duration::from_secs_f64(cap.max(common.duration + 1.0)));
    let report = measure(&mode, common, addr, duration)?;
    if common.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}

/// Ends the process if a run outlives its hard cap, whatever it is blocked on.
fn start_watchdog(cap: Duration) {
    thread::spawn(move || {
        thread::sleep(cap);
        eprintln!(
            "error: the run exceeded its hard cap of {:.0} s and was stopped",
            cap.as_secs_f64()
        );
        eprintln!("hint: raise --max-time, or lower --duration or --connections");
        std::process::exit(1);
    });
}

fn measure(
    mode: &Mode,
    common: &Common,
    addr: SocketAddr,
    duration: Duration,
) -> Result<Report, Box<dyn Error>> {
    let load = tcp::Load {
        addr,
        connections: common.connections as usize,
        size: 64,
        line: false,
        duration,
        limit: None,
        timeout: Duration::from_secs_f64(common.timeout),
        setup: Duration::from_secs_f64(common.setup_timeout),
        // Short runs (the script's cells) stay quiet; long ones show they are alive.
        progress: common.duration >= 5.0,
        sources: common.sources,
    };
    let runtime = if common.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(common.threads as usize);
        builder
    }
    .enable_all()
    .build()
    .step("start the event loop")?;
    Ok(match *mode {
        Mode::Echo {
            size,
            messages,
            line,
            ..
        } => runtime.block_on(tcp::echo(tcp::Load {
            size,
            line,
            limit: messages,
            ..load
        })),
        Mode::Bulk { size, bytes, .. } => runtime.block_on(tcp::bulk(tcp::Load {
            size,
            limit: bytes,
            ..load
        })),
        Mode::Connect {
            hold,
            pid,
            line,
            size,
            ..
        } => {
            let load = tcp::Load { size, line, ..load };
            if hold {
                runtime.block_on(tcp::hold(load, pid))
            } else {
                runtime.block_on(tcp::connect_rate(load))
            }
        }
        Mode::Ntp { .. } => runtime.block_on(ntp::run(ntp::NtpLoad {
            addr,
            clients: load.connections,
            duration,
            timeout: load.timeout,
            progress: load.progress,
        })),
        Mode::Pingpong { size, line, .. } => {
            blocking::pingpong(addr, size, line, duration, load.timeout)
                .step(format!("ping-pong with {addr}"))
                .hint("is an echo server listening there?")?
        }
        Mode::Http {
            ref path,
            fetches,
            collect,
            ..
        } => {
            let body = if collect {
                netbench::http::Body::Collected
            } else {
                netbench::http::Body::Streamed
            };
            netbench::http::fetch(addr, path, fetches, duration, body)
        }
        Mode::RawEcho { .. } => unreachable!("handled in run"),
    })
}
