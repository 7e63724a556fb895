#!/usr/bin/env bash
# The whole test suite: unit tests and the integration tests against a real
# Kafka-compatible broker (Tansu) and Redis. Does its own set-up. Arguments go
# to `cargo test`, e.g. `scripts/test.sh --test hot_reload`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_wasm_target
build_plugins
install_tansu
ensure_redis

PORT="$(free_port)"
LOG_DIR="$REPO/target/test-logs"
mkdir -p "$LOG_DIR"
start_broker "$PORT" "$LOG_DIR/tansu.log"
trap 'kill "$BROKER_PID" 2>/dev/null || true' EXIT

export FLEETHOST_TEST_BOOTSTRAP="127.0.0.1:$PORT"
export FLEETHOST_TEST_REDIS="${FLEETHOST_TEST_REDIS:-redis://127.0.0.1:6379}"
export FLEETHOST_PLUGIN_DIR="$PLUGIN_DIR"

step "checking formatting (cargo fmt --check)"
(cd "$REPO" && cargo fmt --all -- --check)
step "linting (cargo clippy --all-targets -- -D warnings)"
(cd "$REPO" && cargo clippy --all-targets -- -D warnings)
(cd "$REPO" && cargo clippy --profile plugin --target wasm32-wasip2 --workspace --exclude fleethost -- -D warnings)
step "running the test suite against the broker at $FLEETHOST_TEST_BOOTSTRAP"
(cd "$REPO" && cargo test -p fleethost "$@" -- --nocapture)
step "all tests passed"
