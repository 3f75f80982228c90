//! The physical latency floor: a blocking one-connection ping-pong and a minimal blocking
//! echo server. Each round trip costs the client exactly one `write` and one `read` (no event
//! loop, no would-block), and the server the same, so nothing but the kernel's loopback path
//! and the scheduler sits between the two ends.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::histogram::Histogram;
use crate::protocol::{Exchange, GREETING};
use crate::report::Report;

/// `pingpong`: one blocking connection, one message in flight, for `duration`.
pub fn pingpong(
    addr: SocketAddr,
    size: usize,
    line: bool,
    duration: Duration,
    limit: Duration,
) -> io::Result<Report> {
    let mut stream = TcpStream::connect_timeout(&addr, limit)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(limit))?;
    stream.set_write_timeout(Some(limit))?;
    if line {
        let mut greeting = vec![0; GREETING.len()];
        stream.read_exact(&mut greeting)?;
        if greeting != GREETING {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "unexpected greeting",
            ));
        }
    }
    let mut exchange = Exchange::new(size, line);
    let mut reply = vec![0; exchange.reply_len()];
    let mut latency = Histogram::default();
    let start = Instant::now();
    let mut n = 0;
    let mut errors = 0;
    let mut first_error = String::new();
    while start.elapsed() < duration {
        exchange.advance(n);
        let sent = Instant::now();
        let result = stream
            .write_all(exchange.message())
            .and_then(|()| stream.read_exact(&mut reply));
        if let Err(error) = result {
            errors += 1;
            first_error = error.to_string();
            break;
        }
        if !exchange.is_reply(&reply) {
            errors += 1;
            first_error = "the reply differs from what was sent".to_owned();
            break;
        }
        latency.record(sent.elapsed());
        n += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut report = Report::default();
    report
        .text("mode", "pingpong")
        .text("target", addr.to_string())
        .text("protocol", if line { "line" } else { "echo" })
        .int("connections", 1)
        .int("size", size as u64)
        .num("seconds", elapsed)
        .int("messages", n)
        .num("messages_per_s", n as f64 / elapsed)
        .latency(&latency)
        .int("errors", errors)
        .text("first_error", first_error);
    Ok(report)
}

/// `raw-echo`: the least a TCP echo server can do, one blocking thread per connection, a
/// 64 KiB buffer, one `read` and one `write` per message. Runs until killed.
pub fn raw_echo(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept()?;
        thread::spawn(move || {
            let _ = echo_until_closed(stream);
        });
    }
}

fn echo_until_closed(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buffer[..n])?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pingpong_against_raw_echo() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || raw_echo(listener));
        let report = pingpong(
            addr,
            100,
            false,
            Duration::from_millis(200),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(report.get("errors"), Some(&crate::report::Value::Int(0)));
        let Some(crate::report::Value::Int(messages)) = report.get("messages") else {
            panic!("no message count: {report:?}");
        };
        assert!(*messages > 0);
    }
}
