//! socket_06: an HTTPS client. The checker is the HTTPS server: it makes a certificate
//! authority of its own, writes the authority's certificate to a file (`{ca}`), and shows the
//! program three certificates in turn: a good one, one from an authority nobody gave the
//! program, and one for another name. A client must take the first and refuse the other two
//! before it sends anything: a client that does not verify sends its request, and with it any
//! password, to whoever answers.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rustls::{ServerConfig, ServerConnection, StreamOwned};

use super::{Check, HTTP_NOTES, LessonDef, Role, Text};
use crate::certificates::{self, Authority, TempFile};
use crate::clients::{self, Finished, Framing};
use crate::program::{HOST, describe_status};
use crate::{CheckResult, Options, Outcome, result, show, tr};

const REQUEST: Check = Check {
    id: "request",
    title: Text {
        en: "sends a GET request with a Host header inside TLS",
        es: "envía una petición GET con el encabezado Host dentro de TLS",
    },
};
const VERIFIED: Check = Check {
    id: "verified",
    title: Text {
        en: "trusts the authority given as {ca} and prints the whole body",
        es: "confía en la autoridad que se le da como {ca} e imprime el cuerpo completo",
    },
};
const UNKNOWN_AUTHORITY: Check = Check {
    id: "unknown_authority",
    title: Text {
        en: "refuses a certificate that no trusted authority issued",
        es: "rechaza un certificado que no emitió ninguna autoridad de confianza",
    },
};
const WRONG_NAME: Check = Check {
    id: "wrong_name",
    title: Text {
        en: "refuses a certificate for another name",
        es: "rechaza un certificado para otro nombre",
    },
};

pub(super) const LESSON: LessonDef = LessonDef {
    notes: HTTP_NOTES,
    role: Role::Client {
        checks: &[REQUEST, VERIFIED, UNKNOWN_AUTHORITY, WRONG_NAME],
        run,
    },
};

/// The names a good certificate lists: a program may connect by name or by address.
const GOOD_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];
/// The only name on the wrong-name certificate: `.invalid` is never anyone's (RFC 6761).
const OTHER_NAME: &str = "someone-else.invalid";

/// Which certificate the checker's server shows.
#[derive(Clone, Copy, PartialEq)]
enum Shown {
    Good,
    UnknownAuthority,
    WrongName,
}

/// What the checker's server saw of one run.
#[derive(Default)]
struct TlsLog {
    /// The decrypted request head, when the handshake went through.
    request: Option<Vec<u8>>,
    /// The server name the client sent in its ClientHello (SNI), if any.
    server_name: Option<String>,
    /// Why the handshake failed on the server's side: the client's alert, usually.
    refused: Option<String>,
}

/// The checker's certificates: the authority the program is told to trust, a server
/// certificate it issued, and the two a client must refuse.
struct Certificates {
    ca_pem: String,
    good: Arc<ServerConfig>,
    unknown_authority: Arc<ServerConfig>,
    wrong_name: Arc<ServerConfig>,
}

impl Certificates {
    fn generate() -> Result<Self, certificates::Error> {
        let trusted = Authority::new("coursecheck authority")?;
        let stranger = Authority::new("an authority nobody trusts")?;
        Ok(Certificates {
            ca_pem: trusted.pem(),
            good: trusted.issue(&GOOD_NAMES)?.server_config()?,
            unknown_authority: stranger.issue(&GOOD_NAMES)?.server_config()?,
            wrong_name: trusted.issue(&[OTHER_NAME])?.server_config()?,
        })
    }

    fn config(&self, shown: Shown) -> Arc<ServerConfig> {
        Arc::clone(match shown {
            Shown::Good => &self.good,
            Shown::UnknownAuthority => &self.unknown_authority,
            Shown::WrongName => &self.wrong_name,
        })
    }
}

fn run(command: &[String], options: &Options) -> Vec<CheckResult> {
    let lang = options.lang;
    let started = Instant::now();
    let prepared = Certificates::generate()
        .map_err(|error| error.to_string())
        .and_then(|certificates| {
            let file = TempFile::write("ca.pem", &certificates.ca_pem)
                .map_err(|error| error.to_string())?;
            Ok((certificates, file))
        });
    let (certificates, ca_file) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            return [REQUEST, VERIFIED, UNKNOWN_AUTHORITY, WRONG_NAME]
                .map(|check| result(check, lang, started, Err(error.clone()), Vec::new()))
                .into();
        }
    };
    let ca = ca_file.path();
    let mut results = Vec::new();
    let mut request = None;
    for (check, shown) in [
        (VERIFIED, Shown::Good),
        (UNKNOWN_AUTHORITY, Shown::UnknownAuthority),
        (WRONG_NAME, Shown::WrongName),
    ] {
        let started = Instant::now();
        let config = certificates.config(shown);
        let run = TcpListener::bind((HOST, 0))
            .and_then(|listener| Ok((listener.local_addr()?.port(), listener)))
            .map_err(|error| error.to_string())
            .and_then(|(port, listener)| {
                clients::run_client_filled(
                    command,
                    port,
                    &[("{ca}", &ca)],
                    options,
                    options.timeout,
                    move |stop| https_peer(listener, config, stop),
                )
            });
        let (log, finished) = match run {
            Ok(run) => run,
            Err(error) => {
                results.push(result(check, lang, started, Err(error), Vec::new()));
                continue;
            }
        };
        let outcome = match shown {
            Shown::Good => {
                request = Some((
                    log.request.clone(),
                    log.server_name.clone(),
                    finished.tail.clone(),
                    started,
                ));
                verified(&log, &finished, options)
            }
            Shown::UnknownAuthority | Shown::WrongName => refused(shown, &log, &finished, options),
        };
        results.push(result(check, lang, started, outcome, finished.tail));
    }
    let (head, server_name, tail, started) = request.unwrap_or((None, None, Vec::new(), started));
    let outcome = clients::request_check(head, lang).map(|got| match server_name {
        Some(name) => tr!(
            lang,
            "{} It named the server {} (SNI).",
            "{} Nombró al servidor {} (SNI).",
            got,
            show(name.as_bytes(), 40)
        ),
        None => got,
    });
    results.insert(0, result(REQUEST, lang, started, outcome, tail));
    results
}

