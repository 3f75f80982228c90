//! The HTTP response parser gives the same answer however the bytes of a response are cut:
//! whole, split at random points, byte by byte, and streamed (the body drained as it comes).
//!
//! TCP decides where one `read` ends and the next begins, so an answer that depends on it
//! (a limit checked only on a partial parse, say) is a bug a server can trigger at will.
//! The responses are random: every framing, chunk extensions and trailers, interim `1xx`
//! heads, `HEAD`, `204` and `304`, sizes near and over the limits, and now and then a
//! corrupted byte.

use netutil::http::{Limits, Method, Response, ResponseParser};
use proptest::prelude::*;

/// What a parse came to, comparable across ways of feeding: the response, or the error as
/// text (errors that carry an `io::Error` have no `PartialEq`).
#[derive(Debug, PartialEq)]
enum Outcome {
    Response(Response),
    Error(String),
}

fn outcome(result: Result<Response, netutil::http::Error>) -> Outcome {
    match result {
        Ok(response) => Outcome::Response(response),
        Err(error) => Outcome::Error(format!("{error:?}")),
    }
}

/// Feeds `pieces` in order, stopping at the first answer; a parser still waiting after the
/// last piece is told the server closed. A streaming parser's body is drained after every
/// piece and put back together, so its result compares with a collecting parser's.
fn parse<'a>(
    method: Method,
    limits: Limits,
    streaming: bool,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> Outcome {
    let mut parser = if streaming {
        ResponseParser::streaming(method, limits)
    } else {
        ResponseParser::new(method, limits)
    };
    let mut drained = Vec::new();
    let finish = |mut response: Response, drained: Vec<u8>| {
        response.body = [drained, response.body].concat();
        Ok(response)
    };
    for piece in pieces {
        match parser.feed(piece) {
            Ok(Some(response)) => return outcome(finish(response, drained)),
            Ok(None) => {}
            Err(error) => return outcome(Err(error)),
        }
        if streaming {
            parser.drain_body_to(&mut drained).unwrap();
        }
    }
    outcome(
        parser
            .closed()
            .and_then(|response| finish(response, drained)),
    )
}

/// A header or trailer field: a token name and a value of visible text, spaces and tabs,
/// sometimes a byte above 0x7f (obsolete text, still allowed).
fn field() -> impl Strategy<Value = (String, Vec<u8>)> {
    let name = "[A-Za-z][A-Za-z0-9-]{0,12}";
    let value = prop_oneof![
        4 => proptest::collection::vec(prop_oneof![0x20u8..0x7f, Just(b'\t')], 0..40),
        1 => proptest::collection::vec(0x20u8..=0xff, 0..40).prop_filter("no DEL", |v| !v.contains(&0x7f)),
        1 => (0usize..600).prop_map(|len| vec![b'v'; len]),
    ];
    (name, value)
}

fn fields(max: usize) -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    proptest::collection::vec(field(), 0..max)
}

fn write_fields(out: &mut Vec<u8>, fields: &[(String, Vec<u8>)]) {
    for (name, value) in fields {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
}

#[derive(Debug, Clone)]
enum Body {
    ContentLength {
        body: Vec<u8>,
        declared_extra: i8,
    },
    Chunked {
        chunks: Vec<(Vec<u8>, String)>,
        trailers: Vec<(String, Vec<u8>)>,
    },
    UntilClose(Vec<u8>),
}

fn body() -> impl Strategy<Value = Body> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..300);
    let extension = prop_oneof![
        Just(String::new()),
        "[a-z]{1,5}".prop_map(|name| format!(";{name}")),
        "[a-z]{1,5}=[a-z0-9]{1,5}".prop_map(|pair| format!(";{pair}")),
        "[a-z]{1,5}".prop_map(|name| format!(";{name}=\"quoted value\"")),
    ];
    prop_oneof![
        (bytes(), prop_oneof![8 => Just(0i8), 1 => -3i8..3]).prop_map(|(body, declared_extra)| {
            Body::ContentLength {
                body,
                declared_extra,
            }
        }),
        (
            proptest::collection::vec((bytes(), extension), 0..6),
            prop_oneof![2 => Just(Vec::new()), 1 => fields(6), 1 => fields(200)],
        )
            .prop_map(|(chunks, trailers)| Body::Chunked { chunks, trailers }),
        bytes().prop_map(Body::UntilClose),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    method: Method,
    limits: Limits,
    wire: Vec<u8>,
}

