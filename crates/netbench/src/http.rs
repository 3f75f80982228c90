//! The `http` mode: how fast `netutil::http` (the kit's own blocking HTTP/1.1 client) fetches
//! one large file, to compare with `curl` fetching the same file from the same server.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netutil::http::{self, Limits, Options};

use crate::report::Report;

/// Fetches `path` from `addr` up to `fetches` times (at least once, while `duration` lasts)
/// and reports the best and the mean rate of body bytes per second.
pub fn fetch(addr: SocketAddr, path: &str, fetches: u32, duration: Duration) -> Report {
    let options = Options {
        total_timeout: duration.max(Duration::from_secs(1)),
        limits: Limits {
            // Large enough for the benchmark's 100 MB file; the body is held in memory.
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
        match http::get(&host, addr.port(), path, &options) {
            Ok(response) if response.status == 200 => {
                let rate = response.body.len() as f64 / began.elapsed().as_secs_f64() / 1e6;
                best = best.max(rate);
                bytes += response.body.len() as u64;
                done += 1;
            }
            Ok(response) => {
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
        .int("fetches", done)
        .int("bytes", bytes)
        .num("seconds", elapsed)
        .num("mb_per_s", bytes as f64 / elapsed / 1e6)
        .num("best_mb_per_s", best)
        .int("errors", errors)
        .text("first_error", first_error);
    report
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
            for peer in listener.incoming().take(2) {
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
        let report = fetch(addr, "/", 2, Duration::from_secs(10));
        assert_eq!(report.get("fetches"), Some(&crate::report::Value::Int(2)));
        assert_eq!(report.get("bytes"), Some(&crate::report::Value::Int(10)));
        assert_eq!(report.get("errors"), Some(&crate::report::Value::Int(0)));
    }
}
