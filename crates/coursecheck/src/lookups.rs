//! The lookup lessons (basics_01..03, socket_01, socket_02): the program talks to nobody, so
//! the checker runs it with a name or a query in place of `{name}` / `{query}`, reads what it
//! printed and compares it with this computer's resolver and services database, asked through
//! `netutil::lookup`, the kit's own lessons' oracle.
//!
//! No check ever makes a DNS query: the names given are `localhost`, address literals, this
//! machine's own name (which its hosts file or the system answers) and [`UNKNOWN_NAME`], which
//! no resolver sends to a DNS server.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::clients::Finished;
use crate::program::describe_status;
use crate::{Lang, Outcome, tr};

/// A name that exists nowhere and that no resolver sends to a DNS server: each label fits in
/// the 63 bytes DNS allows (so every language's resolver accepts it as a name, Python's IDNA
/// codec included), but the whole name is longer than the 255 bytes a DNS name may hold, so
/// the C library refuses it at once as unknown, online or offline, and no query leaves the
/// machine. It ends in `.invalid`, which RFC 6761 reserves for names that never resolve.
pub(crate) const UNKNOWN_NAME: &str = "no-such-host.each-label-of-this-name-fits-in-63-bytes.but-the-whole-name-is-longer-than-255-bytes.the-most-a-dns-name-may-hold-on-the-wire.so-no-resolver-ever-sends-it-to-a-dns-server.it-fails-at-once-online-or-offline.as-an-unknown-name-and-never-a-real-one.invalid";

/// The sentence for a command that lacks the placeholder a lesson needs, else `None`.
pub(crate) fn missing_placeholder(
    command: &[String],
    placeholder: &str,
    example: &str,
    lang: Lang,
) -> Option<String> {
    if command.iter().any(|word| word.contains(placeholder)) {
        return None;
    }
    Some(tr!(
        lang,
        "The command has no {}: put it where the program takes its argument (e.g. `{}`), so the checker can give it what to look up.",
        "El comando no tiene {}: ponlo donde el programa recibe su argumento (p. ej. `{}`), para que el verificador le dé qué buscar.",
        placeholder,
        example
    ))
}

/// The IP addresses written in `text`, once each, in the order they first appear: plain
/// (`127.0.0.1`, `::1`), with a port (`127.0.0.1:80`, `[::1]:80`), or in punctuation.
pub(crate) fn addresses_in(text: &str) -> Vec<IpAddr> {
    let mut found = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || ",;()<>\"'=|".contains(c)) {
        let word = word.trim_end_matches(['.', ':']);
        let word = word.split('%').next().unwrap_or(word);
        let ip = word
            .parse::<IpAddr>()
            .ok()
            .or_else(|| word.parse::<SocketAddr>().ok().map(|address| address.ip()))
            .or_else(|| {
                word.strip_prefix('[')
                    .and_then(|rest| rest.strip_suffix(']'))
                    .and_then(|inner| inner.parse().ok())
            });
        if let Some(ip) = ip.filter(|ip| !found.contains(ip)) {
            found.push(ip);
        }
    }
    found
}

/// The words of `text`, for finding a printed name: split at spaces and punctuation that
/// never appear in a host or service name.
pub(crate) fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c.is_whitespace() || ",;:()<>\"'=|[]".contains(c))
        .map(|word| word.trim_end_matches('.'))
        .filter(|word| !word.is_empty())
}

