#!/usr/bin/env bash
# The whole test suite: unit tests (host and plugins, natively) and the
# integration tests against a real Kafka-compatible broker (Tansu), Redis and
# PostgreSQL. Does its own set-up. Arguments go to the host's `cargo test`,
# e.g. `scripts/test.sh --test hot_reload` (the plugins' unit tests and the
# benchmark smoke run are then skipped).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_wasm_target
build_plugins
install_tansu
install_s3_server
ensure_redis
ensure_postgres
ensure_test_tls
ensure_postgres_tls
ensure_chromium
ensure_seed_pipeline

PORT="$(free_port)"
LOG_DIR="$REPO/target/test-logs"
mkdir -p "$LOG_DIR"
start_broker "$PORT" "$LOG_DIR/tansu.log"
trap 'kill "$BROKER_PID" 2>/dev/null || true' EXIT

export FLEETHOST_TEST_BOOTSTRAP="127.0.0.1:$PORT"
export FLEETHOST_TEST_REDIS="${FLEETHOST_TEST_REDIS:-redis://127.0.0.1:6379}"
export FLEETHOST_PLUGIN_DIR="$PLUGIN_DIR"
# The broker binary, for tests that start (and stop) a private broker.
export FLEETHOST_TEST_TANSU="$TANSU"
# The S3 server a private broker keeps its data in, for the broker-restart test.
export FLEETHOST_TEST_S3_SERVER="$S3_SERVER"
# The test CA and certificates of the TLS tests.
export FLEETHOST_TEST_TLS_DIR="$TLS_DIR"
export FLEETHOST_TEST_DATABASE="${FLEETHOST_TEST_DATABASE:-postgres://postgres@127.0.0.1:5432/test}"

step "flushing the test Redis's script cache: the tests run as against a new or restarted Redis"
redis-cli -u "$FLEETHOST_TEST_REDIS" SCRIPT FLUSH >/dev/null

step "checking formatting (cargo fmt --check)"
(cd "$REPO" && cargo fmt --all -- --check)
(cd "$REPO/fuzz" && cargo fmt -- --check)
step "linting (cargo clippy --all-targets -- -D warnings)"
(cd "$REPO" && cargo clippy --all-targets -- -D warnings)
(cd "$REPO" && cargo clippy --profile plugin --target wasm32-wasip2 --workspace $HOST_CRATES -- -D warnings)
(cd "$REPO/fuzz" && cargo clippy --all-targets -- -D warnings)
step "checking the API docs' links (cargo doc --no-deps, warnings as errors)"
(cd "$REPO" && RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet)
if [ $# -eq 0 ]; then
    step "running the plugins' unit tests (natively, no broker)"
    (cd "$REPO" && cargo test -p fleethost-event -p fleethost-plugin-sdk -p fleethost-record -p live-location -p db-writer -p eta -p fare -p geofence)
    step "running the Python and JavaScript SDK layers' unit tests (python3 -m unittest, node --test)"
    (cd "$REPO/plugins/sdk-python" && python3 -m unittest discover -s . -t .)
    (cd "$REPO/plugins/sdk-js" && node --test)
    step "fuzzing the decoders, the payload formats and the gateway's frame handling, 20 s each (scripts/fuzz.sh)"
    "$REPO/scripts/fuzz.sh" 20
fi
step "running the test suite against the broker at $FLEETHOST_TEST_BOOTSTRAP"
(cd "$REPO" && cargo test -p fleethost -p fleethost-core -p fleethost-apps "$@" -- --nocapture)
if [ $# -eq 0 ]; then
    step "running the wasm-crossing benchmark once as a test (criterion's test mode)"
    (cd "$REPO" && cargo test -p fleethost-native --bench wasm_crossing)
    step "running the native plugins' tests (plugins compiled into the host: cargo test -p fleethost-native)"
    (cd "$REPO" && cargo test -p fleethost-native --lib --test native_plugins -- --nocapture)
    step "running the plugin-batch benchmark once as a test (live-location in wasm and natively, criterion's test mode)"
    (cd "$REPO" && cargo test -p fleethost-native --bench plugin_batch)
    build_native_host dev
    step "running the benchmark's unit tests and its smoke run (every contender, tiny sizes)"
    (cd "$REPO" && cargo build -p fleethost && cargo test -p fleethost-bench -- --nocapture)
fi
step "all tests passed"
