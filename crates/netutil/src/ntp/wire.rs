//! The NTP header on the wire (RFC 4330 §4), in the style of smoltcp's `wire` modules: the
//! byte offset of every field is a named constant, the length is checked before any field is
//! read, and [`Header::parse`] / [`Header::emit`] convert between bytes and a typed header.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |LI | VN  |Mode |    Stratum    |     Poll      |   Precision   |  0
//! |                          Root Delay (16.16)                   |  4
//! |                       Root Dispersion (16.16)                 |  8
//! |                     Reference Identifier                      | 12
//! |                Reference Timestamp (32.32, 8 bytes)           | 16
//! |                 Origin Timestamp (32.32, 8 bytes)             | 24
//! |                 Receive Timestamp (32.32, 8 bytes)            | 32
//! |                 Transmit Timestamp (32.32, 8 bytes)           | 40
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! All fields are big-endian ("network byte order"). A timestamp counts seconds since
//! 1900-01-01 in 32 bits, which run out on 2036-02-07T06:28:16Z; [`Timestamp`] handles the
//! rollover.
//!
//! ```
//! use netutil::ntp::{Header, Leap, Mode, Timestamp};
//!
//! let request = Header::client_request(3, Timestamp::new(0xE000_0000, 0));
//! let bytes = request.to_bytes();
//! assert_eq!(bytes[0], 0x1b); // LI 0, version 3, mode 3 (client): the byte Python sends
//! let parsed = Header::parse(&bytes)?;
//! assert_eq!((parsed.leap, parsed.version, parsed.mode), (Leap::NoWarning, 3, Mode::Client));
//! assert_eq!(parsed, request);
//! assert!(Header::parse(&bytes[..47]).is_err());
//! # Ok::<(), netutil::ntp::Error>(())
//! ```

use std::fmt;
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use byteorder::{BigEndian, ByteOrder};

use super::Error;

/// The length of the NTP header: an SNTP packet is exactly this long (NTP may append
/// extension fields and a MAC, which SNTP ignores).
pub const HEADER_LEN: usize = 48;

/// Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01): 70 years, 17 of
/// them leap years.
pub const UNIX_OFFSET: u64 = 2_208_988_800;

/// The byte offset of each header field.
pub mod field {
    use std::ops::Range;

    /// Leap indicator (2 bits), version number (3 bits) and mode (3 bits), in one byte.
    pub const LI_VN_MODE: usize = 0;
    /// The server's distance from a reference clock, in hops.
    pub const STRATUM: usize = 1;
    /// The longest interval between messages, as a power of two in seconds.
    pub const POLL: usize = 2;
    /// The clock's precision, as a power of two in seconds.
    pub const PRECISION: usize = 3;
    /// The round trip to the reference clock, 16.16 seconds.
    pub const ROOT_DELAY: Range<usize> = 4..8;
    /// The error bound relative to the reference clock, 16.16 seconds.
    pub const ROOT_DISPERSION: Range<usize> = 8..12;
    /// Who the server takes the time from (a clock name, an address, or a Kiss-o'-Death code).
    pub const REFERENCE_ID: Range<usize> = 12..16;
    /// When the server's clock was last set.
    pub const REFERENCE_TIMESTAMP: Range<usize> = 16..24;
    /// In a reply: the request's transmit timestamp, copied unchanged.
    pub const ORIGIN_TIMESTAMP: Range<usize> = 24..32;
    /// In a reply: when the request arrived at the server.
    pub const RECEIVE_TIMESTAMP: Range<usize> = 32..40;
    /// When the packet left its sender: in a reply, the server's time.
    pub const TRANSMIT_TIMESTAMP: Range<usize> = 40..48;
}

/// The leap indicator: a warning of a leap second at the end of the day, or "not synchronized".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Leap {
    /// 0: no leap second today.
    NoWarning,
    /// 1: the last minute of the day has 61 seconds.
    InsertSecond,
    /// 2: the last minute of the day has 59 seconds.
    DeleteSecond,
    /// 3: the sender's clock is not synchronized; its time must not be trusted.
    Unsynchronized,
}

impl Leap {
    /// The leap indicator of the two bits `bits & 0b11`.
    pub fn from_bits(bits: u8) -> Leap {
        match bits & 0b11 {
            0 => Leap::NoWarning,
            1 => Leap::InsertSecond,
            2 => Leap::DeleteSecond,
            _ => Leap::Unsynchronized,
        }
    }

