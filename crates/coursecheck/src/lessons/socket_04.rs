//! socket_04: connect and send one HTTP/1.1 GET request. The checker is the web server and
//! reads what arrives: a request line, headers with a Host header, lines ended by CR LF, an
//! empty line, and nothing after it.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::{Check, LessonDef, Role, Text};
use crate::clients::{accept_until_stop, bad_ending, hold_until_stop, run_client};
use crate::program::HOST;
use crate::{CheckResult, Lang, Options, Outcome, result, show, tr};

const REQUEST: Check = Check {
    id: "request",
    title: Text {
        en: "sends \"GET PATH HTTP/1.1\" and headers, each line ended by CR LF, then an empty line",
        es: "envía \"GET RUTA HTTP/1.1\" y los encabezados, cada línea terminada en CR LF, y luego una línea vacía",
    },
};
const HOST_HEADER: Check = Check {
    id: "host",
    title: Text {
        en: "the request has a Host header (HTTP/1.1 requires one)",
        es: "la petición tiene el encabezado Host (HTTP/1.1 lo exige)",
    },
};
const NOTHING_AFTER: Check = Check {
    id: "nothing_after",
    title: Text {
        en: "nothing after the empty line, and the program ends with 0",
        es: "nada después de la línea vacía, y el programa termina con 0",
    },
};

pub(super) const LESSON: LessonDef = LessonDef {
    notes: super::HTTP_NOTES,
    role: Role::Client {
        checks: &[REQUEST, HOST_HEADER, NOTHING_AFTER],
        run,
    },
};

/// How long the checker waits for bytes after the end of the request head.
const AFTER_HEAD: Duration = Duration::from_millis(300);

/// What the checker, as the web server, received.
#[derive(Default)]
struct Received {
    connected: bool,
    /// Everything up to and including the first empty line (CR LF or a bare LF).
    head: Vec<u8>,
    /// What came after it within [`AFTER_HEAD`].
    after: Vec<u8>,
}

/// Where the head ends: just after the first empty line, "\r\n\r\n" or "\n\n".
fn head_end(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4);
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|at| at + 2);
    crlf.into_iter().chain(lf).min()
}

fn receive(stream: &mut TcpStream) -> Received {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(3);
    // Until the head has ended, read up to the deadline; after it, wait AFTER_HEAD for more.
    let mut end = None;
    loop {
        let wait = match end {
            Some(_) => AFTER_HEAD,
            None => deadline.saturating_duration_since(Instant::now()),
        };
        if wait.is_zero() || bytes.len() >= 16 * 1024 {
            break;
        }
        let _ = stream.set_read_timeout(Some(wait));
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(count) => bytes.extend_from_slice(&buffer[..count]),
        }
        if end.is_none() {
            end = head_end(&bytes);
        }
    }
    let end = end.unwrap_or(bytes.len());
    Received {
        connected: true,
        after: bytes.split_off(end),
        head: bytes,
    }
}

fn run(command: &[String], options: &Options) -> Vec<CheckResult> {
    let lang = options.lang;
    let started = Instant::now();
    let run = TcpListener::bind((HOST, 0))
        .and_then(|listener| Ok((listener.local_addr()?.port(), listener)))
        .map_err(|error| error.to_string())
        .and_then(|(port, listener)| {
            run_client(command, port, options, options.timeout, move |stop| {
                let Some((mut stream, _)) = accept_until_stop(&listener, &stop) else {
                    return Received::default();
                };
                let received = receive(&mut stream);
                hold_until_stop(stream, &stop);
                received
            })
        });
    let (received, finished) = match run {
        Ok(run) => run,
        Err(error) => {
            return [REQUEST, HOST_HEADER, NOTHING_AFTER]
                .into_iter()
                .map(|check| result(check, lang, started, Err(error.clone()), Vec::new()))
                .collect();
        }
    };
    let nothing_came = || {
        Err(tr!(
            lang,
            "No request arrived: does the program connect to the host and port it is given ({{host}} {{port}}) and send a request?",
            "No llegó ninguna petición: ¿el programa se conecta al host y al puerto que se le dan ({{host}} {{port}}) y envía una petición?",
        ))
    };
    let (request, host, after) = if !received.connected || received.head.is_empty() {
        (nothing_came(), nothing_came(), nothing_came())
    } else {
        let after = match bad_ending(&finished, options.timeout, lang) {
            Some(error) => Err(error),
            None => nothing_after(&received, lang),
        };
        (
            request_line(&received.head, lang),
            host_header(&received.head, lang),
            after,
        )
    };
    vec![
        result(REQUEST, lang, started, request, finished.tail.clone()),
        result(HOST_HEADER, lang, started, host, finished.tail.clone()),
        result(NOTHING_AFTER, lang, started, after, finished.tail),
    ]
}

