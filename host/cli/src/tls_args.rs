//! The flags of a listener that can serve TLS (`gateway`, `track`).

use std::path::PathBuf;

use fleethost_core::tls::{ServerTls, TlsFiles};

/// The certificate a listener presents, when it serves TLS.
#[derive(Debug, Clone, clap::Args)]
pub struct TlsArgs {
    /// PEM file of the certificate chain to serve TLS with (leaf first);
    /// with --tls-key. Clients then connect with `wss://` and `https://`;
    /// plaintext connections fail their handshake and are closed.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM file of the certificate's private key (readable by fleethost's
    /// user only); with --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl TlsArgs {
    /// The TLS configuration these flags ask for, read now; `None` for
    /// plain HTTP.
    pub fn server_tls(&self) -> anyhow::Result<Option<ServerTls>> {
        let (Some(cert_file), Some(key_file)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        let files = TlsFiles {
            cert_file: cert_file.clone(),
            key_file: key_file.clone(),
        };
        Ok(Some(
            ServerTls::load(&files).map_err(|error| anyhow::anyhow!("--tls-cert/--tls-key: {error}"))?,
        ))
    }
}
