//! `fleethost demo` in a test: the example config on the test's own topics
//! and consumer groups, with the plugins from the build, against the test
//! broker and either the test's Redis and PostgreSQL or stores that do not
//! answer (so that the demo falls back to its embedded defaults); and the
//! demo's command line.

use std::path::Path;

use fleethost_core::config::Config;
use serde_json::Value;

use super::{bootstrap, database_url, free_port, plugin_path, redis_url};

/// Which stores the example config names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stores {
    /// A Redis and a PostgreSQL that do not answer: the demo runs on its
    /// embedded store and SQLite.
    Unreachable,
    /// The tests' Redis and PostgreSQL.
    Test,
}

/// The topics of the example config, which each demo test renames.
const EXAMPLE_TOPICS: [&str; 5] = [
    "rider-updates",
    "order-events",
    "eta-updates",
    "fare-updates",
    "delivery-notifications",
];

/// The example config, on topics and groups named after `run`, with the
/// plugins from the build and the given stores.
pub fn demo_config(run: &str, stores: Stores) -> Config {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/fleethost.toml");
    let mut config = Config::load(&example).expect("examples/fleethost.toml");
    let rename = |name: &mut String| {
        if EXAMPLE_TOPICS.contains(&name.as_str()) {
            *name = format!("{run}-{name}");
        }
    };
    config.kafka.bootstrap_servers = bootstrap();
    for pipeline in &mut config.pipelines {
        pipeline
            .topics
            .iter_mut()
            .chain(&mut pipeline.order_topics)
            .for_each(rename);
        if let Some(stem) = pipeline.group_id.strip_prefix("fleethost-") {
            pipeline.group_id = format!("{run}-{stem}");
        }
    }
    for plugin in config.plugins.values_mut() {
        let file = plugin
            .path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .expect("a plugin file name");
        plugin.path = plugin_path(file);
        // Topic names in grants and in config values (eta's `eta_topic`, …).
        plugin
            .grants
            .produce_topics
            .iter_mut()
            .chain(plugin.config.values_mut())
            .for_each(rename);
    }
    let (redis, database) = match stores {
        Stores::Unreachable => (
            "redis://127.0.0.1:1".to_string(),
            "postgres://postgres@127.0.0.1:1/test".to_string(),
        ),
        Stores::Test => (redis_url(), database_url()),
    };
    config.redis.url = redis;
    config.database.url = Some(database);
    super::enable_admin(&mut config, free_port());
    config
}

/// The arguments of `fleethost demo` with `config`, its SQLite file in
/// `data_dir`, the gateway and the map on the given ports, `drivers`
/// drivers at two fixes per driver per second and a figures line every
/// `figures_interval` seconds.
pub fn demo_args(
    config: &Path,
    data_dir: &Path,
    gateway_port: u16,
    map_port: u16,
    drivers: usize,
    figures_interval: u64,
) -> Vec<String> {
    [
        "demo",
        "--config",
        config.to_str().expect("UTF-8 path"),
        "--data-dir",
        data_dir.to_str().expect("UTF-8 path"),
        "--gateway-listen",
        &format!("127.0.0.1:{gateway_port}"),
        "--map-listen",
        &format!("127.0.0.1:{map_port}"),
        "--drivers",
        &drivers.to_string(),
        "--rate",
        &(drivers * 2).to_string(),
        "--figures-interval",
        &figures_interval.to_string(),
    ]
    .map(String::from)
    .to_vec()
}

/// The operator token a demo run printed with its live map's address in
/// `log` (`None` until it did).
pub fn operator_token(log: &str) -> Option<String> {
    log.lines()
        .find_map(|line| line.strip_prefix("[demo] live map: "))?
        .split_once("access_token=")
        .map(|(_, token)| token.trim().to_string())
}

/// `GET url` as JSON with `token` as the bearer token, `None` while the
/// server does not answer.
pub fn get_json(url: &str, token: &str) -> Option<Value> {
    let mut response = ureq::get(url)
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .ok()?;
    serde_json::from_str(&response.body_mut().read_to_string().ok()?).ok()
}

/// The drivers on the `/api/map` of the demo run that logged `log`, at
/// `map_url`; `None` while it does not answer.
pub fn map_drivers(map_url: &str, log: &str) -> Option<Vec<String>> {
    let map = get_json(&format!("{map_url}/api/map"), &operator_token(log)?)?;
    Some(
        map["drivers"]
            .as_array()?
            .iter()
            .filter_map(|driver| driver["id"].as_str().map(String::from))
            .collect(),
    )
}

/// The namespace a demo run named at start in its `log`: its key prefix
/// and its history table (`None` until it said).
pub fn namespace(log: &str) -> Option<(String, String)> {
    let line = log
        .lines()
        .find_map(|line| line.strip_prefix("[demo] this run's namespace: key prefix "))?;
    let (prefix, rest) = line.split_once(", table ")?;
    let table = rest.split_whitespace().next()?;
    Some((prefix.to_string(), table.to_string()))
}
