//! udp_echo_client, its `burst` run (the exercise of the notes): numbered datagrams to a UDP
//! echo server, then one line of counts, `sent N datagrams, E echoed back, L lost`. The
//! checker is the server, twice: first a slow one with a short queue, which loses what a
//! burst brings faster than it echoes (the notes' `--recv-buffer 4096 --slow 1`); then a fast
//! one that never echoes some datagrams at all. A client that sends one datagram at a time
//! loses nothing to the slow server, but must not wait forever for an echo that never comes.

use std::collections::{BTreeSet, VecDeque};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::{Check, DATAGRAM_NOTES, LessonDef, Role, Text};
use crate::clients::{Finished, bad_ending, run_client};
use crate::program::{HOST, describe_status};
use crate::{CheckResult, Lang, Options, Outcome, result, tr};

const SENDS: Check = Check {
    id: "sends",
    title: Text {
        en: "sends numbered datagrams (4 bytes, big-endian, from 0) and says how many: \"sent N\"",
        es: "envía datagramas numerados (4 bytes, big-endian, desde 0) y dice cuántos: \"sent N\"",
    },
};
const COUNTS: Check = Check {
    id: "counts",
    title: Text {
        en: "against a server that falls behind: \"E echoed back, L lost\", the echoes it really got",
        es: "contra un servidor que se queda atrás: \"E echoed back, L lost\", los ecos que de verdad recibió",
    },
};
const GIVES_UP: Check = Check {
    id: "gives_up",
    title: Text {
        en: "when some echoes never come, it still ends with 0 within its time",
        es: "cuando algunos ecos nunca llegan, igual termina con 0 dentro de su tiempo",
    },
};

pub(super) const LESSON: LessonDef = LessonDef {
    notes: DATAGRAM_NOTES,
    role: Role::Client {
        checks: &[SENDS, COUNTS, GIVES_UP],
        run,
    },
};

/// The slow server echoes one datagram per this much time, as `udp_echo_server --slow 1`.
const SLOW: Duration = Duration::from_millis(1);
/// How many datagrams the slow server's queue holds; it discards those that arrive when it is
/// full, as the kernel does at a full receive buffer (8,192 bytes hold about ten).
const QUEUE: usize = 8;
/// The fast server never echoes a datagram whose number leaves this remainder...
const LOST_REMAINDER: u32 = 3;
/// ...divided by this: one in a hundred, so a client that waits a while for each still ends.
const LOST_EVERY: u32 = 100;

/// Which server the checker plays.
#[derive(Clone, Copy)]
enum Peer {
    /// Echoes one datagram per [`SLOW`], with a queue of [`QUEUE`].
    Slow,
    /// Echoes at once, except the numbers [`LOST_REMAINDER`] modulo [`LOST_EVERY`].
    Lossy,
}

/// What the checker's server saw and did.
#[derive(Default)]
struct BurstLog {
    /// Datagrams received, whatever became of them.
    received: usize,
    /// The distinct numbers received.
    numbers: BTreeSet<u32>,
    /// Datagrams shorter than the 4 bytes of a number.
    unnumbered: usize,
    /// Echoes sent back.
    echoed: usize,
    /// Datagrams discarded: the slow server's queue was full, or the lossy server's choice.
    discarded: usize,
}

impl BurstLog {
    /// Notes one datagram received; its number, if it has one.
    fn record(&mut self, datagram: &[u8]) -> Option<u32> {
        self.received += 1;
        let Some(number) = datagram
            .first_chunk::<4>()
            .map(|bytes| u32::from_be_bytes(*bytes))
        else {
            self.unnumbered += 1;
            return None;
        };
        self.numbers.insert(number);
        Some(number)
    }
}

/// The checker's echo server on `socket`, until `stop`.
fn serve(socket: UdpSocket, peer: Peer, stop: Arc<AtomicBool>) -> BurstLog {
    let mut log = BurstLog::default();
    let mut buffer = vec![0u8; 65_536];
    match peer {
        Peer::Slow => {
            let _ = socket.set_nonblocking(true);
            let mut queue: VecDeque<(Vec<u8>, SocketAddr)> = VecDeque::new();
            let mut last_echo = Instant::now();
            while !stop.load(Ordering::SeqCst) {
                // Take everything that has arrived, as the kernel would, into the short queue.
                loop {
                    match socket.recv_from(&mut buffer) {
                        Ok((len, from)) => {
                            log.record(&buffer[..len]);
                            if queue.len() < QUEUE {
                                queue.push_back((buffer[..len].to_vec(), from));
                            } else {
                                log.discarded += 1;
                            }
                        }
                        Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                        // Windows: the ICMP answer to an echo sent to a client that has gone.
                        Err(_) => break,
                    }
                }
                if last_echo.elapsed() >= SLOW {
                    if let Some((datagram, to)) = queue.pop_front() {
                        if socket.send_to(&datagram, to).is_ok() {
                            log.echoed += 1;
                        }
                        last_echo = Instant::now();
                    }
                }
                thread::sleep(Duration::from_micros(100));
            }
        }
        Peer::Lossy => {
            let _ = socket.set_read_timeout(Some(Duration::from_millis(50)));
            while !stop.load(Ordering::SeqCst) {
                let Ok((len, from)) = socket.recv_from(&mut buffer) else {
                    continue;
                };
                match log.record(&buffer[..len]) {
                    Some(number) if number % LOST_EVERY == LOST_REMAINDER => log.discarded += 1,
                    _ => {
                        if socket.send_to(&buffer[..len], from).is_ok() {
                            log.echoed += 1;
                        }
                    }
                }
            }
        }
    }
    log
}

