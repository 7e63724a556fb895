//! A TCP proxy a test can cut and restore, to make a service unreachable,
//! or have lose the answers to chosen requests.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::database_url;

/// A proxy in front of the test database, up or cut as `up` says, and the
/// database URL through it: a database outage of the test's own, the other
/// tests' database staying up.
pub async fn database_proxy(up: bool) -> (TcpProxy, String) {
    let proxy = TcpProxy::start("127.0.0.1:5432", up).await;
    let proxied = database_url().replace("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port));
    assert_ne!(
        proxied,
        database_url(),
        "the test database is expected at 127.0.0.1:5432"
    );
    (proxy, proxied)
}

/// A TCP proxy in front of a service (PostgreSQL, Redis) that a test can
/// cut and restore: while down it refuses new connections and drops open
/// ones, as an unreachable service would look to the host. It can also
/// lose answers: the request reaches the service and is carried out, its
/// answer never reaches the client, and the connection drops, as when a
/// service dies right after a write.
pub struct TcpProxy {
    pub port: u16,
    shared: Arc<Shared>,
}

/// What the proxy and its connections share.
struct Shared {
    up: AtomicBool,
    /// Bumped by every cut: connections born before it end.
    generation: AtomicU64,
    /// The request text whose answer is lost, and how many more times.
    lose: Mutex<Option<(Vec<u8>, u64)>>,
    /// Requests whose answers were lost so far.
    lost: AtomicU64,
}

impl TcpProxy {
    /// Starts a proxy to `target` (`host:port`), down or up as `up` says.
    pub async fn start(target: &str, up: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("proxy listener");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(Shared {
            up: AtomicBool::new(up),
            generation: AtomicU64::new(0),
            lose: Mutex::new(None),
            lost: AtomicU64::new(0),
        });
        let (target, accepting) = (target.to_string(), shared.clone());
        tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !accepting.up.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let (target, shared) = (target.clone(), accepting.clone());
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let born = shared.generation.load(Ordering::SeqCst);
                    let cut = async {
                        while shared.generation.load(Ordering::SeqCst) == born {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    };
                    tokio::select! {
                        _ = forward(inbound, outbound, &shared) => {}
                        _ = cut => {}
                    }
                });
            }
        });
        Self { port, shared }
    }

    /// Refuses new connections and drops the open ones.
    pub fn cut(&self) {
        self.shared.up.store(false, Ordering::SeqCst);
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.shared.up.store(true, Ordering::SeqCst);
    }

    /// Loses the answers to the next `times` requests whose bytes contain
    /// `text`: each is carried out by the service, then its connection
    /// drops with the answer unsent.
    pub fn lose_answers_to(&self, text: &str, times: u64) {
        *self.shared.lose.lock().expect("proxy state") = Some((text.as_bytes().to_vec(), times));
    }

    /// How many answers were lost so far.
    pub fn answers_lost(&self) -> u64 {
        self.shared.lost.load(Ordering::SeqCst)
    }
}

/// Copies both ways until either side closes; after a request that is to
/// lose its answer, drops whatever the service sends next, and the
/// connection with it.
async fn forward(inbound: TcpStream, outbound: TcpStream, shared: &Shared) {
    let (mut client_read, mut client_write) = inbound.into_split();
    let (mut service_read, mut service_write) = outbound.into_split();
    let doomed = AtomicBool::new(false);
    let requests = async {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let Ok(read) = client_read.read(&mut buffer).await else {
                return;
            };
            if read == 0 {
                return;
            }
            let chunk = &buffer[..read];
            let lose_answer = shared.takes_answer_of(chunk);
            if service_write.write_all(chunk).await.is_err() {
                return;
            }
            // Sent: the service carries it out; its answer goes nowhere.
            if lose_answer {
                doomed.store(true, Ordering::SeqCst);
            }
        }
    };
    let answers = async {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let Ok(read) = service_read.read(&mut buffer).await else {
                return;
            };
            if read == 0 {
                return;
            }
            if doomed.load(Ordering::SeqCst) {
                return;
            }
            if client_write.write_all(&buffer[..read]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = requests => {}
        _ = answers => {}
    }
}

impl Shared {
    /// Whether the answer to `request` is to be lost (counting it down).
    fn takes_answer_of(&self, request: &[u8]) -> bool {
        let mut lose = self.lose.lock().expect("proxy state");
        let Some((text, times)) = lose.as_mut() else {
            return false;
        };
        if *times == 0 || !request.windows(text.len()).any(|window| window == text.as_slice()) {
            return false;
        }
        *times -= 1;
        // Sent before the connection drops, answered after: lost.
        self.lost.fetch_add(1, Ordering::SeqCst);
        true
    }
}
