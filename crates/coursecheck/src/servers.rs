//! The server lessons: the checker starts the program on a free loopback port and plays the
//! clients. Each check runs against a fresh start of the program.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::program::{HOST, Program, free_tcp_port};
use crate::wire::{Conn, REPLY_WAIT, binary_payload, is_timeout};
use crate::{CheckResult, Lang, Lesson, Options, Outcome, result, show, tr};

/// What server_05 sends first to every client.
const WELCOME: &[u8] = b"Welcome to the server. Type something and hit enter\n";
/// A line that is not text: Latin-1 é, a NUL, and bytes that never occur in UTF-8.
const NOT_TEXT: &[u8] = b"caf\xe9 \x00 \xff\xfe end\n";
/// How many clients talk at once in the concurrency check.
const CLIENTS_AT_ONCE: usize = 4;
/// The size of the bulk echo.
const BULK_LEN: usize = 1024 * 1024;

pub(crate) const SERVER_03: &[&str] = &["reply", "binary"];
pub(crate) const SERVER_04: &[&str] = &[
    "reply",
    "binary",
    "one_after_another",
    "next_client",
    "reset",
];
pub(crate) const SERVER_05: &[&str] = &[
    "greeting",
    "split_line",
    "two_lines",
    "binary",
    "next_client",
    "reset",
    "concurrent",
];
pub(crate) const ECHO_SERVER: &[&str] =
    &["short", "until_close", "binary_1mib", "concurrent", "reset"];

/// Runs every check of a server lesson.
pub(crate) fn run(lesson: Lesson, command: &[String], options: &Options) -> Vec<CheckResult> {
    lesson
        .check_ids()
        .iter()
        .map(|id| run_one(lesson, id, command, options))
        .collect()
}

/// What a check body gets: where the program listens, and the program itself.
struct Run {
    addr: SocketAddr,
    lang: Lang,
    lesson: Lesson,
    program: Arc<Mutex<Program>>,
    /// How long the program may take to start accepting connections: the whole check's time.
    startup: Duration,
}

