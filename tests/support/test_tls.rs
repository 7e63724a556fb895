//! The test certificate authority and the certificates it signed, made by
//! scripts/test.sh with openssl into the folder `FLEETHOST_TEST_TLS_DIR`
//! names: a server certificate for 127.0.0.1 and localhost (the
//! listeners', the TLS proxy's, Redis's and PostgreSQL's), the CA that
//! signed it, and another CA that signed nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fleethost_core::tls::TlsFiles;

/// Where the test certificates are.
pub struct TestCertificates {
    dir: PathBuf,
}

/// The test certificates scripts/test.sh made.
pub fn test_certificates() -> TestCertificates {
    let dir = std::env::var("FLEETHOST_TEST_TLS_DIR").expect(
        "FLEETHOST_TEST_TLS_DIR is not set: it names the folder of the test CA and certificates; run the test with scripts/test.sh, which makes them",
    );
    TestCertificates { dir: dir.into() }
}

impl TestCertificates {
    /// The CA that signed the server certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A CA that signed nothing the tests serve: trusting only it must fail.
    pub fn other_ca_file(&self) -> PathBuf {
        self.dir.join("other-ca.pem")
    }

    /// The server certificate (127.0.0.1, localhost).
    pub fn server_cert_file(&self) -> PathBuf {
        self.dir.join("server.pem")
    }

    /// The server certificate's key.
    pub fn server_key_file(&self) -> PathBuf {
        self.dir.join("server.key")
    }

    /// The server certificate and key as a listener's config takes them.
    pub fn server_files(&self) -> TlsFiles {
        TlsFiles {
            cert_file: self.server_cert_file(),
            key_file: self.server_key_file(),
        }
    }
}

/// The test CA's file when `tls` (a server that serves TLS), none otherwise.
pub fn test_ca_file_if(tls: bool) -> Option<PathBuf> {
    tls.then(|| test_certificates().ca_file())
}

/// An HTTP client that trusts exactly the CA in `ca_file` (any server
/// when `None`, for plain HTTP), answering 4xx like any status, giving up
/// on a request after 5 s.
pub fn agent_trusting(ca_file: &Option<PathBuf>) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(5)));
    if let Some(ca_file) = ca_file {
        let certificates =
            fleethost_core::tls::server::read_certificates(ca_file, "CA certificates").expect("the CA file");
        let roots = certificates
            .iter()
            .map(|certificate| ureq::tls::Certificate::from_der(certificate.as_ref()).to_owned());
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::from(roots))
                .build(),
        );
    }
    config.build().into()
}

/// A WebSocket client's TLS connector that trusts exactly the CA in `ca_file`.
pub fn ws_connector_trusting(ca_file: &Path) -> tokio_tungstenite::Connector {
    let config = fleethost_core::tls::server::client_config_trusting(ca_file).expect("client TLS config");
    tokio_tungstenite::Connector::Rustls(Arc::new(config))
}