/// Runs the program once against the checker playing `peer`.
fn run_against(
    peer: Peer,
    command: &[String],
    options: &Options,
) -> Result<(BurstLog, Finished), String> {
    let socket = UdpSocket::bind((HOST, 0)).map_err(|error| error.to_string())?;
    let port = socket
        .local_addr()
        .map_err(|error| error.to_string())?
        .port();
    run_client(command, port, options, options.timeout, move |stop| {
        serve(socket, peer, stop)
    })
}

/// The counts the program printed, from its last line with `sent N`, `E echoed` and `L lost`.
#[derive(Debug, PartialEq)]
struct Counts {
    sent: u64,
    echoed: u64,
    lost: u64,
}

fn printed_counts(stdout: &[u8]) -> Option<Counts> {
    let text = String::from_utf8_lossy(stdout);
    text.lines().rev().find_map(|line| {
        let words: Vec<&str> = line
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|word| !word.is_empty())
            .collect();
        let number = |at: Option<usize>| at.and_then(|at| words.get(at)?.parse().ok());
        let find = |word: &str| {
            words
                .iter()
                .position(|other| other.eq_ignore_ascii_case(word))
        };
        Some(Counts {
            sent: number(find("sent").map(|at| at + 1))?,
            echoed: number(find("echoed").and_then(|at| at.checked_sub(1)))?,
            lost: number(find("lost").and_then(|at| at.checked_sub(1)))?,
        })
    })
}

/// The sentence when the counts line is missing.
fn no_counts(lang: Lang) -> String {
    lang.pick(
        "The output has no line of counts like \"sent 2000 datagrams, 13 echoed back, 1987 lost\": print how many datagrams were sent, how many echoes came back, and how many were lost.",
        "La salida no tiene una línea de cuentas como \"sent 2000 datagrams, 13 echoed back, 1987 lost\": imprime cuántos datagramas se enviaron, cuántos ecos volvieron y cuántos se perdieron.",
    )
    .to_owned()
}

fn run(command: &[String], options: &Options) -> Vec<CheckResult> {
    let lang = options.lang;
    let started = Instant::now();
    let mut results = match run_against(Peer::Slow, command, options) {
        Ok((log, finished)) => vec![
            result(
                SENDS,
                lang,
                started,
                sends(&log, &finished, lang),
                finished.tail.clone(),
            ),
            result(
                COUNTS,
                lang,
                started,
                counts(&log, &finished, options),
                finished.tail,
            ),
        ],
        Err(error) => vec![
            result(SENDS, lang, started, Err(error.clone()), Vec::new()),
            result(COUNTS, lang, started, Err(error), Vec::new()),
        ],
    };
    let started = Instant::now();
    results.push(match run_against(Peer::Lossy, command, options) {
        Ok((log, finished)) => {
            let outcome = gives_up(&log, &finished, started.elapsed(), options);
            result(GIVES_UP, lang, started, outcome, finished.tail)
        }
        Err(error) => result(GIVES_UP, lang, started, Err(error), Vec::new()),
    });
    results
}

fn sends(log: &BurstLog, finished: &Finished, lang: Lang) -> Outcome {
    if log.received == 0 {
        return Err(tr!(
            lang,
            "No datagram arrived: does the program send to the host and port it is given ({{host}} {{port}}), over UDP?",
            "No llegó ningún datagrama: ¿el programa envía al host y al puerto que se le dan ({{host}} {{port}}), por UDP?",
        ));
    }
    let first = log.numbers.first().copied();
    if log.unnumbered > 0 || first != Some(0) {
        return Err(tr!(
            lang,
            "{} datagrams arrived, {} of them shorter than 4 bytes, and the smallest number was {}: start each datagram with its number in 4 bytes, big-endian (struct.pack(\"!I\", n)), counting from 0.",
            "Llegaron {} datagramas, {} de ellos de menos de 4 bytes, y el número más pequeño fue {}: empieza cada datagrama con su número en 4 bytes, big-endian (struct.pack(\"!I\", n)), contando desde 0.",
            log.received,
            log.unnumbered,
            first.map_or_else(|| "-".to_owned(), |number| number.to_string())
        ));
    }
    let Some(counts) = printed_counts(&finished.stdout) else {
        return Err(no_counts(lang));
    };
    let largest = log.numbers.last().copied().unwrap_or_default();
    if u64::from(largest) >= counts.sent || log.numbers.len() as u64 > counts.sent {
        return Err(tr!(
            lang,
            "It printed \"sent {}\", but {} different numbered datagrams arrived, up to number {}: say how many datagrams were really sent.",
            "Imprimió \"sent {}\", pero llegaron {} datagramas numerados distintos, hasta el número {}: di cuántos datagramas se enviaron de verdad.",
            counts.sent,
            log.numbers.len(),
            largest
        ));
    }
    Ok(tr!(
        lang,
        "It printed \"sent {}\"; the checker received {} of them, numbered from 0.",
        "Imprimió \"sent {}\"; el verificador recibió {} de ellos, numerados desde 0.",
        counts.sent,
        log.numbers.len()
    ))
}

