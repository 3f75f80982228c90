//! udp_echo_server: every datagram back to its sender, whole and unchanged, never larger. The
//! checker is the UDP clients, on 127.0.0.1 only. Each check starts the program afresh, so a
//! server that crashes on one kind of datagram fails only the check that sends it.
//!
//! Every check looks at one property. The echo must *contain* the datagram sent for `whole`,
//! `boundaries` and `binary` to pass; bytes added around it (a newline, a prefix) are what
//! `never_larger` judges, so each classic bug fails the one check named for it.

use std::net::{SocketAddr, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use super::{Check, DATAGRAM_NOTES, LessonDef, Role, Text};
use crate::program::{HOST, Program, describe_status};
use crate::{CheckResult, Lang, Options, Outcome, result, show, tr};

const WHOLE: Check = Check {
    id: "whole",
    title: Text {
        en: "each datagram comes back with all its bytes, up to 65,507 (none truncated)",
        es: "cada datagrama vuelve con todos sus bytes, hasta 65 507 (ninguno truncado)",
    },
};
const BOUNDARIES: Check = Check {
    id: "boundaries",
    title: Text {
        en: "six datagrams sent in a row get six echoes, one per datagram, none merged or split",
        es: "seis datagramas enviados seguidos reciben seis ecos, uno por datagrama, sin unirlos ni partirlos",
    },
};
const BINARY: Check = Check {
    id: "binary",
    title: Text {
        en: "NUL bytes, invalid UTF-8 and all 256 byte values come back unchanged",
        es: "los bytes NUL, el UTF-8 inválido y los 256 valores de byte vuelven sin cambios",
    },
};
const SENDER_ONLY: Check = Check {
    id: "sender_only",
    title: Text {
        en: "the echo goes only to its sender, from the port it was sent to",
        es: "el eco va solo a quien envió el datagrama, desde el puerto al que se envió",
    },
};
const NEVER_LARGER: Check = Check {
    id: "never_larger",
    title: Text {
        en: "the echo is never larger than the datagram, an empty one included (no added newline or prefix)",
        es: "el eco nunca es más grande que el datagrama, incluso uno vacío (sin salto de línea ni prefijo añadido)",
    },
};
const KEEPS_SERVING: Check = Check {
    id: "keeps_serving",
    title: Text {
        en: "answers an empty datagram and keeps serving, also after a client gone before its echo",
        es: "responde a un datagrama vacío y sigue atendiendo, también después de un cliente que se fue antes de su eco",
    },
};

/// What a check does against a freshly started program.
type Body = fn(&Session) -> Outcome;

/// The checks, in order, each with its body.
const CHECKS: [(Check, Body); 6] = [
    (WHOLE, whole),
    (BOUNDARIES, boundaries),
    (BINARY, binary),
    (SENDER_ONLY, sender_only),
    (NEVER_LARGER, never_larger),
    (KEEPS_SERVING, keeps_serving),
];

pub(super) const LESSON: LessonDef = LessonDef {
    notes: DATAGRAM_NOTES,
    role: Role::Client {
        checks: &[
            WHOLE,
            BOUNDARIES,
            BINARY,
            SENDER_ONLY,
            NEVER_LARGER,
            KEEPS_SERVING,
        ],
        run,
    },
};

/// The largest UDP payload over IPv4 (65,535 less the 20-byte IP and 8-byte UDP headers): the
/// largest datagram the lesson's program echoes to an IPv4 client.
const LARGEST_IPV4_DATAGRAM: usize = 65_507;
/// The sizes of the `whole` check: around the classic 1024-byte buffer, around one Ethernet
/// frame's payload (1,472: larger ones are split into IP fragments), and the largest.
const WHOLE_SIZES: [usize; 7] = [1, 1024, 1025, 1472, 1473, 8192, LARGEST_IPV4_DATAGRAM];
/// How long the checker waits for one echo.
const ECHO_WAIT: Duration = Duration::from_secs(1);
/// How long a socket must stay without datagrams to count as having received nothing.
const QUIET: Duration = Duration::from_millis(300);
/// What the checker sends until the program answers: the program may take a while to bind.
/// Its echoes are told apart from the checks' own by this mark.
const PROBE: &[u8] = b"coursecheck: are you listening?";
/// The pause between two probes.
const PROBE_EVERY: Duration = Duration::from_millis(100);

/// One start of the program, with the client socket that got the first echo.
struct Session {
    server: SocketAddr,
    client: UdpSocket,
    lang: Lang,
}

impl Session {
    /// A new client socket on 127.0.0.1, not connected: it receives from anyone, so an echo
    /// from the wrong port is seen, not filtered out by the kernel.
    fn socket(&self) -> Result<UdpSocket, String> {
        UdpSocket::bind((HOST, 0)).map_err(|error| error.to_string())
    }

    /// Sends `datagram` from `socket` to the program.
    fn send(&self, socket: &UdpSocket, datagram: &[u8]) -> Result<(), String> {
        socket
            .send_to(datagram, self.server)
            .map(|_| ())
            .map_err(|error| {
                tr!(
                    self.lang,
                    "Could not send {} bytes to udp {}: {}.",
                    "No se pudieron enviar {} bytes a udp {}: {}.",
                    datagram.len(),
                    self.server,
                    error
                )
            })
    }

    /// Sends `datagram` from the session's client and waits [`ECHO_WAIT`] for one datagram
    /// back, from whichever port: where it comes from is for `sender_only` to judge.
    fn echo_of(&self, datagram: &[u8]) -> Result<Vec<u8>, String> {
        self.send(&self.client, datagram)?;
        let Some((echo, _)) = receive(&self.client, ECHO_WAIT) else {
            return Err(tr!(
                self.lang,
                "Sent {} bytes ({}); no echo came back within {} s.",
                "Se enviaron {} bytes ({}); no volvió ningún eco en {} s.",
                datagram.len(),
                show(datagram, 30),
                crate::seconds(ECHO_WAIT, self.lang)
            ));
        };
        Ok(echo)
    }

    /// An error when an echo came from elsewhere than the address the client sent to.
    fn ensure_from_the_program(&self, from: SocketAddr) -> Result<(), String> {
        if from == self.server {
            return Ok(());
        }
        Err(tr!(
            self.lang,
            "The echo came from {}, not from udp {}, where the datagram was sent: a client (and its firewall) accepts the answer only from the address it asked, so reply with the socket that received the datagram.",
            "El eco llegó desde {}, no desde udp {}, adonde se envió el datagrama: un cliente (y su firewall) acepta la respuesta solo desde la dirección a la que preguntó, así que responde con el socket que recibió el datagrama.",
            from,
            self.server
        ))
    }
}

/// One datagram received on `socket` within `wait`, with who sent it; echoes of the startup
/// probes are skipped (one sent just before the program's first answer may come late).
fn receive(socket: &UdpSocket, wait: Duration) -> Option<(Vec<u8>, SocketAddr)> {
    let deadline = Instant::now() + wait;
    let mut buffer = vec![0u8; 65_536];
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        socket
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok()?;
        match socket.recv_from(&mut buffer) {
            Ok((len, _)) if contains(&buffer[..len], PROBE) => continue,
            Ok((len, from)) => return Some((buffer[..len].to_vec(), from)),
            // Windows: the ICMP answer to a probe sent before the program had bound its port.
            // It tells of that probe only; the socket is fine.
            Err(error) if netutil::os::is_stale_udp_error(&error) => continue,
            Err(_) => return None,
        }
    }
}

