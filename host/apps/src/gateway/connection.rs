//! One driver app's WebSocket: read a frame, validate it, queue the valid fix
//! to Kafka in the topic's format, answer a bad one (or a valid one the
//! format cannot take), and keep reading while Kafka keeps up.
//!
//! Backpressure: a connection has at most `max_in_flight` fixes whose delivery
//! report is outstanding. At that limit, or while librdkafka's queue is full,
//! it stops reading its socket: the frames wait in the kernel's buffers and
//! TCP slows the driver app down. Nothing is buffered in the gateway beyond
//! the frame being handled, and the WebSocket's read buffer and frame size are
//! capped (see the server module).
//!
//! Delivery reports are awaited in the order the fixes were sent (one driver's
//! fixes land in one partition, in order, so they settle in that order
//! anyway), which makes a cumulative ack a single number.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use fleethost_core::auth::Claims;
use futures::StreamExt;
use futures::future::{Join, Ready, join, ready};
use futures::stream::FuturesOrdered;
use governor::DefaultDirectRateLimiter;
use rdkafka::producer::DeliveryFuture;

use super::GatewayShared;
use super::encoding::{fix_payload, unencodable};
use super::producing::{SendRefused, delivery_outcome};
use fleethost_event::gateway_frames::{AckFrame, ErrorFrame, read_fix};

/// How long a connection waits before retrying when librdkafka's queue is full
/// and it has no delivery of its own to wait for.
const QUEUE_FULL_RETRY: Duration = Duration::from_millis(5);
/// How long the gateway waits for a driver app's answer to its close frame.
const CLOSE_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(1);

/// A delivery report tagged with the frame number of its fix.
type PendingDelivery = Join<Ready<u64>, DeliveryFuture>;
/// What a [`PendingDelivery`] resolves to.
type DeliveryReport = (u64, <DeliveryFuture as std::future::Future>::Output);

/// What a driver app asked for when it connected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionOptions {
    /// Send cumulative `{"ack":N}` frames (`?ack=true`).
    pub ack: bool,
}

/// Who a connection is, from its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverIdentity {
    /// The token's `sub`: the only driver whose fixes this connection may send.
    pub driver_id: String,
    /// When the token expires: the connection is closed then (1008).
    pub expires_at: tokio::time::Instant,
}

impl DriverIdentity {
    /// The identity a verified token gives.
    pub fn from_claims(claims: Claims) -> Self {
        let left = claims
            .expires_at()
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        Self {
            driver_id: claims.sub,
            expires_at: tokio::time::Instant::now() + left,
        }
    }
}

/// Why the read loop ended.
#[derive(Debug)]
enum Ending {
    /// The gateway is shutting down: settle, then close with 1001.
    Shutdown,
    /// The driver app closed the connection or went away.
    ClientGone,
    /// The WebSocket protocol failed (e.g. a frame above the size limit).
    ProtocolError(axum::Error),
    /// The driver app sent nothing for the idle timeout: close with 1000.
    Idle(Duration),
    /// The connection's token expired: close with 1008.
    TokenExpired,
}

/// One connection's state.
struct DriverConnection {
    socket: WebSocket,
    shared: Arc<GatewayShared>,
    options: ConnectionOptions,
    /// Data frames read so far; the number of the newest frame.
    frames_read: u64,
    /// Delivery reports outstanding, in the order the fixes were sent.
    deliveries: FuturesOrdered<PendingDelivery>,
    /// The frame numbers of `deliveries`, front first.
    in_flight_frames: VecDeque<u64>,
    /// The newest ack sent.
    acked: u64,
    /// Whether this connection has logged a delivery failure (once each).
    failure_logged: bool,
    /// Whether this connection has logged a fix its topic's format could
    /// not encode (once each).
    unencodable_logged: bool,
    /// When the driver app last sent anything (for the idle timeout).
    last_heard: tokio::time::Instant,
    /// Who the token says this is; `None` on an open gateway.
    identity: Option<DriverIdentity>,
    /// This connection's rate limit, if the gateway has one.
    limiter: Option<DefaultDirectRateLimiter>,
}