/// A list of addresses for a sentence: `127.0.0.1, ::1`.
pub(crate) fn listed(addresses: &[IpAddr]) -> String {
    addresses
        .iter()
        .map(IpAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A sentence when the program did not end by itself with status 0, else `None`.
pub(crate) fn bad_ending(finished: &Finished, limit: Duration, lang: Lang) -> Option<String> {
    match finished.status {
        None => Some(tr!(
            lang,
            "The program did not finish within {} s; it was stopped. A lookup takes a moment: the program must then end.",
            "El programa no terminó en {} s; el verificador lo detuvo. Una búsqueda toma un momento: después el programa debe terminar.",
            limit.as_secs()
        )),
        Some(status) if !status.success() => Some(tr!(
            lang,
            "The program ended with {} where it should have succeeded (exit code 0).",
            "El programa terminó con {} cuando debía terminar con éxito (código 0).",
            describe_status(status, lang)
        )),
        Some(_) => None,
    }
}

/// `text` with its first letter in lower case, to follow "Given NAME, …".
pub(crate) fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Compares the addresses the program printed for `name` with what this computer's resolver
/// gives: `every` asks that none be missing, `only` that none be invented.
pub(crate) fn compare_addresses(
    name: &str,
    finished: &Finished,
    limit: Duration,
    every: bool,
    only: bool,
    lang: Lang,
) -> Outcome {
    let expected = netutil::lookup::resolve(name).map_err(|error| {
        tr!(
            lang,
            "This computer's resolver cannot resolve {} ({}), so there is nothing to compare with: add it to the hosts file.",
            "El resolvedor de este computador no puede resolver {} ({}), así que no hay con qué comparar: agrégalo al archivo hosts.",
            name,
            error
        )
    })?;
    if let Some(error) = bad_ending(finished, limit, lang) {
        return Err(tr!(
            lang,
            "Given {}, {}",
            "Con {}, {}",
            name,
            lower_first(&error)
        ));
    }
    let printed = addresses_in(&String::from_utf8_lossy(&finished.stdout));
    let set = |list: &[IpAddr]| list.iter().copied().collect::<BTreeSet<_>>();
    let (expected_set, printed_set) = (set(&expected), set(&printed));
    if printed.is_empty() {
        return Err(tr!(
            lang,
            "Given {}, it printed no IP address; this computer's resolver gives {}.",
            "Con {}, no imprimió ninguna dirección IP; el resolvedor de este computador da {}.",
            name,
            listed(&expected)
        ));
    }
    let extra: Vec<IpAddr> = printed_set.difference(&expected_set).copied().collect();
    if only && !extra.is_empty() {
        return Err(tr!(
            lang,
            "Given {}, it printed {}, which this computer's resolver does not give for it (it gives {}): print what the resolver answers, never an address written in the program.",
            "Con {}, imprimió {}, que el resolvedor de este computador no da para ese nombre (da {}): imprime lo que responde el resolvedor, nunca una dirección escrita en el programa.",
            name,
            listed(&extra),
            listed(&expected)
        ));
    }
    let missing: Vec<IpAddr> = expected_set.difference(&printed_set).copied().collect();
    if every && !missing.is_empty() {
        return Err(tr!(
            lang,
            "Given {}, it printed {} but not {}: print every address the resolver gives, IPv6 too (getaddrinfo), not one IPv4 address (gethostbyname).",
            "Con {}, imprimió {} pero no {}: imprime todas las direcciones que da el resolvedor, también las IPv6 (getaddrinfo), no una sola dirección IPv4 (gethostbyname).",
            name,
            listed(&printed),
            listed(&missing)
        ));
    }
    Ok(tr!(
        lang,
        "Given {}, it printed {}, as this computer's resolver says.",
        "Con {}, imprimió {}, como dice el resolvedor de este computador.",
        name,
        listed(&printed)
    ))
}

/// The first line of a stack trace in `text` (Python, Rust, Java, JavaScript, Go), if any.
fn stack_trace(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|line| {
        line.starts_with("Traceback (most recent call last)")
            || line.contains("panicked at")
            || line.starts_with("Exception in thread")
            || line.starts_with("goroutine ")
            || line.starts_with("File \"")
            || (line.starts_with("at ") && line.ends_with(')'))
    })
}

/// Judges how the program ended when given something that does not exist (`given`): it must
/// end by itself with a non-zero exit code and say why in a sentence or two, not a stack trace.
pub(crate) fn fails_cleanly(
    given: &str,
    finished: &Finished,
    limit: Duration,
    lang: Lang,
) -> Outcome {
    let stdout = String::from_utf8_lossy(&finished.stdout);
    let stderr = String::from_utf8_lossy(&finished.stderr);
    let first = |text: &str| {
        text.lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .map(|line| line.chars().take(120).collect::<String>())
    };
    let last = |text: &str| {
        text.lines()
            .map(str::trim)
            .rfind(|line| !line.is_empty())
            .map(|line| line.chars().take(120).collect::<String>())
    };
    let status = match finished.status {
        None => {
            return Err(tr!(
                lang,
                "Given {}, the program did not finish within {} s; it was stopped.",
                "Con {}, el programa no terminó en {} s; el verificador lo detuvo.",
                given,
                limit.as_secs()
            ));
        }
        Some(status) => status,
    };
    if status.success() {
        return Err(tr!(
            lang,
            "Given {}, where there is nothing to find, it ended with exit code 0 (its last line: {}): a failure must end with a non-zero exit code, so a script can tell.",
            "Con {}, donde no hay nada que encontrar, terminó con código de salida 0 (su última línea: {}): una falla debe terminar con un código de salida distinto de cero, para que un script lo note.",
            given,
            crate::show(
                last(&stdout)
                    .or_else(|| last(&stderr))
                    .unwrap_or_default()
                    .as_bytes(),
                80
            )
        ));
    }
    if status.code().is_none() {
        return Err(tr!(
            lang,
            "Given {}, the program was killed by {}: catch the error and say what failed.",
            "Con {}, el programa terminó por {}: atrapa el error y di qué falló.",
            given,
            describe_status(status, lang)
        ));
    }
    if let Some(line) = stack_trace(&stderr).or_else(|| stack_trace(&stdout)) {
        return Err(tr!(
            lang,
            "Given {}, it ended with a stack trace (\"{}\"): catch the error and print one sentence saying what failed, as the lesson does.",
            "Con {}, terminó con un traceback (\"{}\"): atrapa el error e imprime un mensaje que diga qué falló, como hace la lección.",
            given,
            line
        ));
    }
    let lines = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .count();
    if lines > 3 {
        return Err(tr!(
            lang,
            "Given {}, it printed {} lines on stderr: one sentence saying what failed (and perhaps a hint) is enough.",
            "Con {}, imprimió {} líneas en stderr: basta un mensaje que diga qué falló (y quizá una pista).",
            given,
            lines
        ));
    }
    match first(&stderr).or_else(|| first(&stdout)) {
        None => Err(tr!(
            lang,
            "Given {}, it ended with {} but said nothing: print one sentence saying what failed.",
            "Con {}, terminó con {} pero no dijo nada: imprime un mensaje que diga qué falló.",
            given,
            describe_status(status, lang)
        )),
        Some(line) => Ok(tr!(
            lang,
            "Given {}, it ended with {} and said \"{}\".",
            "Con {}, terminó con {} y dijo \"{}\".",
            given,
            describe_status(status, lang),
            line
        )),
    }
}

/// Whether the program ended with 0 and said it created the socket ("Socket created").
pub(crate) fn says_created(finished: &Finished, limit: Duration, lang: Lang) -> Outcome {
    if let Some(error) = bad_ending(finished, limit, lang) {
        return Err(error);
    }
    let stdout = String::from_utf8_lossy(&finished.stdout);
    let said = stdout.lines().find(|line| {
        let line = line.to_lowercase();
        line.contains("socket") && (line.contains("created") || line.contains("creado"))
    });
    match said {
        Some(line) => Ok(tr!(
            lang,
            "It printed \"{}\" and ended with 0.",
            "Imprimió \"{}\" y terminó con 0.",
            line.trim()
        )),
        None => Err(lang
            .pick(
                "It ended with 0 but never said it created the socket: print \"Socket created\" once socket() succeeds, as the lesson does.",
                "Terminó con 0 pero nunca dijo que creó el socket: imprime \"Socket created\" cuando socket() funcione, como hace la lección.",
            )
            .to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_found_in_every_usual_form() {
        let text = "IP addresses of localhost:\n  ::1 (not reachable)\n  127.0.0.1\nvia 127.0.0.1:80, [::1]:80 and fe80::1%lo.";
        assert_eq!(
            addresses_in(text),
            ["::1", "127.0.0.1", "fe80::1"]
                .map(|ip| ip.parse::<IpAddr>().unwrap())
                .to_vec()
        );
        assert!(addresses_in("Host name: vm\n25/tcp => smtp").is_empty());
    }

    #[test]
    fn the_unknown_name_is_a_name_no_resolver_sends_to_dns() {
        assert!(UNKNOWN_NAME.len() > 255);
        assert!(UNKNOWN_NAME.split('.').all(|label| label.len() <= 63));
        assert!(UNKNOWN_NAME.ends_with(".invalid"));
        let error = netutil::lookup::resolve(UNKNOWN_NAME).expect_err("it never resolves");
        assert!(
            matches!(error, netutil::lookup::LookupError::Resolve { .. }),
            "{error}"
        );
    }
}
