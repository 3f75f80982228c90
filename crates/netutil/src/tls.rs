//! TLS for the HTTPS lesson (socket_06) and its local peer (https_server), with
//! [rustls](https://docs.rs/rustls): no OpenSSL, so it builds the same on Windows, macOS and
//! Linux.
//!
//! What is here is everything around the lesson's idea, "wrap the TCP stream in TLS":
//!
//! | item | what it is for |
//! |---|---|
//! | [`provider`] | the one set of cryptography both sides use (*ring*), named explicitly |
//! | [`read_certificates`] | the certificates of a PEM file, such as the one `--ca` names |
//! | [`LocalAuthority`] | a certificate authority of your own, for a server on this machine |
//! | [`ServerIdentity`] | a certificate chain and its key: what a server shows in the handshake |
//! | [`hint`] | what a failed handshake most likely means, in one sentence |
//!
//! Why a local authority rather than one self-signed certificate: it is how the public web
//! works (a browser trusts a few authorities, and each site shows a certificate one of them
//! issued for the site's name), so the lesson's `--ca` means what trusting roots means.
//!
//! ```
//! use std::sync::Arc;
//! use netutil::tls::{self, LocalAuthority};
//!
//! // A server's identity for localhost, issued by an authority made for this run.
//! let authority = LocalAuthority::generate()?;
//! let identity = authority.issue(&["localhost".to_owned()])?;
//! let server = identity.server_config()?;
//!
//! // A client that trusts that authority and nothing else.
//! let mut roots = rustls::RootCertStore::empty();
//! roots.add(authority.certificate())?;
//! let client = rustls::ClientConfig::builder_with_provider(tls::provider())
//!     .with_safe_default_protocol_versions()?
//!     .with_root_certificates(roots)
//!     .with_no_client_auth();
//!
//! // The handshake, in memory: each side's records go straight to the other.
//! let name = "localhost".try_into()?;
//! let mut client = rustls::ClientConnection::new(Arc::new(client), name)?;
//! let mut server = rustls::ServerConnection::new(server)?;
//! while client.is_handshaking() || server.is_handshaking() {
//!     let mut records = Vec::new();
//!     client.write_tls(&mut records)?;
//!     server.read_tls(&mut records.as_slice())?;
//!     server.process_new_packets()?;
//!     records.clear();
//!     server.write_tls(&mut records)?;
//!     client.read_tls(&mut records.as_slice())?;
//!     client.process_new_packets()?;
//! }
//! assert_eq!(server.server_name(), Some("localhost"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{CertificateError, ServerConfig};

/// The name on a [`LocalAuthority`]'s certificate: what a browser would show as the issuer.
pub const AUTHORITY_NAME: &str = "socket-lessons local authority";

