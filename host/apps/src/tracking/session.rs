//! One customer's WebSocket: the current position first (for a driver), then
//! every message of the watched channel, in order, and nothing else; for an
//! order, its positions and its estimates (two channels, each in order).
//!
//! Order of events for a driver: the session first joins the channel and
//! waits until Redis confirmed the subscription, then reads the position
//! hash. A change published after the subscription reaches the session as a
//! message; a change written before the read is in the hash. A message whose
//! position the hash already showed (its `ts_ms` not newer than the hash's)
//! is skipped, so the customer sees each position once, oldest first.
//!
//! A customer that reads slower than its channel's messages arrive falls
//! behind the channel's broadcast buffer: it then gets
//! `{"type":"lagged","missed":N}` and continues with the oldest message still
//! buffered; the other watchers never wait for it. A customer whose socket
//! accepts nothing for [`SEND_TIMEOUT`] is disconnected.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::TrackingShared;
use super::channels::Target;
use super::registry::Payload;

/// How long a session waits for Redis to confirm its channel's subscription
/// before reading the current position anyway (Redis may be down; the live
/// messages start once the connection task has resubscribed).
const SUBSCRIBE_WAIT: Duration = Duration::from_secs(5);
/// How long one frame may take to be accepted by the customer's socket.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server waits to get its close frame out at shutdown.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

type Outgoing = SplitSink<WebSocket, Message>;

/// The customer can no longer be written to.
struct Gone;

/// Serves one customer until it leaves or the server shuts down.
pub async fn serve(socket: WebSocket, shared: Arc<TrackingShared>, target: Target) {
    shared.stats.customers_total.fetch_add(1, Ordering::Relaxed);
    let mut watcher = shared.registry.watch(&target.channel(&shared.keys));
    let mut estimates = target
        .estimates_channel(&shared.keys)
        .map(|channel| shared.registry.watch(&channel));
    let (mut outgoing, mut incoming) = socket.split();
    // Messages whose position is not newer than this were in the first frame.
    let mut shown_up_to: Option<i64> = None;
    if let Target::Driver(driver_id) = &target {
        if !watcher.wait_subscribed(SUBSCRIBE_WAIT).await {
            tracing::debug!(
                channel = watcher.channel(),
                "subscription not confirmed within {SUBSCRIBE_WAIT:?} (Redis down?); reading the position anyway"
            );
        }
        match shared.positions.current(driver_id).await {
            Ok(Some(position)) => match serde_json::to_string(&position) {
                Ok(frame) => {
                    shown_up_to = Some(position.ts_ms);
                    if send(&mut outgoing, &shared, frame.into()).await.is_err() {
                        return;
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot write a customer's initial position as JSON"),
            },
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "no initial position for a customer; live messages follow"),
        }
    }
    loop {
        tokio::select! {
            biased;
            _ = shared.shutdown.cancelled() => {
                close(&mut outgoing).await;
                return;
            }
            frame = incoming.next() => match frame {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                // Customers have nothing to say; pings are answered by tungstenite.
                Some(Ok(_)) => {}
            },
            message = watcher.recv() => {
                let frame = match message {
                    Ok(payload) => {
                        if let Some(shown) = shown_up_to {
                            if already_shown(&payload, shown) {
                                continue;
                            }
                            shown_up_to = None;
                        }
                        payload
                    }
                    Err(error) => match missed_frame(error, &shared) {
                        Some(frame) => frame,
                        None => return,
                    },
                };
                if send(&mut outgoing, &shared, frame).await.is_err() {
                    return;
                }
            }
            message = next_estimate(&mut estimates), if estimates.is_some() => {
                let frame = match message {
                    Ok(payload) => payload,
                    Err(error) => match missed_frame(error, &shared) {
                        Some(frame) => frame,
                        None => return,
                    },
                };
                if send(&mut outgoing, &shared, frame).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The next message of an order's estimates channel.
async fn next_estimate(estimates: &mut Option<super::registry::Watcher>) -> Result<Payload, RecvError> {
    match estimates {
        Some(watcher) => watcher.recv().await,
        None => std::future::pending().await,
    }
}

/// The frame telling a customer how many messages it missed by falling
/// behind; `None` when the channel closed (the server is stopping).
fn missed_frame(error: RecvError, shared: &TrackingShared) -> Option<Payload> {
    match error {
        RecvError::Lagged(missed) => {
            shared.stats.lagged_frames.fetch_add(1, Ordering::Relaxed);
            shared.stats.messages_missed.fetch_add(missed, Ordering::Relaxed);
            Some(lagged_frame(missed).into())
        }
        RecvError::Closed => None,
    }
}

/// Sends one text frame, within [`SEND_TIMEOUT`].
async fn send(outgoing: &mut Outgoing, shared: &TrackingShared, frame: Payload) -> Result<(), Gone> {
    match tokio::time::timeout(SEND_TIMEOUT, outgoing.send(Message::Text(frame))).await {
        Ok(Ok(())) => {
            shared.stats.frames_sent.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Ok(Err(_)) => Err(Gone),
        Err(_) => {
            tracing::debug!("a customer accepted no frame for {SEND_TIMEOUT:?}: disconnected");
            Err(Gone)
        }
    }
}

/// Tells the customer the server is going away (1001), briefly.
async fn close(outgoing: &mut Outgoing) {
    let frame = CloseFrame {
        code: close_code::AWAY,
        reason: "the tracking server is shutting down".into(),
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, outgoing.send(Message::Close(Some(frame)))).await;
}

/// The frame telling a customer it missed `missed` messages.
pub fn lagged_frame(missed: u64) -> String {
    format!(r#"{{"type":"lagged","missed":{missed}}}"#)
}

/// The fields of a message that decide whether the first frame showed it.
#[derive(Deserialize)]
struct Header {
    #[serde(rename = "type")]
    kind: Option<String>,
    ts_ms: Option<i64>,
}

/// Whether `payload` is a position no newer than `shown_ts_ms`: the hash
/// read for the first frame already had it (or a newer one).
pub fn already_shown(payload: &str, shown_ts_ms: i64) -> bool {
    serde_json::from_str::<Header>(payload).is_ok_and(|header| {
        header.kind.as_deref() == Some("position") && header.ts_ms.is_some_and(|ts| ts <= shown_ts_ms)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_the_first_frame_showed_are_skipped() {
        let position = |ts: i64| format!(r#"{{"type":"position","driver_id":"d","lat":1,"lng":2,"ts_ms":{ts}}}"#);
        assert!(already_shown(&position(100), 100));
        assert!(already_shown(&position(99), 100));
        assert!(!already_shown(&position(101), 100));
        assert!(!already_shown(r#"{"type":"eta","ts_ms":1}"#, 100), "not a position");
        assert!(!already_shown("not json", 100));
    }

    #[test]
    fn the_lag_notice_says_how_many_were_missed() {
        assert_eq!(lagged_frame(7), r#"{"type":"lagged","missed":7}"#);
    }
}
