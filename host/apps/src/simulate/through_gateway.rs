//! Driving the fleet through `fleethost gateway` instead of producing the
//! fixes to Kafka directly: each driver holds one WebSocket to the gateway's
//! `/ws/driver` (with `?ack=true`) and sends its fixes as text frames, as a
//! driver app would. The gateway's acks count as the broker's
//! acknowledgements; its error frames are counted as refused and the first
//! one is logged.
//!
//! Backpressure carries through: each driver has a small queue of fixes;
//! when the gateway stops reading a connection, that queue fills and the
//! simulator's pacing loop waits.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use fleethost_core::auth::TokenSigner;
use fleethost_core::auth::access_token::DRIVER_AUDIENCE;
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::SimulationError;

/// Fixes queued per driver before the pacing loop waits.
const FIXES_QUEUED_PER_DRIVER: usize = 16;
/// Connections opened at the same time at startup.
const CONCURRENT_CONNECTS: usize = 64;
/// How long the drivers wait for the gateway's last acks at the end: longer
/// than the gateway's delivery timeout (30 s).
const FINAL_ACK_TIMEOUT: Duration = Duration::from_secs(40);
/// How long each driver's token is valid: longer than a demo or test runs
/// (the gateway closes a connection whose token expires).
const DRIVER_TOKEN_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// Read and write buffer per connection: a fix or an ack is a few hundred
/// bytes, and tungstenite's default (128 KiB each) would cost a fleet of 5,000
/// drivers over 600 MiB.
const SOCKET_BUFFER_BYTES: usize = 4 * 1024;

/// What the drivers' connections counted.
#[derive(Debug, Default)]
struct Tally {
    /// Fixes written to a WebSocket.
    sent: AtomicU64,
    /// Fixes covered by the gateway's cumulative acks (delivered or refused).
    settled: AtomicU64,
    /// Fixes the gateway answered with an error frame.
    refused: AtomicU64,
    /// Whether an error frame has been logged (the first one only).
    refusal_logged: AtomicBool,
}

/// The fleet's connections to the gateway.
pub struct GatewayFleet {
    url: String,
    drivers: Vec<mpsc::Sender<String>>,
    tasks: Vec<JoinHandle<()>>,
    tally: Arc<Tally>,
}

impl GatewayFleet {
    /// Opens one connection per driver to the gateway at `url`
    /// (`ws://HOST:PORT/ws/driver`, or `wss://` trusting `ca_file` or the
    /// system's roots), each with its driver's token when `tokens` signs
    /// them.
    pub async fn connect(
        url: &str,
        drivers: usize,
        tokens: Option<&TokenSigner>,
        ca_file: Option<&std::path::Path>,
    ) -> Result<Self, SimulationError> {
        let connector = ca_file
            .map(fleethost_core::tls::server::client_config_trusting)
            .transpose()?
            .map(|config| tokio_tungstenite::Connector::Rustls(Arc::new(config)));
        let with_acks = if url.contains('?') {
            format!("{url}&ack=true")
        } else {
            format!("{url}?ack=true")
        };
        let sockets: Vec<_> = futures::stream::iter(0..drivers)
            .map(|index| {
                let config = WebSocketConfig::default()
                    .read_buffer_size(SOCKET_BUFFER_BYTES)
                    .write_buffer_size(SOCKET_BUFFER_BYTES);
                let request = with_acks.as_str().into_client_request().map(|mut request| {
                    if let Some(signer) = tokens {
                        let token = signer.sign(
                            &super::trip_model::driver_id(index),
                            DRIVER_AUDIENCE,
                            DRIVER_TOKEN_LIFETIME,
                        );
                        if let Ok(value) = format!("Bearer {token}").parse() {
                            request.headers_mut().insert("Authorization", value);
                        }
                    }
                    request
                });
                let connector = connector.clone();
                async move {
                    // Nagle off: each fix is sent at once, as a phone would.
                    tokio_tungstenite::connect_async_tls_with_config(request?, Some(config), true, connector).await
                }
            })
            .buffered(CONCURRENT_CONNECTS)
            .collect()
            .await;
        let tally = Arc::new(Tally::default());
        let mut fleet = Self {
            url: url.to_string(),
            drivers: Vec::with_capacity(drivers),
            tasks: Vec::with_capacity(drivers),
            tally: tally.clone(),
        };
        for socket in sockets {
            let (socket, _) = socket.map_err(|source| SimulationError::Gateway {
                url: url.to_string(),
                source: Box::new(source),
            })?;
            let (sender, fixes) = mpsc::channel(FIXES_QUEUED_PER_DRIVER);
            fleet.drivers.push(sender);
            fleet.tasks.push(tokio::spawn(drive(socket, fixes, tally.clone())));
        }
        Ok(fleet)
    }

