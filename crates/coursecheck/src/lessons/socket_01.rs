//! socket_01: create a TCP socket and say so. The checker runs it once: it must say
//! "Socket created" and end with 0.

use std::time::Instant;

use super::{Check, HTTP_NOTES, LessonDef, Role, Text};
use crate::clients::run_alone;
use crate::lookups::says_created;
use crate::{CheckResult, Options, result};

pub(super) const CREATED: Check = Check {
    id: "created",
    title: Text {
        en: "creates the socket, says so (\"Socket created\"), and ends with 0",
        es: "crea el socket, lo dice (\"Socket created\") y termina con 0",
    },
};

pub(super) const LESSON: LessonDef = LessonDef {
    notes: HTTP_NOTES,
    role: Role::Client {
        checks: &[CREATED],
        run,
    },
};

fn run(command: &[String], options: &Options) -> Vec<CheckResult> {
    let started = Instant::now();
    let outcome = run_alone(command, &[], options, options.timeout).map(|finished| {
        (
            says_created(&finished, options.timeout, options.lang),
            finished.tail,
        )
    });
    vec![match outcome {
        Ok((outcome, tail)) => result(CREATED, options.lang, started, outcome, tail),
        Err(error) => result(CREATED, options.lang, started, Err(error), Vec::new()),
    }]
}
