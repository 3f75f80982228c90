//! server_01: create a socket, bind it to 127.0.0.1 and the port it is given, say so, and
//! exit. The checker reads what it printed and then takes the port first, to see the error.

use std::time::Instant;

use super::{Check, LessonDef, Role, SERVER_NOTES, Text};
use crate::clients::run_client;
use crate::program::free_tcp_port;
use crate::servers::{self, TAKEN, address_before_port};
use crate::{CheckResult, Options, result, tr};

const BOUND: Check = Check {
    id: "bound",
    title: Text {
        en: "binds the port it is given, says so, and exits with 0",
        es: "hace bind al puerto que se le da, lo dice y termina con 0",
    },
};
const LOOPBACK: Check = Check {
    id: "loopback",
    title: Text {
        en: "binds 127.0.0.1 (only this computer), not every interface",
        es: "hace bind a 127.0.0.1 (solo este computador), no a todas las interfaces",
    },
};

pub(super) const LESSON: LessonDef = LessonDef {
    notes: SERVER_NOTES,
    role: Role::OneStepServer {
        checks: &[BOUND, LOOPBACK, TAKEN],
        run,
    },
};

fn run(command: &[String], options: &Options) -> Vec<CheckResult> {
    let lang = options.lang;
    let started = Instant::now();
    let finished = free_tcp_port()
        .map_err(|error| error.to_string())
        .and_then(|port| {
            run_client(command, port, options, options.timeout, |_| ()).map(|(_, f)| (port, f))
        });
    let (port, finished) = match finished {
        Ok(finished) => finished,
        Err(error) => {
            return vec![
                result(BOUND, lang, started, Err(error.clone()), Vec::new()),
                result(LOOPBACK, lang, started, Err(error), Vec::new()),
                servers::taken_port(command, options),
            ];
        }
    };
    let printed = String::from_utf8_lossy(&finished.stdout).into_owned();
    let address = address_before_port(&printed, port);
    let bound = match (
        servers::one_step_ending(&finished, options.timeout, lang),
        &address,
    ) {
        (Some(error), _) => Err(error),
        (None, None) => Err(tr!(
            lang,
            "The program was given port {} and ended with 0, but never printed the address it bound (\"bound to 127.0.0.1:{}\"): say what you bound.",
            "Al programa se le dio el puerto {} y terminó con 0, pero nunca imprimió la dirección a la que hizo bind (\"bound to 127.0.0.1:{}\"): di a qué hiciste bind.",
            port,
            port
        )),
        (None, Some(address)) => Ok(tr!(
            lang,
            "Given port {}, it printed {}:{} and ended with 0.",
            "Con el puerto {}, imprimió {}:{} y terminó con 0.",
            port,
            address,
            port
        )),
    };
    let loopback = match address.as_deref() {
        Some("127.0.0.1" | "localhost" | "[::1]") => Ok(tr!(
            lang,
            "It bound {}: only this computer can connect.",
            "Hizo bind a {}: solo este computador puede conectarse.",
            address.unwrap_or_default()
        )),
        Some(other) => Err(tr!(
            lang,
            "It bound {}:{}, which every computer on the network can reach: bind 127.0.0.1 unless asked for more (the original binds '', every interface).",
            "Hizo bind a {}:{}, adonde llega cualquier computador de la red: haz bind a 127.0.0.1 salvo que te pidan más (el original hace bind a '', todas las interfaces).",
            other,
            port
        )),
        None => Err(lang
            .pick(
                "It printed no address with the port, so there is no telling which one it bound.",
                "No imprimió ninguna dirección con el puerto, así que no se sabe a cuál hizo bind.",
            )
            .to_owned()),
    };
    vec![
        result(BOUND, lang, started, bound, finished.tail.clone()),
        result(LOOPBACK, lang, started, loopback, finished.tail),
        servers::taken_port(command, options),
    ]
}
