//! The NTP header decoder and the server's whole protocol, `ntp::server::reply_to`, against
//! any datagram: no panic; a header that decodes encodes back to the same 48 bytes; a reply
//! only to a client request (mode 3, version 1–4), never larger than the request, and never
//! in any mode but server.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use netutil::ntp::{HEADER_LEN, Header, Mode, ServerConfig, server::reply_to};

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = Header::parse(data) {
        // Every field of the 48 bytes is kept, so decoding then encoding is the identity.
        assert_eq!(&header.to_bytes()[..], &data[..HEADER_LEN], "round trip");
    }

    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let Some(reply) = reply_to(data, &ServerConfig::default(), now, now) else {
        return;
    };
    let request = Header::parse(data).expect("a reply means the request decoded");
    assert_eq!(request.mode, Mode::Client, "a reply to a non-client mode");
    assert!((1..=4).contains(&request.version));
    assert_eq!(reply.mode, Mode::Server);
    // No amplification: the reply is one header, never more bytes than the request.
    assert!(
        reply.to_bytes().len() <= data.len(),
        "a reply larger than the request"
    );
    assert_eq!(reply.origin_time, request.transmit_time);
});
