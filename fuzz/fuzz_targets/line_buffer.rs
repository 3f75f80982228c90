//! `server::LineBuffer`, the line reader of server_05, server_06 and server_07, against any
//! bytes cut into any reads: the lines it hands back are exactly the input's lines, each with
//! its "\n"; a line longer than the limit is refused, however it was cut, and never costs more
//! than one buffer.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use netutil::server::{Limit, LineBuffer, Limits};

fuzz_target!(|data: &[u8]| {
    // The first two bytes choose the limit and how the rest is cut into reads.
    let [max_line, piece, input @ ..] = data else {
        return;
    };
    let max_line = usize::from(*max_line) * 16 + 1;
    let piece = usize::from(*piece).max(1);
    let limits = Limits {
        max_clients: 1,
        idle_timeout: Duration::from_secs(60),
        line_timeout: Duration::from_secs(30),
        max_line,
        grace: Duration::ZERO,
    };

    // What a correct reader hands back: every "\n"-ended line in order, until the first line
    // over the limit.
    let mut expected = Vec::new();
    let mut too_long = false;
    let mut rest = input;
    while let Some(end) = rest.iter().position(|&byte| byte == b'\n') {
        if end > max_line {
            too_long = true;
            break;
        }
        expected.push(&rest[..=end]);
        rest = &rest[end + 1..];
    }
    too_long |= rest.len() > max_line;

    let now = Instant::now();
    let mut buffer = LineBuffer::new(limits, now);
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut refused = false;
    'reads: for chunk in input.chunks(piece) {
        let mut chunk = chunk;
        while !chunk.is_empty() {
            let received = buffer.read_from(&mut chunk, now).expect("reading a slice");
            assert!(received.bytes > 0, "a read with no room: {received:?}");
            while let Some(line) = buffer.next_line() {
                match line {
                    Ok(line) => got.push(line.to_vec()),
                    Err(limit) => {
                        assert_eq!(limit, Limit::TooLong);
                        refused = true;
                        break 'reads;
                    }
                }
            }
        }
    }
    assert_eq!(refused, too_long, "refused a line within the limit, or kept one over it");
    assert_eq!(got, expected, "the lines, in order, each with its \\n");
    if !refused {
        // The end of the stream: the bytes after the last "\n" are a last line.
        buffer.filled(0, now);
        let last = buffer.next_line().map(|line| line.expect("within the limit").to_vec());
        assert_eq!(last.unwrap_or_default(), rest, "the bytes after the last \\n");
        assert_eq!(buffer.next_line(), None);
    }
});
