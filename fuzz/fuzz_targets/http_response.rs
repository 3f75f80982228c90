//! The HTTP response parser against any bytes: it never panics, gives the same answer whether
//! the bytes come whole, split at points the fuzzer picks, one at a time or streamed, and
//! never returns more than its limits allow.
//!
//! Input layout: byte 0 picks the method (odd: HEAD), bytes 1–2 the head limit, bytes 3–4 the
//! body limit, byte 5 how many cut points follow (at most 8, two bytes each); the rest is
//! the response.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netutil::http::{Limits, Method, Response, ResponseParser};

fuzz_target!(|data: &[u8]| {
    let Some((&[method, h0, h1, b0, b1, cut_count], rest)) = data.split_first_chunk::<6>() else {
        return;
    };
    let method = if method % 2 == 1 {
        Method::Head
    } else {
        Method::Get
    };
    // Small limits, so that inputs of a few kilobytes reach them.
    let limits = Limits {
        max_head: usize::from(u16::from_le_bytes([h0, h1]) % 4096) + 16,
        max_body: usize::from(u16::from_le_bytes([b0, b1]) % 8192),
    };
    let cut_bytes = usize::from(cut_count % 9) * 2;
    if rest.len() < cut_bytes {
        return;
    }
    let (cuts, wire) = rest.split_at(cut_bytes);
    let mut points: Vec<usize> = cuts
        .chunks(2)
        .map(|pair| usize::from(u16::from_le_bytes([pair[0], pair[1]])) % (wire.len() + 1))
        .chain([0, wire.len()])
        .collect();
    points.sort_unstable();
    let split: Vec<&[u8]> = points.windows(2).map(|w| &wire[w[0]..w[1]]).collect();

    let whole = parse(method, limits, false, [wire]);
    assert_eq!(
        parse(method, limits, false, split.iter().copied()),
        whole,
        "split"
    );
    assert_eq!(
        parse(method, limits, false, wire.chunks(1)),
        whole,
        "byte by byte"
    );
    assert_eq!(
        parse(method, limits, true, split.iter().copied()),
        whole,
        "streamed"
    );

    if let Ok(response) = &whole {
        assert!(
            response.body.len() <= limits.max_body,
            "body over its limit"
        );
        // Characters, not bytes: invalid UTF-8 in a value becomes U+FFFD (three bytes) for
        // each bad byte, while the limit counts the bytes on the wire.
        let fields = |list: &[(String, String)]| -> usize {
            list.iter()
                .map(|(name, value)| name.chars().count() + value.chars().count())
                .sum()
        };
        assert!(
            fields(&response.headers) + fields(&response.trailers) <= limits.max_head,
            "head and trailers over their limit"
        );
        if method == Method::Head {
            assert!(response.body.is_empty(), "a body for HEAD");
        }
    }
});

/// Feeds `pieces`, stopping at the first answer; closes if none came. A streaming parser's
/// body is drained after each piece and put back together.
fn parse<'a>(
    method: Method,
    limits: Limits,
    streaming: bool,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Response, String> {
    let mut parser = if streaming {
        ResponseParser::streaming(method, limits)
    } else {
        ResponseParser::new(method, limits)
    };
    let mut drained = Vec::new();
    let finish = |mut response: Response, drained: Vec<u8>| {
        response.body = [drained, response.body].concat();
        response
    };
    for piece in pieces {
        match parser.feed(piece) {
            Ok(Some(response)) => return Ok(finish(response, drained)),
            Ok(None) => {}
            Err(error) => return Err(format!("{error:?}")),
        }
        if streaming {
            parser
                .drain_body_to(&mut drained)
                .expect("a Vec takes any bytes");
        }
    }
    parser
        .closed()
        .map(|response| finish(response, drained))
        .map_err(|error| format!("{error:?}"))
}