    /// Its value on the wire, 0 to 3.
    pub fn bits(self) -> u8 {
        self as u8
    }
}

/// The association mode: who is talking to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// 0: reserved.
    Reserved,
    /// 1: symmetric active (peers).
    SymmetricActive,
    /// 2: symmetric passive (peers).
    SymmetricPassive,
    /// 3: a client's request.
    Client,
    /// 4: a server's reply.
    Server,
    /// 5: broadcast.
    Broadcast,
    /// 6: NTP control messages (`ntpq`).
    Control,
    /// 7: reserved for private use (`ntpdc`).
    Private,
}

impl Mode {
    /// The mode of the three bits `bits & 0b111`.
    pub fn from_bits(bits: u8) -> Mode {
        match bits & 0b111 {
            0 => Mode::Reserved,
            1 => Mode::SymmetricActive,
            2 => Mode::SymmetricPassive,
            3 => Mode::Client,
            4 => Mode::Server,
            5 => Mode::Broadcast,
            6 => Mode::Control,
            _ => Mode::Private,
        }
    }

    /// Its value on the wire, 0 to 7.
    pub fn bits(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Mode::Reserved => "reserved",
            Mode::SymmetricActive => "symmetric active",
            Mode::SymmetricPassive => "symmetric passive",
            Mode::Client => "client",
            Mode::Server => "server",
            Mode::Broadcast => "broadcast",
            Mode::Control => "control",
            Mode::Private => "private",
        };
        write!(f, "{} ({name})", self.bits())
    }
}

/// An NTP timestamp: seconds since 1900-01-01 in 32 bits and a binary fraction of a second in
/// 32 bits (about 0.23 ns per step).
///
/// 32 bits of seconds run out on 2036-02-07T06:28:16Z, when the count starts again at 0 (era
/// 1). [`Timestamp::to_system_time`] applies RFC 4330's rule: a timestamp whose top bit is set
/// is in era 0 (1968–2036), one whose top bit is clear is in era 1 (2036–2104). The rule is right
/// for any clock within 68 years of the present, which is what a packet carries.
///
/// ```
/// use netutil::ntp::Timestamp;
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let rollover = UNIX_EPOCH + Duration::from_secs(2_085_978_496); // 2036-02-07T06:28:16Z
/// assert_eq!(Timestamp::from(rollover), Timestamp::new(0, 0));
/// assert_eq!(Timestamp::new(0, 0).to_system_time(), rollover);
/// assert_eq!(Timestamp::new(0xFFFF_FFFF, 0).to_system_time(), rollover - Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Timestamp {
    /// Whole seconds since the start of the era.
    pub seconds: u32,
    /// The fraction of a second, in units of 2⁻³² s.
    pub fraction: u32,
}

const NANOS_PER_SEC: u64 = 1_000_000_000;

impl Timestamp {
    /// The zero timestamp, which NTP uses for "unknown" or "not set".
    pub const ZERO: Timestamp = Timestamp::new(0, 0);

    /// The timestamp with these two 32-bit halves.
    pub const fn new(seconds: u32, fraction: u32) -> Timestamp {
        Timestamp { seconds, fraction }
    }

    /// Whether both halves are zero.
    pub fn is_zero(self) -> bool {
        self == Timestamp::ZERO
    }

