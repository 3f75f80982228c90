//! The client lessons: the checker is the peer (an SNTP, HTTP or echo server on 127.0.0.1),
//! runs the program once per check, and reads what it printed.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use netutil::ntp::{Header, Leap, Mode, Timestamp};

use crate::lessons::Check;
use crate::program::{HOST, Program, describe_status};
use crate::{CheckResult, Lang, Options, Outcome, result, show, times_in, tr};
use netutil::server::is_timeout;

/// The checks of an SNTP client lesson, in the order they are reported.
pub(crate) struct SntpChecks {
    pub(crate) request: Check,
    pub(crate) time: Check,
    pub(crate) no_reply: Check,
}

/// The checks of an HTTP client lesson, in the order they are reported.
pub(crate) struct HttpChecks {
    pub(crate) request: Check,
    pub(crate) content_length: Check,
    pub(crate) chunked: Check,
    pub(crate) close_delimited: Check,
}

/// The checks of an echo client lesson, in the order they are reported.
pub(crate) struct EchoClientChecks {
    pub(crate) sends: Check,
    pub(crate) echo: Check,
}

/// The checker's SNTP server runs this far ahead of the real clock: 1 h 23 min 20 s, not a
/// whole number of hours, so no time-zone mix-up can land on it by chance.
const SERVER_AHEAD: Duration = Duration::from_secs(5000);
/// The receive timestamp (word 8) is this far behind the transmit timestamp (words 10–11), so
/// a program that prints the receive time is caught.
const RECEIVE_BEHIND: Duration = Duration::from_secs(2000);
/// How far a printed time may be from the server's transmit time (ctime has whole seconds).
const TOLERANCE: Duration = Duration::from_secs(2);
/// How long a client may take to give up when the server never answers.
pub(crate) const NO_REPLY_LIMIT: Duration = Duration::from_secs(20);
/// The pause between the pieces of an HTTP response or of an echo.
const PIECE_DELAY: Duration = Duration::from_millis(60);

/// How a program's run ended.
pub(crate) struct Finished {
    /// Its exit status; `None` when it had to be killed at the deadline.
    pub(crate) status: Option<ExitStatus>,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
    pub(crate) tail: Vec<String>,
    started: SystemTime,
    ended: SystemTime,
}

/// Starts the program with `port` for `{port}`, with a peer on its own thread, waits for the
/// program up to `limit`, and then stops the peer (which polls `stop`).
pub(crate) fn run_client<T: Send + 'static>(
    command: &[String],
    port: u16,
    options: &Options,
    limit: Duration,
    peer: impl FnOnce(Arc<AtomicBool>) -> T + Send + 'static,
) -> Result<(T, Finished), String> {
    run_client_filled(command, port, &[], options, limit, peer)
}

/// [`run_client`], with `fill`'s placeholders (`{ca}` → a file's path) replaced too.
pub(crate) fn run_client_filled<T: Send + 'static>(
    command: &[String],
    port: u16,
    fill: &[(&str, &str)],
    options: &Options,
    limit: Duration,
    peer: impl FnOnce(Arc<AtomicBool>) -> T + Send + 'static,
) -> Result<(T, Finished), String> {
    let stop = Arc::new(AtomicBool::new(false));
    let peer_stop = stop.clone();
    let peer = thread::spawn(move || peer(peer_stop));
    let started = SystemTime::now();
    let mut program = match Program::start_filled(command, port, fill, options, options.lang) {
        Ok(program) => program,
        Err(error) => {
            stop.store(true, Ordering::SeqCst);
            let _ = peer.join();
            return Err(error);
        }
    };
    let status = program.wait_until(Instant::now() + limit);
    let ended = SystemTime::now();
    let tail = program.tail(6);
    program.stop();
    // Let the reader threads take the last bytes the program printed.
    thread::sleep(Duration::from_millis(20));
    let stdout = program.stdout();
    let stderr = program.stderr();
    stop.store(true, Ordering::SeqCst);
    let log = peer
        .join()
        .map_err(|_| {
            tr!(
                options.lang,
                "The checker's own peer failed (a bug in coursecheck, not in the program): please report it.",
                "El par del propio verificador falló (un error de coursecheck, no del programa): por favor, repórtalo.",
            )
        })?;
    Ok((
        log,
        Finished {
            status,
            stdout,
            stderr,
            tail,
            started,
            ended,
        },
    ))
}

