//! The `ntp` mode: SNTP requests per second and their round trip against an NTP server.
//!
//! A benchmark needs less than `netutil::ntp::query`: no clock arithmetic, just a request
//! with a unique transmit timestamp that the server must echo back as the origin timestamp,
//! which is how a reply is matched to its request. The packets themselves are
//! `netutil::ntp::Header`s, so netbench and the lessons share one codec.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use netutil::ntp::{HEADER_LEN, Header, Mode, Timestamp};
use tokio::net::UdpSocket;
use tokio::time::timeout;

use crate::histogram::Histogram;
use crate::report::Report;
use crate::tcp::{Progress, progress_printer};

/// A version-4 client request with `token` as its transmit timestamp.
///
/// ```
/// let request = netbench::ntp::request(7);
/// assert_eq!(request[0], 0x23);
/// assert_eq!(&request[40..], &7u64.to_be_bytes());
/// ```
pub fn request(token: u64) -> [u8; HEADER_LEN] {
    Header::client_request(4, Timestamp::from_bits(token)).to_bytes()
}

/// Why a datagram is not the answer to request `token`.
#[derive(Debug, PartialEq)]
pub enum Rejected {
    /// Shorter than an NTP header.
    Short(usize),
    /// Not mode 4 (server).
    NotServer(Mode),
    /// Stratum 0: a kiss-o'-death (the server asks us to slow down or go away).
    KissOfDeath,
    /// The origin timestamp is not our transmit timestamp: a stale or forged reply.
    Unmatched,
}

/// Checks that `reply` answers request `token`.
pub fn check_reply(reply: &[u8], token: u64) -> Result<(), Rejected> {
    let header = Header::parse(reply).map_err(|_| Rejected::Short(reply.len()))?;
    if header.mode != Mode::Server {
        return Err(Rejected::NotServer(header.mode));
    }
    if header.stratum == 0 {
        return Err(Rejected::KissOfDeath);
    }
    if header.origin_time != Timestamp::from_bits(token) {
        return Err(Rejected::Unmatched);
    }
    Ok(())
}

/// What an `ntp` run does.
#[derive(Clone, Debug)]
pub struct NtpLoad {
    /// The server, already checked to be on loopback.
    pub addr: SocketAddr,
    /// Clients asking at once, each with its own socket and one request in flight.
    pub clients: usize,
    /// How long to run.
    pub duration: Duration,
    /// How long a request may wait for its answer before it counts as lost.
    pub timeout: Duration,
    /// Print a progress line every second.
    pub progress: bool,
}

/// Runs the clients and reports requests per second, latency and errors.
pub async fn run(load: NtpLoad) -> Report {
    // Tokens must be unique across clients and unpredictable across runs, like a real
    // client's random transmit timestamp.
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let next_token = Arc::new(AtomicU64::new(seed));
    let progress = Arc::new(Progress::default());
    let start = Instant::now();
    let deadline = start + load.duration;
    progress_printer("ntp", load.progress, load.duration, progress.clone());
    let mut tasks = Vec::new();
    for _ in 0..load.clients {
        let (load, next_token, progress) = (load.clone(), next_token.clone(), progress.clone());
        tasks.push(tokio::spawn(async move {
            client(&load, deadline, &next_token, &progress).await
        }));
    }
    let (mut latency, mut errors, mut first_error) = (Histogram::default(), 0u64, None);
    for task in tasks {
        match task.await {
            Ok((h, e, first)) => {
                latency.merge(&h);
                errors += e;
                first_error = first_error.or(first);
            }
            Err(error) => {
                errors += 1;
                first_error = first_error.or(Some(error.to_string()));
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut report = Report::default();
    report
        .text("mode", "ntp")
        .text("target", load.addr.to_string())
        .int("connections", load.clients as u64)
        .num("seconds", elapsed)
        .int("requests", latency.count())
        .num("requests_per_s", latency.count() as f64 / elapsed)
        .latency(&latency)
        .int("errors", errors)
        .text("first_error", first_error.unwrap_or_default());
    report
}

async fn client(
    load: &NtpLoad,
    deadline: Instant,
    next_token: &AtomicU64,
    progress: &Progress,
) -> (Histogram, u64, Option<String>) {
    let mut latency = Histogram::default();
    let mut errors = 0;
    let mut first_error: Option<String> = None;
    let bind: SocketAddr = if load.addr.is_ipv4() {
        ([127, 0, 0, 1], 0).into()
    } else {
        (std::net::Ipv6Addr::LOCALHOST, 0).into()
    };
    let socket = match UdpSocket::bind(bind).await {
        Ok(socket) => socket,
        Err(error) => return (latency, 1, Some(format!("bind: {error}"))),
    };
    if let Err(error) = socket.connect(load.addr).await {
        return (latency, 1, Some(format!("connect: {error}")));
    }
    let mut buffer = [0u8; 512];
    while Instant::now() < deadline {
        let token = next_token.fetch_add(1, Ordering::Relaxed);
        let sent = Instant::now();
        if let Err(error) = socket.send(&request(token)).await {
            errors += 1;
            first_error.get_or_insert(format!("send: {error}"));
            continue;
        }
        let give_up = sent + load.timeout;
        // Skip stale answers to requests that already timed out: only our token counts.
        let outcome = loop {
            let left = give_up.saturating_duration_since(Instant::now());
            match timeout(left, socket.recv(&mut buffer)).await {
                Err(_) => break Err("no answer in time".to_owned()),
                Ok(Err(error)) => break Err(format!("receive: {error}")),
                Ok(Ok(n)) => match check_reply(&buffer[..n], token) {
                    Ok(()) => break Ok(()),
                    Err(Rejected::Unmatched) => continue,
                    Err(other) => break Err(format!("bad reply: {other:?}")),
                },
            }
        };
        match outcome {
            Ok(()) => {
                latency.record(sent.elapsed());
                progress.operations.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                errors += 1;
                progress.errors.fetch_add(1, Ordering::Relaxed);
                first_error.get_or_insert(error);
                // A refused port answers at once; do not spin on it.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    (latency, errors, first_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply_to(token: u64) -> [u8; HEADER_LEN] {
        let mut reply = Header::client_request(4, Timestamp::ZERO);
        reply.mode = Mode::Server;
        reply.stratum = 2;
        reply.origin_time = Timestamp::from_bits(token);
        reply.to_bytes()
    }

    #[test]
    fn a_matching_server_reply_passes() {
        assert_eq!(check_reply(&reply_to(99), 99), Ok(()));
    }

    #[test]
    fn bad_replies_are_told_apart() {
        assert_eq!(check_reply(&[0; 47], 1), Err(Rejected::Short(47)));
        assert_eq!(check_reply(&reply_to(1), 2), Err(Rejected::Unmatched));
        let mut kod = reply_to(1);
        kod[1] = 0;
        assert_eq!(check_reply(&kod, 1), Err(Rejected::KissOfDeath));
        assert_eq!(
            check_reply(&request(1), 1),
            Err(Rejected::NotServer(Mode::Client))
        );
    }
}
