//! Every lesson the checker knows, one file each, registered in the one table below.
//!
//! A lesson file holds everything about its lesson: its checks (id, title in English and
//! Spanish, and what each one does) and which notes to read when one fails. The types make
//! the table hard to get wrong: a check without a Spanish title does not compile (a struct
//! literal needs every field), a check is named by a constant, so a misspelt one does not
//! compile either, and a lesson's name, `--help` line and checks all come from its one line
//! in the table and its file, so no part of it can be forgotten elsewhere.
//! See crates/coursecheck/README.md for how to add a lesson.

use crate::servers::ServerLesson;
use crate::{CheckResult, Lang, Options};

/// The lessons: `Variant "command-line name" => its file`, in course order. The doc comment
/// of each is its line in `coursecheck --help`.
macro_rules! lessons {
    ($( $(#[doc = $doc:tt])* $variant:ident $name:tt => $module:ident, )*) => {
        $(mod $module;)*

        /// A lesson the checker knows: what the program under test must do.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
        pub enum Lesson {
            $(
                $(#[doc = $doc])*
                #[value(name = $name)]
                #[serde(rename = $name)]
                $variant,
            )*
        }

        impl Lesson {
            /// Every lesson, in course order.
            pub const ALL: &'static [Lesson] = &[$(Lesson::$variant),*];

            /// The lesson's name, as on the command line: `server_05`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Lesson::$variant => $name,)*
                }
            }

            /// What the checker knows about the lesson: its file's [`LessonDef`].
            pub(crate) fn def(self) -> &'static LessonDef {
                match self {
                    $(Lesson::$variant => &$module::LESSON,)*
                }
            }
        }
    };
}

lessons! {
    /// Prints this machine's host name and every address the resolver gives for it.
    Basics01 "basics_01" => basics_01,
    /// Prints every IP address (IPv4 and IPv6) of the host name it is given ({name}).
    Basics02 "basics_02" => basics_02,
    /// Service names and ports, both ways, from the services database ({query}: 25/tcp, ntp/udp).
    Basics03 "basics_03" => basics_03,
    /// An NTP client (a library call is fine) that prints the server's time.
    Basics04 "basics_04" => basics_04,
    /// An SNTP client by hand (48 bytes over UDP) that prints the server's transmit time.
    Basics05 "basics_05" => basics_05,
    /// An SNTP server on UDP that answers client requests from this computer's clock.
    NtpServer "ntp_server" => ntp_server,
    /// Creates a TCP socket and says so ("Socket created").
    Socket01 "socket_01" => socket_01,
    /// socket_01, then prints every address of the server's name ({name}).
    Socket02 "socket_02" => socket_02,
    /// A TCP client that connects to the host and port it is given and prints the peer.
    Socket03 "socket_03" => socket_03,
    /// An HTTP client that sends one well-formed GET request, with a Host header.
    Socket04 "socket_04" => socket_04,
    /// An HTTP client that receives the whole response and prints its body.
    Socket05 "socket_05" => socket_05,
    /// socket_05 over TLS (HTTPS): trusts the authority in {ca}, refuses a bad certificate.
    Socket06 "socket_06" => socket_06,
    /// An HTTPS server that shows the certificate chain and key it is given ({cert}, {key}).
    HttpsServer "https_server" => https_server,
    /// A server's first step: bind the port it is given on loopback, say so, and exit.
    Server01 "server_01" => server_01,
    /// A server that listens, accepts one client, prints the client's address and port, and exits.
    Server02 "server_02" => server_02,
    /// A server that accepts one client, sends back what one read received, and closes.
    Server03 "server_03" => server_03,
    /// A server that serves clients one after another, forever, replying "OK..." + what one read received.
    Server04 "server_04" => server_04,
    /// A server with a thread per client: a welcome line, then "OK..." + each line.
    Server05 "server_05" => server_05,
    /// server_05's protocol for many clients at once, cheaply (one thread and a readiness loop).
    Server06 "server_06" => server_06,
    /// server_06 with async tasks: the same protocol and the same checks.
    Server07 "server_07" => server_07,
    /// An echo server: every byte back, unchanged, until the client closes.
    EchoServer "echo_server" => echo_server,
    /// An echo client: sends a message, reads the whole echo back, prints it.
    EchoClient "echo_client" => echo_client,
    /// Your own nc: sends each typed line, prints what the server sends as it arrives.
    LineClient "line_client" => line_client,
    /// A UDP echo server: every datagram back to its sender, whole and unchanged, never larger.
    UdpEchoServer "udp_echo_server" => udp_echo_server,
    /// A UDP burst client: numbered datagrams, then truthful counts of the echoes and the losses.
    UdpEchoClient "udp_echo_client" => udp_echo_client,
}