/// Runs a program that needs no peer (a lookup lesson) once, with `fill`'s placeholders
/// replaced, until it ends or `limit` passes.
pub(crate) fn run_alone(
    command: &[String],
    fill: &[(&str, &str)],
    options: &Options,
    limit: Duration,
) -> Result<Finished, String> {
    let started = SystemTime::now();
    let mut program = Program::start_with(command, fill, options, options.lang)?;
    let status = program.wait_until(Instant::now() + limit);
    let ended = SystemTime::now();
    let tail = program.tail(6);
    program.stop();
    // Let the reader threads take the last bytes the program printed.
    thread::sleep(Duration::from_millis(20));
    Ok(Finished {
        status,
        stdout: program.stdout(),
        stderr: program.stderr(),
        tail,
        started,
        ended,
    })
}

/// A sentence when the program did not end by itself with status 0, else `None`.
pub(crate) fn bad_ending(finished: &Finished, limit: Duration, lang: Lang) -> Option<String> {
    match finished.status {
        None => Some(tr!(
            lang,
            "The program did not finish within {} s; it was stopped. A client must stop reading once it has the whole answer, and give up after a timeout.",
            "El programa no terminó en {} s; el verificador lo detuvo. Un cliente debe dejar de leer cuando tiene la respuesta completa, y desistir cuando se agote el tiempo de espera.",
            limit.as_secs()
        )),
        Some(status) if !status.success() => Some(tr!(
            lang,
            "The program ended with {} where it should have succeeded (exit code 0).",
            "El programa terminó con {} cuando debía terminar con éxito (código 0).",
            describe_status(status, lang)
        )),
        Some(_) => None,
    }
}

// ---------------------------------------------------------------------------------- SNTP

#[derive(Default)]
struct SntpLog {
    /// Each request: its length and, when it parses, its mode.
    requests: Vec<(usize, Option<Mode>)>,
    /// The (receive, transmit) times of each reply sent.
    replies: Vec<(SystemTime, SystemTime)>,
}

fn sntp_peer(socket: UdpSocket, answer: bool, stop: Arc<AtomicBool>) -> SntpLog {
    let mut log = SntpLog::default();
    let _ = socket.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buffer = [0u8; 1024];
    while !stop.load(Ordering::SeqCst) {
        let Ok((len, from)) = socket.recv_from(&mut buffer) else {
            continue;
        };
        let request = Header::parse(&buffer[..len]).ok();
        log.requests.push((len, request.map(|header| header.mode)));
        let Some(request) = request.filter(|header| header.mode == Mode::Client && answer) else {
            continue;
        };
        let transmit = SystemTime::now() + SERVER_AHEAD;
        let receive = transmit - RECEIVE_BEHIND;
        let reply = Header {
            leap: Leap::NoWarning,
            version: request.version,
            mode: Mode::Server,
            stratum: 2,
            poll: request.poll.max(4),
            precision: -20,
            root_delay: Duration::from_millis(1),
            root_dispersion: Duration::from_millis(1),
            reference_id: [127, 0, 0, 1],
            reference_time: Timestamp::from(transmit - Duration::from_secs(64)),
            origin_time: request.transmit_time,
            receive_time: Timestamp::from(receive),
            transmit_time: Timestamp::from(transmit),
        };
        if socket.send_to(&reply.to_bytes(), from).is_ok() {
            log.replies.push((receive, transmit));
        }
    }
    log
}

fn sntp_run(
    command: &[String],
    options: &Options,
    answer: bool,
    limit: Duration,
) -> Result<(SntpLog, Finished), String> {
    let socket = UdpSocket::bind((HOST, 0)).map_err(|error| error.to_string())?;
    let port = socket
        .local_addr()
        .map_err(|error| error.to_string())?
        .port();
    run_client(command, port, options, limit, move |stop| {
        sntp_peer(socket, answer, stop)
    })
}

