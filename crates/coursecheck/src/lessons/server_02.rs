//! server_02: bind, listen, accept one client, print the client's address and port, and exit.
//! The checker is that client, from a port it knows, and then takes the port first, to see
//! the error.

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::{Check, LessonDef, Role, SERVER_NOTES, Text};
use crate::clients::run_client;
use crate::program::{HOST, free_tcp_port};
use crate::servers::{self, TAKEN, address_before_port};
use crate::{CheckResult, Options, result, tr};

const ACCEPTS: Check = Check {
    id: "accepts",
    title: Text {
        en: "accepts one client, prints its address and port, and exits with 0",
        es: "acepta un cliente, imprime su dirección y su puerto, y termina con 0",
    },
};

pub(super) const LESSON: LessonDef = LessonDef {
    notes: SERVER_NOTES,
    role: Role::OneStepServer {
        checks: &[ACCEPTS, TAKEN],
        run,
    },
};

/// Connects to `port` until the program listens (or `stop`); the client's own address, with
/// the connection held open until `stop` so the program's accept sees a live client.
fn client(port: u16, stop: Arc<AtomicBool>) -> Option<SocketAddr> {
    let target = SocketAddr::from((HOST, port));
    let mut connected = None;
    while !stop.load(Ordering::SeqCst) {
        if connected.is_none() {
            if let Ok(stream) = TcpStream::connect_timeout(&target, Duration::from_millis(500)) {
                connected = Some(stream);
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    connected.and_then(|stream| stream.local_addr().ok())
}

fn run(command: &[String], options: &Options) -> Vec<CheckResult> {
    let lang = options.lang;
    let started = Instant::now();
    let accepts = free_tcp_port()
        .map_err(|error| error.to_string())
        .and_then(|port| {
            run_client(command, port, options, options.timeout, move |stop| {
                client(port, stop)
            })
        })
        .map(|(client, finished)| {
            let printed = String::from_utf8_lossy(&finished.stdout).into_owned();
            let outcome = match (client, servers::one_step_ending(&finished, options.timeout, lang)) {
                (None, _) => Err(lang
                    .pick(
                        "The checker could never connect: does the program listen on the port it is given ({port})?",
                        "El verificador nunca pudo conectarse: ¿el programa escucha en el puerto que se le da ({port})?",
                    )
                    .to_owned()),
                (Some(_), Some(error)) => Err(error),
                (Some(client), None) => match address_before_port(&printed, client.port()) {
                    Some(address) if address == client.ip().to_string() => Ok(tr!(
                        lang,
                        "The checker connected from {}; the program printed {}:{} and ended with 0.",
                        "El verificador se conectó desde {}; el programa imprimió {}:{} y terminó con 0.",
                        client,
                        address,
                        client.port()
                    )),
                    _ => Err(tr!(
                        lang,
                        "The checker connected from {}, but the program did not print that address and port: print what accept returned (the client's address), not the server's own.",
                        "El verificador se conectó desde {}, pero el programa no imprimió esa dirección y ese puerto: imprime lo que devolvió accept (la dirección del cliente), no la del propio servidor.",
                        client
                    )),
                },
            };
            (outcome, finished.tail)
        });
    let accepts = match accepts {
        Ok((outcome, tail)) => result(ACCEPTS, lang, started, outcome, tail),
        Err(error) => result(ACCEPTS, lang, started, Err(error), Vec::new()),
    };
    vec![accepts, servers::taken_port(command, options)]
}
