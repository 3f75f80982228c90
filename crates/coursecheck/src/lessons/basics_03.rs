//! basics_03: service names and port numbers, both ways. The checker gives it one query at a
//! time through `{query}` (`25/tcp`, `ntp/udp`, …) and compares with
//! `netutil::lookup::service_name` and `service_port`.

use std::time::Instant;

use netutil::lookup::{Protocol, service_name, service_port};

use super::{Check, LessonDef, Role, SOCKET_UTILS_NOTES, Text};
use crate::clients::run_alone;
use crate::lookups::{bad_ending, fails_cleanly, lower_first, missing_placeholder, words};
use crate::{CheckResult, Options, Outcome, result, show, tr};

const PORT_NAMES: Check = Check {
    id: "port_names",
    title: Text {
        en: "prints the service name of a port: 25/tcp smtp, 53/udp domain",
        es: "imprime el nombre de servicio de un puerto: 25/tcp smtp, 53/udp domain",
    },
};
const PROTOCOL: Check = Check {
    id: "protocol",
    title: Text {
        en: "asks with the protocol it is given: 513/udp is not 513/tcp",
        es: "pregunta con el protocolo que se le da: 513/udp no es 513/tcp",
    },
};
const SERVICE_PORTS: Check = Check {
    id: "service_ports",
    title: Text {
        en: "prints the port of a service name: ntp/udp 123, http/tcp 80",
        es: "imprime el puerto de un nombre de servicio: ntp/udp 123, http/tcp 80",
    },
};
const NO_NAME: Check = Check {
    id: "no_name",
    title: Text {
        en: "a port with no name (65000/tcp): one sentence and a non-zero exit code, not the number",
        es: "un puerto sin nombre (65000/tcp): un mensaje y un código de salida distinto de cero, no el número",
    },
};

const CHECKS: [Check; 4] = [PORT_NAMES, PROTOCOL, SERVICE_PORTS, NO_NAME];

pub(super) const LESSON: LessonDef = LessonDef {
    notes: SOCKET_UTILS_NOTES,
    role: Role::Client {
        checks: &CHECKS,
        run,
    },
};

/// What the program printed for `query`, after it ended with 0.
fn ask(
    query: &str,
    command: &[String],
    options: &Options,
) -> Result<String, (String, Vec<String>)> {
    let finished = run_alone(command, &[("{query}", query)], options, options.timeout)
        .map_err(|error| (error, Vec::new()))?;
    if let Some(error) = bad_ending(&finished, options.timeout, options.lang) {
        return Err((
            tr!(
                options.lang,
                "Given {}, {}",
                "Con {}, {}",
                query,
                lower_first(&error)
            ),
            finished.tail,
        ));
    }
    Ok(String::from_utf8_lossy(&finished.stdout).into_owned())
}

/// Runs each `(query, expected)` and requires `expected` as a word of what it printed.
fn expect_words(
    check: Check,
    queries: &[(String, Result<String, String>)],
    command: &[String],
    options: &Options,
    wrong: impl Fn(&str, &str, &str) -> Option<String>,
) -> CheckResult {
    let lang = options.lang;
    let started = Instant::now();
    let mut said = Vec::new();
    for (query, expected) in queries {
        let expected = match expected {
            Ok(expected) => expected,
            Err(error) => return result(check, lang, started, Err(error.clone()), Vec::new()),
        };
        let printed = match ask(query, command, options) {
            Ok(printed) => printed,
            Err((error, tail)) => return result(check, lang, started, Err(error), tail),
        };
        if !words(&printed).any(|word| word.eq_ignore_ascii_case(expected)) {
            let first = printed
                .lines()
                .find(|line| !line.trim().is_empty())
                .unwrap_or("");
            let error = wrong(query, expected, &printed).unwrap_or_else(|| {
                tr!(
                    lang,
                    "Given {}, it printed {}; this computer's services database says {}.",
                    "Con {}, imprimió {}; la base de datos de servicios de este computador dice {}.",
                    query,
                    show(first.as_bytes(), 80),
                    expected
                )
            });
            let tail = printed.lines().map(|line| format!("out| {line}")).collect();
            return result(check, lang, started, Err(error), tail);
        }
        said.push(format!("{query} {expected}"));
    }
    let outcome: Outcome = Ok(tr!(
        lang,
        "It printed {}, as the services database says.",
        "Imprimió {}, como dice la base de datos de servicios.",
        said.join(", ")
    ));
    result(check, lang, started, outcome, Vec::new())
}