fn distance(a: SystemTime, b: SystemTime) -> Duration {
    a.duration_since(b).unwrap_or_else(|error| error.duration())
}

pub(crate) fn run_sntp(
    checks: &SntpChecks,
    command: &[String],
    options: &Options,
) -> Vec<CheckResult> {
    let lang = options.lang;
    let started = Instant::now();
    let mut results = Vec::new();
    match sntp_run(command, options, true, options.timeout) {
        Err(error) => {
            results.push(result(
                checks.request,
                lang,
                started,
                Err(error.clone()),
                Vec::new(),
            ));
            results.push(result(checks.time, lang, started, Err(error), Vec::new()));
        }
        Ok((log, finished)) => {
            results.push(result(
                checks.request,
                lang,
                started,
                sntp_request(&log, lang),
                finished.tail.clone(),
            ));
            let outcome = match bad_ending(&finished, options.timeout, lang) {
                Some(error) => Err(error),
                None => sntp_time(&log, &finished, lang),
            };
            results.push(result(
                checks.time,
                lang,
                started,
                outcome,
                finished.tail.clone(),
            ));
        }
    }

    let started = Instant::now();
    let outcome = sntp_run(command, options, false, NO_REPLY_LIMIT).map(|(_, finished)| {
        let outcome = match finished.status {
            None => Err(tr!(
                lang,
                "The server never answered and the program was still waiting after {} s: UDP never reports a lost datagram, so set a timeout on the receive.",
                "El servidor nunca respondió y el programa seguía esperando después de {} s: UDP nunca avisa que se perdió un datagrama, así que pon un tiempo de espera a la recepción.",
                NO_REPLY_LIMIT.as_secs()
            )),
            Some(status) if status.success() => Err(tr!(
                lang,
                "The server never answered, yet the program ended with status 0: a failure must end with a non-zero status.",
                "El servidor nunca respondió, y aun así el programa terminó con código de salida 0: una falla debe terminar con un código de salida distinto de cero.",
            )),
            Some(status) => Ok(tr!(
                lang,
                "The server never answered; the program gave up after {} s with {}.",
                "El servidor nunca respondió; el programa desistió después de {} s con {}.",
                crate::seconds(distance(finished.ended, finished.started), lang),
                describe_status(status, lang)
            )),
        };
        (outcome, finished.tail)
    });
    results.push(match outcome {
        Ok((outcome, tail)) => result(checks.no_reply, lang, started, outcome, tail),
        Err(error) => result(checks.no_reply, lang, started, Err(error), Vec::new()),
    });
    results
}

fn sntp_request(log: &SntpLog, lang: Lang) -> Outcome {
    match log.requests.first() {
        None => Err(tr!(
            lang,
            "No datagram arrived: does the program send to the host and port it is given ({{host}} {{port}})?",
            "No llegó ningún datagrama: ¿el programa envía al host y al puerto que se le dan ({{host}} {{port}})?",
        )),
        Some((len, Some(Mode::Client))) if *len >= 48 => Ok(tr!(
            lang,
            "Got a {}-byte request in client mode.",
            "Llegó una petición de {} bytes en modo cliente.",
            len
        )),
        Some((len, mode)) => Err(tr!(
            lang,
            "Expected 48 bytes starting with 0x1b (version 3, mode 3: client); got {} bytes, mode {}.",
            "Se esperaban 48 bytes que empezaran por 0x1b (versión 3, modo 3: cliente); llegaron {} bytes, modo {}.",
            len,
            mode.map(|mode| mode.to_string())
                .unwrap_or_else(|| "?".to_owned())
        )),
    }
}

