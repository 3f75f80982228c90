//! line_client: your own `nc`: it sends each line typed on its standard input and prints what
//! the server sends the moment it arrives. The checker is the line server and the keyboard:
//! it types, and watches the program's output between keystrokes.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::{Check, LessonDef, Role, SERVER_NOTES, Text};
use crate::clients::accept_until_stop;
use crate::program::{HOST, Program, describe_status};
use crate::wire::REPLY_WAIT;
use crate::{CheckResult, Lang, Options, Outcome, result, show, tr};
use netutil::server::is_timeout;

const GREETING: Check = Check {
    id: "greeting",
    title: Text {
        en: "prints what the server sends first, before anything is typed",
        es: "imprime lo que el servidor envía primero, antes de que se escriba nada",
    },
};
const REPLIES: Check = Check {
    id: "replies",
    title: Text {
        en: "sends each typed line as is, and prints each reply before the next line is typed",
        es: "envía cada línea escrita tal cual, e imprime cada respuesta antes de que se escriba la siguiente",
    },
};
const END_OF_INPUT: Check = Check {
    id: "end_of_input",
    title: Text {
        en: "the end of its input (Ctrl-D) ends the program with 0",
        es: "el fin de su entrada (Ctrl-D) termina el programa con 0",
    },
};

pub(super) const LESSON: LessonDef = LessonDef {
    notes: SERVER_NOTES,
    role: Role::Client {
        checks: &[GREETING, REPLIES, END_OF_INPUT],
        run,
    },
};

/// What the checker's line server sends when a client connects, in the greeting check.
const WELCOME: &[u8] = b"Welcome to the line server of coursecheck\n";
/// The lines the checker types.
const TYPED: [&[u8]; 2] = [b"hello\n", b"world\n"];

/// A line server: sends `welcome` when the client connects, then answers each line with
/// "OK..." and the line. Returns every byte it received.
fn line_server(listener: TcpListener, welcome: &'static [u8], stop: Arc<AtomicBool>) -> Vec<u8> {
    let Some((mut stream, _)) = accept_until_stop(&listener, &stop) else {
        return Vec::new();
    };
    let _ = stream.set_nodelay(true);
    let _ = stream.write_all(welcome);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let mut received = Vec::new();
    let mut line = Vec::new();
    let mut buffer = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => {
                received.extend_from_slice(&buffer[..count]);
                for &byte in &buffer[..count] {
                    line.push(byte);
                    if byte == b'\n' {
                        let _ = stream.write_all(&[b"OK...", &line[..]].concat());
                        line.clear();
                    }
                }
            }
            Err(error) if is_timeout(&error) => {}
            Err(_) => break,
        }
    }
    received
}

/// One run against a fresh line server: the program, the server's thread and its stop flag.
struct Session {
    program: Program,
    server: thread::JoinHandle<Vec<u8>>,
    stop: Arc<AtomicBool>,
}

impl Session {
    fn start(
        command: &[String],
        options: &Options,
        welcome: &'static [u8],
    ) -> Result<Session, String> {
        let listener = TcpListener::bind((HOST, 0)).map_err(|error| error.to_string())?;
        let port = listener
            .local_addr()
            .map_err(|error| error.to_string())?
            .port();
        let stop = Arc::new(AtomicBool::new(false));
        let server_stop = stop.clone();
        let server = thread::spawn(move || line_server(listener, welcome, server_stop));
        match Program::start_typing(command, port, options, options.lang) {
            Ok(program) => Ok(Session {
                program,
                server,
                stop,
            }),
            Err(error) => {
                stop.store(true, Ordering::SeqCst);
                let _ = server.join();
                Err(error)
            }
        }
    }

    /// Stops the program and the server: what the server received, and the program's last lines.
    fn finish(mut self) -> (Vec<u8>, Vec<String>) {
        let tail = self.program.tail(6);
        self.program.stop();
        self.stop.store(true, Ordering::SeqCst);
        (self.server.join().unwrap_or_default(), tail)
    }
}

