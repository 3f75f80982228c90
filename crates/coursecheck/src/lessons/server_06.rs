//! server_06: server_05's protocol served to many clients cheaply (one thread and a
//! readiness loop in the kit). It must pass every check of server_05, hold at least 1,000
//! clients at once, and keep serving the others while one client never reads its replies.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::{Check, LessonDef, Role, Text, server_05};
use crate::servers::{Run, ServerCheck, ServerLesson};
use crate::{Outcome, tr};

/// How many clients the many-clients check holds at once.
const MANY: usize = 1000;
/// How much the client that never reads sends: far more than the socket buffers of both
/// ends hold, so a server that blocks writing to it is caught.
const UNREAD_BYTES: usize = 16 * 1024 * 1024;

pub(super) const NOTES: Text = Text {
    en: "docs/05-many-clients.md",
    es: "docs/es/05-many-clients.md",
};

pub(super) const LESSON: LessonDef = LessonDef {
    notes: NOTES,
    role: Role::Server(ServerLesson {
        welcome: Some(server_05::WELCOME),
        reply_prefix: b"OK...",
        closes_after_reply: false,
        checks: CHECKS,
    }),
};

/// server_05's checks, then the two that need many clients served cheaply.
pub(super) const CHECKS: &[ServerCheck] = &[
    server_05::CHECKS[0],
    server_05::CHECKS[1],
    server_05::CHECKS[2],
    server_05::CHECKS[3],
    server_05::CHECKS[4],
    server_05::CHECKS[5],
    server_05::CHECKS[6],
    ServerCheck {
        check: Check {
            id: "many_clients",
            title: Text {
                en: "1,000 clients connected at once, each greeted and answered",
                es: "1.000 clientes conectados a la vez, cada uno con su bienvenida y su respuesta",
            },
        },
        body: many_clients,
    },
    ServerCheck {
        check: Check {
            id: "unread_replies",
            title: Text {
                en: "a client that never reads its replies does not stall the others",
                es: "un cliente que nunca lee sus respuestas no bloquea a los demás",
            },
        },
        body: unread_replies,
    },
];

/// Lets the checker hold [`MANY`] connections: the soft limit on open files up to the hard one.
fn raise_open_file_limit() {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit read and write only the struct we pass.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
                limit.rlim_cur = limit.rlim_max;
                libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            }
        }
    }
}

fn many_clients(run: &Run) -> Outcome {
    let lang = run.lang;
    raise_open_file_limit();
    let mut clients = Vec::with_capacity(MANY);
    for number in 1..=MANY {
        let conn = run.greeted_client().map_err(|error| {
            tr!(
                lang,
                "With {} clients connected, client {} was not greeted: {} Serve every client at once (raise --max-clients if the program has one).",
                "Con {} clientes conectados, el cliente {} no recibió la bienvenida: {} Atiende a todos los clientes a la vez (sube --max-clients si el programa lo tiene).",
                number - 1,
                number,
                error
            )
        })?;
        clients.push(conn);
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
        .map_err(|error| {
            tr!(
                lang,
                "With {} clients connected, client {} got no reply: {}",
                "Con {} clientes conectados, el cliente {} no recibió respuesta: {}",
                MANY,
                number + 1,
                error
            )
        })?;
    }
    Ok(tr!(
        lang,
        "{} clients connected at once; each got the welcome line and its reply.",
        "{} clientes se conectaron a la vez; cada uno recibió la bienvenida y su respuesta.",
        MANY
    ))
}

fn unread_replies(run: &Run) -> Outcome {
    let lang = run.lang;
    let hog = run.greeted_client()?;
    let mut writer = hog.stream.try_clone().map_err(|error| error.to_string())?;
    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    // Lines without end, never reading a reply, until the check is over or the server stops
    // reading them too.
    let sender = thread::spawn(move || {
        let _ = writer.set_write_timeout(Some(Duration::from_millis(200)));
        let line = [b'x'; 63]
            .iter()
            .copied()
            .chain([b'\n'])
            .collect::<Vec<u8>>();
        let mut sent = 0;
        while sent < UNREAD_BYTES && !stop.load(Ordering::SeqCst) {
            match writer.write(&line) {
                Ok(count) => sent += count,
                Err(_) => thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    // Give the server time to fill the hog's buffers and block on it, if it blocks.
    thread::sleep(Duration::from_millis(1500));
    let started = Instant::now();
    let outcome = run.exchange(b"still there?\n");
    done.store(true, Ordering::SeqCst);
    let _ = sender.join();
    drop(hog);
    outcome.map_err(|error| {
        tr!(
            lang,
            "While one client sent lines and never read the replies, another was not served: {} A write to a client that does not read must not block the server: buffer what it cannot take, and stop reading from it when its buffer is full.",
            "Mientras un cliente enviaba líneas y nunca leía las respuestas, otro no fue atendido: {} Escribirle a un cliente que no lee no debe bloquear el servidor: guarda lo que no recibe y deja de leer lo que envía cuando su búfer esté lleno.",
            error
        )
    })?;
    Ok(tr!(
        lang,
        "While one client sent lines and never read a reply, another was greeted and answered in {} ms.",
        "Mientras un cliente enviaba líneas y nunca leía una respuesta, otro recibió la bienvenida y su respuesta en {} ms.",
        started.elapsed().as_millis()
    ))
}
