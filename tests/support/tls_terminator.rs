//! A TLS-terminating proxy of a test's own, with the test CA's server
//! certificate: clients speak TLS to it, it speaks plain TCP to the service
//! behind. It stands in front of the private broker because the pinned
//! Tansu build cannot serve TLS itself (its `--cert` and `--key` flags
//! refuse each other), as a TLS-terminating load balancer stands in front
//! of a broker in many deployments; the client's side of the handshake is
//! the real one under test.

use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};

use super::test_tls::test_certificates;

/// The proxy; it stops when the test's runtime does.
pub struct TlsTerminator {
    /// The port clients connect to with TLS.
    pub port: u16,
}

impl TlsTerminator {
    /// Listens on `port` (127.0.0.1) and forwards each connection, once its
    /// handshake is done, to `target` (`host:port`).
    pub async fn start(port: u16, target: &str) -> Self {
        let certificates = test_certificates();
        let acceptor = fleethost_core::tls::ServerTls::load(&certificates.server_files())
            .expect("test server TLS")
            .acceptor();
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("TLS proxy listener");
        let target: Arc<str> = target.into();
        tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, target) = (acceptor.clone(), target.clone());
                tokio::spawn(async move {
                    let Ok(mut inbound) = acceptor.accept(inbound).await else {
                        return;
                    };
                    let Ok(mut outbound) = TcpStream::connect(&*target).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
            }
        });
        Self { port }
    }
}
