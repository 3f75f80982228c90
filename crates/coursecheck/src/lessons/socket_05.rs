//! socket_05: an HTTP client that receives the whole response and prints its body. The
//! checker is the HTTP server, and frames the body each of the three ways HTTP/1.1 allows.

use super::{Check, LessonDef, Role, Text};
use crate::clients::{self, HttpChecks};

const CHECKS: HttpChecks = HttpChecks {
    request: Check {
        id: "request",
        title: Text {
            en: "sends a GET request with a Host header",
            es: "envía una petición GET con el encabezado Host",
        },
    },
    content_length: Check {
        id: "content_length",
        title: Text {
            en: "prints the whole body of a Content-Length response sent in pieces",
            es: "imprime el cuerpo completo de una respuesta con Content-Length enviada en trozos",
        },
    },
    chunked: Check {
        id: "chunked",
        title: Text {
            en: "prints the whole body of a chunked response, decoded",
            es: "imprime el cuerpo completo de una respuesta chunked, decodificado",
        },
    },
    close_delimited: Check {
        id: "close_delimited",
        title: Text {
            en: "prints the whole body of a response that ends with the close",
            es: "imprime el cuerpo completo de una respuesta que termina con el cierre",
        },
    },
};

pub(super) const LESSON: LessonDef = LessonDef {
    notes: super::HTTP_NOTES,
    role: Role::Client {
        checks: &[
            CHECKS.request,
            CHECKS.content_length,
            CHECKS.chunked,
            CHECKS.close_delimited,
        ],
        run: |command, options| clients::run_http(&CHECKS, command, options),
    },
};
