//! basics_05: an SNTP client by hand (48 bytes over UDP) that prints the server's transmit
//! time. The checker is the SNTP server; basics_04 runs the same checks.

use super::{Check, LessonDef, Role, TIME_NOTES, Text};
use crate::clients::{self, SntpChecks};

/// The checks of every SNTP client lesson.
pub(super) const CHECKS: SntpChecks = SntpChecks {
    request: Check {
        id: "request",
        title: Text {
            en: "sends a 48-byte SNTP request in client mode (3)",
            es: "envía una petición SNTP de 48 bytes en modo cliente (3)",
        },
    },
    time: Check {
        id: "time",
        title: Text {
            en: "prints the server's transmit time (words 10–11)",
            es: "imprime la hora de transmisión del servidor (palabras 10–11)",
        },
    },
    no_reply: Check {
        id: "no_reply",
        title: Text {
            en: "gives up with an error when no reply comes",
            es: "termina con un error cuando no llega respuesta",
        },
    },
};

pub(super) const LESSON: LessonDef = LessonDef {
    notes: TIME_NOTES,
    role: Role::Client {
        checks: &[CHECKS.request, CHECKS.time, CHECKS.no_reply],
        run: |command, options| clients::run_sntp(&CHECKS, command, options),
    },
};
