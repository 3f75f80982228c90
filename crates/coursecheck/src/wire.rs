//! A TCP connection the checker holds as a client of the program under test: every read and
//! write waits at most until the check's deadline, and every failure is one sentence.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::{Lang, show, tr};
use netutil::server::is_timeout;

/// The longest the checker waits for one reply before calling it missing.
pub(crate) const REPLY_WAIT: Duration = Duration::from_secs(3);

/// How long "nothing came" must last to count as silence.
pub(crate) const QUIET: Duration = Duration::from_millis(250);

/// One client connection to the program under test.
pub(crate) struct Conn {
    pub(crate) stream: TcpStream,
    pub(crate) lang: Lang,
    /// Bytes received beyond what an `expect` asked for, kept for the next one.
    pending: Vec<u8>,
}

impl Conn {
    pub(crate) fn new(stream: TcpStream, lang: Lang) -> Conn {
        // Small writes leave at once: the split-line check depends on it.
        let _ = stream.set_nodelay(true);
        Conn {
            stream,
            lang,
            pending: Vec::new(),
        }
    }

    /// Sends all of `bytes`.
    pub(crate) fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        let _ = self.stream.set_write_timeout(Some(REPLY_WAIT));
        self.stream.write_all(bytes).map_err(|error| {
            tr!(
                self.lang,
                "Sending {} failed: {} (the program closed the connection?).",
                "Falló el envío de {}: {} (¿el programa cerró la conexión?).",
                show(bytes, 40),
                error
            )
        })
    }

    /// Reads until `want` bytes have come, the peer closes, or `wait` passes; returns what came.
    pub(crate) fn read_up_to(&mut self, want: usize, wait: Duration) -> (Vec<u8>, Ending) {
        let deadline = Instant::now() + wait;
        let mut got = std::mem::take(&mut self.pending);
        let mut buffer = [0u8; 16 * 1024];
        while got.len() < want {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return (got, Ending::Timeout);
            }
            let _ = self
                .stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))));
            match self.stream.read(&mut buffer) {
                Ok(0) => return (got, Ending::Closed),
                Ok(count) => got.extend_from_slice(&buffer[..count]),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) if is_timeout(&error) => return (got, Ending::Timeout),
                Err(error) => return (got, Ending::Error(error.to_string())),
            }
        }
        if got.len() > want {
            self.pending = got.split_off(want);
        }
        (got, Ending::Complete)
    }

    /// Expects exactly `expected` next, byte for byte, within [`REPLY_WAIT`].
    pub(crate) fn expect(&mut self, expected: &[u8], what: &str) -> Result<(), String> {
        let (got, ending) = self.read_up_to(expected.len(), REPLY_WAIT);
        if got == expected {
            return Ok(());
        }
        let lang = self.lang;
        let why = ending.describe(lang);
        Err(if got.is_empty() {
            tr!(
                lang,
                "Expected {} {}, got nothing ({}).",
                "Se esperaba recibir {} {}, y no llegó nada ({}).",
                what,
                show(expected, 60),
                why
            )
        } else {
            tr!(
                lang,
                "Expected {} {}, got {} ({}).",
                "Se esperaba recibir {} {}, y llegó {} ({}).",
                what,
                show(expected, 60),
                show(&got, 60),
                why
            )
        })
    }

    /// Expects nothing to arrive for [`QUIET`]; returns what came if something did.
    pub(crate) fn expect_quiet(&mut self) -> Result<(), Vec<u8>> {
        let (got, _) = self.read_up_to(1, QUIET);
        if got.is_empty() {
            Ok(())
        } else {
            let (mut more, _) = self.read_up_to(4096, Duration::from_millis(50));
            let mut all = got;
            all.append(&mut more);
            Err(all)
        }
    }

    /// Expects the program to close the connection within [`REPLY_WAIT`], sending nothing more.
    pub(crate) fn expect_close(&mut self) -> Result<(), String> {
        let (got, ending) = self.read_up_to(usize::MAX, REPLY_WAIT);
        let lang = self.lang;
        match ending {
            Ending::Closed | Ending::Error(_) if got.is_empty() => Ok(()),
            _ if !got.is_empty() => Err(tr!(
                lang,
                "Expected the connection to close after the reply, but more bytes came: {}.",
                "Se esperaba que la conexión se cerrara después de la respuesta, pero llegaron más bytes: {}.",
                show(&got, 60)
            )),
            _ => Err(tr!(
                lang,
                "Expected the program to close the connection after the reply; it was still open after {} s.",
                "Se esperaba que el programa cerrara la conexión después de la respuesta; seguía abierta después de {} s.",
                REPLY_WAIT.as_secs()
            )),
        }
    }

    /// Ends our sending side: the program reads end of stream.
    pub(crate) fn half_close(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Closes with a reset (RST) instead of a FIN: what a crashed client or a pulled cable
    /// looks like to the server.
    pub(crate) fn reset(self) {
        let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        drop(self.stream);
    }
}

/// Why a read stopped.
pub(crate) enum Ending {
    Complete,
    Closed,
    Timeout,
    Error(String),
}

impl Ending {
    pub(crate) fn describe(&self, lang: Lang) -> String {
        match self {
            Ending::Complete => tr!(lang, "the bytes differ", "los bytes son distintos"),
            Ending::Closed => tr!(
                lang,
                "then the program closed the connection",
                "luego el programa cerró la conexión"
            ),
            Ending::Timeout => tr!(
                lang,
                "nothing more within {} s",
                "nada más en {} s",
                REPLY_WAIT.as_secs()
            ),
            Ending::Error(error) => tr!(
                lang,
                "then the connection failed: {}",
                "luego la conexión falló: {}",
                error
            ),
        }
    }
}

/// `len` bytes that are not text: every byte value, a NUL every seventh byte, invalid UTF-8
/// throughout, and no short period a framing bug could hide behind.
pub(crate) fn binary_payload(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x9E37_79B9;
    (0..len)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            if i % 7 == 0 { 0 } else { (state >> 24) as u8 }
        })
        .collect()
}
