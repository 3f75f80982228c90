//! basics_02: print every IP address of the host name it is given. The checker gives it
//! `localhost`, the address literal `::1` and a name that cannot exist, through `{name}`, and
//! compares with `netutil::lookup::resolve`.

use std::time::Instant;

use super::{Check, LessonDef, Role, SOCKET_UTILS_NOTES, Text};
use crate::clients::run_alone;
use crate::lookups::{UNKNOWN_NAME, compare_addresses, fails_cleanly, missing_placeholder};
use crate::{CheckResult, Options, result, tr};

const RESOLVES: Check = Check {
    id: "resolves",
    title: Text {
        en: "given localhost, prints addresses the resolver gives (no others) and ends with 0",
        es: "con localhost, imprime direcciones que da el resolvedor (ninguna otra) y termina con 0",
    },
};
const EVERY_ADDRESS: Check = Check {
    id: "every_address",
    title: Text {
        en: "prints every address, IPv6 too (localhost, and the literal ::1)",
        es: "imprime todas las direcciones, también IPv6 (localhost, y el literal ::1)",
    },
};
pub(super) const UNKNOWN: Check = Check {
    id: "unknown",
    title: Text {
        en: "given a name that does not exist: one sentence and a non-zero exit code",
        es: "con un nombre que no existe: un mensaje y un código de salida distinto de cero",
    },
};

pub(super) const LESSON: LessonDef = LessonDef {
    notes: SOCKET_UTILS_NOTES,
    role: Role::Client {
        checks: &[RESOLVES, EVERY_ADDRESS, UNKNOWN],
        run,
    },
};

fn run(command: &[String], options: &Options) -> Vec<CheckResult> {
    let lang = options.lang;
    let started = Instant::now();
    if let Some(error) = missing_placeholder(command, "{name}", "python3 my_lookup.py {name}", lang)
    {
        return [RESOLVES, EVERY_ADDRESS, UNKNOWN]
            .into_iter()
            .map(|check| result(check, lang, started, Err(error.clone()), Vec::new()))
            .collect();
    }
    let localhost = run_alone(
        command,
        &[("{name}", "localhost")],
        options,
        options.timeout,
    );
    let (resolves, every_localhost, tail) = match &localhost {
        Ok(finished) => (
            compare_addresses("localhost", finished, options.timeout, false, true, lang),
            compare_addresses("localhost", finished, options.timeout, true, false, lang),
            finished.tail.clone(),
        ),
        Err(error) => (Err(error.clone()), Err(error.clone()), Vec::new()),
    };
    let mut results = vec![result(RESOLVES, lang, started, resolves, tail.clone())];

    let started = Instant::now();
    results.push(if every_localhost.is_err() {
        result(EVERY_ADDRESS, lang, started, every_localhost, tail)
    } else {
        match run_alone(command, &[("{name}", "::1")], options, options.timeout) {
            Ok(finished) => {
                let outcome = compare_addresses("::1", &finished, options.timeout, true, true, lang)
                    .map_err(|error| {
                        tr!(
                            lang,
                            "{} An IPv6 address is an address too: gethostbyname knows only IPv4, getaddrinfo knows both.",
                            "{} Una dirección IPv6 también es una dirección: gethostbyname solo conoce IPv4, getaddrinfo conoce las dos.",
                            error
                        )
                    })
                    .and_then(|literal| every_localhost.map(|named| format!("{named} {literal}")));
                result(EVERY_ADDRESS, lang, started, outcome, finished.tail)
            }
            Err(error) => result(EVERY_ADDRESS, lang, started, Err(error), Vec::new()),
        }
    });

    results.push(unknown_name(command, options));
    results
}

/// The `unknown` check basics_02 and socket_02 share: given [`UNKNOWN_NAME`] in `{name}`.
pub(super) fn unknown_name(command: &[String], options: &Options) -> CheckResult {
    let started = Instant::now();
    match run_alone(
        command,
        &[("{name}", UNKNOWN_NAME)],
        options,
        options.timeout,
    ) {
        Ok(finished) => {
            let outcome = fails_cleanly(
                "no-such-host.….invalid",
                &finished,
                options.timeout,
                options.lang,
            );
            result(UNKNOWN, options.lang, started, outcome, finished.tail)
        }
        Err(error) => result(UNKNOWN, options.lang, started, Err(error), Vec::new()),
    }
}