/// The cryptography rustls uses: *ring*'s, for the client and the server alike.
///
/// Configs are built with `builder_with_provider(provider())` rather than `builder()`, which
/// uses a process-wide default: with two providers compiled in (a homework that adds a crate
/// using aws-lc-rs, say), `builder()` cannot choose and panics.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads every certificate in the PEM file at `path` (`-----BEGIN CERTIFICATE-----` blocks);
/// anything else in the file, such as a private key, is skipped.
///
/// A file that cannot be read, is not PEM, or holds no certificate is an error that says so.
pub fn read_certificates(
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, CertificateFileError> {
    let error = |problem| CertificateFileError {
        path: path.to_owned(),
        problem,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|cause| error(Problem::from(cause)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|cause| error(Problem::from(cause)))?;
    if certificates.is_empty() {
        return Err(error(Problem::NoCertificate));
    }
    Ok(certificates)
}

/// A certificate file that [`read_certificates`] could not use.
#[derive(Debug)]
pub struct CertificateFileError {
    path: PathBuf,
    problem: Problem,
}

#[derive(Debug)]
enum Problem {
    Read(std::io::Error),
    NotPem,
    NoCertificate,
    NoKey,
}

impl From<rustls::pki_types::pem::Error> for Problem {
    fn from(error: rustls::pki_types::pem::Error) -> Self {
        use rustls::pki_types::pem::Error;
        match error {
            Error::Io(error) => Problem::Read(error),
            Error::NoItemsFound => Problem::NoCertificate,
            _ => Problem::NotPem,
        }
    }
}

impl CertificateFileError {
    /// What to do about it, for the line after the error.
    pub fn hint(&self) -> &'static str {
        match self.problem {
            Problem::Read(_) => {
                "check the path: https_server prints where it wrote its authority's certificate"
            }
            Problem::NotPem | Problem::NoCertificate => {
                "--ca wants a PEM file with a -----BEGIN CERTIFICATE----- block, such as the one https_server writes"
            }
            Problem::NoKey => {
                "--key wants the PEM file of the certificate's private key (-----BEGIN PRIVATE KEY-----)"
            }
        }
    }
}

impl fmt::Display for CertificateFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.problem {
            Problem::Read(error) => write!(f, "cannot read {path}: {error}"),
            Problem::NotPem => write!(f, "{path} is not a PEM file (a base64 block is broken)"),
            Problem::NoCertificate => write!(f, "{path} holds no certificate"),
            Problem::NoKey => write!(f, "{path} holds no private key"),
        }
    }
}

impl std::error::Error for CertificateFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            Problem::Read(error) => Some(error),
            _ => None,
        }
    }
}

/// A certificate authority made on this machine: it issues certificates for local servers,
/// and a client that trusts its certificate ([`certificate`](Self::certificate)) trusts them.
///
/// Its key lives only in memory: when the program ends, nobody can issue another certificate
/// in its name, so trusting it is safe on a shared machine.
pub struct LocalAuthority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl LocalAuthority {
    /// Makes a new authority: a fresh key pair (ECDSA P-256) and a self-signed CA certificate
    /// named [`AUTHORITY_NAME`].
    pub fn generate() -> Result<Self, rcgen::Error> {
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, AUTHORITY_NAME);
        // A CA that can issue server certificates only, not other authorities.
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        // What strict verifiers (Python 3.13's default, OpenSSL's X509_STRICT) demand of a CA.
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        Ok(LocalAuthority { issuer })
    }

    /// The authority's certificate: what a client adds to its roots to trust it.
    pub fn certificate(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// The authority's certificate in PEM, the form `--ca` reads.
    pub fn certificate_pem(&self) -> String {
        self.issuer.pem()
    }

    /// Issues a server certificate for `names`: host names (`localhost`) and IP addresses
    /// (`127.0.0.1`, `::1`). A client checks that the name it connected to is among them.
    pub fn issue(&self, names: &[String]) -> Result<ServerIdentity, rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(names.to_vec())?;
        server_certificate_usages(&mut params);
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, first);
        }
        let certificate = params.signed_by(&key, &self.issuer)?;
        Ok(ServerIdentity {
            // The server shows its own certificate, then the one that issued it.
            chain: vec![certificate.der().clone(), self.certificate()],
            key: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        })
    }
}

/// Marks `params` as a server's certificate the way strict verifiers want it: for TLS server
/// authentication only, with the key identifier of its issuer (Python 3.13 and OpenSSL's
/// X509_STRICT refuse a certificate without it).
fn server_certificate_usages(params: &mut CertificateParams) {
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
}

/// What a server shows in the handshake: its certificate chain, and the private key that
/// proves the first certificate is its own.
pub struct ServerIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl ServerIdentity {
    /// The identity in two PEM files, as servers such as nginx take it: the certificate chain
    /// (the server's own certificate first) and its private key (PKCS #8, PKCS #1 or SEC1).
    pub fn read(chain: &Path, key: &Path) -> Result<ServerIdentity, CertificateFileError> {
        let chain = read_certificates(chain)?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(|cause| CertificateFileError {
            path: key.to_owned(),
            problem: match Problem::from(cause) {
                Problem::NoCertificate => Problem::NoKey,
                problem => problem,
            },
        })?;
        Ok(ServerIdentity { chain, key })
    }

