//! server_03: a server that accepts one client, sends back what one read received, and
//! closes; it may exit after that client.

use super::{Check, LessonDef, Role, SERVER_NOTES, Text};
use crate::servers::{self, ServerCheck, ServerLesson};

pub(super) const LESSON: LessonDef = LessonDef {
    notes: SERVER_NOTES,
    role: Role::Server(ServerLesson {
        welcome: None,
        reply_prefix: b"",
        closes_after_reply: true,
        checks: &[
            ServerCheck {
                check: Check {
                    id: "reply",
                    title: Text {
                        en: "sends back what it received, then closes",
                        es: "devuelve lo que recibió y cierra",
                    },
                },
                body: servers::reply,
            },
            ServerCheck {
                check: servers::BINARY,
                body: servers::binary,
            },
        ],
    }),
};
