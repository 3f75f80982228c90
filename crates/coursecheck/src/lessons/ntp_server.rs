//! ntp_server: an SNTP server on UDP. The checker is a strict SNTP client, as chrony is: it
//! asks with a random transmit timestamp, checks every field of the reply, compares the time
//! with this computer's clock, and sends what a server must never answer.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime};

use netutil::ntp::{HEADER_LEN, Header, Leap, Mode, Timestamp};

use super::{Check, LessonDef, Role, TIME_NOTES, Text};
use crate::program::{HOST, Program, describe_status};
use crate::{CheckResult, Lang, Options, Outcome, result, show, tr};
use netutil::server::is_timeout;

const REPLY: Check = Check {
    id: "reply",
    title: Text {
        en: "answers a client request with 48 bytes in server mode (4), same version",
        es: "responde a una petición de cliente con 48 bytes en modo servidor (4), misma versión",
    },
};
const ORIGIN: Check = Check {
    id: "origin",
    title: Text {
        en: "echoes the request's transmit timestamp as the origin, unchanged",
        es: "devuelve la marca de transmisión de la petición como origen, sin cambios",
    },
};
const SANE: Check = Check {
    id: "sane",
    title: Text {
        en: "leap, stratum and root dispersion a strict client accepts",
        es: "leap, stratum y dispersión raíz que un cliente estricto acepta",
    },
};
const TIME: Check = Check {
    id: "time",
    title: Text {
        en: "its transmit time is this computer's clock, within 1 s",
        es: "su hora de transmisión es el reloj de este computador, con 1 s de margen",
    },
};
const IGNORES: Check = Check {
    id: "ignores",
    title: Text {
        en: "no answer to a short packet or to a mode other than client, and still serving",
        es: "no responde a un paquete corto ni a un modo distinto de cliente, y sigue atendiendo",
    },
};

pub(super) const LESSON: LessonDef = LessonDef {
    notes: TIME_NOTES,
    role: Role::Client {
        checks: &[REPLY, ORIGIN, SANE, TIME, IGNORES],
        run,
    },
};

/// How far the server's transmit time may be from this computer's clock.
const TOLERANCE: Duration = Duration::from_secs(1);
/// How long the checker waits for a reply to one datagram.
const ANSWER_WAIT: Duration = Duration::from_millis(300);
/// The largest root dispersion accepted (chrony rejects a server claiming more).
const MAX_DISPERSION: Duration = Duration::from_secs(1);

/// One datagram the checker got back, with when its request left and when it came.
struct Answer {
    bytes: Vec<u8>,
    sent: SystemTime,
    came: SystemTime,
}

/// A transmit timestamp no server could guess, as chrony sends: the origin must echo it.
fn random_timestamp() -> Timestamp {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let mut state = (nanos as u64) ^ 0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id());
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    Timestamp::from_bits(state)
}

/// Sends `packet` and waits [`ANSWER_WAIT`] for one datagram back.
fn ask(socket: &UdpSocket, packet: &[u8]) -> Option<Answer> {
    let sent = SystemTime::now();
    socket.send(packet).ok()?;
    let _ = socket.set_read_timeout(Some(ANSWER_WAIT));
    let mut buffer = [0u8; 1024];
    match socket.recv(&mut buffer) {
        Ok(len) => Some(Answer {
            bytes: buffer[..len].to_vec(),
            sent,
            came: SystemTime::now(),
        }),
        Err(error) if is_timeout(&error) => None,
        // ICMP port unreachable before the program has bound its port: no answer yet.
        Err(_) => None,
    }
}

/// A socket of the checker's, sending only to the program.
fn client_socket(server: SocketAddr) -> Result<UdpSocket, String> {
    let socket = UdpSocket::bind((HOST, 0)).map_err(|error| error.to_string())?;
    socket.connect(server).map_err(|error| error.to_string())?;
    Ok(socket)
}

