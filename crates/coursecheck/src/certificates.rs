//! The checker's certificates, for the TLS lessons (socket_06, https_server): authorities made
//! for one run, the server certificates they issue, and the files a program is given.
//!
//! Made with rcgen and rustls directly rather than through netutil's `tls` feature: Cargo
//! unifies a feature across the workspace, so netutil with `tls` here would build *ring* into
//! every lesson of the kit.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// Any failure while making certificates: a bug in the checker, never the program's fault.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

/// The cryptography both sides use: *ring*'s, named explicitly (`builder()` would panic if
/// two providers were compiled in).
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate authority that lives for one run of the checker.
pub(crate) struct Authority(CertifiedIssuer<'static, KeyPair>);

impl Authority {
    pub(crate) fn new(name: &str) -> Result<Authority, Error> {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        // What strict verifiers (Python 3.13's default, OpenSSL's X509_STRICT) demand of a CA.
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        Ok(Authority(CertifiedIssuer::self_signed(
            params,
            KeyPair::generate()?,
        )?))
    }

    /// The authority's certificate in PEM: what a client is told to trust.
    pub(crate) fn pem(&self) -> String {
        self.0.pem()
    }

    /// A client configuration that trusts this authority and nothing else.
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, Error> {
        let mut roots = RootCertStore::empty();
        roots.add(self.0.der().clone())?;
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }

    /// A server certificate for `names`, with this authority's certificate after it.
    pub(crate) fn issue(&self, names: &[&str]) -> Result<Identity, Error> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(
            names
                .iter()
                .map(|name| (*name).to_owned())
                .collect::<Vec<_>>(),
        )?;
        // As strict verifiers want it: for TLS servers, with the issuer's key identifier
        // (Python 3.13 refuses a certificate without it).
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let certificate = params.signed_by(&key, &self.0)?;
        Ok(Identity {
            chain_pem: format!("{}{}", certificate.pem(), self.0.pem()),
            key_pem: key.serialize_pem(),
            chain: vec![certificate.der().clone(), self.0.der().clone()],
            key: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        })
    }
}

/// A server's certificate chain and key, as rustls takes them and as PEM files hold them.
pub(crate) struct Identity {
    pub(crate) chain_pem: String,
    pub(crate) key_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Identity {
    /// A server configuration that shows this identity.
    pub(crate) fn server_config(&self) -> Result<Arc<ServerConfig>, Error> {
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())?;
        Ok(Arc::new(config))
    }
}

/// A file for the program (`{ca}`, `{cert}`, `{key}`), in the checker's temp folder (the
/// sandbox's private /tmp when grading), removed when dropped.
pub(crate) struct TempFile(PathBuf);

impl TempFile {
    pub(crate) fn write(label: &str, contents: &str) -> std::io::Result<TempFile> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "coursecheck-{}-{}-{label}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, contents)?;
        Ok(TempFile(path))
    }

    /// The path, as the program's command line gets it.
    pub(crate) fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