/// Serves one driver app until it leaves or the gateway shuts down; `open`
/// counts it among the open connections until then.
pub async fn serve(
    socket: WebSocket,
    shared: Arc<GatewayShared>,
    options: ConnectionOptions,
    identity: Option<DriverIdentity>,
    open: OpenConnection,
) {
    let _open = open;
    let limiter = shared.fix_quota.map(DefaultDirectRateLimiter::direct);
    let connection = DriverConnection {
        socket,
        shared,
        options,
        identity,
        limiter,
        frames_read: 0,
        deliveries: FuturesOrdered::new(),
        in_flight_frames: VecDeque::new(),
        acked: 0,
        failure_logged: false,
        unencodable_logged: false,
        last_heard: tokio::time::Instant::now(),
    };
    connection.run().await;
}

/// Counts a connection as open for as long as it lives, from its upgrade on.
pub struct OpenConnection(Arc<GatewayShared>);

impl OpenConnection {
    /// Counts one more connection, or `None` when the gateway already holds
    /// its `max_connections`.
    pub fn admit(shared: &Arc<GatewayShared>) -> Option<Self> {
        let open = shared.stats.connections_open.fetch_add(1, Ordering::Relaxed);
        if open >= shared.max_connections as u64 {
            shared.stats.connections_open.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        shared.stats.connections_total.fetch_add(1, Ordering::Relaxed);
        Some(Self(shared.clone()))
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.stats.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The driver app can no longer be written to.
struct ClientGone;

impl DriverConnection {
    async fn run(mut self) {
        let ending = self.read_until_done().await;
        match &ending {
            Ending::ProtocolError(error) => tracing::debug!(%error, "driver connection failed"),
            Ending::Idle(after) => {
                self.shared.stats.idle_closes.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(?after, "closing an idle driver connection");
            }
            Ending::TokenExpired => {
                self.shared.stats.token_expiries.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("closing a driver connection whose token expired");
            }
            Ending::Shutdown | Ending::ClientGone => {}
        }
        self.finish(ending).await;
    }

    /// Reads frames while fewer than `max_in_flight` fixes are outstanding,
    /// and settles delivery reports as they arrive.
    async fn read_until_done(&mut self) -> Ending {
        loop {
            let may_read = self.deliveries.len() < self.shared.max_in_flight;
            // Idle only counts while nothing of this app awaits Kafka.
            let idle_deadline = self
                .shared
                .idle_timeout
                .filter(|_| self.deliveries.is_empty())
                .map(|timeout| (timeout, self.last_heard + timeout));
            let expiry = self
                .identity
                .as_ref()
                .map(|identity| (Duration::ZERO, identity.expires_at));
            tokio::select! {
                biased;
                _ = self.shared.shutdown.cancelled() => return Ending::Shutdown,
                _ = sleep_until(expiry) => return Ending::TokenExpired,
                _ = sleep_until(idle_deadline) => {
                    return Ending::Idle(idle_deadline.map(|(timeout, _)| timeout).unwrap_or_default());
                }
                Some(report) = self.deliveries.next(), if !self.deliveries.is_empty() => {
                    if self.settle(report).await.is_err() || self.settle_ready().await.is_err() {
                        return Ending::ClientGone;
                    }
                }
                incoming = self.socket.recv(), if may_read => {
                    self.last_heard = tokio::time::Instant::now();
                    match incoming {
                    None | Some(Ok(Message::Close(_))) => return Ending::ClientGone,
                    Some(Err(error)) => return Ending::ProtocolError(error),
                    // tungstenite answers pings itself.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Binary(_))) => {
                        let frame = self.next_frame_number();
                        if let Err(ending) = self.pace().await {
                            return ending;
                        }
                        self.shared.stats.bad_frames.fetch_add(1, Ordering::Relaxed);
                        if self.reply(ErrorFrame::binary(frame).to_json()).await.is_err()
                            || self.send_ack().await.is_err()
                        {
                            return Ending::ClientGone;
                        }
                    }
                    Some(Ok(Message::Text(text))) => {
                        if let Err(ending) = self.take_fix(text).await {
                            return ending;
                        }
                    }
                    }
                }
            }
        }
    }

    fn next_frame_number(&mut self) -> u64 {
        self.frames_read += 1;
        self.shared.stats.frames.fetch_add(1, Ordering::Relaxed);
        self.frames_read
    }

    /// Validates one text frame with the host's decoder, within the default
    /// event bounds against the time it was received (its Kafka timestamp),
    /// so a fix dated far ahead is answered rather than produced; queues a
    /// valid fix (as received, byte for byte, on a JSON topic; encoded in
    /// the topic's format otherwise) or answers a bad one, and a valid one
    /// the format cannot encode.
    async fn take_fix(&mut self, text: Utf8Bytes) -> Result<(), Ending> {
        let frame = self.next_frame_number();
        if let Err(ending) = self.pace().await {
            // Read but never produced: say so.
            let _ = self
                .reply(ErrorFrame::unavailable(frame, "the gateway is shutting down").to_json())
                .await;
            return Err(ending);
        }
        let received_ms = now_ms();
        let answer = match read_fix(frame, text.as_str(), received_ms) {
            Ok(fix) => match &self.identity {
                Some(identity) if identity.driver_id != fix.driver_id => {
                    self.shared.stats.wrong_driver.fetch_add(1, Ordering::Relaxed);
                    Err(ErrorFrame::wrong_driver(frame, &fix.driver_id, &identity.driver_id))
                }
                _ => Ok(fix),
            },
            Err(answer) => Err(answer),
        };
        let fix = match answer {
            Ok(fix) => fix,
            Err(answer) => {
                self.shared.stats.bad_frames.fetch_add(1, Ordering::Relaxed);
                return self.settle_refused(answer).await;
            }
        };
        let format = self.shared.producer.format();
        let payload = match fix_payload(format, &fix, text.as_str().as_bytes()) {
            Ok(payload) => payload,
            Err(error) => {
                let answer = unencodable(frame, format, &error);
                self.shared.stats.unencodable.fetch_add(1, Ordering::Relaxed);
                if !self.unencodable_logged {
                    self.unencodable_logged = true;
                    tracing::warn!(
                        frame,
                        %error,
                        encoding = format.encoding().as_str(),
                        "a valid fix cannot be written in the topic's format and was answered `unencodable` \
                         (logged once per connection)"
                    );
                }
                return self.settle_refused(answer).await;
            }
        };
        loop {
            match self.shared.producer.try_send(&fix, &payload, received_ms) {
                Ok(delivery) => {
                    self.deliveries.push_back(join(ready(frame), delivery));
                    self.in_flight_frames.push_back(frame);
                    self.shared.stats.in_flight.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err(SendRefused::QueueFull) => {
                    self.shared.stats.queue_full_waits.fetch_add(1, Ordering::Relaxed);
                    if let Err(ending) = self.wait_for_room().await {
                        // The fix never reached the producer: say so.
                        let _ = self
                            .reply(ErrorFrame::unavailable(frame, "the gateway is shutting down").to_json())
                            .await;
                        return Err(ending);
                    }
                }
                Err(SendRefused::Failed(error)) => {
                    return self
                        .fail_delivery(frame, &error.to_string())
                        .await
                        .map_err(|ClientGone| Ending::ClientGone);
                }
            }
        }
    }

    /// Answers a frame that will not be produced. The answer settles the
    /// frame: with nothing in flight before it, the ack covers it at once.
    async fn settle_refused(&mut self, answer: ErrorFrame) -> Result<(), Ending> {
        match self.reply(answer.to_json()).await {
            Ok(()) => self.send_ack().await.map_err(|ClientGone| Ending::ClientGone),
            Err(ClientGone) => Err(Ending::ClientGone),
        }
    }

    /// Holds a data frame until the connection's rate limit lets it through:
    /// a driver app that sends too fast is read more slowly (TCP slows it
    /// down), and loses nothing.
    async fn pace(&mut self) -> Result<(), Ending> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if limiter.check().is_ok() {
            return Ok(());
        }
        self.shared.stats.rate_limited_waits.fetch_add(1, Ordering::Relaxed);
        tokio::select! {
            _ = self.shared.shutdown.cancelled() => Err(Ending::Shutdown),
            _ = limiter.until_ready() => Ok(()),
        }
    }

    /// While librdkafka's queue is full: waits for one of this connection's
    /// deliveries, or a moment when it has none, without reading.
    async fn wait_for_room(&mut self) -> Result<(), Ending> {
        tokio::select! {
            _ = self.shared.shutdown.cancelled() => Err(Ending::Shutdown),
            Some(report) = self.deliveries.next(), if !self.deliveries.is_empty() => {
                self.settle(report).await.map_err(|ClientGone| Ending::ClientGone)?;
                self.send_ack().await.map_err(|ClientGone| Ending::ClientGone)
            }
            _ = tokio::time::sleep(QUEUE_FULL_RETRY), if self.deliveries.is_empty() => Ok(()),
        }
    }

    /// Counts one delivery report; a failure is answered with `unavailable`.
    async fn settle(&mut self, report: DeliveryReport) -> Result<(), ClientGone> {
        match self.count(report) {
            None => Ok(()),
            Some((frame, reason)) => self.fail_delivery(frame, &reason).await,
        }
    }

    /// Counts one delivery report; returns the frame and reason of a failure.
    fn count(&mut self, (frame, report): DeliveryReport) -> Option<(u64, String)> {
        self.in_flight_frames.pop_front();
        self.shared.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
        match delivery_outcome(report) {
            Ok(()) => {
                self.shared.stats.fixes_delivered.fetch_add(1, Ordering::Relaxed);
                None
            }
            Err(reason) => Some((frame, reason)),
        }
    }

    /// Settles the reports that have already arrived, then acks (if asked).
    async fn settle_ready(&mut self) -> Result<(), ClientGone> {
        while let Some(Some(report)) = futures::FutureExt::now_or_never(self.deliveries.next()) {
            self.settle(report).await?;
        }
        self.send_ack().await
    }

    async fn fail_delivery(&mut self, frame: u64, reason: &str) -> Result<(), ClientGone> {
        self.shared.stats.record_delivery_failure(reason);
        if !self.failure_logged {
            self.failure_logged = true;
            tracing::warn!(frame, %reason, "a fix could not be delivered to Kafka (logged once per connection)");
        }
        self.reply(ErrorFrame::unavailable(frame, reason).to_json()).await
    }

    /// Every frame up to the first outstanding delivery is settled.
    fn settled_through(&self) -> u64 {
        self.in_flight_frames
            .front()
            .map_or(self.frames_read, |first_outstanding| first_outstanding - 1)
    }

    async fn send_ack(&mut self) -> Result<(), ClientGone> {
        let settled = self.settled_through();
        if !self.options.ack || settled <= self.acked {
            return Ok(());
        }
        self.acked = settled;
        self.reply(AckFrame { ack: settled }.to_json()).await
    }

    async fn reply(&mut self, text: String) -> Result<(), ClientGone> {
        self.socket.send(Message::text(text)).await.map_err(|_| ClientGone)
    }

    /// Settles every outstanding delivery (librdkafka's delivery timeout
    /// bounds the wait), answers failures and acks while the driver app is
    /// there, and on shutdown closes with 1001 "going away".
    async fn finish(mut self, ending: Ending) {
        let mut client_there = matches!(ending, Ending::Shutdown | Ending::Idle(_) | Ending::TokenExpired);
        while let Some(report) = self.deliveries.next().await {
            if client_there {
                client_there = self.settle(report).await.is_ok();
            } else if let Some((frame, reason)) = self.count(report) {
                self.shared.stats.record_delivery_failure(&reason);
                tracing::debug!(frame, %reason, "a fix could not be delivered after its driver app left");
            }
        }
        if !client_there {
            return;
        }
        if self.send_ack().await.is_err() {
            return;
        }
        let close = Message::Close(Some(match ending {
            Ending::Idle(after) => CloseFrame {
                code: close_code::NORMAL,
                reason: Utf8Bytes::from(format!(
                    "idle: nothing received for {} s; reconnect to send again",
                    after.as_secs()
                )),
            },
            Ending::TokenExpired => CloseFrame {
                code: close_code::POLICY,
                reason: Utf8Bytes::from_static("the access token expired: reconnect with a new one"),
            },
            _ => CloseFrame {
                code: close_code::AWAY,
                reason: Utf8Bytes::from_static("the gateway is shutting down"),
            },
        }));
        if self.socket.send(close).await.is_err() {
            return;
        }
        // Give the driver app a moment to answer the close frame.
        let _ = tokio::time::timeout(CLOSE_HANDSHAKE_TIMEOUT, async {
            while let Some(Ok(message)) = self.socket.recv().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// Sleeps until the deadline, or forever without one.
async fn sleep_until(deadline: Option<(Duration, tokio::time::Instant)>) {
    match deadline {
        Some((_, at)) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// The connection loop against librdkafka's mock cluster, whose brokers can
/// be slowed down or stopped: what the real broker of the integration tests
/// cannot be made to do.
#[cfg(test)]
mod tests;