impl Lesson {
    /// The lesson named `name`, if the checker knows it.
    pub fn from_name(name: &str) -> Option<Lesson> {
        Lesson::ALL
            .iter()
            .copied()
            .find(|lesson| lesson.name() == name)
    }

    /// Whether the program under test is a server (the checker plays the clients).
    pub fn is_server(self) -> bool {
        matches!(
            self.def().role,
            Role::Server(_) | Role::OneStepServer { .. }
        )
    }

    /// The course notes that explain the lesson, relative to the repository root.
    pub fn notes(self, lang: Lang) -> &'static str {
        self.def().notes.pick(lang)
    }

    /// The ids of the checks run for this lesson, in order: the columns of a grading summary.
    pub fn check_ids(self) -> Vec<&'static str> {
        self.def()
            .checks()
            .into_iter()
            .map(|check| check.id)
            .collect()
    }
}

/// A sentence or a path in both languages of the report.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Text {
    pub(crate) en: &'static str,
    pub(crate) es: &'static str,
}

impl Text {
    pub(crate) fn pick(self, lang: Lang) -> &'static str {
        lang.pick(self.en, self.es)
    }
}

/// One check of a lesson: its stable id (the same in every language) and what it tries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Check {
    pub(crate) id: &'static str,
    pub(crate) title: Text,
}

/// Everything the checker knows about one lesson.
pub(crate) struct LessonDef {
    /// The notes to read when a check fails.
    pub(crate) notes: Text,
    /// Who plays which side, and the checks.
    pub(crate) role: Role,
}

/// The program under test is a server (the checker plays the clients, one fresh start of the
/// program per check), a server that does one step and exits (server_01, server_02), or a
/// client (the checker is its peer). The last two run the program as their own `run` needs:
/// one run may answer several checks.
pub(crate) enum Role {
    Server(ServerLesson),
    OneStepServer {
        checks: &'static [Check],
        /// Runs the program as often as it needs; returns one result per check, in order.
        run: fn(&[String], &Options) -> Vec<CheckResult>,
    },
    Client {
        checks: &'static [Check],
        /// Runs the program as often as it needs; returns one result per check, in order.
        run: fn(&[String], &Options) -> Vec<CheckResult>,
    },
}

impl LessonDef {
    /// The lesson's checks, in order.
    pub(crate) fn checks(&self) -> Vec<Check> {
        match &self.role {
            Role::Server(lesson) => lesson.checks.iter().map(|check| check.check).collect(),
            Role::OneStepServer { checks, .. } | Role::Client { checks, .. } => checks.to_vec(),
        }
    }
}

/// The notes of the socket utils lessons.
const SOCKET_UTILS_NOTES: Text = Text {
    en: "docs/01-socket-utils.md",
    es: "docs/es/01-socket-utils.md",
};
/// The notes of the time lessons.
const TIME_NOTES: Text = Text {
    en: "docs/02-time.md",
    es: "docs/es/02-time.md",
};
/// The notes of the HTTP client lessons.
const HTTP_NOTES: Text = Text {
    en: "docs/03-http-client.md",
    es: "docs/es/03-http-client.md",
};
/// The notes of the server lessons.
const SERVER_NOTES: Text = Text {
    en: "docs/04-tcp-server.md",
    es: "docs/es/04-tcp-server.md",
};
/// The notes of the datagram lessons.
const DATAGRAM_NOTES: Text = Text {
    en: "docs/06-datagrams.md",
    es: "docs/es/06-datagramas.md",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ids_are_unique_within_each_lesson_and_notes_exist() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for &lesson in Lesson::ALL {
            let ids = lesson.check_ids();
            let mut unique = ids.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), ids.len(), "{}: {ids:?}", lesson.name());
            for lang in [Lang::En, Lang::Es] {
                let notes = root.join(lesson.notes(lang));
                assert!(notes.exists(), "{}: {}", lesson.name(), notes.display());
            }
            assert_eq!(Lesson::from_name(lesson.name()), Some(lesson));
        }
    }
}