fn run(command: &[String], options: &Options) -> Vec<CheckResult> {
    let lang = options.lang;
    let mut results = Vec::new();
    for check in [GREETING, REPLIES, END_OF_INPUT] {
        let started = Instant::now();
        let welcome: &'static [u8] = if check.id == GREETING.id {
            WELCOME
        } else {
            b""
        };
        let outcome = Session::start(command, options, welcome).map(|mut session| {
            let outcome = match check.id {
                id if id == GREETING.id => greeting(&session, lang),
                id if id == REPLIES.id => replies(&mut session, lang),
                _ => end_of_input(&mut session, options),
            };
            let (received, tail) = session.finish();
            let outcome = match (check.id == REPLIES.id, outcome) {
                (true, Ok(_)) if received != TYPED.concat() => Err(tr!(
                    lang,
                    "The server received {}; the typed lines were {}: send each line as typed, newline included.",
                    "El servidor recibió {}; las líneas escritas eran {}: envía cada línea tal como se escribió, con su salto de línea.",
                    show(&received, 60),
                    show(&TYPED.concat(), 60)
                )),
                (_, outcome) => outcome,
            };
            (outcome, tail)
        });
        results.push(match outcome {
            Ok((outcome, tail)) => result(check, lang, started, outcome, tail),
            Err(error) => result(check, lang, started, Err(error), Vec::new()),
        });
    }
    results
}

fn greeting(session: &Session, lang: Lang) -> Outcome {
    if session
        .program
        .wait_for_output(WELCOME, 0, Instant::now() + REPLY_WAIT)
    {
        Ok(tr!(
            lang,
            "The server sent {} on connecting; it was printed before anything was typed.",
            "El servidor envió {} al conectarse; se imprimió antes de que se escribiera nada.",
            show(WELCOME, 60)
        ))
    } else {
        Err(tr!(
            lang,
            "The server sent {} on connecting, but nothing of it was printed within {} s while nothing was typed: read from the server and from the keyboard at the same time (a thread for each), not one after the other.",
            "El servidor envió {} al conectarse, pero no se imprimió en {} s mientras no se escribía nada: lee del servidor y del teclado al mismo tiempo (un hilo para cada uno), no uno después del otro.",
            show(WELCOME, 60),
            REPLY_WAIT.as_secs()
        ))
    }
}

fn replies(session: &mut Session, lang: Lang) -> Outcome {
    // Give the program a moment to connect before the first line is typed.
    thread::sleep(Duration::from_millis(300));
    for line in TYPED {
        let from = session.program.stdout().len();
        if !session.program.type_in(line) {
            return Err(tr!(
                lang,
                "Typing {} failed: the program no longer reads its input.",
                "Falló la escritura de {}: el programa ya no lee su entrada.",
                show(line, 20)
            ));
        }
        let reply = [&b"OK..."[..], line].concat();
        if !session
            .program
            .wait_for_output(&reply, from, Instant::now() + REPLY_WAIT)
        {
            return Err(tr!(
                lang,
                "After {} was typed, the server answered {}, but it was not printed within {} s: print the server's bytes as they arrive, not only after the next line is typed.",
                "Después de escribir {}, el servidor respondió {}, pero no se imprimió en {} s: imprime los bytes del servidor apenas llegan, no solo después de que se escribe la línea siguiente.",
                show(line, 20),
                show(&reply, 30),
                REPLY_WAIT.as_secs()
            ));
        }
    }
    Ok(tr!(
        lang,
        "Typed \"hello\\n\" and \"world\\n\"; the server got them as typed, and each reply was printed before the next line.",
        "Se escribieron \"hello\\n\" y \"world\\n\"; el servidor los recibió tal cual, y cada respuesta se imprimió antes de la línea siguiente.",
    ))
}

fn end_of_input(session: &mut Session, options: &Options) -> Outcome {
    let lang = options.lang;
    thread::sleep(Duration::from_millis(300));
    session.program.type_in(b"bye\n");
    let _ = session
        .program
        .wait_for_output(b"OK...bye\n", 0, Instant::now() + REPLY_WAIT);
    session.program.end_input();
    let limit = Duration::from_secs(3).min(options.timeout);
    match session.program.wait_until(Instant::now() + limit) {
        Some(status) if status.success() => Ok(tr!(
            lang,
            "Its input ended; the program ended with 0 within {} s.",
            "Su entrada terminó; el programa terminó con 0 en menos de {} s.",
            limit.as_secs()
        )),
        ending => Err(tr!(
            lang,
            "Its input ended, and {}: at the end of input, half-close the connection (shutdown for writing) and end once the server closes, or exit.",
            "Su entrada terminó, y {}: al final de la entrada, cierra tu lado de la conexión (shutdown de escritura) y termina cuando el servidor cierre, o sal.",
            match ending {
                Some(status) => tr!(
                    lang,
                    "the program ended with {}",
                    "el programa terminó con {}",
                    describe_status(status, lang)
                ),
                None => tr!(
                    lang,
                    "the program was still running {} s later",
                    "el programa seguía ejecutándose {} s después",
                    limit.as_secs()
                ),
            }
        )),
    }
}
