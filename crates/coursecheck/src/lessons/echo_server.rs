//! echo_server: every byte back, unchanged, until the client closes; then it closes.

use std::io::{Read, Write};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::{Check, LessonDef, Role, SERVER_NOTES, Text};
use crate::servers::{self, Run, ServerCheck, ServerLesson};
use crate::wire::{REPLY_WAIT, binary_payload};
use crate::{Outcome, show, tr};
use netutil::server::is_timeout;

/// The size of the bulk echo.
const BULK_LEN: usize = 1024 * 1024;

pub(super) const LESSON: LessonDef = LessonDef {
    notes: SERVER_NOTES,
    role: Role::Server(ServerLesson {
        welcome: None,
        reply_prefix: b"",
        closes_after_reply: false,
        checks: &[
            ServerCheck {
                check: Check {
                    id: "short",
                    title: Text {
                        en: "echoes a short message",
                        es: "devuelve un mensaje corto",
                    },
                },
                body: short,
            },
            ServerCheck {
                check: Check {
                    id: "until_close",
                    title: Text {
                        en: "echoes every piece until the client closes, then closes",
                        es: "devuelve cada trozo hasta que el cliente cierra, y luego cierra",
                    },
                },
                body: until_close,
            },
            ServerCheck {
                check: Check {
                    id: "binary_1mib",
                    title: Text {
                        en: "1 MiB with NUL bytes and invalid UTF-8 echoed exactly",
                        es: "1 MiB con bytes NUL y UTF-8 inválido, devuelto exacto",
                    },
                },
                body: bulk_echo,
            },
            ServerCheck {
                check: Check {
                    id: "concurrent",
                    title: Text {
                        en: "a silent client does not block another",
                        es: "un cliente inactivo no bloquea a otro",
                    },
                },
                body: |run| servers::concurrent(run, 1),
            },
            ServerCheck {
                check: servers::RESET,
                body: servers::reset,
            },
        ],
    }),
};

/// A short message echoed; after our end of stream, the server closes.
fn short(run: &Run) -> Outcome {
    let message = b"hello\n";
    let mut conn = run.exchange(message)?;
    conn.half_close();
    conn.expect_close()?;
    Ok(tr!(
        run.lang,
        "Sent {}, got {} back.",
        "Se envió {} y volvió {}.",
        show(message, 40),
        show(message, 40)
    ))
}

/// Three pieces 150 ms apart, each echoed on its own, then a close after ours.
fn until_close(run: &Run) -> Outcome {
    let lang = run.lang;
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
        "Tres trozos con 150 ms de separación volvieron uno por uno; después de que cerramos nuestro lado, el programa cerró.",
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