fn run(command: &[String], options: &Options) -> Vec<CheckResult> {
    let lang = options.lang;
    let started = Instant::now();
    let all_fail = |error: String, tail: Vec<String>| {
        [REPLY, ORIGIN, SANE, TIME, IGNORES]
            .into_iter()
            .map(|check| result(check, lang, started, Err(error.clone()), tail.clone()))
            .collect::<Vec<_>>()
    };
    let port = match UdpSocket::bind((HOST, 0)).and_then(|socket| socket.local_addr()) {
        Ok(addr) => addr.port(),
        Err(error) => return all_fail(error.to_string(), Vec::new()),
    };
    let server = SocketAddr::from((HOST, port));
    let mut program = match Program::start(command, port, options, lang) {
        Ok(program) => program,
        Err(error) => return all_fail(error, Vec::new()),
    };
    let socket = match client_socket(server) {
        Ok(socket) => socket,
        Err(error) => return all_fail(error, Vec::new()),
    };
    // The first request that gets an answer: the program may take a while to bind.
    let deadline = Instant::now() + options.timeout;
    let transmit = random_timestamp();
    let request = Header::client_request(4, transmit).to_bytes();
    let first = loop {
        if let Some(answer) = ask(&socket, &request) {
            break Ok(answer);
        }
        if let Some(status) = program.exited() {
            break Err(tr!(
                lang,
                "The program ended ({}) without answering on udp {}: a server must keep running.",
                "El programa terminó ({}) sin responder en udp {}: un servidor debe seguir ejecutándose.",
                describe_status(status, lang),
                server
            ));
        }
        if Instant::now() >= deadline {
            break Err(tr!(
                lang,
                "No answer on udp {} within {} s: does the program listen on UDP, on the port it is given ({{port}})?",
                "No hubo respuesta en udp {} durante {} s: ¿el programa escucha por UDP, en el puerto que se le da ({{port}})?",
                server,
                options.timeout.as_secs()
            ));
        }
    };
    let answer = match first {
        Ok(answer) => answer,
        Err(error) => {
            let tail = program.tail(6);
            program.stop();
            return all_fail(error, tail);
        }
    };
    let header = Header::parse(&answer.bytes).ok();
    let reply = reply_check(&answer, header.as_ref(), lang);
    let (origin, sane, time) = match &header {
        Some(header) => (
            origin_check(header, transmit, lang),
            sane_check(header, lang),
            time_check(header, &answer, lang),
        ),
        None => {
            let error = tr!(
                lang,
                "The answer is not an NTP header: {}.",
                "La respuesta no es un encabezado NTP: {}.",
                show(&answer.bytes, 60)
            );
            (Err(error.clone()), Err(error.clone()), Err(error))
        }
    };
    let ignores = ignores_check(server, &request, lang);
    let tail = program.tail(6);
    program.stop();
    vec![
        result(REPLY, lang, started, reply, tail.clone()),
        result(ORIGIN, lang, started, origin, tail.clone()),
        result(SANE, lang, started, sane, tail.clone()),
        result(TIME, lang, started, time, tail.clone()),
        result(IGNORES, lang, started, ignores, tail),
    ]
}

fn reply_check(answer: &Answer, header: Option<&Header>, lang: Lang) -> Outcome {
    let len = answer.bytes.len();
    match header {
        Some(header) if len == HEADER_LEN && header.mode == Mode::Server && header.version == 4 => {
            Ok(tr!(
                lang,
                "A version 4 request got 48 bytes back in server mode, version 4.",
                "Una petición de versión 4 recibió 48 bytes en modo servidor, versión 4.",
            ))
        }
        Some(header) => Err(tr!(
            lang,
            "A version 4 client request (48 bytes) got {} bytes back in mode {}, version {}: reply with exactly 48 bytes (never more than the request), mode 4 (server), and the request's version.",
            "Una petición de cliente de versión 4 (48 bytes) recibió {} bytes en modo {}, versión {}: responde con exactamente 48 bytes (nunca más que la petición), modo 4 (servidor) y la versión de la petición.",
            len,
            header.mode,
            header.version
        )),
        None => Err(tr!(
            lang,
            "The answer has {} bytes, too few for an NTP header (48).",
            "La respuesta tiene {} bytes, muy pocos para un encabezado NTP (48).",
            len
        )),
    }
}

fn origin_check(header: &Header, transmit: Timestamp, lang: Lang) -> Outcome {
    if header.origin_time == transmit {
        Ok(tr!(
            lang,
            "The request's transmit timestamp {:016x} came back as the origin.",
            "La marca de transmisión {:016x} de la petición volvió como origen.",
            transmit.to_bits()
        ))
    } else {
        Err(tr!(
            lang,
            "The request's transmit timestamp was {:016x}; the origin came back as {:016x}: copy the request's bytes 40–47 into the reply's bytes 24–31, unchanged (a client drops a reply whose origin is not its own request).",
            "La marca de transmisión de la petición era {:016x}; el origen volvió como {:016x}: copia los bytes 40–47 de la petición en los bytes 24–31 de la respuesta, sin cambios (un cliente descarta una respuesta cuyo origen no es su propia petición).",
            transmit.to_bits(),
            header.origin_time.to_bits()
        ))
    }
}