    /// The server's certificate chain, its own certificate first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// A rustls server configuration that presents this identity (TLS 1.2 and 1.3, no client
    /// certificates).
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, rustls::Error> {
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())?;
        Ok(Arc::new(config))
    }
}

/// What a failed handshake most likely means, and what to try: `None` when there is nothing
/// better to say than the error itself.
pub fn hint(error: &rustls::Error) -> Option<&'static str> {
    Some(match error {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "no authority this program trusts issued the server's certificate: for a local \
             server, pass its authority's certificate with --ca FILE"
        }
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => {
            "the certificate is for another name: connect with a name it lists (https_server's \
             lists localhost, 127.0.0.1 and ::1)"
        }
        rustls::Error::InvalidCertificate(
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. },
        ) => "the certificate is out of date, or this computer's clock is wrong: check the date",
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the server did not answer in TLS: is that a plain HTTP port? (socket_05 speaks \
             plain HTTP)"
        }
        rustls::Error::AlertReceived(_) => {
            "the server refused the handshake: look at the server's own log"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, contents: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("netutil-tls-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn reads_back_the_authority_it_wrote() {
        let authority = LocalAuthority::generate().unwrap();
        let path = temp_file("ca.pem", &authority.certificate_pem());
        let certificates = read_certificates(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(certificates, vec![authority.certificate()]);
    }

    #[test]
    fn names_what_is_wrong_with_a_certificate_file() {
        let missing = std::env::temp_dir().join("netutil-tls-no-such-file.pem");
        let error = read_certificates(&missing).unwrap_err();
        assert!(error.to_string().starts_with("cannot read "), "{error}");

        let key_only = temp_file("key.pem", &KeyPair::generate().unwrap().serialize_pem());
        let error = read_certificates(&key_only).unwrap_err();
        std::fs::remove_file(&key_only).unwrap();
        assert!(
            error.to_string().ends_with("holds no certificate"),
            "{error}"
        );

        let broken = temp_file(
            "broken.pem",
            "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
        );
        let error = read_certificates(&broken).unwrap_err();
        std::fs::remove_file(&broken).unwrap();
        assert!(
            error
                .to_string()
                .ends_with("is not a PEM file (a base64 block is broken)"),
            "{error}"
        );
    }

    #[test]
    fn reads_an_identity_from_its_two_files() {
        let authority = LocalAuthority::generate().unwrap();
        let key = KeyPair::generate().unwrap();
        let certificate = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &authority.issuer)
            .unwrap();
        let chain = temp_file("chain.pem", &certificate.pem());
        let key_file = temp_file("server.key", &key.serialize_pem());
        let identity = ServerIdentity::read(&chain, &key_file).unwrap();
        assert_eq!(identity.chain(), [certificate.der().clone()]);
        identity.server_config().unwrap();

        let error = ServerIdentity::read(&chain, &chain).err().unwrap();
        assert!(
            error.to_string().ends_with("holds no private key"),
            "{error}"
        );
        std::fs::remove_file(&chain).unwrap();
        std::fs::remove_file(&key_file).unwrap();
    }

    #[test]
    fn issues_a_chain_of_server_then_authority() {
        let authority = LocalAuthority::generate().unwrap();
        let identity = authority
            .issue(&["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
        assert_eq!(identity.chain().len(), 2);
        assert_eq!(identity.chain()[1], authority.certificate());
        identity.server_config().unwrap();
    }

    #[test]
    fn hints_name_the_usual_handshake_failures() {
        let unknown = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert!(hint(&unknown).unwrap().contains("--ca"));
        let name = rustls::Error::InvalidCertificate(CertificateError::NotValidForName);
        assert!(hint(&name).unwrap().contains("another name"));
        assert_eq!(hint(&rustls::Error::DecryptError), None);
    }
}
