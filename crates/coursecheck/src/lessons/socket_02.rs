//! socket_02: socket_01's socket, then every address of the server's name. The checker gives
//! it `localhost` and a name that cannot exist, through `{name}`, and compares with
//! `netutil::lookup::resolve`.

use std::time::Instant;

use super::basics_02::{UNKNOWN, unknown_name};
use super::socket_01::CREATED;
use super::{Check, HTTP_NOTES, LessonDef, Role, Text};
use crate::clients::run_alone;
use crate::lookups::{compare_addresses, missing_placeholder, says_created};
use crate::{CheckResult, Options, result};

const RESOLVES: Check = Check {
    id: "resolves",
    title: Text {
        en: "given localhost, prints every address the resolver gives, and no other",
        es: "con localhost, imprime todas las direcciones que da el resolvedor, y ninguna otra",
    },
};

pub(super) const LESSON: LessonDef = LessonDef {
    notes: HTTP_NOTES,
    role: Role::Client {
        checks: &[CREATED, RESOLVES, UNKNOWN],
        run,
    },
};

fn run(command: &[String], options: &Options) -> Vec<CheckResult> {
    let lang = options.lang;
    let started = Instant::now();
    if let Some(error) = missing_placeholder(command, "{name}", "python3 my_client.py {name}", lang)
    {
        return [CREATED, RESOLVES, UNKNOWN]
            .into_iter()
            .map(|check| result(check, lang, started, Err(error.clone()), Vec::new()))
            .collect();
    }
    let mut results = match run_alone(
        command,
        &[("{name}", "localhost")],
        options,
        options.timeout,
    ) {
        Ok(finished) => vec![
            result(
                CREATED,
                lang,
                started,
                says_created(&finished, options.timeout, lang),
                finished.tail.clone(),
            ),
            result(
                RESOLVES,
                lang,
                started,
                compare_addresses("localhost", &finished, options.timeout, true, true, lang),
                finished.tail,
            ),
        ],
        Err(error) => vec![
            result(CREATED, lang, started, Err(error.clone()), Vec::new()),
            result(RESOLVES, lang, started, Err(error), Vec::new()),
        ],
    };
    results.push(unknown_name(command, options));
    results
}