fn sane_check(header: &Header, lang: Lang) -> Outcome {
    let mut problems = Vec::new();
    if header.leap == Leap::Unsynchronized {
        problems.push(
            lang.pick("leap 3 (unsynchronized)", "leap 3 (no sincronizado)")
                .to_owned(),
        );
    }
    if !(1..=15).contains(&header.stratum) {
        problems.push(tr!(
            lang,
            "stratum {} (1 to 15 is a usable clock)",
            "stratum {} (de 1 a 15 es un reloj utilizable)",
            header.stratum
        ));
    }
    if header.root_dispersion > MAX_DISPERSION || header.root_delay > MAX_DISPERSION {
        problems.push(tr!(
            lang,
            "root delay {} µs and dispersion {} µs (at most 1 s)",
            "retardo raíz {} µs y dispersión {} µs (como máximo 1 s)",
            header.root_delay.as_micros(),
            header.root_dispersion.as_micros()
        ));
    }
    if header.transmit_time.is_zero() {
        problems.push(
            lang.pick("a zero transmit time", "una hora de transmisión en cero")
                .to_owned(),
        );
    }
    if problems.is_empty() {
        Ok(tr!(
            lang,
            "Leap {}, stratum {}, root dispersion {} µs: a strict client would use this reply.",
            "Leap {}, stratum {}, dispersión raíz {} µs: un cliente estricto usaría esta respuesta.",
            header.leap.bits(),
            header.stratum,
            header.root_dispersion.as_micros()
        ))
    } else {
        Err(tr!(
            lang,
            "A strict client (chrony) rejects this reply: {}.",
            "Un cliente estricto (chrony) rechaza esta respuesta: {}.",
            problems.join("; ")
        ))
    }
}

fn time_check(header: &Header, answer: &Answer, lang: Lang) -> Outcome {
    let told = header.transmit_time.to_system_time();
    let round_trip = answer.came.duration_since(answer.sent).unwrap_or_default();
    let middle = answer.sent + round_trip / 2;
    let off = told
        .duration_since(middle)
        .unwrap_or_else(|error| error.duration());
    let shown = netutil::cli::ctime(told);
    if off <= TOLERANCE {
        return Ok(tr!(
            lang,
            "It said {}, {} ms from this computer's clock.",
            "Dijo {}, a {} ms del reloj de este computador.",
            shown,
            off.as_millis()
        ));
    }
    // Unix seconds written where NTP's belong: the raw seconds field reads as today's Unix time.
    let raw_seconds = header.transmit_time.to_bits() >> 32;
    let unix_now = middle
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let hint = if raw_seconds.abs_diff(unix_now) <= 86_400 {
        lang.pick(
            " NTP counts seconds from 1900, Unix from 1970: add 2208988800 to the Unix time.",
            " NTP cuenta los segundos desde 1900 y Unix desde 1970: suma 2208988800 a la hora Unix.",
        )
    } else {
        ""
    };
    Err(tr!(
        lang,
        "It said {}, {} s from this computer's clock (at most 1 s).{}",
        "Dijo {}, a {} s del reloj de este computador (como máximo 1 s).{}",
        shown,
        off.as_secs(),
        hint
    ))
}

fn ignores_check(server: SocketAddr, request: &[u8], lang: Lang) -> Outcome {
    let socket = client_socket(server)?;
    let mut server_mode = Header::client_request(4, random_timestamp());
    server_mode.mode = Mode::Server;
    let probes: [(&str, Vec<u8>); 2] = [
        (
            lang.pick("a 20-byte packet", "un paquete de 20 bytes"),
            request[..20].to_vec(),
        ),
        (
            lang.pick(
                "a 48-byte packet in server mode (4)",
                "un paquete de 48 bytes en modo servidor (4)",
            ),
            server_mode.to_bytes().to_vec(),
        ),
    ];
    for (what, packet) in &probes {
        if let Some(answer) = ask(&socket, packet) {
            return Err(tr!(
                lang,
                "It answered {} with {} bytes: answer only client requests of at least 48 bytes, or a forged source address turns the server into an amplifier.",
                "Respondió a {} con {} bytes: responde solo a peticiones de cliente de al menos 48 bytes, o una dirección de origen falsificada convierte el servidor en un amplificador.",
                what,
                answer.bytes.len()
            ));
        }
    }
    if ask(&socket, request).is_none() {
        return Err(lang
            .pick(
                "It ignored the bad packets, but then no longer answered a good request: a bad packet must not stop the server.",
                "Ignoró los paquetes malos, pero después ya no respondió a una petición buena: un paquete malo no debe detener el servidor.",
            )
            .to_owned());
    }
    Ok(lang
        .pick(
            "No answer to a 20-byte packet or to one in server mode; the next client request was answered.",
            "No respondió a un paquete de 20 bytes ni a uno en modo servidor; la siguiente petición de cliente recibió respuesta.",
        )
        .to_owned())
}