/// Whether `needle` occurs in `haystack` (an empty `needle` always does).
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

fn run(command: &[String], options: &Options) -> Vec<CheckResult> {
    CHECKS
        .iter()
        .filter(|(check, _)| options.selects(check.id))
        .map(|&(check, body)| run_one(check, body, command, options))
        .collect()
}

/// Starts the program on a free UDP port, waits for it to answer, runs `body`, stops it.
fn run_one(check: Check, body: Body, command: &[String], options: &Options) -> CheckResult {
    let lang = options.lang;
    let started = Instant::now();
    let port = match UdpSocket::bind((HOST, 0)).and_then(|socket| socket.local_addr()) {
        Ok(addr) => addr.port(),
        Err(error) => return result(check, lang, started, Err(error.to_string()), Vec::new()),
    };
    let mut program = match Program::start(command, port, options, lang) {
        Ok(program) => program,
        Err(error) => return result(check, lang, started, Err(error), Vec::new()),
    };
    let server = SocketAddr::from((HOST, port));
    // Three quarters of the check's time to start, so a program that never answers is told
    // so, with the rest left for the check itself.
    let startup = options.timeout - options.timeout / 4;
    let outcome = UdpSocket::bind((HOST, 0))
        .map_err(|error| error.to_string())
        .and_then(|client| {
            first_answer(&client, server, &mut program, startup, lang)?;
            body(&Session {
                server,
                client,
                lang,
            })
        });
    let tail = program.tail(6);
    program.stop();
    result(check, lang, started, outcome, tail)
}

