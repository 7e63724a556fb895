//! The admin HTTP interface: health, the running plugin versions, and reload
//! on demand. Bound to `admin.listen`; every route but `/health` needs one of
//! `admin.tokens` as a bearer token (401 with the reason otherwise).
//!
//! - `GET /health` → `ok`
//! - `GET /metrics` → the counters in the Prometheus text format
//! - `GET /plugins` → every plugin with its running version, path and the
//!   reason of its last refused reload
//! - `GET /pipelines` → every pipeline's state (running, paused, waiting
//!   for a backend), rates, lag per partition, plugin versions and totals
//! - `POST /plugins/{name}/reload` → 200 with the new (or unchanged) version,
//!   422 with the reason when the new version is refused, 404 for an unknown
//!   plugin
//! - `POST /pipelines/{name}/pause[?partition=N]` and
//!   `POST /pipelines/{name}/resume[?partition=N]` → 200 with what is
//!   paused now, 404 for an unknown pipeline, 409 when one partition of a
//!   pipeline paused whole is resumed
//! - `/plugins/{name}/recording…`: `fleethost record` (see `recording.rs`)

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::auth::AdminTokens;
use crate::auth::bearer::require_admin_token;
use crate::metrics::HostMetrics;
use crate::pipeline::operator_pause::{OperatorPause, PausedPartitions};
use crate::pipeline::running::{Running, RunningPipeline};
use crate::runtime::{PluginSlot, ReloadOutcome};

mod recording;
pub mod scraped;

pub use recording::RecordingStatus;

/// A plugin as `GET /plugins` lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PluginStatus {
    /// Name from the config.
    pub name: String,
    /// The running version (content hash).
    pub version: String,
    /// The WIT package version the running component was built against.
    pub wit: String,
    /// The component file it is reloaded from.
    pub path: String,
    /// New versions activated since the host started.
    pub activations: u64,
    /// New versions refused or rolled back since the host started.
    pub refusals: u64,
    /// Why the last reload (or trial of a new version) was refused, if it was.
    pub last_refusal: Option<String>,
}

/// A pipeline as `GET /pipelines` lists it: its state, progress and totals.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PipelineStatus {
    /// Name from the config.
    pub name: String,
    /// `running`, `paused` (every assigned partition paused by an
    /// operator), `partly paused`, or `waiting for a backend`.
    pub state: String,
    /// What the operator paused.
    pub paused: PausedPartitions,
    /// Its plugins in order, each as `name@version` of the running version.
    pub plugins: Vec<String>,
    /// Events finished per second over the last sampling interval.
    pub events_per_second: f64,
    /// Messages not yet committed, over its assigned partitions.
    pub lag: i64,
    /// Its assigned partitions, as last sampled.
    pub partitions: Vec<PartitionStatus>,
    /// Messages finished (processed or dead-lettered) since the host started.
    pub events: u64,
    /// Batches finished.
    pub batches: u64,
    /// Fixes finished without reaching the plugins, superseded by a newer
    /// fix of their driver in the same batch (`coalesce`).
    #[serde(default)]
    pub coalesced: u64,
    /// Messages written to the dead-letter topic.
    pub dead_letters: u64,
    /// Failed plugin calls by kind; each retry counts.
    pub failures: BTreeMap<String, u64>,
    /// Partitions whose batch waits for a backend the host found unavailable:
    /// the one failure that holds a partition without end, shown so that an
    /// operator sees it.
    pub waiting_for_backend: Vec<BackendWaitStatus>,
}

/// One assigned partition of a pipeline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PartitionStatus {
    /// The partition's topic.
    pub topic: String,
    /// The partition's number.
    pub partition: i32,
    /// The group's committed offset; `None` before the first commit.
    pub committed: Option<i64>,
    /// The next offset the broker will write.
    pub high_watermark: i64,
    /// Messages not yet committed.
    pub lag: i64,
    /// Whether an operator paused it.
    pub paused: bool,
}

/// The answer of `POST /pipelines/{name}/pause` and `…/resume`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PauseReport {
    /// The pipeline.
    pub pipeline: String,
    /// What is paused now.
    pub paused: PausedPartitions,
    /// Why the request was refused, when it was.
    pub error: Option<String>,
}

