//! The TCP modes (`echo`, `bulk`, `connect`), driven by one tokio event loop.
//!
//! Why tokio and not a thread per connection: the load generator shares this machine's two
//! cores with the server it measures. A thousand blocking client threads would make the
//! kernel scheduler, not the server, the thing measured (every round trip a context switch
//! on an overloaded run queue), and would steal the server's core. One epoll loop
//! (`--threads 1`, the default, a current-thread runtime) multiplexes any number of sockets
//! at a cost of a few syscalls per message, and `bench/compare` pins it to one core with
//! `taskset`. Its per-message overhead (a read that would block, then `epoll_wait`) is why the
//! single-connection *latency* floor comes from the blocking `pingpong` mode instead.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Barrier, Semaphore};
use tokio::time::timeout;

use crate::histogram::Histogram;
use crate::protocol::{Exchange, GREETING};
use crate::report::Report;

/// How many connects may be in flight at once: more only overflows the server's listen
/// backlog and costs one-second SYN retransmits during setup.
const CONNECTS_IN_FLIGHT: usize = 32;

/// What every TCP mode needs to know.
#[derive(Clone, Debug)]
pub struct Load {
    /// The server, already checked to be on loopback.
    pub addr: SocketAddr,
    /// How many connections at once.
    pub connections: usize,
    /// Message size in bytes (echo, connect), or write size (bulk).
    pub size: usize,
    /// server_05's line protocol instead of plain echo.
    pub line: bool,
    /// How long to measure, once every connection is up.
    pub duration: Duration,
    /// Stop after this many messages (echo) or bytes (bulk) in total, if sooner.
    pub limit: Option<u64>,
    /// The longest any single read or write may take, once measuring, before it counts as an
    /// error.
    pub timeout: Duration,
    /// The longest a connection may take to be served for the first time. Generous: a peer
    /// with a small listen backlog (socat's is 5) serves some of 1,000 new connections only
    /// after the kernel's SYN-ACK retransmits, seconds later; that is setup, not measurement.
    pub setup: Duration,
    /// Print a progress line on stderr every second.
    pub progress: bool,
    /// How many loopback source addresses the connections come from (127.0.0.1,
    /// 127.0.0.2, ...), in turn. One address has about 28,000 ephemeral ports, and closed
    /// connections hold theirs for a minute in TIME_WAIT: runs of 10,000 connections need
    /// more than one. 1 leaves the choice to the kernel. IPv4 targets only.
    pub sources: u8,
}

/// What the connections saw, summed.
#[derive(Debug, Default)]
struct Tally {
    connected: u64,
    operations: u64,
    bytes: u64,
    errors: u64,
    first_error: Option<String>,
    latency: Histogram,
}

impl Tally {
    fn error(&mut self, what: impl Into<String>) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(what.into());
        }
    }

    fn merge(&mut self, other: Tally) {
        self.connected += other.connected;
        self.operations += other.operations;
        self.bytes += other.bytes;
        self.errors += other.errors;
        self.latency.merge(&other.latency);
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn report(&self, report: &mut Report) {
        report
            .int("errors", self.errors)
            .text("first_error", self.first_error.clone().unwrap_or_default());
    }
}

/// Shared counters a progress line reads.
#[derive(Default)]
pub(crate) struct Progress {
    pub(crate) operations: AtomicU64,
    pub(crate) errors: AtomicU64,
}

/// When `enabled`, prints one line a second on stderr: how far the run is and what it did.
pub(crate) fn progress_printer(
    mode: &'static str,
    enabled: bool,
    duration: Duration,
    progress: Arc<Progress>,
) {
    if !enabled {
        return;
    }
    let total = duration.as_secs();
    tokio::spawn(async move {
        let start = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tick.tick().await;
            eprintln!(
                "netbench {mode}: {} s of {total} s, {} done, {} errors",
                start.elapsed().as_secs(),
                progress.operations.load(Ordering::Relaxed),
                progress.errors.load(Ordering::Relaxed)
            );
        }
    });
}

async fn with_timeout<T>(
    limit: Duration,
    what: &str,
    work: impl Future<Output = io::Result<T>>,
) -> Result<T, String> {
    match timeout(limit, work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(format!("{what}: {error}")),
        Err(_) => Err(format!("{what}: no answer within {limit:?}")),
    }
}

