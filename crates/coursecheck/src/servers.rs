//! The server lessons' toolkit: the checker starts the program on a free loopback port and
//! plays the clients. Each check runs against a fresh start of the program. The checks that
//! several server lessons share live here; each lesson's file lists which ones it runs.

use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::lessons::{Check, Text};
use crate::program::{HOST, Program, free_tcp_port};
use crate::wire::Conn;
use crate::{CheckResult, Lang, Options, Outcome, result, show, tr};

/// A line that is not text: Latin-1 é, a NUL, and bytes that never occur in UTF-8.
const NOT_TEXT: &[u8] = b"caf\xe9 \x00 \xff\xfe end\n";

/// What a server lesson does, as its clients see it, and the checks it must pass.
pub(crate) struct ServerLesson {
    /// What the server sends first to every client, if anything.
    pub(crate) welcome: Option<&'static [u8]>,
    /// What comes before the message in the reply ("OK..."; nothing for an echo).
    pub(crate) reply_prefix: &'static [u8],
    /// Whether the server closes the connection after its one reply (server_03/04).
    pub(crate) closes_after_reply: bool,
    /// The checks, in order.
    pub(crate) checks: &'static [ServerCheck],
}

/// A server check: its id and title, and what it does against the running program.
#[derive(Clone, Copy)]
pub(crate) struct ServerCheck {
    pub(crate) check: Check,
    pub(crate) body: fn(&Run) -> Outcome,
}

/// Runs every check of a server lesson.
pub(crate) fn run(
    lesson: &'static ServerLesson,
    command: &[String],
    options: &Options,
) -> Vec<CheckResult> {
    lesson
        .checks
        .iter()
        .filter(|check| options.selects(check.check.id))
        .map(|check| run_one(lesson, check, command, options))
        .collect()
}

/// What a check body gets: where the program listens, and the program itself.
pub(crate) struct Run {
    pub(crate) addr: SocketAddr,
    pub(crate) lang: Lang,
    pub(crate) lesson: &'static ServerLesson,
    program: Arc<Mutex<Program>>,
    /// How long the program may take to start accepting connections: three quarters of the
    /// check's time, so a program that never listens is always told so, never caught by the
    /// check's own deadline instead (which would make the sentence depend on the timing).
    startup: Duration,
}

