//! A TCP proxy a test can cut and restore, to make a service unreachable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A TCP proxy in front of a service (PostgreSQL) that a test can cut and
/// restore: while down it refuses new connections and drops open ones, as an
/// unreachable database would look to the host.
pub struct TcpProxy {
    pub port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    generation: std::sync::Arc<AtomicU64>,
}

impl TcpProxy {
    /// Starts a proxy to `target` (`host:port`), down or up as `up` says.
    pub async fn start(target: &str, up: bool) -> Self {
        use std::sync::Arc;
        use std::sync::atomic::AtomicBool;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("proxy listener");
        let port = listener.local_addr().expect("proxy address").port();
        let state = Arc::new(AtomicBool::new(up));
        let generation = Arc::new(AtomicU64::new(0));
        let (target, accept_state, accept_generation) = (target.to_string(), state.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !accept_state.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let (target, generation) = (target.clone(), accept_generation.clone());
                let born = generation.load(Ordering::SeqCst);
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                    let cut = async {
                        while generation.load(Ordering::SeqCst) == born {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    };
                    tokio::select! {
                        _ = copy => {}
                        _ = cut => {}
                    }
                });
            }
        });
        Self {
            port,
            up: state,
            generation,
        }
    }

    /// Refuses new connections and drops the open ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}