    /// The time `time` as an NTP timestamp, to the nearest 2⁻³² s; the era is dropped, as on
    /// the wire.
    pub fn from_system_time(time: SystemTime) -> Timestamp {
        let since_unix: i128 = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => after.as_nanos() as i128,
            Err(before) => -(before.duration().as_nanos() as i128),
        };
        let since_1900 = since_unix + i128::from(UNIX_OFFSET) * i128::from(NANOS_PER_SEC);
        let seconds = since_1900.div_euclid(i128::from(NANOS_PER_SEC));
        // Below 10⁹, so the shift fits in 62 bits and the rounded result below 2³².
        let nanos = since_1900.rem_euclid(i128::from(NANOS_PER_SEC)) as u64;
        let fraction = ((nanos << 32) + NANOS_PER_SEC / 2) / NANOS_PER_SEC;
        Timestamp {
            seconds: seconds.rem_euclid(1 << 32) as u32,
            fraction: fraction as u32,
        }
    }

    /// The time this timestamp stands for, between 1968-01-20 and 2104-02-26, to the nearest
    /// nanosecond (RFC 4330's era rule: top bit set → 1968–2036, clear → 2036–2104).
    pub fn to_system_time(self) -> SystemTime {
        let era_start: i64 = if self.seconds & 0x8000_0000 != 0 {
            0
        } else {
            1 << 32
        };
        let since_unix = era_start + i64::from(self.seconds) - UNIX_OFFSET as i64;
        let nanos = (u64::from(self.fraction) * NANOS_PER_SEC + (1 << 31)) >> 32;
        let whole = Duration::from_secs(since_unix.unsigned_abs());
        let part = Duration::from_nanos(nanos);
        if since_unix >= 0 {
            UNIX_EPOCH + whole + part
        } else {
            UNIX_EPOCH - whole + part
        }
    }

    /// The 64 bits as they go on the wire: seconds in the high half.
    pub fn to_bits(self) -> u64 {
        (u64::from(self.seconds) << 32) | u64::from(self.fraction)
    }

    /// The timestamp of 64 wire bits.
    pub fn from_bits(bits: u64) -> Timestamp {
        Timestamp::new((bits >> 32) as u32, bits as u32)
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Timestamp {
        Timestamp::from_system_time(time)
    }
}

impl From<Timestamp> for SystemTime {
    fn from(timestamp: Timestamp) -> SystemTime {
        timestamp.to_system_time()
    }
}

/// A 16.16 fixed-point number of seconds (root delay and dispersion) as a `Duration`.
fn short_to_duration(bits: u32) -> Duration {
    let nanos = (u64::from(bits & 0xFFFF) * NANOS_PER_SEC + (1 << 15)) >> 16;
    Duration::from_secs(u64::from(bits >> 16)) + Duration::from_nanos(nanos)
}

/// A `Duration` as 16.16 fixed-point seconds, saturating at 65535.99998 s.
fn duration_to_short(duration: Duration) -> u32 {
    let units = (duration.as_nanos() * (1 << 16) + u128::from(NANOS_PER_SEC / 2))
        / u128::from(NANOS_PER_SEC);
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// The NTP header, field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Leap second warning, or "not synchronized".
    pub leap: Leap,
    /// Protocol version, 1 to 4 (3 bits on the wire: only the low three are sent).
    pub version: u8,
    /// Who is talking: [`Mode::Client`] in a request, [`Mode::Server`] in a reply.
    pub mode: Mode,
    /// 0: Kiss-o'-Death; 1: attached to a reference clock; 2–15: hops from one; 16: unsynchronized.
    pub stratum: u8,
    /// Longest interval between messages, log₂ seconds.
    pub poll: i8,
    /// Precision of the sender's clock, log₂ seconds (-20 ≈ 1 µs).
    pub precision: i8,
    /// Round trip to the reference clock. (RFC 4330 calls it signed; no server sends a
    /// negative one, and it is read as unsigned here.)
    pub root_delay: Duration,
    /// Error bound relative to the reference clock.
    pub root_dispersion: Duration,
    /// Who the sender takes its time from: see [`reference_id_text`].
    pub reference_id: [u8; 4],
    /// When the sender's clock was last set.
    pub reference_time: Timestamp,
    /// In a reply, the request's transmit time.
    pub origin_time: Timestamp,
    /// In a reply, when the request arrived.
    pub receive_time: Timestamp,
    /// When this packet left its sender.
    pub transmit_time: Timestamp,
}

impl Header {
    /// An SNTP client request: mode 3, the given version, every field zero but the transmit
    /// time, which the server will echo back as the origin time.
    pub fn client_request(version: u8, transmit_time: Timestamp) -> Header {
        Header {
            leap: Leap::NoWarning,
            version,
            mode: Mode::Client,
            stratum: 0,
            poll: 0,
            precision: 0,
            root_delay: Duration::ZERO,
            root_dispersion: Duration::ZERO,
            reference_id: [0; 4],
            reference_time: Timestamp::ZERO,
            origin_time: Timestamp::ZERO,
            receive_time: Timestamp::ZERO,
            transmit_time,
        }
    }

