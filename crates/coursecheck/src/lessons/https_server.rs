//! https_server: an HTTPS server that shows the certificate it is given. The checker makes an
//! authority and a certificate it issued for localhost and 127.0.0.1, gives the program the
//! certificate chain and its key as two PEM files (`{cert}`, `{key}`, the way nginx takes
//! them), and plays the clients: TLS clients that trust only that authority, and clients
//! that do not speak TLS at all. Each check starts the program afresh.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use netutil::http::{self, Method};
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use super::{Check, HTTP_NOTES, LessonDef, Role, Text};
use crate::certificates::{Authority, TempFile};
use crate::program::{HOST, Program, describe_status, free_tcp_port};
use crate::{CheckResult, Lang, Options, Outcome, result, show, tr};

const HANDSHAKE: Check = Check {
    id: "handshake",
    title: Text {
        en: "shows the certificate it is given ({cert}, {key}) in a TLS handshake for localhost",
        es: "muestra el certificado que se le da ({cert}, {key}) en una negociación de TLS para localhost",
    },
};
const PAGE: Check = Check {
    id: "page",
    title: Text {
        en: "answers GET / over TLS with a complete HTTP response",
        es: "responde a GET / sobre TLS con una respuesta HTTP completa",
    },
};
const SURVIVES: Check = Check {
    id: "bad_clients",
    title: Text {
        en: "keeps serving after a client that speaks plain HTTP and one that leaves mid-handshake",
        es: "sigue atendiendo después de un cliente que habla HTTP sin TLS y de uno que se va a mitad de la negociación",
    },
};

/// What a check does against a freshly started program.
type Body = fn(&Session) -> Outcome;

const CHECKS: [(Check, Body); 3] = [(HANDSHAKE, handshake), (PAGE, page), (SURVIVES, survives)];

pub(super) const LESSON: LessonDef = LessonDef {
    notes: HTTP_NOTES,
    role: Role::Client {
        checks: &[HANDSHAKE, PAGE, SURVIVES],
        run,
    },
};

/// How long one exchange with the program may take.
const EXCHANGE_WAIT: Duration = Duration::from_secs(5);

/// One start of the program.
struct Session {
    server: SocketAddr,
    client_config: Arc<ClientConfig>,
    lang: Lang,
}

impl Session {
    /// The request every client sends.
    fn request(&self) -> Vec<u8> {
        format!(
            "GET / HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n",
            self.server.port()
        )
        .into_bytes()
    }

    /// A TLS connection to the program for `localhost`, its handshake done.
    fn tls(&self) -> Result<StreamOwned<ClientConnection, TcpStream>, String> {
        let tcp = TcpStream::connect_timeout(&self.server, EXCHANGE_WAIT)
            .map_err(|error| error.to_string())?;
        self.tls_over(tcp)
    }

    /// TLS over the connection `tcp`, its handshake done.
    fn tls_over(&self, tcp: TcpStream) -> Result<StreamOwned<ClientConnection, TcpStream>, String> {
        let _ = tcp.set_read_timeout(Some(EXCHANGE_WAIT));
        let _ = tcp.set_write_timeout(Some(EXCHANGE_WAIT));
        let name = "localhost".try_into().map_err(|_| "localhost".to_owned())?;
        let connection = ClientConnection::new(Arc::clone(&self.client_config), name)
            .map_err(|error| error.to_string())?;
        let mut tls = StreamOwned::new(connection, tcp);
        match tls.conn.complete_io(&mut tls.sock) {
            Ok(_) => Ok(tls),
            Err(error) => Err(tr!(
                self.lang,
                "The TLS handshake with {} failed ({}): wrap each accepted connection in TLS with the certificate chain in {{cert}} and the key in {{key}} (Python: context.load_cert_chain(cert, key), then context.wrap_socket(conn, server_side=True)).",
                "La negociación de TLS con {} falló ({}): envuelve cada conexión aceptada en TLS con la cadena de certificados de {{cert}} y la clave de {{key}} (Python: context.load_cert_chain(cert, key), luego context.wrap_socket(conn, server_side=True)).",
                self.server,
                error
            )),
        }
    }
}

fn run(command: &[String], options: &Options) -> Vec<CheckResult> {
    CHECKS
        .iter()
        .filter(|(check, _)| options.selects(check.id))
        .map(|&(check, body)| run_one(check, body, command, options))
        .collect()
}

/// Makes the certificate files, starts the program on a free port, waits until it accepts
/// connections, runs `body`, stops it.
fn run_one(check: Check, body: Body, command: &[String], options: &Options) -> CheckResult {
    let lang = options.lang;
    let started = Instant::now();
    let prepared = (|| -> Result<_, String> {
        let authority = Authority::new("coursecheck authority").map_err(|e| e.to_string())?;
        let identity = authority
            .issue(&["localhost", "127.0.0.1"])
            .map_err(|e| e.to_string())?;
        let cert = TempFile::write("server.pem", &identity.chain_pem).map_err(|e| e.to_string())?;
        let key = TempFile::write("server.key", &identity.key_pem).map_err(|e| e.to_string())?;
        let client_config = authority.client_config().map_err(|e| e.to_string())?;
        let port = free_tcp_port().map_err(|e| e.to_string())?;
        Ok((cert, key, client_config, port))
    })();
    let (cert, key, client_config, port) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return result(check, lang, started, Err(error), Vec::new()),
    };
    let fill = [("{cert}", cert.path()), ("{key}", key.path())];
    let fill: Vec<(&str, &str)> = fill.iter().map(|(p, v)| (*p, v.as_str())).collect();
    let mut program = match Program::start_filled(command, port, &fill, options, lang) {
        Ok(program) => program,
        Err(error) => return result(check, lang, started, Err(error), Vec::new()),
    };
    let server = SocketAddr::from((HOST, port));
    // Three quarters of the check's time to start, so a program that never listens is told
    // so, with the rest left for the check itself.
    let startup = options.timeout - options.timeout / 4;
    let session = Session {
        server,
        client_config,
        lang,
    };
    let outcome = listening(server, &mut program, startup, lang).and_then(|first| {
        // The first connection is a whole, polite client: the handshake, a request, the start
        // of the answer, then close_notify. One that left at once would be a bad client, which
        // only bad_clients may send.
        let mut tls = session.tls_over(first)?;
        let _ = tls.write_all(&session.request());
        let _ = tls.flush();
        let _ = tls.sock.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = tls.read(&mut [0; 4096]);
        tls.conn.send_close_notify();
        let _ = tls.flush();
        drop(tls);
        body(&session)
    });
    let tail = program.tail(6);
    program.stop();
    result(check, lang, started, outcome, tail)
}

