//! basics_01: print this machine's host name and the addresses its name resolves to. The
//! checker runs it once and compares with `netutil::lookup::host_name` and `resolve`.

use std::time::Instant;

use super::{Check, LessonDef, Role, SOCKET_UTILS_NOTES, Text};
use crate::clients::run_alone;
use crate::lookups::{bad_ending, compare_addresses, words};
use crate::{CheckResult, Options, result, tr};

const HOST_NAME: Check = Check {
    id: "host_name",
    title: Text {
        en: "prints this machine's host name, and ends with 0",
        es: "imprime el nombre de host de este computador, y termina con 0",
    },
};
const ADDRESSES: Check = Check {
    id: "addresses",
    title: Text {
        en: "prints every address the resolver gives for that name, and no other",
        es: "imprime todas las direcciones que el resolvedor da para ese nombre, y ninguna otra",
    },
};

pub(super) const LESSON: LessonDef = LessonDef {
    notes: SOCKET_UTILS_NOTES,
    role: Role::Client {
        checks: &[HOST_NAME, ADDRESSES],
        run,
    },
};

fn run(command: &[String], options: &Options) -> Vec<CheckResult> {
    let lang = options.lang;
    let started = Instant::now();
    let finished = match run_alone(command, &[], options, options.timeout) {
        Ok(finished) => finished,
        Err(error) => {
            return vec![
                result(HOST_NAME, lang, started, Err(error.clone()), Vec::new()),
                result(ADDRESSES, lang, started, Err(error), Vec::new()),
            ];
        }
    };
    let host_name = match netutil::lookup::host_name() {
        Ok(name) => Ok(name),
        Err(error) => Err(tr!(
            lang,
            "The checker cannot read this machine's host name ({}), so there is nothing to compare with.",
            "El verificador no puede leer el nombre de host de este computador ({}), así que no hay con qué comparar.",
            error
        )),
    };
    let printed = String::from_utf8_lossy(&finished.stdout).into_owned();
    let named = host_name.clone().and_then(|name| {
        if let Some(error) = bad_ending(&finished, options.timeout, lang) {
            return Err(error);
        }
        if words(&printed).any(|word| word.eq_ignore_ascii_case(&name)) {
            Ok(tr!(
                lang,
                "It printed the host name, {}, and ended with 0.",
                "Imprimió el nombre de host, {}, y terminó con 0.",
                name
            ))
        } else {
            Err(tr!(
                lang,
                "This machine's host name is {}, but the output does not name it: print what gethostname() says, not a name written in the program.",
                "El nombre de host de este computador es {}, pero la salida no lo nombra: imprime lo que dice gethostname(), no un nombre escrito en el programa.",
                name
            ))
        }
    });
    let addresses = host_name
        .and_then(|name| compare_addresses(&name, &finished, options.timeout, true, true, lang));
    vec![
        result(HOST_NAME, lang, started, named, finished.tail.clone()),
        result(ADDRESSES, lang, started, addresses, finished.tail),
    ]
}
