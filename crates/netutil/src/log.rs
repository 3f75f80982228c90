//! Log lines that never stop a server: [`log!`](crate::log!) and [`elog!`](crate::elog!).
//!
//! `println!` is the wrong tool for a server's log. It panics when stdout is a closed pipe
//! (`server_05 | head -n 1`: the next client kills the server with "failed printing to
//! stdout"), and it blocks when stdout is a pipe nobody reads (after about 64 KiB the server
//! stops serving, waiting for a reader). A log line is worth less than a client.
//!
//! `log!` and `elog!` take the same arguments as `println!` and `eprintln!`. They format the
//! line and hand it to a writer thread through a bounded queue, without waiting:
//!
//! - when the queue is full (the reader is slow or gone), the line is dropped and counted;
//! - when a write fails (the reader closed the pipe), the line is dropped and counted;
//! - the next line that does get written is preceded by one line saying how many were lost.
//!
//! [`crate::cli::finish`] waits (at most a second) for the queued lines before the program
//! exits, so a server's last words are not lost either.
//!
//! ```
//! use netutil::log;
//!
//! let peer = "127.0.0.1:52814";
//! log!("{peer} connected");
//! ```

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// Lines a log keeps queued while its writer is busy; past that, lines are dropped.
pub const QUEUE_LINES: usize = 1024;

/// Writes a line to stdout through [`stdout()`]: like `println!`, but never blocks and never panics.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::log::stdout().line(format_args!($($arg)*))
    };
}

/// Writes a line to stderr through [`stderr()`]: like `eprintln!`, but never blocks and never panics.
#[macro_export]
macro_rules! elog {
    ($($arg:tt)*) => {
        $crate::log::stderr().line(format_args!($($arg)*))
    };
}

static STDOUT: OnceLock<Log> = OnceLock::new();
static STDERR: OnceLock<Log> = OnceLock::new();

/// The process's stdout log, started on first use (together with [`stderr()`]).
pub fn stdout() -> &'static Log {
    start_both();
    STDOUT.get_or_init(|| Log::new(io::stdout(), QUEUE_LINES))
}

/// The process's stderr log, started on first use (together with [`stdout()`]).
pub fn stderr() -> &'static Log {
    start_both();
    STDERR.get_or_init(|| Log::new(io::stderr(), QUEUE_LINES))
}

/// Starts both writer threads at the first log line, normally the server's "listening" line:
/// an error line must not need a new thread later, when the system may have none to give.
fn start_both() {
    STDOUT.get_or_init(|| Log::new(io::stdout(), QUEUE_LINES));
    STDERR.get_or_init(|| Log::new(io::stderr(), QUEUE_LINES));
}

/// Waits up to `timeout` in all for the stdout and stderr logs (those in use) to write what
/// they hold. Returns `false` if something was still queued when the time ran out.
pub fn flush_all(timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut all_written = true;
    for log in [STDOUT.get(), STDERR.get()].into_iter().flatten() {
        all_written &= log.flush(deadline.saturating_duration_since(Instant::now()));
    }
    all_written
}

enum Message {
    Line(String),
    Flush(SyncSender<()>),
}

/// A line log with its own writer thread and a bounded queue (see the [module docs](self)).
pub struct Log {
    /// `None` when the writer thread could not be started: then every line is dropped.
    queue: Option<SyncSender<Message>>,
    dropped: Arc<AtomicU64>,
}

impl Log {
    /// A log that writes to `writer` from a thread of its own, queueing at most `capacity` lines.
    pub fn new(writer: impl Write + Send + 'static, capacity: usize) -> Log {
        let dropped = Arc::new(AtomicU64::new(0));
        let (queue, lines) = mpsc::sync_channel(capacity);
        let counter = dropped.clone();
        let started = thread::Builder::new()
            .name("log writer".into())
            .spawn(move || write_lines(writer, lines, &counter));
        Log {
            queue: started.is_ok().then_some(queue),
            dropped,
        }
    }