/// One round trip: send the message, read exactly the reply's length, compare.
async fn round_trip(
    stream: &mut TcpStream,
    exchange: &Exchange,
    reply: &mut [u8],
    limit: Duration,
) -> Result<(), String> {
    with_timeout(limit, "send", stream.write_all(exchange.message())).await?;
    with_timeout(limit, "read the reply", stream.read_exact(reply)).await?;
    if exchange.is_reply(reply) {
        Ok(())
    } else {
        Err("the reply differs from what was sent".to_owned())
    }
}

/// `echo`: every connection sends a message, waits for its reply and measures the round trip,
/// as fast as it can, until the time or the message budget runs out.
pub async fn echo(load: Load) -> Report {
    let gate = Arc::new(Semaphore::new(CONNECTS_IN_FLIGHT));
    let barrier = Arc::new(Barrier::new(load.connections + 1));
    let budget = Arc::new(AtomicI64::new(
        load.limit
            .map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX)),
    ));
    let progress = Arc::new(Progress::default());
    let mut tasks = Vec::with_capacity(load.connections);
    for _ in 0..load.connections {
        let (load, gate, barrier, budget, progress) = (
            load.clone(),
            gate.clone(),
            barrier.clone(),
            budget.clone(),
            progress.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut exchange = Exchange::new(load.size, load.line);
            let mut reply = vec![0; exchange.reply_len()];
            let stream = open_and_check(&load, &gate, false).await;
            // Everyone waits here, so the clock starts only when all connections are served.
            barrier.wait().await;
            let mut stream = match stream {
                Ok(stream) => stream,
                Err(error) => {
                    tally.error(error);
                    return tally;
                }
            };
            tally.connected = 1;
            let deadline = Instant::now() + load.duration;
            let mut n = 0;
            while Instant::now() < deadline && budget.fetch_sub(1, Ordering::Relaxed) > 0 {
                exchange.advance(n);
                let sent = Instant::now();
                if let Err(error) =
                    round_trip(&mut stream, &exchange, &mut reply, load.timeout).await
                {
                    tally.error(error);
                    progress.errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                tally.latency.record(sent.elapsed());
                n += 1;
                progress.operations.fetch_add(1, Ordering::Relaxed);
            }
            tally.operations = n;
            tally.bytes = n * load.size as u64;
            tally
        }));
    }
    barrier.wait().await;
    let start = Instant::now();
    progress_printer("echo", load.progress, load.duration, progress);
    let tally = gather(tasks).await;
    let elapsed = start.elapsed().as_secs_f64();
    let mut report = header("echo", &load);
    report
        .int("connected", tally.connected)
        .num("seconds", elapsed)
        .int("messages", tally.operations)
        .num("messages_per_s", tally.operations as f64 / elapsed)
        .num("mb_per_s", tally.bytes as f64 / elapsed / 1e6)
        .latency(&tally.latency);
    tally.report(&mut report);
    report
}

async fn gather(tasks: Vec<tokio::task::JoinHandle<Tally>>) -> Tally {
    let mut total = Tally::default();
    for task in tasks {
        match task.await {
            Ok(tally) => total.merge(tally),
            Err(error) => total.error(format!("a connection task failed: {error}")),
        }
    }
    total
}

fn header(mode: &str, load: &Load) -> Report {
    let mut report = Report::default();
    report
        .text("mode", mode)
        .text("target", load.addr.to_string())
        .text("protocol", if load.line { "line" } else { "echo" })
        .int("connections", load.connections as u64)
        .int("size", load.size as u64);
    report
}

/// The byte at stream offset `offset` of a bulk stream: a 251-byte cycle (prime, so it never
/// lines up with a power-of-two buffer and a misplaced chunk is caught).
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// `bulk`: each connection streams bytes while it reads the echo back and checks every byte;
/// the rate counts bytes that came back verified.
pub async fn bulk(load: Load) -> Report {
    let barrier = Arc::new(Barrier::new(load.connections + 1));
    let gate = Arc::new(Semaphore::new(CONNECTS_IN_FLIGHT));
    let progress = Arc::new(Progress::default());
    let per_connection = load.limit.map(|n| n / load.connections as u64);
    let mut tasks = Vec::new();
    for _ in 0..load.connections {
        let (load, barrier, gate, progress) = (
            load.clone(),
            barrier.clone(),
            gate.clone(),
            progress.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let stream = open_and_check(&load, &gate, false).await;
            barrier.wait().await;
            match stream {
                Ok(stream) => {
                    tally.connected = 1;
                    if let Err(error) =
                        stream_through(stream, &load, per_connection, &mut tally, &progress).await
                    {
                        tally.error(error);
                    }
                }
                Err(error) => tally.error(error),
            }
            tally
        }));
    }
    barrier.wait().await;
    let start = Instant::now();
    progress_printer("bulk", load.progress, load.duration, progress.clone());
    let tally = gather(tasks).await;
    let elapsed = start.elapsed().as_secs_f64();
    let mut report = header("bulk", &load);
    report
        .int("connected", tally.connected)
        .num("seconds", elapsed)
        .int("bytes", tally.bytes)
        .num("mb_per_s", tally.bytes as f64 / elapsed / 1e6);
    tally.report(&mut report);
    report
}

