//! server_04: a server that serves clients one after another, forever, replying "OK..." +
//! what one read received, then closing.

use super::{Check, LessonDef, Role, SERVER_NOTES, Text};
use crate::servers::{self, Run, ServerCheck, ServerLesson};
use crate::{Outcome, tr};

pub(super) const LESSON: LessonDef = LessonDef {
    notes: SERVER_NOTES,
    role: Role::Server(ServerLesson {
        welcome: None,
        reply_prefix: b"OK...",
        closes_after_reply: true,
        checks: &[
            ServerCheck {
                check: Check {
                    id: "reply",
                    title: Text {
                        en: "replies \"OK...\" + what it received, then closes",
                        es: "responde \"OK...\" + lo que recibió, y cierra",
                    },
                },
                body: servers::reply,
            },
            ServerCheck {
                check: servers::BINARY,
                body: servers::binary,
            },
            ServerCheck {
                check: Check {
                    id: "one_after_another",
                    title: Text {
                        en: "serves three clients one after another",
                        es: "atiende a tres clientes, uno tras otro",
                    },
                },
                body: one_after_another,
            },
            ServerCheck {
                check: servers::NEXT_CLIENT,
                body: servers::next_client,
            },
            ServerCheck {
                check: servers::RESET,
                body: servers::reset,
            },
        ],
    }),
};

/// Three clients in a row, each with its own exchange and close.
fn one_after_another(run: &Run) -> Outcome {
    let lang = run.lang;
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