impl Run {
    /// A new client connection. The first one of a check also waits for the program to start:
    /// a refused connection makes no client on the program's side, so retrying is harmless.
    fn client(&self) -> Result<Conn, String> {
        let deadline = Instant::now() + self.startup;
        loop {
            if let Some(status) = self.program.lock().ok().and_then(|mut p| p.exited()) {
                return Err(tr!(
                    self.lang,
                    "The program ended ({}) before it accepted a connection on {}: a server must keep running.",
                    "El programa terminó ({}) antes de aceptar una conexión en {}: un servidor debe seguir corriendo.",
                    status,
                    self.addr
                ));
            }
            match TcpStream::connect_timeout(&self.addr, Duration::from_millis(500)) {
                Ok(stream) => return Ok(Conn::new(stream, self.lang)),
                Err(error) if Instant::now() >= deadline => {
                    return Err(tr!(
                        self.lang,
                        "Nothing accepted connections on {} within {} s ({}): does the program use the port it is given ({{port}})?",
                        "Nada aceptó conexiones en {} en {} s ({}): ¿el programa usa el puerto que se le da ({{port}})?",
                        self.addr,
                        self.startup.as_secs(),
                        error
                    ));
                }
                Err(_) => thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// A client that has read server_05's welcome line (other lessons send none).
    fn greeted_client(&self) -> Result<Conn, String> {
        let mut conn = self.client()?;
        if self.lesson == Lesson::Server05 {
            let what = self.lang.pick("the welcome line", "la línea de bienvenida");
            conn.expect(WELCOME, what)?;
        }
        Ok(conn)
    }

    /// What the lesson answers to `message`: the echo, or "OK..." and the message.
    fn reply_to(&self, message: &[u8]) -> Vec<u8> {
        let mut reply = match self.lesson {
            Lesson::Server03 | Lesson::EchoServer => Vec::new(),
            _ => b"OK...".to_vec(),
        };
        reply.extend_from_slice(message);
        reply
    }

    /// One full exchange on a new connection: `message` out, the lesson's reply back, and for
    /// server_03/04 the close that ends the turn.
    fn exchange(&self, message: &[u8]) -> Result<Conn, String> {
        let mut conn = self.greeted_client()?;
        conn.send(message)?;
        let what = self.lang.pick("the reply", "la respuesta");
        conn.expect(&self.reply_to(message), what)?;
        if matches!(self.lesson, Lesson::Server03 | Lesson::Server04) {
            conn.expect_close()?;
        }
        Ok(conn)
    }
}

fn title(lesson: Lesson, id: &str, lang: Lang) -> String {
    let text = match (id, lesson) {
        ("reply", Lesson::Server03) => (
            "sends back what it received, then closes",
            "devuelve lo que recibió y cierra",
        ),
        ("reply", _) => (
            "replies \"OK...\" + what it received, then closes",
            "responde \"OK...\" + lo que recibió, y cierra",
        ),
        ("binary", _) => (
            "bytes that are not text (NUL, invalid UTF-8) come back unchanged",
            "los bytes que no son texto (NUL, UTF-8 inválido) vuelven sin cambios",
        ),
        ("one_after_another", _) => (
            "serves three clients one after another",
            "atiende a tres clientes, uno tras otro",
        ),
        ("next_client", _) => (
            "serves the next client after one leaves without sending",
            "atiende al siguiente cliente después de que uno se va sin enviar nada",
        ),
        ("reset", _) => (
            "still serves after a client resets mid-message",
            "sigue atendiendo después de que un cliente corta la conexión (RST) a mitad de mensaje",
        ),
        ("greeting", _) => (
            "welcome line and \"OK...\" replies, byte for byte",
            "línea de bienvenida y respuestas \"OK...\", byte por byte",
        ),
        ("split_line", _) => (
            "a line sent in three pieces gets one reply",
            "una línea enviada en tres pedazos recibe una sola respuesta",
        ),
        ("two_lines", _) => (
            "two lines in one write get two replies",
            "dos líneas en un solo envío reciben dos respuestas",
        ),
        ("concurrent", Lesson::Server05) => (
            "4 clients at once while a silent one is connected",
            "4 clientes a la vez mientras uno callado sigue conectado",
        ),
        ("concurrent", _) => (
            "a silent client does not block another",
            "un cliente callado no bloquea a otro",
        ),
        ("short", _) => ("echoes a short message", "devuelve un mensaje corto"),
        ("until_close", _) => (
            "echoes every piece until the client closes, then closes",
            "devuelve cada pedazo hasta que el cliente cierra, y luego cierra",
        ),
        ("binary_1mib", _) => (
            "1 MiB with NUL bytes and invalid UTF-8 echoed exactly",
            "1 MiB con bytes NUL y UTF-8 inválido, devuelto exacto",
        ),
        _ => (id, id),
    };
    lang.pick(text.0, text.1).to_owned()
}

fn run_one(lesson: Lesson, id: &'static str, command: &[String], options: &Options) -> CheckResult {
    let lang = options.lang;
    let started = Instant::now();
    let title = title(lesson, id, lang);
    let port = match free_tcp_port() {
        Ok(port) => port,
        Err(error) => {
            let outcome = Err(format!("no free loopback port: {error}"));
            return result(id, title, started, outcome, Vec::new());
        }
    };
    let program = match Program::start(command, port, options.workdir.as_deref(), lang) {
        Ok(program) => Arc::new(Mutex::new(program)),
        Err(error) => return result(id, title, started, Err(error), Vec::new()),
    };
    let run = Run {
        addr: SocketAddr::from((HOST, port)),
        lang,
        lesson,
        program: program.clone(),
        startup: options.timeout,
    };
    // The body runs on its own thread so the whole check stops at the deadline, whatever the
    // program does: killing the program below ends any read the body is still waiting on.
    let (done, outcome) = mpsc::channel();
    let body = thread::spawn(move || {
        let _ = done.send(body(id, &run));
    });
    let outcome = match outcome.recv_timeout(options.timeout) {
        Ok(outcome) => outcome,
        Err(_) => Err(tr!(
            lang,
            "The check did not finish within {} s (--timeout): the program stopped answering.",
            "La prueba no terminó en {} s (--timeout): el programa dejó de responder.",
            options.timeout.as_secs()
        )),
    };
    let mut program = program.lock().unwrap_or_else(|poison| poison.into_inner());
    let tail = program.tail(6);
    program.stop();
    drop(program);
    let _ = body.join();
    result(id, title, started, outcome, tail)
}

fn body(id: &str, run: &Run) -> Outcome {
    let lang = run.lang;
    match id {
        "reply" | "short" => {
            let message = b"hello\n";
            let mut conn = run.exchange(message)?;
            if run.lesson == Lesson::EchoServer {
                conn.half_close();
                conn.expect_close()?;
            }
            Ok(tr!(
                lang,
                "Sent {}, got {} back.",
                "Se envió {} y volvió {}.",
                show(message, 40),
                show(&run.reply_to(message), 40)
            ))
        }
        "binary" => {
            run.exchange(NOT_TEXT)?;
            Ok(tr!(
                lang,
                "Sent {}, got {} back byte for byte.",
                "Se envió {} y volvió {} byte por byte.",
                show(NOT_TEXT, 40),
                show(&run.reply_to(NOT_TEXT), 50)
            ))
        }
        "one_after_another" => {
            for number in 1..=3 {
                let message = format!("client {number}\n");
                run.exchange(message.as_bytes()).map_err(|error| {
                    tr!(
                        lang,
                        "Client {} of 3: {}",
                        "Cliente {} de 3: {}",
                        number,
                        error
                    )
                })?;
            }
            Ok(tr!(
                lang,
                "Three clients in a row each got \"OK...client N\\n\" and a close.",
                "Tres clientes seguidos recibieron cada uno \"OK...client N\\n\" y el cierre.",
            ))
        }
        "next_client" => {
            let leaver = run.client()?;
            drop(leaver);
            thread::sleep(Duration::from_millis(200));
            run.exchange(b"are you there?\n").map_err(|error| {
                tr!(
                    lang,
                    "After a client left without sending anything, the next one was not served: {} An empty read must end only that client's turn, never the server.",
                    "Después de que un cliente se fue sin enviar nada, el siguiente no fue atendido: {} Una lectura vacía debe terminar solo el turno de ese cliente, nunca el servidor.",
                    error
                )
            })?;
            Ok(tr!(
                lang,
                "A client left without sending; the next one was served as usual.",
                "Un cliente se fue sin enviar nada; el siguiente fue atendido normalmente.",
            ))
        }
        "reset" => {
            let mut breaker = run.greeted_client()?;
            breaker.send(b"half a li")?;
            thread::sleep(Duration::from_millis(100));
            breaker.reset();
            thread::sleep(Duration::from_millis(200));
            run.exchange(b"still there?\n").map_err(|error| {
                tr!(
                    lang,
                    "After a client reset its connection mid-message, the next one was not served: {} Errors of one client (ECONNRESET, EPIPE) must end only that client.",
                    "Después de que un cliente cortó su conexión a mitad de mensaje, el siguiente no fue atendido: {} Los errores de un cliente (ECONNRESET, EPIPE) deben terminar solo ese cliente.",
                    error
                )
            })?;
            Ok(tr!(
                lang,
                "A client sent half a line and reset; the next one was served as usual.",
                "Un cliente envió media línea y cortó con RST; el siguiente fue atendido normalmente.",
            ))
        }
        "greeting" => {
            let mut conn = run.greeted_client()?;
            for line in [&b"hello\n"[..], b"world\n"] {
                conn.send(line)?;
                conn.expect(&run.reply_to(line), lang.pick("the reply", "la respuesta"))?;
            }
            Ok(tr!(
                lang,
                "Got the welcome line, then \"OK...hello\\n\" and \"OK...world\\n\", exactly.",
                "Llegó la línea de bienvenida y luego \"OK...hello\\n\" y \"OK...world\\n\", exactos.",
            ))
        }
        "split_line" => {
            let mut conn = run.greeted_client()?;
            for piece in [&b"spl"[..], b"it li"] {
                conn.send(piece)?;
                thread::sleep(Duration::from_millis(150));
                if let Err(early) = conn.expect_quiet() {
                    return Err(tr!(
                        lang,
                        "Sent \"split line\\n\" in three pieces; after the piece {} (no newline yet) the program already answered {}: it treats one read as a line. Read until \"\\n\".",
                        "Se envió \"split line\\n\" en tres pedazos; después del pedazo {} (todavía sin salto de línea) el programa ya respondió {}: toma una lectura como si fuera una línea. Lee hasta \"\\n\".",
                        show(piece, 20),
                        show(&early, 40)
                    ));
                }
            }
            conn.send(b"ne\n")?;
            conn.expect(b"OK...split line\n", lang.pick("the reply", "la respuesta"))?;
            Ok(tr!(
                lang,
                "Sent \"spl\", \"it li\", \"ne\\n\" 150 ms apart; got one reply \"OK...split line\\n\".",
                "Se envió \"spl\", \"it li\", \"ne\\n\" con 150 ms de separación; llegó una sola respuesta \"OK...split line\\n\".",
            ))
        }
        "two_lines" => {
            let mut conn = run.greeted_client()?;
            conn.send(b"first\nsecond\n")?;
            conn.expect(
                b"OK...first\nOK...second\n",
                lang.pick("two replies", "dos respuestas"),
            )
            .map_err(|error| {
                format!(
                    "{error} {}",
                    lang.pick(
                        "One read can hold several lines: answer each line.",
                        "Una lectura puede traer varias líneas: responde a cada línea."
                    )
                )
            })?;
            Ok(tr!(
                lang,
                "Sent \"first\\nsecond\\n\" in one write; got \"OK...first\\n\" and \"OK...second\\n\".",
                "Se envió \"first\\nsecond\\n\" en un solo envío; llegaron \"OK...first\\n\" y \"OK...second\\n\".",
            ))
        }
        "concurrent" => concurrent(run),
        "until_close" => {
            let mut conn = run.client()?;
            for piece in [&b"first piece, "[..], b"second piece, ", b"the end\n"] {
                conn.send(piece)?;
                conn.expect(piece, lang.pick("the echo", "el eco"))?;
                thread::sleep(Duration::from_millis(150));
            }
            conn.half_close();
            conn.expect_close()?;
            Ok(tr!(
                lang,
                "Three pieces 150 ms apart came back one by one; after our end of stream the program closed.",
                "Tres pedazos con 150 ms de separación volvieron uno por uno; después de nuestro fin de datos el programa cerró.",
            ))
        }
        "binary_1mib" => bulk_echo(run),
        _ => Err(format!("unknown check {id}")),
    }
}

/// Several clients at once, with a silent one connected first: a server that serves one
/// client at a time never gets past the silent one.
fn concurrent(run: &Run) -> Outcome {
    let lang = run.lang;
    let _silent = run.client()?;
    thread::sleep(Duration::from_millis(100));
    let count = if run.lesson == Lesson::Server05 {
        CLIENTS_AT_ONCE
    } else {
        1
    };
    let blocked = |number: usize, error: String| {
        tr!(
            lang,
            "While a silent client stayed connected, client {} of {} was not served: {} Serve each client on its own thread.",
            "Mientras un cliente callado seguía conectado, el cliente {} de {} no fue atendido: {} Atiende a cada cliente en su propio hilo.",
            number,
            count,
            error
        )
    };
    let mut clients = Vec::new();
    for number in 1..=count {
        clients.push(
            run.greeted_client()
                .map_err(|error| blocked(number, error))?,
        );
    }
    for (number, conn) in clients.iter_mut().enumerate() {
        conn.send(format!("client {}\n", number + 1).as_bytes())?;
    }
    for (number, conn) in clients.iter_mut().enumerate() {
        let message = format!("client {}\n", number + 1);
        conn.expect(
            &run.reply_to(message.as_bytes()),
            lang.pick("the reply", "la respuesta"),
        )
        .map_err(|error| blocked(number + 1, error))?;
    }
    Ok(tr!(
        lang,
        "With a silent client connected, {} other client(s) connected at once and each got its reply.",
        "Con un cliente callado conectado, {} cliente(s) más se conectaron a la vez y cada uno recibió su respuesta.",
        count
    ))
}

/// 1 MiB that is not text, sent on one thread while this one reads the echo.
fn bulk_echo(run: &Run) -> Outcome {
    let lang = run.lang;
    let conn = run.client()?;
    let payload = Arc::new(binary_payload(BULK_LEN));
    let mut writer = conn.stream.try_clone().map_err(|error| error.to_string())?;
    let to_send = payload.clone();
    let sender = thread::spawn(move || {
        let _ = writer.set_write_timeout(Some(Duration::from_secs(10)));
        let sent = writer.write_all(&to_send);
        let _ = writer.shutdown(std::net::Shutdown::Write);
        sent
    });
    let mut reader = &conn.stream;
    let mut echo = Vec::with_capacity(BULK_LEN);
    let mut buffer = vec![0u8; 64 * 1024];
    let ending = loop {
        let _ = reader.set_read_timeout(Some(REPLY_WAIT));
        match reader.read(&mut buffer) {
            Ok(0) => {
                break lang
                    .pick(
                        "the program closed the connection",
                        "el programa cerró la conexión",
                    )
                    .to_owned();
            }
            Ok(count) => {
                echo.extend_from_slice(&buffer[..count]);
                if echo.len() > BULK_LEN {
                    break lang
                        .pick(
                            "more bytes came than were sent",
                            "llegaron más bytes de los enviados",
                        )
                        .to_owned();
                }
            }
            Err(error) if is_timeout(&error) => {
                break tr!(
                    lang,
                    "nothing more came for {} s",
                    "no llegó nada más en {} s",
                    REPLY_WAIT.as_secs()
                );
            }
            Err(error) => break error.to_string(),
        }
    };
    // Unblock the sender if the program stopped reading, then collect it.
    let _ = conn.stream.shutdown(std::net::Shutdown::Both);
    let _ = sender.join();
    if echo[..] == payload[..] {
        return Ok(tr!(
            lang,
            "Sent 1 MiB with NUL bytes and invalid UTF-8; all {} bytes came back unchanged, then the program closed.",
            "Se envió 1 MiB con bytes NUL y UTF-8 inválido; los {} bytes volvieron sin cambios, y luego el programa cerró.",
            BULK_LEN
        ));
    }
    let first_difference = payload.iter().zip(&echo).position(|(a, b)| a != b);
    Err(match first_difference {
        Some(at) => tr!(
            lang,
            "Sent 1 MiB that is not text; the echo differs at byte {}: sent 0x{:02x}, got 0x{:02x} ({} bytes came back; {}). Treat the data as bytes: never decode it as text.",
            "Se envió 1 MiB que no es texto; el eco difiere en el byte {}: se envió 0x{:02x} y llegó 0x{:02x} (volvieron {} bytes; {}). Trata los datos como bytes: nunca los decodifiques como texto.",
            at,
            payload[at],
            echo[at],
            echo.len(),
            ending
        ),
        None => tr!(
            lang,
            "Sent 1 MiB that is not text; {} of {} bytes came back ({}). Echo every read until the client closes, and send all of it (sendall, write_all).",
            "Se envió 1 MiB que no es texto; volvieron {} de {} bytes ({}). Devuelve cada lectura hasta que el cliente cierre, y envíala completa (sendall, write_all).",
            echo.len(),
            BULK_LEN,
            ending
        ),
    })
}