async fn stream_through(
    stream: TcpStream,
    load: &Load,
    limit: Option<u64>,
    tally: &mut Tally,
    progress: &Progress,
) -> Result<(), String> {
    let chunk = load.size.max(1);
    let source = Arc::new(pattern(chunk + 251));
    let (mut reader, mut writer) = stream.into_split();
    let deadline = Instant::now() + load.duration;
    let (write_limit, source_w) = (load.timeout, source.clone());
    // The writer runs as its own task: an echo server sends back while we still send, and
    // with both in one loop a full socket buffer on each side would deadlock.
    let sender = tokio::spawn(async move {
        let mut sent: u64 = 0;
        while Instant::now() < deadline && limit.is_none_or(|n| sent < n) {
            let len = limit.map_or(chunk, |n| chunk.min((n - sent) as usize));
            let start = (sent % 251) as usize;
            with_timeout(
                write_limit,
                "send",
                writer.write_all(&source_w[start..start + len]),
            )
            .await?;
            sent += len as u64;
        }
        // Half-close: the server sees end-of-stream, finishes echoing, and closes its side.
        with_timeout(write_limit, "shut down the sending side", writer.shutdown()).await?;
        Ok::<u64, String>(sent)
    });
    let mut buffer = vec![0; chunk];
    let mut received: u64 = 0;
    loop {
        let n = with_timeout(load.timeout, "read the echo", reader.read(&mut buffer)).await?;
        if n == 0 {
            break;
        }
        let start = (received % 251) as usize;
        if buffer[..n] != source[start..start + n] {
            return Err(format!(
                "the echo differs from what was sent at byte {received}"
            ));
        }
        received += n as u64;
        tally.bytes = received;
        progress.operations.fetch_add(n as u64, Ordering::Relaxed);
    }
    let sent = sender.await.map_err(|e| e.to_string())??;
    if sent != received {
        return Err(format!("sent {sent} bytes but {received} came back"));
    }
    Ok(())
}

/// Opens a connection and proves the server serves it, unmeasured: server_05's greeting, or
/// one echo round trip.
async fn open_and_check(
    load: &Load,
    gate: &Semaphore,
    linger_zero: bool,
) -> Result<TcpStream, String> {
    let socket = if load.addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| e.to_string())?;
    if let Some(source) = next_source(load) {
        // SO_REUSEADDR lets the bind take a port whose old connection sits in TIME_WAIT.
        socket.set_reuseaddr(true).map_err(|e| e.to_string())?;
        socket
            .bind(SocketAddr::new(source, 0))
            .map_err(|e| format!("bind the source address {source}: {e}"))?;
    }
    if linger_zero {
        // Closing with a reset leaves no TIME_WAIT behind: tens of thousands of short
        // connections would otherwise exhaust the ephemeral ports within a run.
        socket.set_zero_linger().map_err(|e| e.to_string())?;
    }
    let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
    let mut stream = with_timeout(load.setup, "connect", socket.connect(load.addr)).await?;
    // Nagle off: a benchmark of small messages must not wait 40 ms for delayed acks.
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    if load.line {
        let mut greeting = vec![0; GREETING.len()];
        with_timeout(
            load.setup,
            "read the greeting",
            stream.read_exact(&mut greeting),
        )
        .await?;
        if greeting != GREETING {
            return Err("unexpected greeting".to_owned());
        }
    } else {
        let exchange = Exchange::new(load.size, false);
        let mut reply = vec![0; exchange.reply_len()];
        round_trip(&mut stream, &exchange, &mut reply, load.setup).await?;
    }
    Ok(stream)
}

