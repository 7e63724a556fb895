//! The admin routes of `fleethost record`:
//!
//! - `POST /plugins/{name}/recording?batches=N` → 202: the next N batches of
//!   the plugin (1 to 1000) will be recorded; 409 while a recording is under
//!   way, 400 for a bad N, 422 for a native plugin, 404 for an unknown one
//! - `GET /plugins/{name}/recording` → where it stands; the recording once done
//! - `POST /plugins/{name}/recording/stop` → ends it now, keeping what it has
//! - `GET /plugins/{name}/recording/component` → the recorded component
//!   (`application/wasm`), 404 when the host could not read that version

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AdminState;
use crate::harness::recording::Recording;
use crate::runtime::PluginSlot;
use crate::runtime::recorder::{PluginRecorder, RecordRefused};

/// A plugin's recording as `GET /plugins/{name}/recording` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingStatus {
    /// The plugin.
    pub plugin: String,
    /// `none` (never asked), `waiting` (for a worker to start a batch),
    /// `recording` or `done`.
    pub state: String,
    /// Batches recorded so far.
    pub recorded: u32,
    /// Batches asked for.
    pub requested: u32,
    /// The recording, once done.
    pub recording: Option<Recording>,
    /// Why a request was refused, when it was.
    #[serde(default)]
    pub error: Option<String>,
}

impl RecordingStatus {
    /// Where `recorder`'s recording stands, with the recording once done.
    fn of(recorder: &PluginRecorder) -> Self {
        let status = recorder.status();
        Self {
            plugin: recorder.plugin().to_string(),
            state: status.state.to_string(),
            recorded: status.recorded,
            requested: status.requested,
            recording: status.run.as_deref().map(Recording::from_run),
            error: None,
        }
    }
}

/// The `batches` query parameter of a recording request.
#[derive(Debug, Deserialize)]
pub(super) struct BatchesQuery {
    batches: u32,
}

/// An answer with a recording's status.
type Answer = (StatusCode, Json<RecordingStatus>);

pub(super) async fn start(
    State(state): State<Arc<AdminState>>,
    Path(name): Path<String>,
    Query(query): Query<BatchesQuery>,
) -> Response {
    let slot = match find(&state, &name) {
        Ok(slot) => slot,
        Err(unknown) => return unknown.into_response(),
    };
    if crate::config::native_name(&slot.path()).is_some() {
        return refused(
            &slot,
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("plugin {name} runs natively, outside the sandbox: there is nothing to record"),
        )
        .into_response();
    }
    match slot.recorder().request(query.batches) {
        Ok(()) => {
            tracing::info!(plugin = %name, batches = query.batches, "recording asked for");
            (StatusCode::ACCEPTED, Json(RecordingStatus::of(slot.recorder()))).into_response()
        }
        Err(error @ RecordRefused::UnderWay(_)) => {
            refused(&slot, StatusCode::CONFLICT, error.to_string()).into_response()
        }
        Err(error @ RecordRefused::Batches(_)) => {
            refused(&slot, StatusCode::BAD_REQUEST, error.to_string()).into_response()
        }
    }
}

pub(super) async fn status(State(state): State<Arc<AdminState>>, Path(name): Path<String>) -> Response {
    match find(&state, &name) {
        Ok(slot) => (StatusCode::OK, Json(RecordingStatus::of(slot.recorder()))).into_response(),
        Err(unknown) => unknown.into_response(),
    }
}

pub(super) async fn stop(State(state): State<Arc<AdminState>>, Path(name): Path<String>) -> Response {
    match find(&state, &name) {
        Ok(slot) => {
            slot.recorder().stop();
            (StatusCode::OK, Json(RecordingStatus::of(slot.recorder()))).into_response()
        }
        Err(unknown) => unknown.into_response(),
    }
}

pub(super) async fn component(State(state): State<Arc<AdminState>>, Path(name): Path<String>) -> Response {
    let slot = match find(&state, &name) {
        Ok(slot) => slot,
        Err(unknown) => return unknown.into_response(),
    };
    match slot.recorder().component() {
        Some(bytes) => ([(header::CONTENT_TYPE, "application/wasm")], Vec::clone(&bytes)).into_response(),
        None => refused(
            &slot,
            StatusCode::NOT_FOUND,
            format!("no component of plugin {name}'s recording: none was made, or its file changed before it started"),
        )
        .into_response(),
    }
}

/// The slot of plugin `name`, or which plugins there are.
fn find(state: &AdminState, name: &str) -> Result<Arc<PluginSlot>, UnknownPlugin> {
    let slots = state.running.slots();
    slots.get(name).cloned().ok_or_else(|| UnknownPlugin {
        name: name.to_string(),
        known: slots.keys().cloned().collect(),
    })
}

/// A plugin name the host does not run: answered 404, naming the known ones.
struct UnknownPlugin {
    name: String,
    known: Vec<String>,
}

impl IntoResponse for UnknownPlugin {
    fn into_response(self) -> Response {
        let error = format!("no plugin named {:?}; known: {:?}", self.name, self.known);
        let status = RecordingStatus {
            plugin: self.name,
            state: "none".into(),
            recorded: 0,
            requested: 0,
            recording: None,
            error: Some(error),
        };
        (StatusCode::NOT_FOUND, Json(status)).into_response()
    }
}

/// `slot`'s status with `error`, answered with `status`.
fn refused(slot: &PluginSlot, status: StatusCode, error: String) -> Answer {
    let mut report = RecordingStatus::of(slot.recorder());
    report.error = Some(error);
    (status, Json(report))
}
