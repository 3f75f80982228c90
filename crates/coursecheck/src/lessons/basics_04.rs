//! basics_04: an NTP client (a library call such as Python's ntplib is fine) that prints the
//! server's time. A library must do what basics_05 does by hand, so the checks are basics_05's.

use super::{LessonDef, Role, TIME_NOTES, basics_05::CHECKS};
use crate::clients;

pub(super) const LESSON: LessonDef = LessonDef {
    notes: TIME_NOTES,
    role: Role::Client {
        checks: &[CHECKS.request, CHECKS.time, CHECKS.no_reply],
        run: |command, options| clients::run_sntp(&CHECKS, command, options),
    },
};
