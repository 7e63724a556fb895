//! The certificate chain and private key a listener presents, read from PEM
//! files at startup into a rustls server configuration.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a listener's certificate and key are: PEM files, the certificate
/// file holding the chain (leaf first), the key file one PKCS#8, PKCS#1 or
/// SEC1 private key. The key file is a secret: readable by fleethost's user
/// only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// PEM file with the certificate chain the listener presents, leaf first.
    pub cert_file: PathBuf,
    /// PEM file with the certificate's private key.
    pub key_file: PathBuf,
}

/// Why a listener's TLS set-up failed, naming the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read or holds no PEM item of the kind needed.
    #[error("cannot read the {what} from {path}: {reason}")]
    File {
        /// `certificate chain`, `private key` or `CA certificates`.
        what: &'static str,
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// rustls refused the pair (e.g. the key does not match the certificate).
    #[error("the certificate {cert} and key {key} cannot serve TLS: {reason}")]
    Config {
        /// The certificate file.
        cert: String,
        /// The key file.
        key: String,
        /// rustls's reason.
        reason: String,
    },
}

/// A listener's TLS configuration, ready to accept handshakes.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerTls")
    }
}

impl ServerTls {
    /// Reads the certificate chain and key and builds the configuration:
    /// TLS 1.2 and 1.3, HTTP/1.1 offered by ALPN (what the listeners serve).
    pub fn load(files: &TlsFiles) -> Result<Self, TlsError> {
        super::install_crypto_provider();
        let chain = read_certificates(&files.cert_file, "certificate chain")?;
        let key = PrivateKeyDer::from_pem_file(&files.key_file).map_err(|error| TlsError::File {
            what: "private key",
            path: files.key_file.display().to_string(),
            reason: error.to_string(),
        })?;
        let mut config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|error| TlsError::Config {
                cert: files.cert_file.display().to_string(),
                key: files.key_file.display().to_string(),
                reason: error.to_string(),
            })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// What completes the handshakes of accepted connections.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.clone())
    }
}

/// Every certificate in a PEM file; at least one.
pub fn read_certificates(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let error = |reason: String| TlsError::File {
        what,
        path: path.display().to_string(),
        reason,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|source| error(source.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| error(source.to_string()))?;
    if certificates.is_empty() {
        return Err(error("no `BEGIN CERTIFICATE` block in the file".into()));
    }
    Ok(certificates)
}

/// A rustls client configuration that trusts exactly the certificates in
/// `ca_file`: what a client of a listener with a private CA uses (the
/// admin CLI, the simulator, the tests).
pub fn client_config_trusting(ca_file: &Path) -> Result<rustls::ClientConfig, TlsError> {
    super::install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    for certificate in read_certificates(ca_file, "CA certificates")? {
        roots.add(certificate).map_err(|error| TlsError::File {
            what: "CA certificates",
            path: ca_file.display().to_string(),
            reason: error.to_string(),
        })?;
    }
    Ok(rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth())
}