fn oracle_name(port: u16, protocol: Protocol, options: &Options) -> Result<String, String> {
    service_name(port, protocol).map_err(|error| {
        tr!(
            options.lang,
            "This computer's services database cannot answer ({}): install it (Debian: netbase).",
            "La base de datos de servicios de este computador no puede responder ({}): instálala (Debian: netbase).",
            error
        )
    })
}

fn run(command: &[String], options: &Options) -> Vec<CheckResult> {
    let lang = options.lang;
    if let Some(error) =
        missing_placeholder(command, "{query}", "python3 my_services.py {query}", lang)
    {
        let started = Instant::now();
        return CHECKS
            .into_iter()
            .map(|check| result(check, lang, started, Err(error.clone()), Vec::new()))
            .collect();
    }
    let mut results = Vec::new();
    let names = [(25, Protocol::Tcp), (53, Protocol::Udp)].map(|(port, protocol)| {
        (
            format!("{port}/{protocol}"),
            oracle_name(port, protocol, options),
        )
    });
    results.push(expect_words(
        PORT_NAMES,
        &names,
        command,
        options,
        |query, expected, printed| {
            let port = query.split('/').next().unwrap_or(query);
            words(printed).any(|word| word == port).then(|| {
            tr!(
                lang,
                "It printed {} but not the name {}: print the service's name, not the number.",
                "Imprimió {} pero no el nombre {}: imprime el nombre del servicio, no el número.",
                show(printed.trim().as_bytes(), 80),
                expected
            )
        })
        },
    ));

    let over_tcp = oracle_name(513, Protocol::Tcp, options).ok();
    let over_udp = vec![(
        "513/udp".to_owned(),
        oracle_name(513, Protocol::Udp, options),
    )];
    results.push(expect_words(PROTOCOL, &over_udp, command, options, |query, expected, printed| {
        let tcp = over_tcp.as_deref().filter(|tcp| *tcp != expected)?;
        words(printed).any(|word| word == tcp).then(|| {
            tr!(
                lang,
                "Given {}, it printed {}, the name of 513/tcp; over UDP it is {}: the same number names different services over TCP and UDP, so ask with the protocol given.",
                "Con {}, imprimió {}, el nombre de 513/tcp; sobre UDP es {}: el mismo número nombra servicios distintos en TCP y UDP, así que pregunta con el protocolo dado.",
                query,
                tcp,
                expected
            )
        })
    }));

    let ports = [("ntp", Protocol::Udp), ("http", Protocol::Tcp)].map(|(name, protocol)| {
        let port = service_port(name, protocol)
            .map(|port| port.to_string())
            .map_err(|error| error.to_string());
        (format!("{name}/{protocol}"), port)
    });
    results.push(expect_words(
        SERVICE_PORTS,
        &ports,
        command,
        options,
        |_, _, _| None,
    ));

    let started = Instant::now();
    results.push(
        match run_alone(
            command,
            &[("{query}", "65000/tcp")],
            options,
            options.timeout,
        ) {
            Ok(finished) => {
                let outcome = fails_cleanly("65000/tcp", &finished, options.timeout, lang);
                result(NO_NAME, lang, started, outcome, finished.tail)
            }
            Err(error) => result(NO_NAME, lang, started, Err(error), Vec::new()),
        },
    );
    results
}