fn sntp_time(log: &SntpLog, finished: &Finished, lang: Lang) -> Outcome {
    let stdout = String::from_utf8_lossy(&finished.stdout);
    let printed = times_in(&stdout);
    let Some(&(_, transmit)) = log.replies.first() else {
        return Err(lang
            .pick(
                "The checker's server never got a request to answer.",
                "El servidor del verificador nunca recibió una petición para responder.",
            )
            .to_owned());
    };
    let expected = netutil::cli::ctime(transmit);
    if printed.is_empty() {
        return Err(tr!(
            lang,
            "Expected the server's time, {} (local), in the output; found no time in a form the checker reads (ctime like Python's time.ctime, ISO 8601, or Unix seconds).",
            "Se esperaba la hora del servidor, {} (local), en la salida; no se encontró ninguna hora en un formato que el verificador reconozca (ctime como time.ctime de Python, ISO 8601 o segundos Unix).",
            expected
        ));
    }
    if let Some(&good) = printed.iter().find(|&&time| {
        log.replies
            .iter()
            .any(|&(_, transmit)| distance(time, transmit) <= TOLERANCE)
    }) {
        return Ok(tr!(
            lang,
            "Printed {}; the server's transmit time was {}.",
            "Imprimió {}; la hora de transmisión del servidor era {}.",
            netutil::cli::ctime(good),
            expected
        ));
    }
    let time = printed[0];
    let shown = netutil::cli::ctime(time);
    let near_receive = log
        .replies
        .iter()
        .any(|&(receive, _)| distance(time, receive) <= TOLERANCE);
    let own_clock = time + TOLERANCE >= finished.started && time <= finished.ended + TOLERANCE;
    let off = distance(time, transmit).as_secs();
    let whole_hours = off >= 3000 && (off % 3600 <= 2 || off % 3600 >= 3598);
    Err(if near_receive {
        tr!(
            lang,
            "Printed {}, the server's receive time (word 8); the time the server tells is its transmit time, {} (words 10–11).",
            "Imprimió {}, la hora de recepción del servidor (palabra 8); la hora que da el servidor es la de transmisión, {} (palabras 10–11).",
            shown,
            expected
        )
    } else if own_clock {
        tr!(
            lang,
            "Printed {}, this computer's own clock; expected the server's time, {} (the checker's server runs 1 h 23 min 20 s ahead on purpose).",
            "Imprimió {}, el reloj de este computador; se esperaba la hora del servidor, {} (el servidor del verificador va 1 h 23 min 20 s adelantado a propósito).",
            shown,
            expected
        )
    } else if whole_hours {
        tr!(
            lang,
            "Printed {}, a whole number of hours from the server's time {}: a time-zone mix-up? Print local time, or say the zone (ISO 8601 with Z or +hh:mm).",
            "Imprimió {}, a un número exacto de horas de la hora del servidor {}: ¿una confusión de zona horaria? Imprime la hora local, o indica la zona (ISO 8601 con Z o +hh:mm).",
            shown,
            expected
        )
    } else {
        tr!(
            lang,
            "Printed {}; expected the server's transmit time, {} (within {} s).",
            "Imprimió {}; se esperaba la hora de transmisión del servidor, {} (con {} s de margen).",
            shown,
            expected,
            TOLERANCE.as_secs()
        )
    })
}

// ---------------------------------------------------------------------------------- HTTP

/// How the checker's HTTP server says where the body ends.
#[derive(Clone, Copy)]
pub(crate) enum Framing {
    ContentLength,
    Chunked,
    Close,
}

impl Framing {
    fn id(self) -> &'static str {
        match self {
            Framing::ContentLength => "content_length",
            Framing::Chunked => "chunked",
            Framing::Close => "close_delimited",
        }
    }

    /// A text body of about 6 KB (more than one 4096-byte read) that ends with a marker.
    pub(crate) fn body(self) -> Vec<u8> {
        let mut body = String::new();
        for number in 1..=80 {
            body.push_str(&format!(
                "line {number:02} of the {} body: the quick brown fox jumps over the lazy dog\n",
                self.id()
            ));
        }
        body.push_str(&format!("END-OF-BODY {} 7f3a9c\n", self.id()));
        body.into_bytes()
    }

    /// The whole response, and where to cut it into pieces: mid status line, mid header
    /// block, one byte alone, and (chunked) inside the chunk-size lines.
    pub(crate) fn response(self) -> (Vec<u8>, Vec<usize>) {
        let body = self.body();
        let mut head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n".to_vec();
        let encoded = match self {
            Framing::ContentLength => {
                head.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
                body
            }
            Framing::Chunked => {
                head.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
                let mut encoded = Vec::new();
                let mut rest = &body[..];
                for size in [1000, 1, 3000, usize::MAX] {
                    let size = size.min(rest.len());
                    encoded.extend_from_slice(format!("{size:x}\r\n").as_bytes());
                    encoded.extend_from_slice(&rest[..size]);
                    encoded.extend_from_slice(b"\r\n");
                    rest = &rest[size..];
                }
                encoded.extend_from_slice(b"0\r\n\r\n");
                encoded
            }
            Framing::Close => {
                head.extend_from_slice(b"Connection: close\r\n");
                body
            }
        };
        head.extend_from_slice(b"\r\n");
        let head_len = head.len();
        let mut response = head;
        response.extend_from_slice(&encoded);
        let cuts = [
            12,
            head_len - 3,
            head_len + 1,
            head_len + 4,
            head_len + 1000,
        ]
        .into_iter()
        .chain([
            head_len + 1006,
            head_len + 1010,
            head_len + 4500,
            response.len() - 3,
        ])
        .filter(|&cut| cut < response.len())
        .collect();
        (response, cuts)
    }
}

