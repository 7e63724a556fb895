//! The client side of the admin interface, for `fleethost reload` and
//! `fleethost status`: where the host is and the bearer token it wants.

use std::path::PathBuf;

use anyhow::Context;
use fleethost_core::admin::{PauseReport, PipelineStatus, PluginStatus, RecordingStatus, ReloadReport};
use fleethost_core::auth::{Secret, SecretSource};

/// The environment variable the admin token is read from without `--token-file`.
pub const TOKEN_VARIABLE: &str = "FLEETHOST_ADMIN_TOKEN";

/// How to reach a running host's admin interface (flags shared by the
/// subcommands that talk to it).
#[derive(Debug, Clone, clap::Args)]
pub struct AdminArgs {
    /// The host's admin address (`admin.listen` in its config), as
    /// `host:port` (plain HTTP) or `https://host:port` (when the host serves
    /// `admin.tls`).
    #[arg(long, default_value = "127.0.0.1:9464")]
    pub admin: String,
    /// PEM file of the CA certificates the admin interface's certificate is
    /// checked against, for a host whose certificate a private CA signed
    /// (without it: Mozilla's roots).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// A file holding one of the host's admin tokens (`admin.tokens`);
    /// without it the token is read from FLEETHOST_ADMIN_TOKEN. Never given
    /// on the command line, where other users' `ps` would show it.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
}

/// The largest component `recording_component` reads (a Python plugin is
/// about 40 MiB).
const MAX_COMPONENT_BYTES: u64 = 512 * 1024 * 1024;

/// Which way `change_pause` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseChange {
    Pause,
    Resume,
}

/// A connection to one host's admin interface.
pub struct AdminClient {
    base: String,
    token: Secret,
    agent: ureq::Agent,
}

impl AdminClient {
    /// Reads the token now; the error says where it looked.
    pub fn new(args: &AdminArgs) -> anyhow::Result<Self> {
        let source = match &args.token_file {
            Some(path) => SecretSource::File(path.clone()),
            None => SecretSource::Env(TOKEN_VARIABLE.to_string()),
        };
        let token = source.read().with_context(
            || "the admin interface needs its bearer token: give --token-file PATH or set FLEETHOST_ADMIN_TOKEN",
        )?;
        // 4xx answers carry a report; read them instead of failing on the status.
        let mut config = ureq::Agent::config_builder().http_status_as_error(false);
        if let Some(ca_file) = &args.ca_file {
            config = config.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(read_ca_file(ca_file)?)
                    .build(),
            );
        }
        let base = if args.admin.contains("://") {
            args.admin.trim_end_matches('/').to_string()
        } else {
            format!("http://{}", args.admin)
        };
        Ok(Self {
            base,
            token,
            agent: config.build().into(),
        })
    }

    /// `POST /plugins/{name}/reload`.
    pub fn reload(&self, plugin: &str) -> anyhow::Result<ReloadReport> {
        self.post(&format!("/plugins/{plugin}/reload"))
    }

    /// `POST /pipelines/{name}/pause` or `…/resume`, of one partition or all.
    pub fn change_pause(
        &self,
        pipeline: &str,
        partition: Option<i32>,
        change: PauseChange,
    ) -> anyhow::Result<PauseReport> {
        let verb = match change {
            PauseChange::Pause => "pause",
            PauseChange::Resume => "resume",
        };
        let mut path = format!("/pipelines/{pipeline}/{verb}");
        if let Some(partition) = partition {
            path.push_str(&format!("?partition={partition}"));
        }
        self.post(&path)
    }

    /// `POST /plugins/{name}/recording?batches=N`: records the plugin's
    /// next `batches` batches.
    pub fn start_recording(&self, plugin: &str, batches: u32) -> anyhow::Result<RecordingStatus> {
        self.post(&format!("/plugins/{plugin}/recording?batches={batches}"))
    }

    /// `GET /plugins/{name}/recording`.
    pub fn recording(&self, plugin: &str) -> anyhow::Result<RecordingStatus> {
        self.get(&format!("/plugins/{plugin}/recording"))
    }

    /// `POST /plugins/{name}/recording/stop`.
    pub fn stop_recording(&self, plugin: &str) -> anyhow::Result<RecordingStatus> {
        self.post(&format!("/plugins/{plugin}/recording/stop"))
    }

    /// `GET /plugins/{name}/recording/component`: the recorded component,
    /// `None` when the host has none.
    pub fn recording_component(&self, plugin: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let url = format!("{}/plugins/{plugin}/recording/component", self.base);
        let mut response = self
            .agent
            .get(&url)
            .header("Authorization", self.bearer())
            .call()
            .with_context(|| format!("cannot reach the admin interface at {url}"))?;
        match response.status().as_u16() {
            200 => Ok(Some(
                response
                    .body_mut()
                    .with_config()
                    .limit(MAX_COMPONENT_BYTES)
                    .read_to_vec()
                    .with_context(|| format!("cannot read the component from {url}"))?,
            )),
            404 => Ok(None),
            status => anyhow::bail!("{url} answered {status}"),
        }
    }

    /// `GET /plugins`.
    pub fn plugins(&self) -> anyhow::Result<Vec<PluginStatus>> {
        self.get("/plugins")
    }

    /// `GET /pipelines`.
    pub fn pipelines(&self) -> anyhow::Result<Vec<PipelineStatus>> {
        self.get("/pipelines")
    }

    fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base);
        read_json(self.agent.get(&url).header("Authorization", self.bearer()).call(), &url)
    }

    fn post<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base);
        read_json(
            self.agent
                .post(&url)
                .header("Authorization", self.bearer())
                .send_empty(),
            &url,
        )
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", String::from_utf8_lossy(self.token.expose()))
    }
}

/// The JSON body of an answer from `url`, with errors that name it; a 401
/// is its reason.
fn read_json<T: serde::de::DeserializeOwned>(
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    url: &str,
) -> anyhow::Result<T> {
    let mut response = response.with_context(|| format!("cannot reach the admin interface at {url}"))?;
    if response.status() == 401 {
        let reason = response.body_mut().read_to_string().unwrap_or_default();
        anyhow::bail!("the admin interface at {url} refused the token: {reason}");
    }
    response
        .body_mut()
        .read_json()
        .with_context(|| format!("unexpected answer from {url}"))
}

/// The CA certificates in a PEM file, for `--ca-file`, read as the
/// listeners read theirs.
fn read_ca_file(path: &std::path::Path) -> anyhow::Result<ureq::tls::RootCerts> {
    let certificates =
        fleethost_core::tls::server::read_certificates(path, "CA certificates").with_context(|| "--ca-file")?;
    Ok(ureq::tls::RootCerts::from(certificates.iter().map(|certificate| {
        ureq::tls::Certificate::from_der(certificate.as_ref()).to_owned()
    })))
}