    /// Queues one fix on driver `driver`'s connection, waiting while that
    /// connection's queue is full.
    pub async fn send(&self, driver: usize, fix: String) -> Result<(), SimulationError> {
        let closed = || SimulationError::GatewayClosed { url: self.url.clone() };
        let sender = self.drivers.get(driver).ok_or_else(closed)?;
        sender.send(fix).await.map_err(|_| closed())
    }

    /// Fixes written to the gateway so far.
    pub fn sent(&self) -> u64 {
        self.tally.sent.load(Ordering::Relaxed)
    }

    /// Fixes the gateway reported as delivered to Kafka so far.
    pub fn acknowledged(&self) -> u64 {
        let settled = self.tally.settled.load(Ordering::Relaxed);
        settled.saturating_sub(self.tally.refused.load(Ordering::Relaxed))
    }

    /// Sends what is queued, waits for the last acks and closes every
    /// connection; returns (sent, acknowledged).
    pub async fn finish(self) -> (u64, u64) {
        drop(self.drivers);
        let mut tasks = self.tasks;
        let all_closed = futures::future::join_all(tasks.iter_mut());
        if tokio::time::timeout(FINAL_ACK_TIMEOUT, all_closed).await.is_err() {
            tracing::warn!("the gateway did not acknowledge every fix within {FINAL_ACK_TIMEOUT:?}");
            for task in &tasks {
                task.abort();
            }
        }
        let refused = self.tally.refused.load(Ordering::Relaxed);
        if refused > 0 {
            tracing::warn!(refused, "the gateway refused fixes");
        }
        let settled = self.tally.settled.load(Ordering::Relaxed);
        (self.tally.sent.load(Ordering::Relaxed), settled.saturating_sub(refused))
    }
}

/// How often a driver's connection pings the gateway, as a real app keeps
/// its socket alive: well under the gateway's idle timeout (120 s by
/// default), so that a driver sending rarely (a low --rate) stays connected.
const KEEPALIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// One driver's connection: writes its fixes, reads acks and error frames,
/// and once its queue is closed waits until everything sent is acked.
async fn drive(
    socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    mut fixes: mpsc::Receiver<String>,
    tally: Arc<Tally>,
) {
    let (mut writer, mut reader) = socket.split();
    let (mut sent, mut acked) = (0u64, 0u64);
    let mut more_to_send = true;
    let mut keepalive = tokio::time::interval(KEEPALIVE_INTERVAL);
    keepalive.tick().await;
    while more_to_send || acked < sent {
        tokio::select! {
            _ = keepalive.tick() => {
                if writer.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
            fix = fixes.recv(), if more_to_send => match fix {
                Some(text) => {
                    if writer.send(Message::text(text)).await.is_err() {
                        break;
                    }
                    sent += 1;
                    tally.sent.fetch_add(1, Ordering::Relaxed);
                }
                None => more_to_send = false,
            },
            reply = reader.next() => match reply {
                Some(Ok(Message::Text(text))) => {
                    let Ok(reply) = serde_json::from_str::<serde_json::Value>(text.as_str()) else {
                        continue;
                    };
                    if let Some(ack) = reply["ack"].as_u64() {
                        let ack = ack.min(sent);
                        tally.settled.fetch_add(ack.saturating_sub(acked), Ordering::Relaxed);
                        acked = acked.max(ack);
                    } else {
                        tally.refused.fetch_add(1, Ordering::Relaxed);
                        if !tally.refusal_logged.swap(true, Ordering::Relaxed) {
                            tracing::warn!(%reply, "the gateway refused a fix (only the first refusal is logged)");
                        }
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = writer.close().await;
}
