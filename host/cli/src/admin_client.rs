//! The client side of the admin interface, for `fleethost reload` and
//! `fleethost status`.

use anyhow::Context;
use fleethost_core::admin::{PipelineStatus, PluginStatus, ReloadReport};

fn agent() -> ureq::Agent {
    // 4xx answers carry a report; read them instead of failing on the status.
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// `POST /plugins/{name}/reload` on the host at `admin`.
pub fn reload(admin: &str, plugin: &str) -> anyhow::Result<ReloadReport> {
    let url = format!("http://{admin}/plugins/{plugin}/reload");
    read_json(agent().post(&url).send_empty(), &url)
}

/// `GET /plugins` on the host at `admin`.
pub fn plugins(admin: &str) -> anyhow::Result<Vec<PluginStatus>> {
    let url = format!("http://{admin}/plugins");
    read_json(agent().get(&url).call(), &url)
}

/// `GET /pipelines` on the host at `admin`.
pub fn pipelines(admin: &str) -> anyhow::Result<Vec<PipelineStatus>> {
    let url = format!("http://{admin}/pipelines");
    read_json(agent().get(&url).call(), &url)
}

/// The JSON body of an answer from `url`, with errors that name it.
fn read_json<T: serde::de::DeserializeOwned>(
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    url: &str,
) -> anyhow::Result<T> {
    let mut response = response.with_context(|| format!("cannot reach the admin interface at {url}"))?;
    response
        .body_mut()
        .read_json()
        .with_context(|| format!("unexpected answer from {url}"))
}
