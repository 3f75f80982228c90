//! echo_client: sends a message, reads the whole echo back, prints it. The checker is an
//! echo server that sends the echo back a few bytes at a time.

use super::{Check, LessonDef, Role, SERVER_NOTES, Text};
use crate::clients::{self, EchoClientChecks};

const CHECKS: EchoClientChecks = EchoClientChecks {
    sends: Check {
        id: "sends",
        title: Text {
            en: "connects and sends a message",
            es: "se conecta y envía un mensaje",
        },
    },
    echo: Check {
        id: "echo",
        title: Text {
            en: "reads the whole echo (sent back in small pieces) and prints it",
            es: "lee el eco completo (devuelto en trozos pequeños) y lo imprime",
        },
    },
};

pub(super) const LESSON: LessonDef = LessonDef {
    notes: SERVER_NOTES,
    role: Role::Client {
        checks: &[CHECKS.sends, CHECKS.echo],
        run: |command, options| clients::run_echo_client(&CHECKS, command, options),
    },
};