/// The source address of the next connection, when `load.sources` asks for more than one:
/// 127.0.0.1, 127.0.0.2, ... in turn (Linux routes all of 127.0.0.0/8 to loopback).
fn next_source(load: &Load) -> Option<IpAddr> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    if load.sources <= 1 || !load.addr.is_ipv4() {
        return None;
    }
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % load.sources as usize;
    Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + n as u8)))
}

/// `connect`: `connections` clients in parallel open a connection, check it is served, and
/// close it, over and over; reports connections per second.
pub async fn connect_rate(load: Load) -> Report {
    let gate = Arc::new(Semaphore::new(load.connections));
    let progress = Arc::new(Progress::default());
    let start = Instant::now();
    let deadline = start + load.duration;
    progress_printer("connect", load.progress, load.duration, progress.clone());
    let mut tasks = Vec::new();
    for _ in 0..load.connections {
        let (load, gate, progress) = (load.clone(), gate.clone(), progress.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let opened = Instant::now();
                match open_and_check(&load, &gate, true).await {
                    Ok(stream) => {
                        drop(stream);
                        tally.latency.record(opened.elapsed());
                        tally.operations += 1;
                        progress.operations.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        tally.error(error);
                        progress.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            tally
        }));
    }
    let tally = gather(tasks).await;
    let elapsed = start.elapsed().as_secs_f64();
    let mut report = header("connect", &load);
    report
        .num("seconds", elapsed)
        .int("opened", tally.operations)
        .num("connections_per_s", tally.operations as f64 / elapsed)
        .latency(&tally.latency);
    tally.report(&mut report);
    report
}

/// `connect --hold`: opens `connections` clients, keeps them all open for the duration, proves
/// every one is still served at the end, and samples the server's resident memory meanwhile.
pub async fn hold(load: Load, pid: Option<u32>) -> Report {
    let gate = Arc::new(Semaphore::new(CONNECTS_IN_FLIGHT));
    let rss_before = pid.and_then(crate::memory::rss_kib);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..load.connections {
        let (load, gate) = (load.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            open_and_check(&load, &gate, false).await
        }));
    }
    let mut streams = Vec::new();
    let mut tally = Tally::default();
    for task in tasks {
        match task.await {
            Ok(Ok(stream)) => streams.push(stream),
            Ok(Err(error)) => tally.error(error),
            Err(error) => tally.error(error.to_string()),
        }
    }
    let setup = start.elapsed().as_secs_f64();
    if load.progress {
        eprintln!(
            "netbench connect --hold: {} connections open after {setup:.1} s",
            streams.len()
        );
    }
    let mut peak = rss_before.unwrap_or(0);
    let mut threads = 0;
    let held_until = Instant::now() + load.duration;
    while Instant::now() < held_until {
        if let Some(rss) = pid.and_then(crate::memory::rss_kib) {
            peak = peak.max(rss);
        }
        if let Some(n) = pid.and_then(crate::memory::threads) {
            threads = threads.max(n);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // While idle: the check below makes every connection busy at once, which costs a server
    // its per-client read buffers, so the peak after it is reported apart.
    let held_peak = peak;
    // Every held connection must still be answered, all at once.
    let mut checks = Vec::new();
    for mut stream in streams {
        let load = load.clone();
        checks.push(tokio::spawn(async move {
            let line = Exchange::new(load.size.max(2), load.line);
            let mut reply = vec![0; line.reply_len()];
            round_trip(&mut stream, &line, &mut reply, load.timeout).await
        }));
    }
    let mut served = 0;
    for check in checks {
        match check.await {
            Ok(Ok(())) => served += 1,
            Ok(Err(error)) => tally.error(error),
            Err(error) => tally.error(error.to_string()),
        }
    }
    if let Some(rss) = pid.and_then(crate::memory::rss_kib) {
        peak = peak.max(rss);
    }
    let mut report = header("hold", &load);
    report
        .num("setup_seconds", setup)
        .int("held", served)
        .int("rss_before_kib", rss_before.unwrap_or(0))
        .int("rss_held_kib", held_peak)
        .int("rss_peak_kib", peak)
        .int("hwm_kib", pid.and_then(crate::memory::hwm_kib).unwrap_or(0))
        .int("threads", threads);
    tally.report(&mut report);
    report
}