    /// Reads the header at the start of `bytes`; anything after the first 48 bytes (extension
    /// fields, a MAC) is ignored.
    pub fn parse(bytes: &[u8]) -> Result<Header, Error> {
        let bytes = bytes
            .get(..HEADER_LEN)
            .ok_or(Error::TooShort { len: bytes.len() })?;
        let timestamp = |range| Timestamp::from_bits(BigEndian::read_u64(&bytes[range]));
        let first = bytes[field::LI_VN_MODE];
        Ok(Header {
            leap: Leap::from_bits(first >> 6),
            version: (first >> 3) & 0b111,
            mode: Mode::from_bits(first),
            stratum: bytes[field::STRATUM],
            poll: bytes[field::POLL] as i8,
            precision: bytes[field::PRECISION] as i8,
            root_delay: short_to_duration(BigEndian::read_u32(&bytes[field::ROOT_DELAY])),
            root_dispersion: short_to_duration(BigEndian::read_u32(&bytes[field::ROOT_DISPERSION])),
            reference_id: [
                bytes[field::REFERENCE_ID.start],
                bytes[field::REFERENCE_ID.start + 1],
                bytes[field::REFERENCE_ID.start + 2],
                bytes[field::REFERENCE_ID.start + 3],
            ],
            reference_time: timestamp(field::REFERENCE_TIMESTAMP),
            origin_time: timestamp(field::ORIGIN_TIMESTAMP),
            receive_time: timestamp(field::RECEIVE_TIMESTAMP),
            transmit_time: timestamp(field::TRANSMIT_TIMESTAMP),
        })
    }

    /// Writes the header into the first 48 bytes of `buffer`, leaving the rest untouched.
    pub fn emit(&self, buffer: &mut [u8]) -> Result<(), Error> {
        let len = buffer.len();
        let bytes = buffer
            .get_mut(..HEADER_LEN)
            .ok_or(Error::TooShort { len })?;
        bytes[field::LI_VN_MODE] =
            (self.leap.bits() << 6) | ((self.version & 0b111) << 3) | self.mode.bits();
        bytes[field::STRATUM] = self.stratum;
        bytes[field::POLL] = self.poll as u8;
        bytes[field::PRECISION] = self.precision as u8;
        BigEndian::write_u32(
            &mut bytes[field::ROOT_DELAY],
            duration_to_short(self.root_delay),
        );
        BigEndian::write_u32(
            &mut bytes[field::ROOT_DISPERSION],
            duration_to_short(self.root_dispersion),
        );
        bytes[field::REFERENCE_ID].copy_from_slice(&self.reference_id);
        for (range, timestamp) in [
            (field::REFERENCE_TIMESTAMP, self.reference_time),
            (field::ORIGIN_TIMESTAMP, self.origin_time),
            (field::RECEIVE_TIMESTAMP, self.receive_time),
            (field::TRANSMIT_TIMESTAMP, self.transmit_time),
        ] {
            BigEndian::write_u64(&mut bytes[range], timestamp.to_bits());
        }
        Ok(())
    }

    /// The header as 48 bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut bytes = [0; HEADER_LEN];
        // Cannot fail: the buffer is exactly one header long.
        let _ = self.emit(&mut bytes);
        bytes
    }
}

/// The reference id as people write it: for stratum 0 (a Kiss-o'-Death code such as `RATE`)
/// and stratum 1 (a clock name such as `GPS`), up to four ASCII letters; for other strata the
/// IPv4 address of the upstream server (for an IPv6 upstream, the first bytes of a hash of its
/// address, still shown as a dotted quad).
///
/// ```
/// use netutil::ntp::wire::reference_id_text;
///
/// assert_eq!(reference_id_text(0, *b"RATE"), "RATE");
/// assert_eq!(reference_id_text(1, *b"GPS\0"), "GPS");
/// assert_eq!(reference_id_text(2, [192, 0, 2, 1]), "192.0.2.1");
/// ```
pub fn reference_id_text(stratum: u8, id: [u8; 4]) -> String {
    if stratum <= 1 {
        let len = id.iter().position(|&b| b == 0).unwrap_or(id.len());
        // Escaped, so that bytes a server made up cannot garble a terminal.
        id.get(..len).unwrap_or_default().escape_ascii().to_string()
    } else {
        Ipv4Addr::from(id).to_string()
    }
}

