//! socket_03: resolve the host, connect to it, and report the peer. The checker is the
//! server it connects to, and then a port where nothing listens.

use std::net::{SocketAddr, TcpListener};
use std::time::Instant;

use super::{Check, LessonDef, Role, Text};
use crate::clients::{accept_until_stop, hold_until_stop, refused, run_client};
use crate::program::HOST;
use crate::{CheckResult, Options, result, tr};

const CONNECTS: Check = Check {
    id: "connects",
    title: Text {
        en: "connects to the host and port it is given, and ends with 0",
        es: "se conecta al host y al puerto que se le dan, y termina con 0",
    },
};
const REPORTS: Check = Check {
    id: "reports",
    title: Text {
        en: "prints the peer's address and port (the server's, not its own)",
        es: "imprime la dirección y el puerto del par (los del servidor, no los propios)",
    },
};
const REFUSED: Check = Check {
    id: "refused",
    title: Text {
        en: "where nothing listens: an error and a non-zero exit code",
        es: "donde nada escucha: un error y un código de salida distinto de cero",
    },
};

pub(super) const LESSON: LessonDef = LessonDef {
    notes: super::HTTP_NOTES,
    role: Role::Client {
        checks: &[CONNECTS, REPORTS, REFUSED],
        run,
    },
};

fn run(command: &[String], options: &Options) -> Vec<CheckResult> {
    let lang = options.lang;
    let started = Instant::now();
    let run = TcpListener::bind((HOST, 0))
        .and_then(|listener| Ok((listener.local_addr()?.port(), listener)))
        .map_err(|error| error.to_string())
        .and_then(|(port, listener)| {
            run_client(command, port, options, options.timeout, move |stop| {
                let (stream, client) = accept_until_stop(&listener, &stop)?;
                hold_until_stop(stream, &stop);
                Some(client)
            })
            .map(|(client, finished)| (port, client, finished))
        });
    let (port, client, finished) = match run {
        Ok(run) => run,
        Err(error) => {
            return vec![
                result(CONNECTS, lang, started, Err(error.clone()), Vec::new()),
                result(REPORTS, lang, started, Err(error), Vec::new()),
                refused(REFUSED, command, options),
            ];
        }
    };
    let connects = match (
        client,
        crate::clients::bad_ending(&finished, options.timeout, lang),
    ) {
        (None, _) => Err(tr!(
            lang,
            "No connection came to 127.0.0.1:{}: does the program connect to the host and port it is given ({{host}} {{port}})?",
            "No llegó ninguna conexión a 127.0.0.1:{}: ¿el programa se conecta al host y al puerto que se le dan ({{host}} {{port}})?",
            port
        )),
        (Some(_), Some(error)) => Err(error),
        (Some(client), None) => Ok(tr!(
            lang,
            "It connected from {} and ended with 0.",
            "Se conectó desde {} y terminó con 0.",
            client
        )),
    };
    let printed = String::from_utf8_lossy(&finished.stdout);
    let peer = SocketAddr::from((HOST, port));
    let names_port = printed
        .split(|c: char| !c.is_ascii_digit())
        .any(|number| number == port.to_string());
    let reports = if printed.contains("127.0.0.1") && names_port {
        Ok(tr!(
            lang,
            "It printed the server's address {} (port {}).",
            "Imprimió la dirección del servidor {} (puerto {}).",
            peer,
            port
        ))
    } else {
        Err(tr!(
            lang,
            "The server was {}, but the output does not name 127.0.0.1 and port {}: print the peer (getpeername, peer_addr), not the local side.",
            "El servidor era {}, pero la salida no nombra 127.0.0.1 y el puerto {}: imprime el par (getpeername, peer_addr), no el lado local.",
            peer,
            port
        ))
    };
    vec![
        result(CONNECTS, lang, started, connects, finished.tail.clone()),
        result(REPORTS, lang, started, reports, finished.tail),
        refused(REFUSED, command, options),
    ]
}