/// Probes the program from `client` until an echo comes back, the program ends, or `startup`
/// passes. The probes come from the check's own client, so a server that remembers its first
/// client remembers that one.
fn first_answer(
    client: &UdpSocket,
    server: SocketAddr,
    program: &mut Program,
    startup: Duration,
    lang: Lang,
) -> Result<(), String> {
    let deadline = Instant::now() + startup;
    let mut buffer = vec![0u8; 65_536];
    loop {
        // A datagram sent before the program has bound its port is lost: send another.
        let _ = client.send_to(PROBE, server);
        let _ = client.set_read_timeout(Some(PROBE_EVERY));
        if let Ok((len, _)) = client.recv_from(&mut buffer) {
            if contains(&buffer[..len], PROBE) {
                return Ok(());
            }
        }
        if let Some(status) = program.exited() {
            return Err(tr!(
                lang,
                "The program ended ({}) without echoing a datagram sent to udp {}: a server must keep running.",
                "El programa terminó ({}) sin devolver un datagrama enviado a udp {}: un servidor debe seguir ejecutándose.",
                describe_status(status, lang),
                server
            ));
        }
        if Instant::now() >= deadline {
            return Err(tr!(
                lang,
                "No echo came back from udp {} within {} s: does the program receive on UDP, on the port it is given ({{port}}), and send each datagram back to the address it came from?",
                "No volvió ningún eco desde udp {} en {} s: ¿el programa recibe por UDP, en el puerto que se le da ({{port}}), y devuelve cada datagrama a la dirección de donde vino?",
                server,
                crate::seconds(startup, lang)
            ));
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// `len` bytes of printable text that shift with their position, so a cut or a missing
/// stretch shows: the check is about sizes; `binary` is the one about bytes that are not text.
fn text_payload(len: usize) -> Vec<u8> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|i| ALPHABET[(i + i / ALPHABET.len()) % ALPHABET.len()])
        .collect()
}

fn whole(session: &Session) -> Outcome {
    let lang = session.lang;
    for size in WHOLE_SIZES {
        let datagram = text_payload(size);
        let echo = session.echo_of(&datagram).map_err(|error| {
            if size < LARGEST_IPV4_DATAGRAM {
                return error;
            }
            tr!(
                lang,
                "{} 65,507 bytes is the largest datagram over IPv4: receive into 65,535 bytes, and send back exactly what came (with one byte added, the echo is too large to send).",
                "{} 65 507 bytes es el datagrama más grande sobre IPv4: recibe en 65 535 bytes, y devuelve exactamente lo que llegó (con un byte añadido, el eco es demasiado grande para enviarlo).",
                error
            )
        })?;
        if contains(&echo, &datagram) {
            continue;
        }
        let at = datagram
            .iter()
            .zip(&echo)
            .position(|(sent, came)| sent != came);
        return Err(match at {
            None if echo.len() < size => tr!(
                lang,
                "Sent a {}-byte datagram; only its first {} bytes came back: the receive buffer truncates it, and UDP discards the rest. Receive into a buffer of 65,535 bytes, the largest datagram there is.",
                "Se envió un datagrama de {} bytes; solo volvieron sus primeros {} bytes: el búfer de recepción lo trunca, y UDP descarta el resto. Recibe en un búfer de 65 535 bytes, el datagrama más grande que existe.",
                size,
                echo.len()
            ),
            _ => tr!(
                lang,
                "Sent a {}-byte datagram; the {} bytes that came back differ from it at byte {}: send back exactly the bytes received.",
                "Se envió un datagrama de {} bytes; los {} bytes que volvieron difieren de él en el byte {}: devuelve exactamente los bytes recibidos.",
                size,
                echo.len(),
                at.unwrap_or(echo.len())
            ),
        });
    }
    Ok(tr!(
        lang,
        "Datagrams of 1, 1024, 1025, 1472, 1473, 8192 and 65,507 bytes each came back whole.",
        "Los datagramas de 1, 1024, 1025, 1472, 1473, 8192 y 65 507 bytes volvieron completos.",
    ))
}

/// The words of the `boundaries` check: none contains another, so a merged echo shows.
const WORDS: [&[u8]; 6] = [
    b"alpha ",
    b"bravo ",
    b"charlie ",
    b"delta ",
    b"echo ",
    b"foxtrot",
];

fn boundaries(session: &Session) -> Outcome {
    let lang = session.lang;
    for word in WORDS {
        session.send(&session.client, word)?;
    }
    let mut echoes = Vec::new();
    while echoes.len() <= WORDS.len() {
        let wait = if echoes.len() < WORDS.len() {
            ECHO_WAIT
        } else {
            QUIET
        };
        let Some((echo, _)) = receive(&session.client, wait) else {
            break;
        };
        echoes.push(echo);
    }
    let shown = echoes
        .iter()
        .map(|echo| show(echo, 20))
        .collect::<Vec<_>>()
        .join(", ");
    let each_its_own = echoes.len() == WORDS.len()
        && echoes.iter().zip(WORDS).all(|(echo, word)| {
            contains(echo, word) && WORDS.iter().filter(|other| contains(echo, other)).count() == 1
        });
    if each_its_own {
        return Ok(tr!(
            lang,
            "Six datagrams sent in a row came back as six echoes, each one datagram: {}.",
            "Seis datagramas enviados seguidos volvieron como seis ecos, cada uno un datagrama: {}.",
            shown
        ));
    }
    Err(tr!(
        lang,
        "Sent six datagrams in a row (\"alpha \" … \"foxtrot\"); {} echoes came back: {}. Each recvfrom returns one whole datagram: send each back on its own, with one sendto, as it came.",
        "Se enviaron seis datagramas seguidos (\"alpha \" … \"foxtrot\"); volvieron {} ecos: {}. Cada recvfrom devuelve un datagrama completo: devuelve cada uno por separado, con un sendto, tal como llegó.",
        echoes.len(),
        if shown.is_empty() {
            "-".to_owned()
        } else {
            shown
        }
    ))
}

fn binary(session: &Session) -> Outcome {
    let lang = session.lang;
    let every_byte: Vec<u8> = (0..=255).collect();
    let datagrams: [(&str, &[u8]); 3] = [
        (
            lang.pick("NUL bytes", "bytes NUL"),
            b"before\x00\x00after\x00",
        ),
        (
            lang.pick("invalid UTF-8", "UTF-8 inválido"),
            b"caf\xe9 \xff\xfe \xc3\x28 end",
        ),
        (
            lang.pick("all 256 byte values", "los 256 valores de byte"),
            &every_byte,
        ),
    ];
    for (what, datagram) in datagrams {
        let echo = session.echo_of(datagram)?;
        if !contains(&echo, datagram) {
            return Err(tr!(
                lang,
                "Sent a datagram with {}, {}; got {} back. Treat a datagram as bytes: never decode it as text.",
                "Se envió un datagrama con {}, {}; volvió {}. Trata un datagrama como bytes: nunca lo decodifiques como texto.",
                what,
                show(datagram, 40),
                show(&echo, 40)
            ));
        }
    }
    Ok(lang
        .pick(
            "Datagrams with NUL bytes, with invalid UTF-8 and with all 256 byte values came back unchanged.",
            "Los datagramas con bytes NUL, con UTF-8 inválido y con los 256 valores de byte volvieron sin cambios.",
        )
        .to_owned())
}

fn sender_only(session: &Session) -> Outcome {
    let lang = session.lang;
    // The session's client has been answered already; a second client now sends once.
    let other = session.socket()?;
    let other_message: &[u8] = b"from the second client";
    session.send(&other, other_message)?;
    match receive(&other, ECHO_WAIT) {
        Some((echo, from)) if contains(&echo, other_message) => {
            session.ensure_from_the_program(from)?
        }
        Some((echo, _)) => {
            return Err(tr!(
                lang,
                "A second client sent {} and got {}, another client's datagram: send each echo to the address recvfrom gave with that datagram.",
                "Un segundo cliente envió {} y recibió {}, el datagrama de otro cliente: envía cada eco a la dirección que recvfrom dio con ese datagrama.",
                show(other_message, 30),
                show(&echo, 30)
            ));
        }
        None => {
            return Err(tr!(
                lang,
                "A second client sent {} and got no echo within {} s: answer every client at the address its datagram came from, not only the first one.",
                "Un segundo cliente envió {} y no recibió ningún eco en {} s: responde a cada cliente en la dirección de donde vino su datagrama, no solo al primero.",
                show(other_message, 30),
                crate::seconds(ECHO_WAIT, lang)
            ));
        }
    }
    // Now the first client sends: its echo is its own, and the second one hears nothing.
    let message: &[u8] = b"from the first client";
    session.send(&session.client, message)?;
    let echo = receive(&session.client, ECHO_WAIT);
    if let Some((stray, _)) = receive(&other, QUIET) {
        return Err(tr!(
            lang,
            "While the first client sent {}, a second client that sent nothing more received {}: send each echo only to the address recvfrom gave with that datagram, never to other clients.",
            "Mientras el primer cliente enviaba {}, un segundo cliente que no envió nada más recibió {}: envía cada eco solo a la dirección que recvfrom dio con ese datagrama, nunca a otros clientes.",
            show(message, 30),
            show(&stray, 30)
        ));
    }
    match echo {
        Some((echo, from)) if contains(&echo, message) => session.ensure_from_the_program(from)?,
        _ => {
            return Err(tr!(
                lang,
                "The first client sent {} again and got no echo of it: send each echo to the address recvfrom gave with that datagram.",
                "El primer cliente volvió a enviar {} y no recibió su eco: envía cada eco a la dirección que recvfrom dio con ese datagrama.",
                show(message, 30)
            ));
        }
    }
    Ok(tr!(
        lang,
        "Two clients each got only their own echo, from udp {}.",
        "Dos clientes recibieron cada uno solo su propio eco, desde udp {}.",
        session.server
    ))
}

fn never_larger(session: &Session) -> Outcome {
    let lang = session.lang;
    // An empty datagram first: whether it gets an answer at all is `keeps_serving`'s to
    // judge; here only an answer with something in it fails.
    session.send(&session.client, b"")?;
    if let Some((echo, _)) =
        receive(&session.client, ECHO_WAIT).filter(|(echo, _)| !echo.is_empty())
    {
        return Err(tr!(
            lang,
            "Sent an empty datagram; got {} back: the echo of 0 bytes is 0 bytes, and an echo larger than its request lets anyone flood a third party by forging its address (amplification).",
            "Se envió un datagrama vacío; volvió {}: el eco de 0 bytes son 0 bytes, y un eco más grande que su petición le permite a cualquiera inundar a otro falsificando su dirección (amplificación).",
            show(&echo, 30)
        ));
    }
    for datagram in [&b"ping"[..], b"a line\n"] {
        let echo = session.echo_of(datagram)?;
        if echo == datagram {
            continue;
        }
        return Err(if echo.len() > datagram.len() {
            tr!(
                lang,
                "Sent {} ({} bytes); got {} back ({} bytes). An echo larger than its request lets anyone flood a third party by forging its address (amplification): send back exactly the bytes received, nothing added.",
                "Se envió {} ({} bytes); volvió {} ({} bytes). Un eco más grande que su petición le permite a cualquiera inundar a otro falsificando su dirección (amplificación): devuelve exactamente los bytes recibidos, sin añadir nada.",
                show(datagram, 20),
                datagram.len(),
                show(&echo, 40),
                echo.len()
            )
        } else {
            tr!(
                lang,
                "Sent {}; got {} back: send back exactly the bytes received, nothing taken away (no strip).",
                "Se envió {}; volvió {}: devuelve exactamente los bytes recibidos, sin quitar nada (sin strip).",
                show(datagram, 20),
                show(&echo, 40)
            )
        });
    }
    Ok(lang
        .pick(
            "\"ping\" and \"a line\\n\" came back byte for byte, not one byte more, and an empty datagram got nothing larger.",
            "\"ping\" y \"a line\\n\" volvieron byte por byte, sin un byte más, y un datagrama vacío no recibió nada más grande.",
        )
        .to_owned())
}

fn keeps_serving(session: &Session) -> Outcome {
    let lang = session.lang;
    // A client that leaves before its echo: the echo bounces as ICMP "port unreachable",
    // which Windows reports on the server's next recvfrom (WSAECONNRESET).
    let leaver = session.socket()?;
    session.send(&leaver, b"I am leaving")?;
    drop(leaver);
    // A server that sends to every client sends the leaver's datagram here too: that is for
    // `sender_only` to judge, so it is set aside before this check's own datagrams.
    while receive(&session.client, QUIET).is_some() {}
    // The lesson's program echoes an empty datagram as an empty datagram: recvfrom returns 0
    // bytes, which on UDP ends nothing, and 0 bytes go back. What the answer holds is
    // `never_larger`'s to judge; here it must come.
    session.send(&session.client, b"")?;
    let empty = receive(&session.client, ECHO_WAIT);
    let after: &[u8] = b"still there?";
    let still = session.echo_of(after).map_err(|error| {
        tr!(
            lang,
            "After a client left before its echo and an empty datagram, the program no longer echoed: {} recvfrom returning 0 bytes is an empty datagram, not the end of a connection (UDP has none), and one client's error must not stop the server.",
            "Después de que un cliente se fue antes de su eco y de un datagrama vacío, el programa ya no devolvió nada: {} Que recvfrom devuelva 0 bytes es un datagrama vacío, no el fin de una conexión (UDP no tiene conexiones), y el error de un cliente no debe detener el servidor.",
            error
        )
    })?;
    if empty.is_none() {
        return Err(lang
            .pick(
                "An empty datagram got nothing back: it is a datagram like any other, so send its 0 bytes back (the lesson's program does).",
                "Un datagrama vacío no recibió nada: es un datagrama como cualquier otro, así que devuelve sus 0 bytes (el programa de la lección lo hace).",
            )
            .to_owned());
    }
    if !contains(&still, after) {
        return Err(tr!(
            lang,
            "After an empty datagram, {} got {} back.",
            "Después de un datagrama vacío, {} recibió {} de vuelta.",
            show(after, 20),
            show(&still, 30)
        ));
    }
    Ok(lang
        .pick(
            "A client left before its echo; an empty datagram was answered; the next datagram was echoed.",
            "Un cliente se fue antes de su eco; un datagrama vacío tuvo respuesta; el siguiente datagrama tuvo su eco.",
        )
        .to_owned())
}
