//! The bytes one round trip sends and expects back, for a plain echo server and for
//! server_05's line protocol (`X\n` answered by `OK...X\n`, after a greeting line).

/// The line server_05 sends as soon as a client connects.
pub const GREETING: &[u8] = b"Welcome to the server. Type something and hit enter\n";

/// What server_05 puts in front of every line it sends back.
pub const LINE_PREFIX: &[u8] = b"OK...";

/// One message and the exact reply it must get; the first byte changes every round trip, so
/// a server that answers with stale or misplaced bytes is caught.
#[derive(Clone, Debug)]
pub struct Exchange {
    message: Vec<u8>,
    expected: Vec<u8>,
    /// Where the message's first byte sits inside `expected`.
    offset: usize,
}

impl Exchange {
    /// Messages of `size` bytes; with `line`, the last byte is `\n` and no other is.
    ///
    /// ```
    /// let mut echo = netbench::protocol::Exchange::new(4, false);
    /// assert_eq!(echo.message(), b"abcd");
    /// echo.advance(1);
    /// assert!(echo.is_reply(b"bbcd"));
    /// let line = netbench::protocol::Exchange::new(3, true);
    /// assert_eq!(line.message(), b"ab\n");
    /// assert!(line.is_reply(b"OK...ab\n"));
    /// ```
    pub fn new(size: usize, line: bool) -> Self {
        let size = size.max(1);
        let mut message: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
        let mut expected = Vec::new();
        if line {
            message[size - 1] = b'\n';
            expected.extend_from_slice(LINE_PREFIX);
        }
        let offset = expected.len();
        expected.extend_from_slice(&message);
        Exchange {
            message,
            expected,
            offset,
        }
    }

    /// Prepares round trip number `n`.
    pub fn advance(&mut self, n: u64) {
        if self.message.len() > 1 || self.offset == 0 {
            let first = b'a' + (n % 26) as u8;
            self.message[0] = first;
            self.expected[self.offset] = first;
        }
    }

    /// The bytes to send.
    pub fn message(&self) -> &[u8] {
        &self.message
    }

    /// How many bytes the reply has.
    pub fn reply_len(&self) -> usize {
        self.expected.len()
    }

    /// Whether `reply` is exactly the expected answer.
    pub fn is_reply(&self, reply: &[u8]) -> bool {
        reply == self.expected.as_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_byte_line_stays_a_newline() {
        let mut line = Exchange::new(1, true);
        line.advance(3);
        assert_eq!(line.message(), b"\n");
        assert!(line.is_reply(b"OK...\n"));
    }

    #[test]
    fn replies_follow_the_round_trip_number() {
        let mut echo = Exchange::new(2, false);
        echo.advance(25);
        assert_eq!(echo.message(), b"zb");
        assert!(!echo.is_reply(b"ab"));
        assert_eq!(echo.reply_len(), 2);
    }
}