fn counts(log: &BurstLog, finished: &Finished, options: &Options) -> Outcome {
    let lang = options.lang;
    if let Some(error) = bad_ending(finished, options.timeout, lang) {
        return Err(error);
    }
    let Some(counts) = printed_counts(&finished.stdout) else {
        return Err(no_counts(lang));
    };
    let echoed = log.echoed as u64;
    if counts.echoed > echoed {
        return Err(tr!(
            lang,
            "It printed \"{} echoed back\", but the checker, a server that falls behind, echoed only {} of the {} datagrams it received: count the echoes you receive, not the datagrams you send.",
            "Imprimió \"{} echoed back\", pero el verificador, un servidor que se queda atrás, devolvió solo {} de los {} datagramas que recibió: cuenta los ecos que recibes, no los datagramas que envías.",
            counts.echoed,
            echoed,
            log.received
        ));
    }
    if counts.echoed < echoed {
        return Err(tr!(
            lang,
            "It printed \"{} echoed back\", but the checker echoed {}, one every {} ms: keep receiving until no echo has come for a while (half a second), and count each one.",
            "Imprimió \"{} echoed back\", pero el verificador devolvió {}, uno cada {} ms: sigue recibiendo hasta que no llegue ningún eco durante un rato (medio segundo), y cuenta cada uno.",
            counts.echoed,
            echoed,
            SLOW.as_millis()
        ));
    }
    if counts.echoed + counts.lost != counts.sent {
        return Err(tr!(
            lang,
            "It printed \"sent {}, {} echoed back, {} lost\": what was sent is what came back plus what was lost.",
            "Imprimió \"sent {}, {} echoed back, {} lost\": lo enviado es lo que volvió más lo que se perdió.",
            counts.sent,
            counts.echoed,
            counts.lost
        ));
    }
    Ok(tr!(
        lang,
        "The checker echoed {} of {} datagrams and discarded {} at its full queue; the program printed \"sent {}, {} echoed back, {} lost\".",
        "El verificador devolvió {} de {} datagramas y descartó {} con su cola llena; el programa imprimió \"sent {}, {} echoed back, {} lost\".",
        echoed,
        log.received,
        log.discarded,
        counts.sent,
        counts.echoed,
        counts.lost
    ))
}

fn gives_up(log: &BurstLog, finished: &Finished, took: Duration, options: &Options) -> Outcome {
    let lang = options.lang;
    match finished.status {
        None => Err(tr!(
            lang,
            "The checker never echoed {} of the {} datagrams it received (one in {}), and the program was still running after {} s: a lost datagram never comes back, so wait for each echo only so long (a timeout on the receive) and count it lost.",
            "El verificador nunca devolvió {} de los {} datagramas que recibió (uno de cada {}), y el programa seguía ejecutándose después de {} s: un datagrama perdido nunca vuelve, así que espera cada eco solo un tiempo (un tiempo de espera en la recepción) y cuéntalo como perdido.",
            log.discarded,
            log.received,
            LOST_EVERY,
            options.timeout.as_secs()
        )),
        Some(status) if !status.success() => Err(tr!(
            lang,
            "The checker never echoed {} of the {} datagrams it received, and the program ended with {}: losing datagrams is normal on UDP; report it in the counts and end with 0.",
            "El verificador nunca devolvió {} de los {} datagramas que recibió, y el programa terminó con {}: perder datagramas es normal en UDP; infórmalo en las cuentas y termina con 0.",
            log.discarded,
            log.received,
            describe_status(status, lang)
        )),
        Some(_) => Ok(tr!(
            lang,
            "The checker never echoed {} of the {} datagrams it received; the program ended with 0 after {} s.",
            "El verificador nunca devolvió {} de los {} datagramas que recibió; el programa terminó con 0 después de {} s.",
            log.discarded,
            log.received,
            crate::seconds(took, lang)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counts_are_read_from_the_lessons_line_and_from_a_terser_one() {
        let kit = b"sending 2000 datagrams of 64 bytes to 127.0.0.1:9900, as fast as possible\n\
                    sent 2000 datagrams, 13 echoed back, 1987 lost\n\
                    the kernel dropped 1987 datagrams meanwhile at a full receive buffer\n";
        let expected = Counts {
            sent: 2000,
            echoed: 13,
            lost: 1987,
        };
        assert_eq!(printed_counts(kit), Some(expected));
        assert_eq!(
            printed_counts(b"Sent 5: 3 echoed, 2 lost\n").map(|counts| counts.lost),
            Some(2)
        );
        assert_eq!(printed_counts(b"sent 5 datagrams\n"), None);
    }
}