fn case() -> impl Strategy<Value = Case> {
    let status = prop_oneof![
        6 => Just(200u16),
        1 => Just(204u16),
        1 => Just(304u16),
        1 => Just(404u16),
        1 => 100u16..600,
    ];
    (
        prop_oneof![4 => Just(Method::Get), 1 => Just(Method::Head)],
        (64usize..4096, 0usize..600),
        any::<bool>(),
        any::<bool>(),
        status,
        "[ -~]{0,20}",
        fields(12),
        body(),
        proptest::option::weighted(0.1, (any::<prop::sample::Index>(), any::<u8>())),
    )
        .prop_map(
            |(
                method,
                (max_head, max_body),
                http10,
                interim,
                status,
                reason,
                headers,
                body,
                corrupt,
            )| {
                let mut wire = Vec::new();
                if interim {
                    wire.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                }
                let version = if http10 { 0 } else { 1 };
                wire.extend_from_slice(
                    format!("HTTP/1.{version} {status} {reason}\r\n").as_bytes(),
                );
                write_fields(&mut wire, &headers);
                match &body {
                    Body::ContentLength {
                        body,
                        declared_extra,
                    } => {
                        let declared = (body.len() as i64 + i64::from(*declared_extra)).max(0);
                        wire.extend_from_slice(
                            format!("Content-Length: {declared}\r\n\r\n").as_bytes(),
                        );
                        wire.extend_from_slice(body);
                    }
                    Body::Chunked { chunks, trailers } => {
                        wire.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                        for (chunk, extension) in
                            chunks.iter().filter(|(chunk, _)| !chunk.is_empty())
                        {
                            wire.extend_from_slice(
                                format!("{:x}{extension}\r\n", chunk.len()).as_bytes(),
                            );
                            wire.extend_from_slice(chunk);
                            wire.extend_from_slice(b"\r\n");
                        }
                        wire.extend_from_slice(b"0\r\n");
                        write_fields(&mut wire, trailers);
                        wire.extend_from_slice(b"\r\n");
                    }
                    Body::UntilClose(body) => {
                        wire.extend_from_slice(b"\r\n");
                        wire.extend_from_slice(body);
                    }
                }
                if let Some((at, byte)) = corrupt {
                    let at = at.index(wire.len());
                    wire[at] = byte;
                }
                Case {
                    method,
                    limits: Limits { max_head, max_body },
                    wire,
                }
            },
        )
}

// 400 cases keep `cargo test` quick; the fuzz target `http_response` (fuzz/README.md) makes
// the same comparison for as long as you let it run.
proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn the_answer_does_not_depend_on_how_the_bytes_are_cut(
        case in case(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let Case { method, limits, wire } = case;
        let whole = parse(method, limits, false, [wire.as_slice()]);

        let mut points: Vec<usize> = cuts.iter().map(|cut| cut.index(wire.len() + 1)).collect();
        points.push(0);
        points.push(wire.len());
        points.sort_unstable();
        let split: Vec<&[u8]> = points.windows(2).map(|w| &wire[w[0]..w[1]]).collect();
        prop_assert_eq!(&parse(method, limits, false, split.iter().copied()), &whole, "split at {:?}", points);

        let bytes = wire.chunks(1);
        prop_assert_eq!(&parse(method, limits, false, bytes), &whole, "byte by byte");

        prop_assert_eq!(&parse(method, limits, true, split.iter().copied()), &whole, "streamed");
        prop_assert_eq!(&parse(method, limits, true, wire.chunks(1)), &whole, "streamed byte by byte");
    }
}

/// The case issue 10 reported: a 60 KB trailer section was accepted in one read and refused
/// in 1 KB reads.
#[test]
fn a_large_trailer_section_gets_one_answer_in_any_pieces() {
    let mut wire =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n".to_vec();
    for index in 0..1000 {
        wire.extend_from_slice(format!("X-Trailer-{index:04}: {}\r\n", "t".repeat(44)).as_bytes());
    }
    wire.extend_from_slice(b"\r\n");
    assert!(wire.len() > 60_000);
    let limits = Limits::default();
    let whole = parse(Method::Get, limits, false, [wire.as_slice()]);
    let kilobytes = parse(Method::Get, limits, false, wire.chunks(1024));
    assert_eq!(kilobytes, whole);
    // 1000 fields are more than a head may have, so both refuse it, for the same reason.
    assert!(
        matches!(&whole, Outcome::Error(text) if text.contains("TooManyHeaders")),
        "{whole:?}"
    );

    // Fewer, longer fields: the size limit decides, in both cases.
    let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n".to_vec();
    for index in 0..100 {
        wire.extend_from_slice(format!("X-Trailer-{index:02}: {}\r\n", "t".repeat(640)).as_bytes());
    }
    wire.extend_from_slice(b"\r\n");
    let whole = parse(Method::Get, limits, false, [wire.as_slice()]);
    assert_eq!(parse(Method::Get, limits, false, wire.chunks(1024)), whole);
    assert!(
        matches!(&whole, Outcome::Error(text) if text.contains("HeadTooLarge")),
        "{whole:?}"
    );
}
