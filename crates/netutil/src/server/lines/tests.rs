use super::*;
use std::time::Duration;

fn limits(max_line: usize) -> Limits {
    Limits {
        max_clients: 1,
        idle_timeout: Duration::from_secs(60),
        line_timeout: Duration::from_secs(30),
        max_line,
        grace: Duration::ZERO,
    }
}

/// Feeds `input` in pieces of `piece` bytes and collects every line, or the limit.
fn cut(input: &[u8], piece: usize, max_line: usize) -> (Vec<Vec<u8>>, Option<Limit>) {
    let now = Instant::now();
    let mut buffer = LineBuffer::new(limits(max_line), now);
    let mut lines = Vec::new();
    for chunk in input.chunks(piece) {
        let mut chunk = chunk;
        while !chunk.is_empty() {
            let got = buffer.read_from(&mut chunk, now).unwrap();
            assert!(got.bytes > 0 || got.room == 0);
            while let Some(line) = buffer.next_line() {
                match line {
                    Ok(line) => lines.push(line.to_vec()),
                    Err(limit) => return (lines, Some(limit)),
                }
            }
        }
    }
    buffer.filled(0, now); // the end of the stream
    while let Some(line) = buffer.next_line() {
        lines.push(line.expect("within the limit").to_vec());
    }
    assert!(buffer.ended() && buffer.is_empty());
    (lines, None)
}

#[test]
fn lines_come_out_whole_however_the_bytes_are_cut() {
    let input: Vec<u8> = (0..500)
        .flat_map(|n| format!("line {n} {}\n", "x".repeat(n % 97)).into_bytes())
        .chain(*b"last without newline")
        .collect();
    let (expected, _) = cut(&input, input.len(), 4096);
    assert_eq!(expected.len(), 501);
    assert_eq!(expected[500], b"last without newline");
    for piece in [1, 2, 3, 7, 100, 1023, 1024, 1025, 5000] {
        assert_eq!(
            cut(&input, piece, 4096),
            (expected.clone(), None),
            "{piece}"
        );
    }
}

#[test]
fn the_longest_line_fits_and_one_byte_more_does_not() {
    for piece in [1, 3, 8, 9, 10, 64] {
        let (lines, over) = cut(b"12345678\n123456789\n", piece, 8);
        assert_eq!(lines, vec![b"12345678\n".to_vec()], "{piece}");
        assert_eq!(over, Some(Limit::TooLong), "{piece}");
        // Without a "\n" at all, the limit shows as soon as max_line + 1 bytes are in.
        let (lines, over) = cut(&[b'x'; 9], piece, 8);
        assert!(lines.is_empty() && over == Some(Limit::TooLong), "{piece}");
    }
}

#[test]
fn a_line_without_newline_never_costs_more_than_the_limit() {
    let now = Instant::now();
    let mut buffer = LineBuffer::new(limits(100), now);
    let endless = std::iter::repeat_n(b'x', 10_000_000).collect::<Vec<u8>>();
    let mut rest = &endless[..];
    loop {
        buffer.read_from(&mut rest, now).unwrap();
        if let Some(over) = buffer.next_line() {
            assert_eq!(over, Err(Limit::TooLong));
            break;
        }
    }
    assert!(
        buffer.storage.len() <= LARGEST_READ,
        "{}",
        buffer.storage.len()
    );
    assert!(endless.len() - rest.len() <= LARGEST_READ + 101);
}

#[test]
fn the_clocks_follow_the_lines() {
    let start = Instant::now();
    let secs = Duration::from_secs;
    let mut buffer = LineBuffer::new(limits(4096), start);
    // Between lines, the idle timeout runs from whenever the server starts waiting.
    assert_eq!(buffer.deadline(start), (start + secs(60), Limit::Idle));
    let later = start + secs(5);
    assert_eq!(buffer.deadline(later), (later + secs(60), Limit::Idle));
    buffer.read_from(&b"par"[..], later).unwrap();
    assert_eq!(buffer.next_line(), None);
    let line_deadline = later + secs(30);
    assert_eq!(buffer.deadline(later), (line_deadline, Limit::TooSlow));
    // More of the same line does not move its deadline: a trickle cannot hold a seat.
    buffer.read_from(&b"tial"[..], later + secs(20)).unwrap();
    assert_eq!(
        buffer.deadline(later + secs(20)),
        (line_deadline, Limit::TooSlow)
    );
    let end = later + secs(25);
    buffer.read_from(&b"\nnext"[..], end).unwrap();
    assert_eq!(buffer.next_line(), Some(Ok(&b"partial\n"[..])));
    // "next" arrived with the end of "partial": its line started then.
    assert_eq!(buffer.deadline(end), (end + secs(30), Limit::TooSlow));
    // A pause of the server's own restarts the line's clock.
    let resumed = end + secs(40);
    buffer.restart_line_clock(resumed);
    assert_eq!(
        buffer.deadline(resumed),
        (resumed + secs(30), Limit::TooSlow)
    );
    buffer.discard();
    assert_eq!(buffer.deadline(resumed), (resumed + secs(60), Limit::Idle));
    assert_eq!(buffer.lines(), 1);
}

#[test]
fn an_idle_client_costs_no_buffer() {
    let buffer = LineBuffer::new(limits(4096), Instant::now());
    assert_eq!(buffer.storage.capacity(), 0);
}

#[test]
fn lines_left_when_the_stream_ends_still_come_out_one_by_one() {
    let now = Instant::now();
    let mut buffer = LineBuffer::new(limits(4096), now);
    buffer.read_from(&b"one\ntwo\nlast"[..], now).unwrap();
    assert_eq!(buffer.next_line(), Some(Ok(&b"one\n"[..])));
    // A server that stops taking lines here (its replies wait) reads the end meanwhile.
    assert_eq!(buffer.read_from(&b""[..], now).unwrap().bytes, 0);
    assert!(buffer.ended() && !buffer.is_empty());
    assert_eq!(buffer.next_line(), Some(Ok(&b"two\n"[..])));
    assert_eq!(buffer.next_line(), Some(Ok(&b"last"[..])));
    assert_eq!(buffer.next_line(), None);
    assert_eq!(buffer.lines(), 3);
}
