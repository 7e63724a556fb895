//! The listener every fleethost HTTP server binds: plain TCP, or TLS when
//! the listener has a certificate. TLS handshakes run in tasks of their own,
//! each with a deadline, so a client that opens a socket and says nothing
//! holds up no one else's connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::either::Either;

use super::ServerTls;

/// How long a client may take to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; more connections wait in the kernel's
/// backlog, so a flood of half-open sockets costs bounded memory.
pub const MAX_PENDING_HANDSHAKES: usize = 1024;

/// A connection as the server sees it: plain TCP or TLS over TCP.
pub type HttpStream = Either<TcpStream, TlsStream<TcpStream>>;

/// A bound listener, plain or TLS, for `axum::serve`.
pub struct HttpListener {
    local: SocketAddr,
    inner: Inner,
}

enum Inner {
    Plain(TcpListener),
    Tls {
        handshaken: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
        acceptor_task: tokio::task::JoinHandle<()>,
    },
}

impl HttpListener {
    /// Binds `address`; with `tls`, every accepted connection must complete
    /// a TLS handshake before the server sees it (a plaintext client's
    /// request fails the handshake and is closed).
    pub async fn bind(address: SocketAddr, tls: Option<ServerTls>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let local = listener.local_addr()?;
        let inner = match tls {
            None => Inner::Plain(listener),
            Some(tls) => {
                let (sender, handshaken) = mpsc::channel(64);
                let acceptor_task = tokio::spawn(accept_tls(listener, tls.acceptor(), sender));
                Inner::Tls {
                    handshaken,
                    acceptor_task,
                }
            }
        };
        Ok(Self { local, inner })
    }

    /// The address it is bound to (the port chosen when it asked for 0).
    pub fn address(&self) -> SocketAddr {
        self.local
    }

    /// Whether clients must speak TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self.inner, Inner::Tls { .. })
    }

    /// `https` or `http`, for the addresses it logs.
    pub fn http_scheme(&self) -> &'static str {
        if self.is_tls() { "https" } else { "http" }
    }

    /// `wss` or `ws`, for the WebSocket addresses it logs.
    pub fn ws_scheme(&self) -> &'static str {
        if self.is_tls() { "wss" } else { "ws" }
    }
}

impl Drop for HttpListener {
    fn drop(&mut self) {
        if let Inner::Tls { acceptor_task, .. } = &self.inner {
            acceptor_task.abort();
        }
    }
}

impl axum::serve::Listener for HttpListener {
    type Io = HttpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match &mut self.inner {
            Inner::Plain(listener) => loop {
                match TcpListener::accept(listener).await {
                    Ok((stream, peer)) => {
                        set_nodelay(&stream);
                        return (Either::Left(stream), peer);
                    }
                    Err(error) => accept_failed(&error).await,
                }
            },
            Inner::Tls { handshaken, .. } => match handshaken.recv().await {
                Some((stream, peer)) => (Either::Right(stream), peer),
                // The acceptor task ended (it never does on its own): accept
                // nothing more; the server's shutdown ends the wait.
                None => std::future::pending().await,
            },
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Accepts TCP connections and hands each one's handshake to a task of its
/// own; finished handshakes go to the server in the order they finish.
async fn accept_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    handshaken: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let pending = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
    loop {
        let Ok(permit) = pending.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                accept_failed(&error).await;
                continue;
            }
        };
        set_nodelay(&stream);
        let (acceptor, handshaken) = (acceptor.clone(), handshaken.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => {
                    let _ = handshaken.send((stream, peer)).await;
                }
                Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed; connection closed"),
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake not finished within {HANDSHAKE_TIMEOUT:?}; connection closed")
                }
            }
        });
    }
}

/// Nagle off: a small answer (an ack, an error frame) goes out at once, not
/// up to 40 ms later.
fn set_nodelay(stream: &TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
    }
}

/// An accept error (out of file descriptors, mostly) is logged and waited
/// out briefly, as axum's own listener does, instead of spinning.
async fn accept_failed(error: &std::io::Error) {
    tracing::warn!(%error, "cannot accept a connection; retrying");
    tokio::time::sleep(Duration::from_millis(50)).await;
}