#[derive(Default)]
struct HttpLog {
    /// The head of the first request, as received.
    request: Option<Vec<u8>>,
}

/// Reads a request head (up to the empty line) within a few seconds.
fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(count) => head.extend_from_slice(&buffer[..count]),
        }
    }
    head
}

fn http_peer(listener: TcpListener, framing: Framing, stop: Arc<AtomicBool>) -> HttpLog {
    let mut log = HttpLog::default();
    let _ = listener.set_nonblocking(true);
    while !stop.load(Ordering::SeqCst) {
        let mut stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(_) => {
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_nodelay(true);
        let head = read_head(&mut stream);
        let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let wants_close = text.contains("connection: close") || text.contains(" http/1.0\r\n");
        if log.request.is_none() {
            log.request = Some(head);
        }
        let (response, cuts) = framing.response();
        let mut from = 0;
        for cut in cuts.into_iter().chain([response.len()]) {
            if stop.load(Ordering::SeqCst) || stream.write_all(&response[from..cut]).is_err() {
                break;
            }
            from = cut;
            thread::sleep(PIECE_DELAY);
        }
        if matches!(framing, Framing::Close) || wants_close {
            continue;
        }
        // A persistent connection: the framing, not a close, tells the client the body ended.
        let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
        let mut sink = [0u8; 4096];
        while !stop.load(Ordering::SeqCst) {
            match stream.read(&mut sink) {
                Ok(0) => break,
                Err(error) if !is_timeout(&error) => break,
                _ => {}
            }
        }
    }
    log
}

pub(crate) fn run_http(
    checks: &HttpChecks,
    command: &[String],
    options: &Options,
) -> Vec<CheckResult> {
    let lang = options.lang;
    let mut results = Vec::new();
    let mut request = None;
    for framing in [Framing::ContentLength, Framing::Chunked, Framing::Close] {
        let started = Instant::now();
        let check = match framing {
            Framing::ContentLength => checks.content_length,
            Framing::Chunked => checks.chunked,
            Framing::Close => checks.close_delimited,
        };
        let run = TcpListener::bind((HOST, 0))
            .and_then(|listener| Ok((listener.local_addr()?.port(), listener)))
            .map_err(|error| error.to_string())
            .and_then(|(port, listener)| {
                run_client(command, port, options, options.timeout, move |stop| {
                    http_peer(listener, framing, stop)
                })
            });
        match run {
            Err(error) => results.push(result(check, lang, started, Err(error), Vec::new())),
            Ok((log, finished)) => {
                if request.is_none() {
                    request = Some((log.request.clone(), finished.tail.clone(), started));
                }
                let outcome = match bad_ending(&finished, options.timeout, lang) {
                    Some(error) => Err(format!("{error} {}", body_seen(framing, &finished, lang))),
                    None => body_check(framing, &finished, lang),
                };
                results.push(result(check, lang, started, outcome, finished.tail));
            }
        }
    }
    let (head, tail, started) = request.unwrap_or((None, Vec::new(), Instant::now()));
    results.insert(
        0,
        result(
            checks.request,
            lang,
            started,
            request_check(head, lang),
            tail,
        ),
    );
    results
}

pub(crate) fn request_check(head: Option<Vec<u8>>, lang: Lang) -> Outcome {
    let Some(head) = head.filter(|head| !head.is_empty()) else {
        return Err(tr!(
            lang,
            "No request arrived: does the program connect to the host and port it is given ({{host}} {{port}}) and send a request?",
            "No llegó ninguna petición: ¿el programa se conecta al host y al puerto que se le dan ({{host}} {{port}}) y envía una petición?",
        ));
    };
    let text = String::from_utf8_lossy(&head);
    let first = text.lines().next().unwrap_or_default().to_owned();
    let complete = head.ends_with(b"\r\n\r\n");
    let has_host = text
        .split("\r\n")
        .skip(1)
        .any(|line| line.to_ascii_lowercase().starts_with("host:"));
    if !first.starts_with("GET ") || !first.contains(" HTTP/1.") {
        return Err(tr!(
            lang,
            "Expected a request line like \"GET / HTTP/1.1\"; got {}.",
            "Se esperaba una línea de petición como \"GET / HTTP/1.1\"; llegó {}.",
            show(first.as_bytes(), 60)
        ));
    }
    if !complete {
        return Err(tr!(
            lang,
            "The request head must end with an empty line (\"\\r\\n\\r\\n\"); got {}.",
            "La sección de encabezados de la petición debe terminar con una línea vacía (\"\\r\\n\\r\\n\"); llegó {}.",
            show(&head, 80)
        ));
    }
    if !has_host {
        return Err(tr!(
            lang,
            "Got {} with no Host header: HTTP/1.1 requires one (\"Host: 127.0.0.1:PORT\").",
            "Llegó {} sin encabezado Host: HTTP/1.1 lo exige (\"Host: 127.0.0.1:PUERTO\").",
            show(first.as_bytes(), 60)
        ));
    }
    Ok(tr!(
        lang,
        "Got {} with a Host header.",
        "Llegó {} con encabezado Host.",
        show(first.as_bytes(), 60)
    ))
}

/// How much of the body, from its start, appears in what the program printed.
fn printed_prefix(body: &[u8], stdout: &[u8]) -> usize {
    let printed: Vec<u8> = stdout.iter().copied().filter(|&b| b != b'\r').collect();
    let start = &body[..body.len().min(40)];
    printed
        .windows(start.len())
        .enumerate()
        .filter(|(_, window)| *window == start)
        .map(|(at, _)| {
            printed[at..]
                .iter()
                .zip(body)
                .take_while(|(a, b)| a == b)
                .count()
        })
        .max()
        .unwrap_or(0)
}

pub(crate) fn body_seen(framing: Framing, finished: &Finished, lang: Lang) -> String {
    let body = framing.body();
    tr!(
        lang,
        "It had printed {} of the {} body bytes.",
        "Había impreso {} de los {} bytes del cuerpo.",
        printed_prefix(&body, &finished.stdout),
        body.len()
    )
}

pub(crate) fn body_check(framing: Framing, finished: &Finished, lang: Lang) -> Outcome {
    let body = framing.body();
    let printed = printed_prefix(&body, &finished.stdout);
    if printed == body.len() {
        return Ok(tr!(
            lang,
            "The body arrived in pieces 60 ms apart; all {} bytes were printed, up to the marker \"END-OF-BODY\".",
            "El cuerpo llegó en trozos con 60 ms de separación; se imprimieron los {} bytes, hasta la marca \"END-OF-BODY\".",
            body.len()
        ));
    }
    let why = match framing {
        Framing::ContentLength => lang.pick(
            "keep reading until you have Content-Length bytes of body: one recv is not a response",
            "sigue leyendo hasta tener Content-Length bytes de cuerpo: un solo recv no es una respuesta",
        ),
        Framing::Chunked => lang.pick(
            "decode Transfer-Encoding: chunked (a size line in hex before each chunk, 0 at the end) and print only the data",
            "decodifica Transfer-Encoding: chunked (una línea con el tamaño en hexadecimal antes de cada trozo, 0 al final) e imprime solo los datos",
        ),
        Framing::Close => lang.pick(
            "with neither Content-Length nor chunked, the body ends when the server closes: read until recv returns 0 bytes",
            "sin Content-Length ni chunked, el cuerpo termina cuando el servidor cierra: lee hasta que recv devuelva 0 bytes",
        ),
    };
    Err(tr!(
        lang,
        "Expected the whole {}-byte body (it ends with \"END-OF-BODY {}\") in the output; the first {} bytes of it were printed: {}.",
        "Se esperaba el cuerpo completo de {} bytes (termina con \"END-OF-BODY {}\") en la salida; se imprimieron sus primeros {} bytes: {}.",
        body.len(),
        framing.id(),
        printed,
        why
    ))
}

// ---------------------------------------------------------------------------------- echo

#[derive(Default)]
struct EchoLog {
    received: Vec<u8>,
    pieces: usize,
    failure: Option<String>,
}

/// An echo server that sends the echo back in small pieces with pauses, so a client that reads
/// once gets only the first piece; then it closes when the client has closed its side.
fn echo_peer(listener: TcpListener, stop: Arc<AtomicBool>) -> EchoLog {
    let mut log = EchoLog::default();
    let _ = listener.set_nonblocking(true);
    let mut stream = loop {
        if stop.load(Ordering::SeqCst) {
            return log;
        }
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    };
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buffer = [0u8; 64 * 1024];
    while !stop.load(Ordering::SeqCst) {
        let count = match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => count,
            Err(error) if is_timeout(&error) || error.kind() == io::ErrorKind::Interrupted => {
                continue;
            }
            Err(error) => {
                log.failure = Some(error.to_string());
                break;
            }
        };
        let data = &buffer[..count];
        // The first 256 bytes of the stream go back a few bytes at a time; the rest at once.
        let slow = 256usize.saturating_sub(log.received.len()).min(data.len());
        log.received.extend_from_slice(data);
        let piece = (slow / 5).clamp(1, 8);
        let mut pieces: Vec<&[u8]> = data[..slow].chunks(piece).collect();
        if slow < data.len() {
            pieces.push(&data[slow..]);
        }
        for part in pieces {
            if let Err(error) = stream.write_all(part) {
                log.failure.get_or_insert(error.to_string());
                break;
            }
            log.pieces += 1;
            thread::sleep(PIECE_DELAY);
        }
        if log.failure.is_some() {
            break;
        }
    }
    // The client closed its side, or the time is up: close ours.
    let _ = stream.shutdown(Shutdown::Write);
    log
}

