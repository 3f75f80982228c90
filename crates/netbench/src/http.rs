//! The `http` mode: how fast `netutil::http` (the kit's own blocking HTTP/1.1 client) fetches
//! one large file, to compare with `curl` fetching the same file from the same server.
//!
//! By default the body is streamed into [`std::io::sink`] with `netutil::http::get_to`, which
//! is what `curl -o /dev/null` does; `--collect` measures `netutil::http::get`, which holds
//! the whole body in memory.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netutil::http::{self, Limits, Options, Response};

use crate::report::Report;

/// What happens to each body fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// Written to [`std::io::sink`] as it arrives (`netutil::http::get_to`).
    Streamed,
    /// Held in memory until the response is complete (`netutil::http::get`).
    Collected,
}

impl Body {
    /// The name the JSON report gives it.
    pub fn name(self) -> &'static str {
        match self {
            Body::Streamed => "streamed",
            Body::Collected => "collected",
        }
    }
}

/// Fetches `path` from `addr` up to `fetches` times (at least once, while `duration` lasts)
/// and reports the best and the mean rate of body bytes per second.
pub fn fetch(addr: SocketAddr, path: &str, fetches: u32, duration: Duration, body: Body) -> Report {
    let options = Options {
        total_timeout: duration.max(Duration::from_secs(1)),
        limits: Limits {
            // Large enough for the benchmark's 100 MB file (held in memory with --collect).
            max_body: 1 << 30,
            ..Limits::default()
        },
        ..Options::default()
    };
    let host = addr.ip().to_string();
    let start = Instant::now();
    let (mut done, mut bytes, mut best, mut errors) = (0u64, 0u64, 0.0f64, 0u64);
    let mut first_error = String::new();
    while done + errors < u64::from(fetches.max(1)) && (done == 0 || start.elapsed() < duration) {
        let began = Instant::now();
        match get(&host, addr.port(), path, &options, body) {
            Ok((response, length)) if response.status == 200 => {
                let rate = length as f64 / began.elapsed().as_secs_f64() / 1e6;
                best = best.max(rate);
                bytes += length;
                done += 1;
            }
            Ok((response, _)) => {
                errors += 1;
                first_error = format!("status {}", response.status);
            }
            Err(error) => {
                errors += 1;
                first_error = error.to_string();
            }
        }
        if errors > 0 && done == 0 && start.elapsed() >= duration {
            break;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut report = Report::default();
    report
        .text("mode", "http")
        .text("target", format!("{addr}{path}"))
        .text("body", body.name())
        .int("fetches", done)
        .int("bytes", bytes)
        .num("seconds", elapsed)
        .num("mb_per_s", bytes as f64 / elapsed / 1e6)
        .num("best_mb_per_s", best)
        .int("errors", errors)
        .text("first_error", first_error);
    report
}

/// One fetch, and how many body bytes it brought.
fn get(
    host: &str,
    port: u16,
    path: &str,
    options: &Options,
    body: Body,
) -> Result<(Response, u64), http::Error> {
    match body {
        Body::Collected => {
            let response = http::get(host, port, path, options)?;
            let length = response.body.len() as u64;
            Ok((response, length))
        }
        Body::Streamed => {
            // A Write that only counts, so the figure is checked against what arrived.
            let mut counted = Counted(0);
            let response = http::get_to(host, port, path, options, &mut counted)?;
            Ok((response, counted.0))
        }
    }
}

/// Bytes written, thrown away as [`std::io::sink`] does.
struct Counted(u64);

impl std::io::Write for Counted {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len() as u64;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    #[test]
    fn fetches_a_body_and_counts_its_bytes() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for peer in listener.incoming().take(4) {
                let peer = peer.unwrap();
                let mut request = BufReader::new(&peer);
                let mut line = String::new();
                while request.read_line(&mut line).unwrap() > 2 {
                    line.clear();
                }
                (&peer)
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
                    .unwrap();
            }
        });
        for body in [Body::Streamed, Body::Collected] {
            let report = fetch(addr, "/", 2, Duration::from_secs(10), body);
            assert_eq!(report.get("fetches"), Some(&crate::report::Value::Int(2)));
            assert_eq!(report.get("bytes"), Some(&crate::report::Value::Int(10)));
            assert_eq!(report.get("errors"), Some(&crate::report::Value::Int(0)));
        }
    }
}
