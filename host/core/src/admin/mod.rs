//! The admin HTTP interface: health, the running plugin versions, and reload
//! on demand. Bound to `admin.listen`; every route but `/health` needs one of
//! `admin.tokens` as a bearer token (401 with the reason otherwise).
//!
//! - `GET /health` → `ok`
//! - `GET /metrics` → the counters in the Prometheus text format
//! - `GET /plugins` → every plugin with its running version, path and the
//!   reason of its last refused reload
//! - `GET /pipelines` → every pipeline's totals and the partitions waiting
//!   for a backend
//! - `POST /plugins/{name}/reload` → 200 with the new (or unchanged) version,
//!   422 with the reason when the new version is refused, 404 for an unknown
//!   plugin

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::auth::AdminTokens;
use crate::auth::bearer::require_admin_token;
use crate::pipeline::stats::PipelineStats;
use crate::runtime::{PluginSlot, ReloadOutcome};

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

/// A pipeline as `GET /pipelines` lists it: its totals and what it waits for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PipelineStatus {
    /// Name from the config.
    pub name: String,
    /// Messages finished (processed or dead-lettered) since the host started.
    pub events: u64,
    /// Batches finished.
    pub batches: u64,
    /// Messages written to the dead-letter topic.
    pub dead_letters: u64,
    /// Failed plugin calls by kind; each retry counts.
    pub failures: BTreeMap<String, u64>,
    /// Partitions whose batch waits for a backend the host found unavailable:
    /// the one failure that holds a partition without end, shown so that an
    /// operator sees it.
    pub waiting_for_backend: Vec<BackendWaitStatus>,
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

mod metrics;

/// What the handlers read.
struct AdminState {
    slots: BTreeMap<String, Arc<PluginSlot>>,
    pipelines: BTreeMap<String, Arc<PipelineStats>>,
}

type Shared = Arc<AdminState>;

/// Serves the admin interface on `listen` until `shutdown`, over TLS when
/// `tls` is given.
pub async fn serve(
    listen: SocketAddr,
    tls: Option<crate::tls::ServerTls>,
    tokens: AdminTokens,
    slots: BTreeMap<String, Arc<PluginSlot>>,
    pipelines: BTreeMap<String, Arc<PipelineStats>>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let router = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/metrics", get(render_metrics))
        .route("/plugins", get(list_plugins))
        .route("/pipelines", get(list_pipelines))
        .route("/plugins/{name}/reload", post(reload_plugin))
        .with_state(Arc::new(AdminState { slots, pipelines }))
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
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics::render(&state.pipelines, &state.slots),
    )
}

async fn list_plugins(State(state): State<Shared>) -> Json<Vec<PluginStatus>> {
    Json(
        state
            .slots
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
            .pipelines
            .iter()
            .map(|(name, stats)| {
                let snapshot = stats.snapshot();
                PipelineStatus {
                    name: name.clone(),
                    events: snapshot.events,
                    batches: snapshot.batches,
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
            })
            .collect(),
    )
}

async fn reload_plugin(State(state): State<Shared>, Path(name): Path<String>) -> (StatusCode, Json<ReloadReport>) {
    let slots = &state.slots;
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