pub(crate) fn run_echo_client(
    checks: &EchoClientChecks,
    command: &[String],
    options: &Options,
) -> Vec<CheckResult> {
    let lang = options.lang;
    let started = Instant::now();
    let run = TcpListener::bind((HOST, 0))
        .and_then(|listener| Ok((listener.local_addr()?.port(), listener)))
        .map_err(|error| error.to_string())
        .and_then(|(port, listener)| {
            run_client(command, port, options, options.timeout, move |stop| {
                echo_peer(listener, stop)
            })
        });
    let (log, finished) = match run {
        Ok(run) => run,
        Err(error) => {
            return vec![
                result(checks.sends, lang, started, Err(error.clone()), Vec::new()),
                result(checks.echo, lang, started, Err(error), Vec::new()),
            ];
        }
    };
    let sends = if log.received.is_empty() {
        Err(tr!(
            lang,
            "No bytes arrived: does the program connect to the host and port it is given ({{host}} {{port}}) and send its message?",
            "No llegó ningún byte: ¿el programa se conecta al host y al puerto que se le dan ({{host}} {{port}}) y envía su mensaje?",
        ))
    } else {
        Ok(tr!(
            lang,
            "Received {} bytes: {}.",
            "Se recibieron {} bytes: {}.",
            log.received.len(),
            show(&log.received, 50)
        ))
    };
    let echo = if log.received.is_empty() {
        Err(lang
            .pick(
                "Nothing was sent, so nothing was echoed.",
                "No se envió nada, así que no hubo eco.",
            )
            .to_owned())
    } else if let Some(error) = bad_ending(&finished, options.timeout, lang) {
        Err(error)
    } else if let Some(failure) = &log.failure {
        Err(tr!(
            lang,
            "The program closed the connection before the whole echo came back ({}): read until you have as many bytes as you sent.",
            "El programa cerró la conexión antes de que volviera todo el eco ({}): lee hasta tener tantos bytes como enviaste.",
            failure
        ))
    } else if !is_subsequence(&log.received, &finished.stdout) {
        Err(tr!(
            lang,
            "The echo of {} came back in {} pieces, but the output does not show all of it, in order: print what you receive.",
            "El eco de {} volvió en {} trozos, pero la salida no lo muestra completo y en orden: imprime lo que recibes.",
            show(&log.received, 50),
            log.pieces
        ))
    } else {
        Ok(tr!(
            lang,
            "The echo came back in {} pieces 60 ms apart; the program read all {} bytes, printed them and ended.",
            "El eco volvió en {} trozos con 60 ms de separación; el programa leyó los {} bytes, los imprimió y terminó.",
            log.pieces,
            log.received.len()
        ))
    };
    vec![
        result(checks.sends, lang, started, sends, finished.tail.clone()),
        result(checks.echo, lang, started, echo, finished.tail),
    ]
}

