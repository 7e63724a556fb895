//! The gateway's counters and its periodic status line.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// Counters shared by every connection: what an operator needs to see whether
/// drivers are connected, fixes flow and Kafka keeps up.
#[derive(Debug, Default)]
pub struct GatewayStats {
    /// Open WebSocket connections.
    pub connections_open: AtomicU64,
    /// Connections accepted since start.
    pub connections_total: AtomicU64,
    /// Data frames (text and binary) read.
    pub frames: AtomicU64,
    /// Valid fixes that Kafka acknowledged.
    pub fixes_delivered: AtomicU64,
    /// Frames answered with an error frame because they were not a fix.
    pub bad_frames: AtomicU64,
    /// Valid fixes that the topic's format could not encode (answered with
    /// `unencodable`, never produced): a schema that does not fit the
    /// drivers' fixes.
    pub unencodable: AtomicU64,
    /// Valid fixes that Kafka did not take (answered with `unavailable`).
    pub delivery_failures: AtomicU64,
    /// Fixes handed to the producer whose delivery report is outstanding.
    pub in_flight: AtomicU64,
    /// Times a connection stopped reading because librdkafka's queue was full.
    pub queue_full_waits: AtomicU64,
    /// Connections closed because their driver app sent nothing for the
    /// idle timeout (a phone gone without closing its socket).
    pub idle_closes: AtomicU64,
    /// Upgrades refused for their token (missing, forged, expired, for
    /// another listener).
    pub refused_tokens: AtomicU64,
    /// Upgrades refused because the gateway held `max_connections`.
    pub refused_full: AtomicU64,
    /// Fixes refused because they named another driver than the token's.
    pub wrong_driver: AtomicU64,
    /// Times a connection waited because it sent faster than its rate limit.
    pub rate_limited_waits: AtomicU64,
    /// Connections closed because their token expired.
    pub token_expiries: AtomicU64,
    /// The reason of the newest delivery failure.
    last_failure: Mutex<Option<String>>,
}

impl GatewayStats {
    /// Counts one delivery failure and keeps its reason for the status line.
    pub fn record_delivery_failure(&self, reason: &str) {
        self.delivery_failures.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.last_failure.lock() {
            *last = Some(reason.to_string());
        }
    }

    fn last_failure(&self) -> Option<String> {
        self.last_failure.lock().ok().and_then(|last| last.clone())
    }

    /// Logs one line now.
    pub fn log_status(&self, frames_per_s: f64) {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        tracing::info!(
            connections = load(&self.connections_open),
            frames_per_s = format!("{frames_per_s:.0}"),
            frames = load(&self.frames),
            fixes_delivered = load(&self.fixes_delivered),
            bad_frames = load(&self.bad_frames),
            unencodable = load(&self.unencodable),
            delivery_failures = load(&self.delivery_failures),
            in_flight = load(&self.in_flight),
            queue_full_waits = load(&self.queue_full_waits),
            idle_closes = load(&self.idle_closes),
            refused_tokens = load(&self.refused_tokens),
            refused_full = load(&self.refused_full),
            wrong_driver = load(&self.wrong_driver),
            rate_limited_waits = load(&self.rate_limited_waits),
            token_expiries = load(&self.token_expiries),
            last_failure = self.last_failure().as_deref().unwrap_or("none"),
            "gateway status"
        );
    }

    /// Logs a status line every `interval` until `stop`.
    pub async fn report_every(&self, interval: Duration, stop: CancellationToken) {
        let mut ticker = tokio::time::interval(interval);
        ticker.tick().await;
        let mut last = (Instant::now(), self.frames.load(Ordering::Relaxed));
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let frames = self.frames.load(Ordering::Relaxed);
            let frames_per_s = (frames - last.1) as f64 / last.0.elapsed().as_secs_f64().max(0.001);
            self.log_status(frames_per_s);
            last = (Instant::now(), frames);
        }
    }
}
