//! server_07: server_06 written with async tasks (tokio in the kit). The same protocol, the
//! same promises, so the same checks.

use super::server_06::{CHECKS, NOTES};
use super::{LessonDef, Role, server_05};
use crate::servers::ServerLesson;

pub(super) const LESSON: LessonDef = LessonDef {
    notes: NOTES,
    role: Role::Server(ServerLesson {
        welcome: Some(server_05::WELCOME),
        reply_prefix: b"OK...",
        closes_after_reply: false,
        checks: CHECKS,
    }),
};
