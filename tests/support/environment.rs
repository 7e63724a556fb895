//! Where the real components the tests run against are: the `fleethost`
//! binary, the broker, Redis, PostgreSQL and the built plugins, from the
//! variables scripts/test.sh sets.

use std::path::{Path, PathBuf};

/// The host binary the tests start: `fleethost`, or in the native
/// plugins' tests (package fleethost-native) `fleethost-native`, the same
/// command line with the plugins compiled in.
pub fn fleethost_binary() -> &'static str {
    option_env!("CARGO_BIN_EXE_fleethost-native")
        .or(option_env!("CARGO_BIN_EXE_fleethost"))
        .expect("a test target of the fleethost or fleethost-native package")
}

/// The broker the tests run against.
pub fn bootstrap() -> String {
    std::env::var("FLEETHOST_TEST_BOOTSTRAP").expect(
        "FLEETHOST_TEST_BOOTSTRAP is not set: run the suite with scripts/test.sh, which starts a broker and sets it",
    )
}

/// The Redis the tests run against.
pub fn redis_url() -> String {
    std::env::var("FLEETHOST_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string())
}

/// The PostgreSQL the tests run against (each test in its own tables).
pub fn database_url() -> String {
    std::env::var("FLEETHOST_TEST_DATABASE").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A connection pool to the test database.
pub async fn database() -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&database_url())
        .await
        .expect("PostgreSQL at FLEETHOST_TEST_DATABASE (or 127.0.0.1:5432, database test) is reachable")
}

/// Path of a built plugin component, e.g. `plugin_path("live_location")`.
pub fn plugin_path(name: &str) -> PathBuf {
    let dir = std::env::var("FLEETHOST_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/wasm32-wasip2/plugin"));
    let path = dir.join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: build the plugins (scripts/test.sh does)",
        path.display()
    );
    path
}

/// A size of a failure scenario (`FLEETHOST_CHAOS_*`), or the test
/// command's `default`: `scripts/chaos.sh` runs the same tests large.
pub fn scale_setting(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a whole number")),
        Err(_) => default,
    }
}