/// One partition waiting for a backend.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackendWaitStatus {
    pub topic: String,
    pub partition: i32,
    /// Seconds since the wait began.
    pub waited_s: u64,
    /// What the host last found unavailable.
    pub reason: String,
}

/// The answer of `POST /plugins/{name}/reload`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReloadReport {
    /// The plugin.
    pub plugin: String,
    /// `activated`, `unchanged` or `refused`.
    pub outcome: String,
    /// The version running now.
    pub version: String,
    /// The version replaced, when one was.
    pub previous: Option<String>,
    /// Why the new version was refused, when it was.
    pub error: Option<String>,
}

/// What the handlers read.
pub struct AdminState {
    /// The running pipelines and their plugins, read at each request: a
    /// pipeline added to the config file while the host runs shows at once.
    pub running: Arc<Running>,
    /// The process's metrics.
    pub metrics: Arc<HostMetrics>,
}

type Shared = Arc<AdminState>;

/// Serves the admin interface on `listen` until `shutdown`, over TLS when
/// `tls` is given.
pub async fn serve(
    listen: SocketAddr,
    tls: Option<crate::tls::ServerTls>,
    tokens: AdminTokens,
    state: AdminState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let router = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/metrics", get(render_metrics))
        .route("/plugins", get(list_plugins))
        .route("/pipelines", get(list_pipelines))
        .route("/plugins/{name}/reload", post(reload_plugin))
        .route("/pipelines/{name}/pause", post(pause_pipeline))
        .route("/pipelines/{name}/resume", post(resume_pipeline))
        .route(
            "/plugins/{name}/recording",
            post(recording::start).get(recording::status),
        )
        .route("/plugins/{name}/recording/stop", post(recording::stop))
        .route("/plugins/{name}/recording/component", get(recording::component))
        .with_state(Arc::new(state))
        .layer(axum::middleware::from_fn_with_state(tokens, require_admin_token));
    let listener = crate::tls::HttpListener::bind(listen, tls).await?;
    tracing::info!(
        address = %listener.address(),
        tls = listener.is_tls(),
        "admin interface listening on {}://{}", listener.http_scheme(), listener.address()
    );
    tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "admin interface stopped");
        }
    });
    Ok(())
}