/// Whether every byte of `needle` appears in `haystack`, in order (other bytes in between).
fn is_subsequence(needle: &[u8], haystack: &[u8]) -> bool {
    let mut rest = haystack.iter();
    needle.iter().all(|byte| rest.any(|other| other == byte))
}

/// Waits for one connection on `listener` until `stop`; the stream (blocking again) and the
/// client's address.
pub(crate) fn accept_until_stop(
    listener: &TcpListener,
    stop: &AtomicBool,
) -> Option<(TcpStream, std::net::SocketAddr)> {
    let _ = listener.set_nonblocking(true);
    while !stop.load(Ordering::SeqCst) {
        if let Ok((stream, client)) = listener.accept() {
            let _ = stream.set_nonblocking(false);
            return Some((stream, client));
        }
        thread::sleep(Duration::from_millis(10));
    }
    None
}

/// Holds `stream` open until `stop`, so the program never sees the checker close first.
pub(crate) fn hold_until_stop(stream: TcpStream, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        thread::sleep(Duration::from_millis(20));
    }
    drop(stream);
}

/// The sentence for a client run against a port where nothing listens: it must end soon
/// with a non-zero exit code, having said why.
pub(crate) fn refused(check: Check, command: &[String], options: &Options) -> CheckResult {
    let lang = options.lang;
    let started = Instant::now();
    let port = match crate::program::free_tcp_port() {
        Ok(port) => port,
        Err(error) => return result(check, lang, started, Err(error.to_string()), Vec::new()),
    };
    let finished = match run_client(command, port, options, options.timeout, |_| ()) {
        Ok((_, finished)) => finished,
        Err(error) => return result(check, lang, started, Err(error), Vec::new()),
    };
    let outcome = match finished.status {
        None => Err(tr!(
            lang,
            "Nothing listened on 127.0.0.1:{}, and the program was still running after {} s: a refused connection must end it, with a timeout on the connect for the cases where nothing answers at all.",
            "Nada escuchaba en 127.0.0.1:{}, y el programa seguía ejecutándose después de {} s: una conexión rechazada debe terminarlo, con un tiempo de espera en el connect para los casos en que nada responde.",
            port,
            options.timeout.as_secs()
        )),
        Some(status) if status.success() => Err(tr!(
            lang,
            "Nothing listened on 127.0.0.1:{}, yet the program ended with exit code 0: when connect fails, print why and end with a non-zero exit code (sys.exit(1), not sys.exit()).",
            "Nada escuchaba en 127.0.0.1:{}, y aun así el programa terminó con código de salida 0: cuando connect falla, imprime por qué y termina con un código de salida distinto de cero (sys.exit(1), no sys.exit()).",
            port
        )),
        Some(status) => Ok(tr!(
            lang,
            "Nothing listened on 127.0.0.1:{}; the program ended with {}.",
            "Nada escuchaba en 127.0.0.1:{}; el programa terminó con {}.",
            port,
            describe_status(status, lang)
        )),
    };
    result(check, lang, started, outcome, finished.tail)
}