/// The reference id of its text: an IPv4 address, or a clock name of one to four ASCII
/// letters and digits (padded with zero bytes); `None` for anything else.
///
/// ```
/// use netutil::ntp::wire::reference_id_from_text;
///
/// assert_eq!(reference_id_from_text("GPS"), Some(*b"GPS\0"));
/// assert_eq!(reference_id_from_text("127.127.1.1"), Some([127, 127, 1, 1]));
/// assert_eq!(reference_id_from_text("TOO LONG"), None);
/// ```
pub fn reference_id_from_text(text: &str) -> Option<[u8; 4]> {
    if let Ok(ip) = text.parse::<Ipv4Addr>() {
        return Some(ip.octets());
    }
    if text.is_empty() || text.len() > 4 || !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let mut id = [0; 4];
    id.get_mut(..text.len())?.copy_from_slice(text.as_bytes());
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2036-02-07T06:28:16Z, when the 32 bits of seconds roll over to era 1.
    const ROLLOVER_UNIX: u64 = (1 << 32) - UNIX_OFFSET;

    fn unix(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    /// A reply chronyd could have sent, byte by byte.
    const GOLDEN_REPLY: [u8; HEADER_LEN] = [
        0x24, 0x02, 0x03, 0xE9, // LI 0, VN 4, mode 4; stratum 2; poll 3; precision -23
        0x00, 0x01, 0x80, 0x00, // root delay 1.5 s
        0x00, 0x00, 0x40, 0x00, // root dispersion 0.25 s
        0xC0, 0x00, 0x02, 0x01, // reference id 192.0.2.1
        0xEC, 0x9E, 0x2A, 0x00, 0x00, 0x00, 0x00, 0x00, // reference time
        0xEC, 0x9E, 0x2A, 0x10, 0x80, 0x00, 0x00, 0x00, // origin time
        0xEC, 0x9E, 0x2A, 0x11, 0x40, 0x00, 0x00, 0x00, // receive time
        0xEC, 0x9E, 0x2A, 0x11, 0xC0, 0x00, 0x00, 0x00, // transmit time
    ];

    fn golden_header() -> Header {
        Header {
            leap: Leap::NoWarning,
            version: 4,
            mode: Mode::Server,
            stratum: 2,
            poll: 3,
            precision: -23,
            root_delay: Duration::from_millis(1500),
            root_dispersion: Duration::from_millis(250),
            reference_id: [192, 0, 2, 1],
            reference_time: Timestamp::new(0xEC9E_2A00, 0),
            origin_time: Timestamp::new(0xEC9E_2A10, 0x8000_0000),
            receive_time: Timestamp::new(0xEC9E_2A11, 0x4000_0000),
            transmit_time: Timestamp::new(0xEC9E_2A11, 0xC000_0000),
        }
    }

    #[test]
    fn parses_golden_bytes() {
        assert_eq!(Header::parse(&GOLDEN_REPLY).unwrap(), golden_header());
    }

    #[test]
    fn emits_golden_bytes() {
        assert_eq!(golden_header().to_bytes(), GOLDEN_REPLY);
    }

    #[test]
    fn the_python_request_byte_is_version_3_client() {
        let request = Header::client_request(3, Timestamp::ZERO).to_bytes();
        let mut python = [0u8; HEADER_LEN];
        python[0] = 0x1b;
        assert_eq!(request, python);
    }

    #[test]
    fn every_first_byte_round_trips() {
        for first in 0..=255u8 {
            let mut bytes = GOLDEN_REPLY;
            bytes[0] = first;
            assert_eq!(Header::parse(&bytes).unwrap().to_bytes(), bytes);
        }
    }

    #[test]
    fn short_input_is_an_error_and_longer_input_is_fine() {
        for len in 0..HEADER_LEN {
            match Header::parse(&GOLDEN_REPLY[..len]) {
                Err(Error::TooShort { len: reported }) => assert_eq!(reported, len),
                other => panic!("{len} bytes parsed as {other:?}"),
            }
        }
        let mut longer = GOLDEN_REPLY.to_vec();
        longer.extend_from_slice(&[0xAA; 20]);
        assert_eq!(Header::parse(&longer).unwrap(), golden_header());
        let error = golden_header().emit(&mut [0; 47]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "47 bytes is shorter than the 48-byte NTP header"
        );
    }

    #[test]
    fn emit_leaves_bytes_after_the_header_alone() {
        let mut buffer = [0xAA; 60];
        golden_header().emit(&mut buffer).unwrap();
        assert_eq!(buffer[..HEADER_LEN], GOLDEN_REPLY);
        assert!(buffer[HEADER_LEN..].iter().all(|&b| b == 0xAA));
    }

    #[test]
    fn short_format_round_trips() {
        for bits in [0, 1, 0x8000, 0xFFFF, 0x0001_0000, 0x1234_5678, u32::MAX] {
            assert_eq!(duration_to_short(short_to_duration(bits)), bits);
        }
        assert_eq!(duration_to_short(Duration::from_secs(1 << 20)), u32::MAX);
    }

    #[test]
    fn unix_epoch_is_the_offset_in_era_0() {
        assert_eq!(
            Timestamp::from(UNIX_EPOCH),
            Timestamp::new(UNIX_OFFSET as u32, 0)
        );
        assert_eq!(
            Timestamp::new(UNIX_OFFSET as u32, 0).to_system_time(),
            UNIX_EPOCH
        );
    }

    #[test]
    fn both_sides_of_the_2036_rollover() {
        let before = unix(ROLLOVER_UNIX) - Duration::from_nanos(1);
        let at = unix(ROLLOVER_UNIX);
        let after = unix(ROLLOVER_UNIX + 1) + Duration::from_millis(500);
        assert_eq!(
            Timestamp::from(unix(ROLLOVER_UNIX - 1)),
            Timestamp::new(u32::MAX, 0)
        );
        assert_eq!(Timestamp::from(at), Timestamp::new(0, 0));
        assert_eq!(Timestamp::from(after), Timestamp::new(1, 0x8000_0000));
        for time in [before, at, after] {
            assert_eq!(Timestamp::from(time).to_system_time(), time, "{time:?}");
        }
        assert!(Timestamp::from(before).seconds & 0x8000_0000 != 0);
    }

    #[test]
    fn round_trips_to_the_nanosecond_across_both_eras() {
        // 1968-01-20T03:14:08Z (the first second of the rule's range) to 2104, in uneven steps.
        let first = UNIX_EPOCH - Duration::from_secs(UNIX_OFFSET - (1 << 31));
        let mut time = first;
        let last = unix(ROLLOVER_UNIX + (1 << 31) - 1);
        while time < last {
            assert_eq!(Timestamp::from(time).to_system_time(), time, "{time:?}");
            time += Duration::new(12_345_678, 987_654_321);
        }
        assert_eq!(Timestamp::from(first).to_system_time(), first);
        assert_eq!(Timestamp::from(last).to_system_time(), last);
    }

    #[test]
    fn fraction_is_a_binary_fraction_of_a_second() {
        let half = UNIX_EPOCH + Duration::from_millis(500);
        assert_eq!(Timestamp::from(half).fraction, 0x8000_0000);
        let last_nanosecond = UNIX_EPOCH + Duration::from_nanos(999_999_999);
        assert_eq!(
            Timestamp::from(last_nanosecond).to_system_time(),
            last_nanosecond
        );
    }

    #[test]
    fn reference_ids_read_as_text() {
        assert_eq!(reference_id_text(0, *b"DENY"), "DENY");
        assert_eq!(reference_id_text(1, *b"LOCL"), "LOCL");
        assert_eq!(reference_id_text(1, [b'G', 0xFF, 0, 0]), "G\\xff");
        assert_eq!(reference_id_text(10, [127, 127, 1, 1]), "127.127.1.1");
        for text in ["LOCL", "GPS", "X", "10.0.0.1"] {
            let id = reference_id_from_text(text).unwrap();
            let stratum = if text.contains('.') { 2 } else { 1 };
            assert_eq!(reference_id_text(stratum, id), text);
        }
        for text in ["", "ABCDE", "G S", "é"] {
            assert_eq!(reference_id_from_text(text), None, "{text:?}");
        }
    }

    #[test]
    fn mode_and_leap_bits_round_trip() {
        for bits in 0..8 {
            assert_eq!(Mode::from_bits(bits).bits(), bits);
        }
        for bits in 0..4 {
            assert_eq!(Leap::from_bits(bits).bits(), bits);
        }
        assert_eq!(Mode::Server.to_string(), "4 (server)");
    }
}