/// Waits until the program accepts a TCP connection, and returns it; or says why not when the
/// program ends or `startup` passes first.
fn listening(
    server: SocketAddr,
    program: &mut Program,
    startup: Duration,
    lang: Lang,
) -> Result<TcpStream, String> {
    let deadline = Instant::now() + startup;
    loop {
        if let Some(status) = program.exited() {
            return Err(tr!(
                lang,
                "The program ended ({}) before it accepted a connection on {}: a server must keep running.",
                "El programa terminó ({}) antes de aceptar una conexión en {}: un servidor debe seguir ejecutándose.",
                describe_status(status, lang),
                server
            ));
        }
        match TcpStream::connect_timeout(&server, Duration::from_millis(500)) {
            Ok(stream) => return Ok(stream),
            Err(error) if Instant::now() >= deadline => {
                return Err(tr!(
                    lang,
                    "Nothing accepted connections on {} within {} s ({}): does the program use the port it is given ({{port}})?",
                    "Nadie aceptó conexiones en {} durante {} s ({}): ¿el programa usa el puerto que se le da ({{port}})?",
                    server,
                    crate::seconds(startup, lang),
                    error
                ));
            }
            Err(_) => thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn handshake(session: &Session) -> Outcome {
    let tls = session.tls()?;
    let version = tls
        .conn
        .protocol_version()
        .map(|v| format!("{v:?}"))
        .unwrap_or_default();
    Ok(tr!(
        session.lang,
        "A client that trusts only the checker's authority completed a {} handshake for localhost.",
        "Un cliente que solo confía en la autoridad del verificador completó una negociación {} para localhost.",
        version
    ))
}

fn page(session: &Session) -> Outcome {
    let lang = session.lang;
    let mut tls = session.tls()?;
    tls.write_all(&session.request())
        .and_then(|()| tls.flush())
        .map_err(|error| error.to_string())?;
    let response = http::read_response(&mut tls, Method::Get, http::Limits::default()).map_err(|error| {
        tr!(
            lang,
            "Sent \"GET / HTTP/1.1\" through TLS; the response was not complete ({}). Send a Content-Length header (or close with TLS's close_notify), and answer within {} s.",
            "Se envió \"GET / HTTP/1.1\" por TLS; la respuesta no estuvo completa ({}). Envía un encabezado Content-Length (o cierra con el close_notify de TLS), y responde en menos de {} s.",
            error,
            EXCHANGE_WAIT.as_secs()
        )
    })?;
    if !(200..300).contains(&response.status) {
        return Err(tr!(
            lang,
            "GET / got {}: a page should come back with a 2xx status.",
            "GET / recibió {}: una página debe volver con un estado 2xx.",
            show(response.status_line().as_bytes(), 60)
        ));
    }
    Ok(tr!(
        lang,
        "GET / got {} and a {}-byte body ({}).",
        "GET / recibió {} y un cuerpo de {} bytes ({}).",
        show(response.status_line().as_bytes(), 60),
        response.body.len(),
        response.framing
    ))
}

fn survives(session: &Session) -> Outcome {
    let lang = session.lang;
    // Plain HTTP to the TLS port: the server's handshake fails, and that must end only this
    // connection.
    if let Ok(mut plain) = TcpStream::connect_timeout(&session.server, EXCHANGE_WAIT) {
        let _ = plain.set_read_timeout(Some(Duration::from_secs(1)));
        let _ = plain.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let _ = plain.read(&mut [0; 1024]);
    }
    // A client that connects and leaves before saying anything.
    drop(TcpStream::connect_timeout(&session.server, EXCHANGE_WAIT));
    thread::sleep(Duration::from_millis(200));
    session.tls().map_err(|error| {
        tr!(
            lang,
            "After a client that sent plain HTTP and one that left mid-handshake: {} A failed handshake must end that connection only (Python: catch ssl.SSLError and OSError around wrap_socket, and keep accepting).",
            "Después de un cliente que envió HTTP sin TLS y de uno que se fue a mitad de la negociación: {} Una negociación fallida debe terminar solo esa conexión (Python: captura ssl.SSLError y OSError alrededor de wrap_socket, y sigue aceptando).",
            error
        )
    })?;
    Ok(lang
        .pick(
            "After a client that sent plain HTTP and one that left mid-handshake, the next TLS client was served.",
            "Después de un cliente que envió HTTP sin TLS y de uno que se fue a mitad de la negociación, el siguiente cliente TLS fue atendido.",
        )
        .to_owned())
}