async fn render_metrics(State(state): State<Shared>) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    (
        [(axum::http::header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics.render(),
    )
}

async fn list_plugins(State(state): State<Shared>) -> Json<Vec<PluginStatus>> {
    Json(
        state
            .running
            .slots()
            .values()
            .map(|slot| PluginStatus {
                name: slot.name().to_string(),
                version: slot.current().version().to_string(),
                wit: slot.current().world().as_str().to_string(),
                path: slot.path().display().to_string(),
                activations: slot.activations(),
                refusals: slot.refusals(),
                last_refusal: slot.last_refusal(),
            })
            .collect(),
    )
}

async fn list_pipelines(State(state): State<Shared>) -> Json<Vec<PipelineStatus>> {
    Json(
        state
            .running
            .pipelines()
            .iter()
            .map(|(name, pipeline)| pipeline_status(name, pipeline))
            .collect(),
    )
}

/// The status of one pipeline, from its stats and pauses.
fn pipeline_status(name: &str, control: &RunningPipeline) -> PipelineStatus {
    let snapshot = control.stats.snapshot();
    let paused = control.pause.paused();
    let partitions: Vec<PartitionStatus> = snapshot
        .partitions
        .iter()
        .map(|((topic, partition), progress)| PartitionStatus {
            topic: topic.clone(),
            partition: *partition,
            committed: progress.committed,
            high_watermark: progress.high_watermark,
            lag: progress.lag,
            paused: paused.covers(*partition),
        })
        .collect();
    let state = if !snapshot.waiting.is_empty() {
        "waiting for a backend"
    } else if paused.all || (!partitions.is_empty() && partitions.iter().all(|partition| partition.paused)) {
        "paused"
    } else if paused.any() {
        "partly paused"
    } else {
        "running"
    };
    PipelineStatus {
        name: name.to_string(),
        state: state.to_string(),
        paused,
        plugins: control.plugins.iter().map(|slot| slot.current().label()).collect(),
        events_per_second: snapshot.events_per_second,
        lag: partitions.iter().map(|partition| partition.lag).sum(),
        partitions,
        events: snapshot.events,
        batches: snapshot.batches,
        coalesced: snapshot.coalesced,
        dead_letters: snapshot.dead_letters,
        failures: snapshot
            .failures
            .iter()
            .map(|(kind, count)| (kind.to_string(), *count))
            .collect(),
        waiting_for_backend: snapshot
            .waiting
            .into_iter()
            .map(|wait| BackendWaitStatus {
                topic: wait.topic,
                partition: wait.partition,
                waited_s: wait.waited_s,
                reason: wait.reason,
            })
            .collect(),
    }
}

/// The `partition` query parameter of pause and resume.
#[derive(Debug, Deserialize)]
struct PartitionQuery {
    partition: Option<i32>,
}

async fn pause_pipeline(
    State(state): State<Shared>,
    Path(name): Path<String>,
    Query(query): Query<PartitionQuery>,
) -> (StatusCode, Json<PauseReport>) {
    change_pause(&state, name, |pause| Ok(pause.pause(query.partition)))
}

async fn resume_pipeline(
    State(state): State<Shared>,
    Path(name): Path<String>,
    Query(query): Query<PartitionQuery>,
) -> (StatusCode, Json<PauseReport>) {
    change_pause(&state, name, |pause| pause.resume(query.partition))
}

/// Applies `change` to the pauses of pipeline `name` and reports the result.
fn change_pause(
    state: &AdminState,
    name: String,
    change: impl FnOnce(&OperatorPause) -> Result<PausedPartitions, crate::pipeline::operator_pause::PauseError>,
) -> (StatusCode, Json<PauseReport>) {
    let Some(control) = state.running.pipeline(&name) else {
        let error = format!(
            "no pipeline named {name:?}; known: {:?}",
            state.running.pipelines().keys().collect::<Vec<_>>()
        );
        return (
            StatusCode::NOT_FOUND,
            Json(PauseReport {
                pipeline: name,
                paused: PausedPartitions::default(),
                error: Some(error),
            }),
        );
    };
    match change(&control.pause) {
        Ok(paused) => {
            tracing::info!(pipeline = %name, ?paused, "operator's pauses changed");
            (
                StatusCode::OK,
                Json(PauseReport {
                    pipeline: name,
                    paused,
                    error: None,
                }),
            )
        }
        Err(error) => (
            StatusCode::CONFLICT,
            Json(PauseReport {
                pipeline: name,
                paused: control.pause.paused(),
                error: Some(error.to_string()),
            }),
        ),
    }
}

async fn reload_plugin(State(state): State<Shared>, Path(name): Path<String>) -> (StatusCode, Json<ReloadReport>) {
    let slots = state.running.slots();
    let Some(slot) = slots.get(&name).cloned() else {
        let report = ReloadReport {
            plugin: name.clone(),
            outcome: "refused".into(),
            version: String::new(),
            previous: None,
            error: Some(format!(
                "no plugin named {name:?}; known: {:?}",
                slots.keys().collect::<Vec<_>>()
            )),
        };
        return (StatusCode::NOT_FOUND, Json(report));
    };
    let result = slot.off_the_workers(PluginSlot::reload).await;
    let version = slot.current().version().to_string();
    let (status, outcome, previous, error) = match result {
        Ok(Ok(ReloadOutcome::Activated { previous, .. })) => (StatusCode::OK, "activated", Some(previous), None),
        Ok(Ok(ReloadOutcome::Unchanged { .. })) => (StatusCode::OK, "unchanged", None, None),
        Ok(Err(error)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "refused",
            None,
            Some(error.to_string()),
        ),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "refused",
            None,
            Some(format!("reload panicked: {error}")),
        ),
    };
    (
        status,
        Json(ReloadReport {
            plugin: name,
            outcome: outcome.into(),
            version,
            previous,
            error,
        }),
    )
}