    /// Queues one line (a `\n` is added); drops and counts it if the queue is full.
    pub fn line(&self, text: fmt::Arguments<'_>) {
        let mut line = text.to_string();
        line.push('\n');
        let queued = match &self.queue {
            Some(queue) => queue.try_send(Message::Line(line)).is_ok(),
            None => false,
        };
        if !queued {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Lines lost since the last report of lost lines.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits up to `timeout` for the queued lines to be written. Returns whether they were.
    pub fn flush(&self, timeout: Duration) -> bool {
        let Some(queue) = &self.queue else {
            return false;
        };
        let deadline = Instant::now() + timeout;
        let (done, written) = mpsc::sync_channel(1);
        let mut request = Message::Flush(done);
        // The queue may be full: retry until the writer makes room or the time is up.
        loop {
            match queue.try_send(request) {
                Ok(()) => break,
                Err(TrySendError::Full(again)) if Instant::now() < deadline => {
                    request = again;
                    thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return false,
            }
        }
        written
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok()
    }
}

/// The writer thread: writes each line, reporting lost lines before the next one that fits.
fn write_lines(mut writer: impl Write, lines: Receiver<Message>, dropped: &AtomicU64) {
    let mut write = |text: &[u8]| writer.write_all(text).and_then(|()| writer.flush());
    for message in lines {
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let notice = format!("({lost} log lines dropped: the output was not being read)\n");
            if write(notice.as_bytes()).is_err() {
                dropped.fetch_add(lost, Ordering::Relaxed);
            }
        }
        match message {
            Message::Line(line) => {
                if write(line.as_bytes()).is_err() {
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            Message::Flush(done) => {
                let _ = done.try_send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::mpsc::Sender;

    /// A writer whose output the test can read.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// A writer that blocks every write until the test sends a permit, like a pipe nobody reads.
    struct Stalled {
        permits: Receiver<()>,
        out: Shared,
    }

    impl Write for Stalled {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.permits
                .recv()
                .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
            self.out.write(bytes)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A writer whose reader has gone: every write fails, as on a closed pipe.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
    }

    #[test]
    fn lines_arrive_in_order() {
        let out = Shared::default();
        let log = Log::new(out.clone(), 16);
        for n in 0..3 {
            log.line(format_args!("line {n}"));
        }
        assert!(log.flush(Duration::from_secs(10)));
        assert_eq!(out.text(), "line 0\nline 1\nline 2\n");
        assert_eq!(log.dropped(), 0);
    }

    #[test]
    fn a_stalled_reader_never_blocks_the_caller_and_lost_lines_are_reported() {
        let (permit, permits) = mpsc::channel();
        let out = Shared::default();
        let log = Arc::new(Log::new(
            Stalled {
                permits,
                out: out.clone(),
            },
            4,
        ));
        // If `line` blocked on the stalled writer, this thread would never finish.
        let (finished, logged): (Sender<()>, _) = mpsc::channel();
        let logger = log.clone();
        thread::spawn(move || {
            for n in 0..1000 {
                logger.line(format_args!("line {n}"));
            }
            finished.send(()).unwrap();
        });
        logged
            .recv_timeout(Duration::from_secs(30))
            .expect("logging must not wait for the writer");

        // The reader comes back: queued lines are written, then the next line reports the loss.
        for _ in 0..100 {
            permit.send(()).unwrap();
        }
        assert!(log.flush(Duration::from_secs(10)));
        log.line(format_args!("back"));
        assert!(log.flush(Duration::from_secs(10)));
        let text = out.text();
        let written = text.lines().filter(|l| l.starts_with("line ")).count() as u64;
        // The loss may be reported in several notices, each before the next line written.
        let lost: u64 = text
            .lines()
            .filter_map(|l| l.strip_suffix(" log lines dropped: the output was not being read)"))
            .map(|count| count[1..].parse::<u64>().unwrap())
            .sum();
        assert!(lost > 0, "a line reports the dropped ones: {text}");
        assert_eq!(
            written + lost,
            1000,
            "every line is written or counted: {text}"
        );
        assert!(text.ends_with("back\n"));
    }

    #[test]
    fn a_closed_output_is_not_a_crash() {
        let log = Log::new(Closed, 4);
        log.line(format_args!("nobody reads this"));
        assert!(log.flush(Duration::from_secs(10)));
        assert_eq!(log.dropped(), 1);
    }
}
