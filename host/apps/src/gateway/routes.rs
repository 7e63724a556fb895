//! The gateway's HTTP routes:
//!
//! - `GET /ws/driver` upgrades to a driver app's WebSocket (`?ack=true` for
//!   cumulative ack frames), see [`super::connection`] and
//!   [`fleethost_event::gateway_frames`]. The app presents its token
//!   (`Authorization: Bearer` or `?access_token=`): without a valid one the
//!   answer is 401 with the reason; when the gateway holds its
//!   `max_connections`, 503;
//! - `GET /health` → 200 `ok`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fleethost_core::auth::access_token::DRIVER_AUDIENCE;

use super::GatewayShared;
use super::connection::{self, ConnectionOptions, DriverIdentity, OpenConnection};
use crate::access;

/// The largest frame (and message) a driver app may send. A fix is a few
/// hundred bytes; the cap keeps one connection from making the gateway buffer
/// megabytes (tungstenite's default is 64 MiB). A larger frame is a protocol
/// error that ends the connection.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Read and write buffer per connection: small, so that many thousands of
/// idle connections cost little memory (tungstenite's default is 128 KiB
/// each).
const SOCKET_BUFFER_BYTES: usize = 4 * 1024;

/// The routes, over the state every connection shares.
pub fn router(shared: Arc<GatewayShared>) -> Router {
    Router::new()
        .route("/ws/driver", get(driver_socket))
        .route("/health", get(|| async { "ok" }))
        .with_state(shared)
}

async fn driver_socket(
    State(shared): State<Arc<GatewayShared>>,
    uri: Uri,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let identity = match shared.access.admit(&headers, uri.query(), &[DRIVER_AUDIENCE]) {
        Ok(claims) => claims.map(DriverIdentity::from_claims),
        Err(refusal) => {
            shared.stats.refused_tokens.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(reason = refusal.kind(), "a driver app's token was refused");
            return access::refused(&refusal);
        }
    };
    let options = match connection_options(uri.query()) {
        Ok(options) => options,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    if shared.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "the gateway is shutting down").into_response();
    }
    // Counted from here, so that upgrades in progress count against the cap.
    let Some(counted) = OpenConnection::admit(&shared) else {
        shared.stats.refused_full.fetch_add(1, Ordering::Relaxed);
        let message = format!(
            "the gateway holds its maximum of {} driver connections (--max-connections): retry later or elsewhere",
            shared.max_connections
        );
        return (StatusCode::SERVICE_UNAVAILABLE, message).into_response();
    };
    // Held by the connection's task: shutdown waits until every one is gone.
    let open = shared.connections.token();
    upgrade
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_failed_upgrade(|error| tracing::debug!(%error, "a driver app's WebSocket upgrade failed"))
        .on_upgrade(move |socket| async move {
            connection::serve(socket, shared, options, identity, counted).await;
            drop(open);
        })
}

/// The query of `/ws/driver`: `ack=true|false|1|0` (default false). Other
/// parameters are ignored, so that apps may add their own.
fn connection_options(query: Option<&str>) -> Result<ConnectionOptions, String> {
    let mut options = ConnectionOptions::default();
    for pair in query.unwrap_or_default().split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name == "ack" {
            options.ack = match value {
                "true" | "1" => true,
                "false" | "0" => false,
                other => return Err(format!("query parameter `ack` = `{other}`: expected true or false")),
            };
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_are_asked_for_in_the_query() {
        assert!(!connection_options(None).unwrap().ack);
        assert!(!connection_options(Some("")).unwrap().ack);
        assert!(connection_options(Some("ack=true")).unwrap().ack);
        assert!(connection_options(Some("token=x&ack=1")).unwrap().ack);
        assert!(!connection_options(Some("ack=false")).unwrap().ack);
        let error = connection_options(Some("ack=yes")).unwrap_err();
        assert!(error.contains("`ack` = `yes`"), "{error}");
    }
}