impl Run {
    /// A new client connection. The first one of a check also waits for the program to start:
    /// a refused connection makes no client on the program's side, so retrying is harmless.
    pub(crate) fn client(&self) -> Result<Conn, String> {
        let deadline = Instant::now() + self.startup;
        loop {
            if let Some(status) = self.program.lock().ok().and_then(|mut p| p.exited()) {
                return Err(tr!(
                    self.lang,
                    "The program ended ({}) before it accepted a connection on {}: a server must keep running.",
                    "El programa terminó ({}) antes de aceptar una conexión en {}: un servidor debe seguir ejecutándose.",
                    crate::program::describe_status(status, self.lang),
                    self.addr
                ));
            }
            match TcpStream::connect_timeout(&self.addr, Duration::from_millis(500)) {
                Ok(stream) => return Ok(Conn::new(stream, self.lang)),
                Err(error) if Instant::now() >= deadline => {
                    return Err(tr!(
                        self.lang,
                        "Nothing accepted connections on {} within {} s ({}): does the program use the port it is given ({{port}})?",
                        "Nadie aceptó conexiones en {} durante {} s ({}): ¿el programa usa el puerto que se le da ({{port}})?",
                        self.addr,
                        crate::seconds(self.startup, self.lang),
                        error
                    ));
                }
                Err(_) => thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// A client that has read the lesson's welcome line, if it sends one.
    pub(crate) fn greeted_client(&self) -> Result<Conn, String> {
        let mut conn = self.client()?;
        if let Some(welcome) = self.lesson.welcome {
            let what = self.lang.pick("the welcome line", "la línea de bienvenida");
            conn.expect(welcome, what)?;
        }
        Ok(conn)
    }

    /// What the lesson answers to `message`: the echo, or "OK..." and the message.
    pub(crate) fn reply_to(&self, message: &[u8]) -> Vec<u8> {
        [self.lesson.reply_prefix, message].concat()
    }

    /// One full exchange on a new connection: `message` out, the lesson's reply back, and for
    /// server_03/04 the close that ends the turn.
    pub(crate) fn exchange(&self, message: &[u8]) -> Result<Conn, String> {
        let mut conn = self.greeted_client()?;
        conn.send(message)?;
        let what = self.lang.pick("the reply", "la respuesta");
        conn.expect(&self.reply_to(message), what)?;
        if self.lesson.closes_after_reply {
            conn.expect_close()?;
        }
        Ok(conn)
    }
}

fn run_one(
    lesson: &'static ServerLesson,
    check: &ServerCheck,
    command: &[String],
    options: &Options,
) -> CheckResult {
    let lang = options.lang;
    let started = Instant::now();
    let port = match free_tcp_port() {
        Ok(port) => port,
        Err(error) => {
            let outcome = Err(tr!(
                lang,
                "No free loopback port for the program: {}.",
                "No hay un puerto libre en loopback para el programa: {}.",
                error
            ));
            return result(check.check, lang, started, outcome, Vec::new());
        }
    };
    let program = match Program::start(command, port, options, lang) {
        Ok(program) => Arc::new(Mutex::new(program)),
        Err(error) => return result(check.check, lang, started, Err(error), Vec::new()),
    };
    let run = Run {
        addr: SocketAddr::from((HOST, port)),
        lang,
        lesson,
        program: program.clone(),
        startup: options.timeout - options.timeout / 4,
    };
    // The body runs on its own thread so the whole check stops at the deadline, whatever the
    // program does: killing the program below ends any read the body is still waiting on.
    let (done, outcome) = mpsc::channel();
    let body = check.body;
    let body = thread::spawn(move || {
        let _ = done.send(body(&run));
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
    result(check.check, lang, started, outcome, tail)
}

/// `message` out, the lesson's reply back (and the close, for server_03/04).
pub(crate) fn reply(run: &Run) -> Outcome {
    let message = b"hello\n";
    run.exchange(message)?;
    Ok(tr!(
        run.lang,
        "Sent {}, got {} back.",
        "Se envió {} y volvió {}.",
        show(message, 40),
        show(&run.reply_to(message), 40)
    ))
}

/// Bytes that are not text must come back unchanged.
pub(crate) fn binary(run: &Run) -> Outcome {
    run.exchange(NOT_TEXT)?;
    Ok(tr!(
        run.lang,
        "Sent {}, got {} back byte for byte.",
        "Se envió {} y volvió {} byte por byte.",
        show(NOT_TEXT, 40),
        show(&run.reply_to(NOT_TEXT), 50)
    ))
}

/// A client that leaves without sending must not stop the server (the bug of server-04.py).
pub(crate) fn next_client(run: &Run) -> Outcome {
    let lang = run.lang;
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

/// A client that resets its connection mid-message must not stop the server.
pub(crate) fn reset(run: &Run) -> Outcome {
    let lang = run.lang;
    let mut breaker = run.greeted_client()?;
    breaker.send(b"half a li")?;
    thread::sleep(Duration::from_millis(100));
    breaker.reset();
    thread::sleep(Duration::from_millis(200));
    run.exchange(b"still there?\n").map_err(|error| {
        tr!(
            lang,
            "After a client reset its connection mid-message, the next one was not served: {} Errors of one client (ECONNRESET, EPIPE) must end only that client.",
            "Después de que un cliente cortó su conexión a mitad de mensaje, el siguiente no fue atendido: {} Los errores de un cliente (ECONNRESET, EPIPE) deben cerrar solo la conexión de ese cliente.",
            error
        )
    })?;
    Ok(tr!(
        lang,
        "A client sent half a line and reset; the next one was served as usual.",
        "Un cliente envió media línea y cortó con RST; el siguiente fue atendido normalmente.",
    ))
}

/// `count` clients at once, with an idle one connected first: a server that serves one client
/// at a time never gets past the idle one.
pub(crate) fn concurrent(run: &Run, count: usize) -> Outcome {
    let lang = run.lang;
    let _idle = run.client()?;
    thread::sleep(Duration::from_millis(100));
    let blocked = |number: usize, error: String| {
        tr!(
            lang,
            "While a silent client stayed connected, client {} of {} was not served: {} Serve each client on its own thread.",
            "Mientras un cliente inactivo seguía conectado, el cliente {} de {} no fue atendido: {} Atiende a cada cliente en su propio hilo.",
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
        "Con un cliente inactivo conectado, {} cliente(s) más se conectaron a la vez y cada uno recibió su respuesta.",
        count
    ))
}

/// The [`binary`] check.
pub(crate) const BINARY: Check = Check {
    id: "binary",
    title: Text {
        en: "bytes that are not text (NUL, invalid UTF-8) come back unchanged",
        es: "los bytes que no son texto (NUL, UTF-8 inválido) vuelven sin cambios",
    },
};
/// The [`next_client`] check.
pub(crate) const NEXT_CLIENT: Check = Check {
    id: "next_client",
    title: Text {
        en: "serves the next client after one leaves without sending",
        es: "atiende al siguiente cliente después de que uno se va sin enviar nada",
    },
};
/// The [`reset`] check.
pub(crate) const RESET: Check = Check {
    id: "reset",
    title: Text {
        en: "still serves after a client resets mid-message",
        es: "sigue atendiendo después de que un cliente corta la conexión (RST) a mitad de mensaje",
    },
};

/// The [`taken_port`] check of the one-step servers.
pub(crate) const TAKEN: Check = Check {
    id: "taken",
    title: Text {
        en: "a port already taken: an error and a non-zero exit code",
        es: "un puerto ya ocupado: un error y un código de salida distinto de cero",
    },
};

/// Runs a one-step server on a port the checker is already listening on: the bind must fail,
/// and the program must say so and end with a non-zero exit code (the Python original ends
/// with `sys.exit()`, code 0, so a script cannot tell).
pub(crate) fn taken_port(command: &[String], options: &Options) -> CheckResult {
    let lang = options.lang;
    let started = Instant::now();
    let holder = match std::net::TcpListener::bind((HOST, 0)) {
        Ok(holder) => holder,
        Err(error) => return result(TAKEN, lang, started, Err(error.to_string()), Vec::new()),
    };
    let port = holder.local_addr().map(|addr| addr.port()).unwrap_or(0);
    // The peer holds the port until the program has ended.
    let run = crate::clients::run_client(command, port, options, options.timeout, move |stop| {
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(20));
        }
        drop(holder);
    });
    let (_, finished) = match run {
        Ok(run) => run,
        Err(error) => return result(TAKEN, lang, started, Err(error), Vec::new()),
    };
    let outcome = match finished.status {
        None => Err(tr!(
            lang,
            "The checker was already listening on 127.0.0.1:{}; the program was still running after {} s: its bind must fail at once.",
            "El verificador ya escuchaba en 127.0.0.1:{}; el programa seguía ejecutándose después de {} s: su bind debe fallar de inmediato.",
            port,
            options.timeout.as_secs()
        )),
        Some(status) if status.success() => Err(tr!(
            lang,
            "The checker was already listening on 127.0.0.1:{}, yet the program ended with exit code 0: when bind fails, print why and end with a non-zero exit code (sys.exit(1), not sys.exit()).",
            "El verificador ya escuchaba en 127.0.0.1:{}, y aun así el programa terminó con código de salida 0: cuando bind falla, imprime por qué y termina con un código de salida distinto de cero (sys.exit(1), no sys.exit()).",
            port
        )),
        Some(status) => Ok(tr!(
            lang,
            "The checker was already listening on 127.0.0.1:{}; the program ended with {}.",
            "El verificador ya escuchaba en 127.0.0.1:{}; el programa terminó con {}.",
            port,
            crate::program::describe_status(status, lang)
        )),
    };
    result(TAKEN, lang, started, outcome, finished.tail)
}

/// The address written just before `:port` in `text` (`127.0.0.1` in "bound to
/// 127.0.0.1:8888"), if the port is there.
pub(crate) fn address_before_port(text: &str, port: u16) -> Option<String> {
    let suffix = format!(":{port}");
    text.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',' || c == '\'')
        .find_map(|word| {
            let word = word.trim_end_matches(['.', ';']);
            word.strip_suffix(&suffix).map(str::to_owned)
        })
}

/// A sentence when a one-step server did not end by itself with exit code 0, else `None`.
pub(crate) fn one_step_ending(
    finished: &crate::clients::Finished,
    limit: Duration,
    lang: Lang,
) -> Option<String> {
    match finished.status {
        None => Some(tr!(
            lang,
            "The program was still running after {} s; it was stopped. This lesson's program ends once its one step is done.",
            "El programa seguía ejecutándose después de {} s; el verificador lo detuvo. El programa de esta lección termina apenas hace su único paso.",
            limit.as_secs()
        )),
        Some(status) if !status.success() => Some(tr!(
            lang,
            "The program ended with {} where it should have succeeded (exit code 0).",
            "El programa terminó con {} cuando debía terminar con éxito (código 0).",
            crate::program::describe_status(status, lang)
        )),
        Some(_) => None,
    }
}
