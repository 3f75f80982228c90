//! server_05: a server with a thread per client. It sends a welcome line, then "OK..." + each
//! line, newline included, for as many clients at once as connect.

use std::thread;
use std::time::Duration;

use super::{Check, LessonDef, Role, SERVER_NOTES, Text};
use crate::servers::{self, Run, ServerCheck, ServerLesson};
use crate::{Outcome, show, tr};

/// What server_05 sends first to every client.
pub(super) const WELCOME: &[u8] = b"Welcome to the server. Type something and hit enter\n";
/// How many clients talk at once in the concurrency check.
const CLIENTS_AT_ONCE: usize = 4;

pub(super) const LESSON: LessonDef = LessonDef {
    notes: SERVER_NOTES,
    role: Role::Server(ServerLesson {
        welcome: Some(WELCOME),
        reply_prefix: b"OK...",
        closes_after_reply: false,
        checks: CHECKS,
    }),
};

/// server_05's checks, which server_06 and server_07 must pass too.
pub(super) const CHECKS: &[ServerCheck] = &[
    ServerCheck {
        check: Check {
            id: "greeting",
            title: Text {
                en: "welcome line and \"OK...\" replies, byte for byte",
                es: "línea de bienvenida y respuestas \"OK...\", byte por byte",
            },
        },
        body: greeting,
    },
    ServerCheck {
        check: Check {
            id: "split_line",
            title: Text {
                en: "a line sent in three pieces gets one reply",
                es: "una línea enviada en tres trozos recibe una sola respuesta",
            },
        },
        body: split_line,
    },
    ServerCheck {
        check: Check {
            id: "two_lines",
            title: Text {
                en: "two lines in one write get two replies",
                es: "dos líneas en un solo envío reciben dos respuestas",
            },
        },
        body: two_lines,
    },
    ServerCheck {
        check: servers::BINARY,
        body: servers::binary,
    },
    ServerCheck {
        check: servers::NEXT_CLIENT,
        body: servers::next_client,
    },
    ServerCheck {
        check: servers::RESET,
        body: servers::reset,
    },
    ServerCheck {
        check: Check {
            id: "concurrent",
            title: Text {
                en: "4 clients at once while a silent one is connected",
                es: "4 clientes a la vez mientras uno inactivo sigue conectado",
            },
        },
        body: |run| servers::concurrent(run, CLIENTS_AT_ONCE),
    },
];

/// The welcome line, then two lines answered byte for byte.
fn greeting(run: &Run) -> Outcome {
    let lang = run.lang;
    let mut conn = run.greeted_client()?;
    for line in [&b"hello\n"[..], b"world\n"] {
        conn.send(line)?;
        conn.expect(&run.reply_to(line), lang.pick("the reply", "la respuesta"))?;
    }
    Ok(tr!(
        lang,
        "Got the welcome line, then \"OK...hello\\n\" and \"OK...world\\n\", exactly.",
        "Llegó la línea de bienvenida y luego \"OK...hello\\n\" y \"OK...world\\n\", tal cual.",
    ))
}

/// A line in three pieces 150 ms apart: no reply before its newline, then one reply.
fn split_line(run: &Run) -> Outcome {
    let lang = run.lang;
    let mut conn = run.greeted_client()?;
    for piece in [&b"spl"[..], b"it li"] {
        conn.send(piece)?;
        thread::sleep(Duration::from_millis(150));
        if let Err(early) = conn.expect_quiet() {
            return Err(tr!(
                lang,
                "Sent \"split line\\n\" in three pieces; after the piece {} (no newline yet) the program already answered {}: it treats one read as a line. Read until \"\\n\".",
                "Se envió \"split line\\n\" en tres trozos; después del trozo {} (todavía sin salto de línea) el programa ya respondió {}: toma una lectura como si fuera una línea. Lee hasta \"\\n\".",
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
        "Se enviaron \"spl\", \"it li\", \"ne\\n\" con 150 ms de separación; llegó una sola respuesta \"OK...split line\\n\".",
    ))
}

/// Two lines in one write: two replies.
fn two_lines(run: &Run) -> Outcome {
    let lang = run.lang;
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
        "Se envió \"first\\nsecond\\n\" en una sola escritura; llegaron \"OK...first\\n\" y \"OK...second\\n\".",
    ))
}