fn verified(log: &TlsLog, finished: &Finished, options: &Options) -> Outcome {
    let lang = options.lang;
    if log.request.is_none() {
        let why = log.refused.as_deref().unwrap_or("no handshake");
        return Err(tr!(
            lang,
            "The handshake did not complete ({}): connect to {{host}} {{port}} with TLS, and trust the certificate in the file {{ca}} stands for (Python: ssl.create_default_context(cafile=...)).",
            "La negociación de TLS no se completó ({}): conéctate a {{host}} {{port}} con TLS, y confía en el certificado del archivo que representa {{ca}} (Python: ssl.create_default_context(cafile=...)).",
            why
        ));
    }
    match clients::bad_ending(finished, options.timeout, lang) {
        Some(error) => Err(format!(
            "{error} {}",
            clients::body_seen(Framing::ContentLength, finished, lang)
        )),
        None => clients::body_check(Framing::ContentLength, finished, lang),
    }
}

fn refused(shown: Shown, log: &TlsLog, finished: &Finished, options: &Options) -> Outcome {
    let lang = options.lang;
    let certificate = match shown {
        Shown::WrongName => tr!(
            lang,
            "a certificate for {} only",
            "un certificado solo para {}",
            OTHER_NAME
        ),
        _ => lang
            .pick(
                "a certificate from an authority the program was not given",
                "un certificado de una autoridad que no se le dio al programa",
            )
            .to_owned(),
    };
    if log.request.is_some() {
        return Err(tr!(
            lang,
            "Shown {}, the program completed the handshake and sent its request: it does not verify the server. Keep verification on (Python: never CERT_NONE or check_hostname=False).",
            "Ante {}, el programa completó la negociación de TLS y envió su petición: no valida al servidor. Deja la validación activa (Python: nunca CERT_NONE ni check_hostname=False).",
            certificate
        ));
    }
    match finished.status {
        None => Err(tr!(
            lang,
            "Shown {}, the program was still running after {} s: a refused handshake must end it.",
            "Ante {}, el programa seguía ejecutándose después de {} s: una negociación rechazada debe terminarlo.",
            certificate,
            options.timeout.as_secs()
        )),
        Some(status) if status.success() => Err(tr!(
            lang,
            "Shown {}, the program sent nothing yet ended with exit code 0: say why and end with a non-zero exit code.",
            "Ante {}, el programa no envió nada y aun así terminó con código de salida 0: di por qué y termina con un código de salida distinto de cero.",
            certificate
        )),
        Some(status) => Ok(tr!(
            lang,
            "Shown {}, the program refused it ({}) and ended with {}.",
            "Ante {}, el programa lo rechazó ({}) y terminó con {}.",
            certificate,
            log.refused.as_deref().unwrap_or("-"),
            describe_status(status, lang)
        )),
    }
}

/// The checker's HTTPS server: accepts connections until `stop`, does the handshake with
/// `config`, and answers a request with the Content-Length response in pieces.
fn https_peer(listener: TcpListener, config: Arc<ServerConfig>, stop: Arc<AtomicBool>) -> TlsLog {
    let mut log = TlsLog::default();
    let _ = listener.set_nonblocking(true);
    while !stop.load(Ordering::SeqCst) {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(_) => {
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(3)));
        let Ok(connection) = ServerConnection::new(Arc::clone(&config)) else {
            break;
        };
        let mut tls = StreamOwned::new(connection, stream);
        match tls.conn.complete_io(&mut tls.sock) {
            Ok(_) => {}
            Err(error) => {
                log.refused.get_or_insert_with(|| error.to_string());
                continue;
            }
        }
        if log.server_name.is_none() {
            log.server_name = tls.conn.server_name().map(str::to_owned);
        }
        let head = read_head(&mut tls);
        if log.request.is_none() && !head.is_empty() {
            log.request = Some(head);
        }
        let (response, cuts) = Framing::ContentLength.response();
        let mut from = 0;
        for cut in cuts.into_iter().chain([response.len()]) {
            if stop.load(Ordering::SeqCst)
                || tls
                    .write_all(&response[from..cut])
                    .and_then(|()| tls.flush())
                    .is_err()
            {
                break;
            }
            from = cut;
            thread::sleep(Duration::from_millis(60));
        }
        tls.conn.send_close_notify();
        let _ = tls.flush();
    }
    log
}

/// Reads a request head (up to the empty line) through TLS within a few seconds.
fn read_head(tls: &mut StreamOwned<ServerConnection, TcpStream>) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        if Instant::now() >= deadline {
            break;
        }
        match tls.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(count) => head.extend_from_slice(&buffer[..count]),
        }
    }
    head
}
