//! The tracking server's HTTP routes:
//!
//! - `GET /ws/track?driver=ID` or `?order=ID` upgrades to a customer's
//!   WebSocket (see [`super::session`]); a missing, empty or doubled target
//!   is answered 400 with the reason. It needs a customer's token whose
//!   `sub` is that target (`driver:ID`, `order:ID`) or an operator's token:
//!   401 without a valid one, 403 for a token of another target;
//! - `GET /health` → 200 `ok`;
//! - `GET /stats` → JSON: Redis subscriptions, channels, watchers and
//!   counters; with `?driver=ID` or `?order=ID` also that channel's watchers
//!   and whether Redis holds its subscription;
//! - `GET /map` → the live map page, `GET /api/map` → its data (see
//!   [`super::live_map`]).
//!
//! `/stats`, `/map` and `/api/map` need an operator's token; the map page
//! passes the one it was opened with (`/map?access_token=…`) to `/api/map`.

use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use fleethost_core::auth::access_token::{OPERATOR_AUDIENCE, TRACK_AUDIENCE};

use super::TrackingShared;
use super::channels::Target;
use super::{live_map, session};
use crate::access;

/// The largest frame a customer may send. Customers send nothing but
/// control frames; the cap keeps one from making the server buffer much.
const MAX_INCOMING_BYTES: usize = 4 * 1024;
/// Read and write buffer per connection: small, as a server holds many
/// customers whose frames are a few hundred bytes.
const SOCKET_BUFFER_BYTES: usize = 4 * 1024;

/// The routes, over the state every session shares.
pub fn router(shared: Arc<TrackingShared>) -> Router {
    let operators = Router::new()
        .route("/stats", get(stats))
        .route("/map", get(live_map::page))
        .route("/api/map", get(live_map::data))
        .route_layer(axum::middleware::from_fn_with_state(shared.clone(), operators_only));
    Router::new()
        .route("/ws/track", get(track_socket))
        .route("/health", get(|| async { "ok" }))
        .merge(operators)
        .with_state(shared)
}

/// Lets a request through only with an operator's token (or on an open
/// server).
async fn operators_only(State(shared): State<Arc<TrackingShared>>, request: Request, next: Next) -> Response {
    match shared
        .access
        .admit(request.headers(), request.uri().query(), &[OPERATOR_AUDIENCE])
    {
        Ok(_) => next.run(request).await,
        Err(refusal) => access::refused(&refusal),
    }
}

async fn track_socket(
    State(shared): State<Arc<TrackingShared>>,
    uri: Uri,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let claims = match shared
        .access
        .admit(&headers, uri.query(), &[TRACK_AUDIENCE, OPERATOR_AUDIENCE])
    {
        Ok(claims) => claims,
        Err(refusal) => return access::refused(&refusal),
    };
    let target = match Target::from_query(uri.query()) {
        Ok(target) => target,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    if let Some(claims) = claims.filter(|claims| claims.aud == TRACK_AUDIENCE)
        && claims.sub != target.token_subject()
    {
        return access::forbidden(format!(
            "the token may follow {:?}, not {:?}",
            claims.sub,
            target.token_subject()
        ));
    }
    if shared.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "the tracking server is shutting down").into_response();
    }
    // Held by the session's task: shutdown waits until every one is gone.
    let open = shared.sessions.token();
    upgrade
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .max_message_size(MAX_INCOMING_BYTES)
        .max_frame_size(MAX_INCOMING_BYTES)
        .on_failed_upgrade(|error| tracing::debug!(%error, "a customer's WebSocket upgrade failed"))
        .on_upgrade(move |socket| async move {
            session::serve(socket, shared, target).await;
            drop(open);
        })
}

async fn stats(State(shared): State<Arc<TrackingShared>>, uri: Uri) -> Response {
    // Without a target the totals alone; a malformed target is a 400.
    let channel = match uri.query().filter(|query| !query.is_empty()) {
        None => None,
        Some(query) => match Target::from_query(Some(query)) {
            Ok(target) => Some(target.channel(&shared.keys)),
            Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
        },
    };
    Json(shared.stats.report(&shared.registry, channel)).into_response()
}