fn request_line(head: &[u8], lang: Lang) -> Outcome {
    let text = String::from_utf8_lossy(head);
    let first = text
        .split('\n')
        .next()
        .unwrap_or_default()
        .trim_end_matches('\r');
    let mut words = first.split(' ');
    let well_formed = words.next() == Some("GET")
        && words.next().is_some_and(|path| path.starts_with('/'))
        && words
            .next()
            .is_some_and(|version| version.starts_with("HTTP/1."))
        && words.next().is_none();
    if !well_formed {
        return Err(tr!(
            lang,
            "Expected a request line like \"GET / HTTP/1.1\"; got {}.",
            "Se esperaba una línea de petición como \"GET / HTTP/1.1\"; llegó {}.",
            show(first.as_bytes(), 60)
        ));
    }
    if !head.ends_with(b"\r\n\r\n") || text.matches('\n').count() != text.matches("\r\n").count() {
        return Err(tr!(
            lang,
            "HTTP ends every line with CR LF (\"\\r\\n\") and the head with an empty line (\"\\r\\n\\r\\n\"); got {}.",
            "HTTP termina cada línea con CR LF (\"\\r\\n\") y la sección de encabezados con una línea vacía (\"\\r\\n\\r\\n\"); llegó {}.",
            show(head, 80)
        ));
    }
    Ok(tr!(
        lang,
        "Got {}, every line ended by CR LF, then the empty line.",
        "Llegó {}, cada línea terminada en CR LF, y luego la línea vacía.",
        show(first.as_bytes(), 60)
    ))
}

fn host_header(head: &[u8], lang: Lang) -> Outcome {
    let text = String::from_utf8_lossy(head);
    let host = text
        .split('\n')
        .skip(1)
        .map(|line| line.trim_end_matches('\r'))
        .find(|line| line.to_ascii_lowercase().starts_with("host:"));
    match host {
        Some(line) => Ok(tr!(
            lang,
            "Got the header {}.",
            "Llegó el encabezado {}.",
            show(line.as_bytes(), 60)
        )),
        None => Err(tr!(
            lang,
            "Got {} with no Host header: HTTP/1.1 requires one (\"Host: 127.0.0.1:PORT\"), and a server with several sites cannot answer without it.",
            "Llegó {} sin encabezado Host: HTTP/1.1 lo exige (\"Host: 127.0.0.1:PUERTO\"), y un servidor con varios sitios no puede responder sin él.",
            show(head, 80)
        )),
    }
}

fn nothing_after(received: &Received, lang: Lang) -> Outcome {
    if received.after.is_empty() {
        Ok(lang
            .pick(
                "Nothing came after the empty line, and the program ended with 0.",
                "No llegó nada después de la línea vacía, y el programa terminó con 0.",
            )
            .to_owned())
    } else {
        Err(tr!(
            lang,
            "After the empty line that ends the head, {} more came: a GET request has no body, so the server would read it as the start of another request.",
            "Después de la línea vacía que cierra los encabezados llegó {} más: una petición GET no tiene cuerpo, así que el servidor lo leería como el comienzo de otra petición.",
            show(&received.after, 60)
        ))
    }
}
