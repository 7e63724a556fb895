#!/usr/bin/env bash
# The demo: a Kafka-compatible broker, a simulated fleet of drivers with
# their orders, and fleethost running all five plugins, each in its own
# pipeline: live positions into Redis, the history into PostgreSQL, ETAs,
# fares and geofence notifications onto Kafka topics. It prints a progress
# line per pipeline and a summary of the plugins' output every few seconds,
# until Ctrl-C.
#
#   scripts/demo.sh [DRIVERS] [FIXES_PER_SECOND]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DRIVERS="${1:-2000}"
RATE="${2:-$DRIVERS}"

ensure_wasm_target
build_plugins
install_tansu
ensure_redis
ensure_postgres
step "building fleethost (release)"
(cd "$REPO" && cargo build --release -p fleethost)
FLEETHOST="$REPO/target/release/fleethost"

PORT="$(free_port)"
RUN_DIR="$REPO/target/demo"
mkdir -p "$RUN_DIR"
start_broker "$PORT" "$RUN_DIR/tansu.log"
SIMULATOR_PID=""
HOST_PID=""
TAIL_PID=""
HISTORY_PID=""
# Ctrl-C reaches only this script (the children run in their own sessions), so
# the shutdown happens in order: fleet first, then fleethost (which finishes
# its batches and commits while the broker is still up), then the broker.
cleanup() {
    trap - EXIT INT TERM
    step "stopping the demo: simulator, then fleethost (commits), then the broker"
    [[ -n "$SIMULATOR_PID" ]] && kill -TERM "$SIMULATOR_PID" 2>/dev/null && wait "$SIMULATOR_PID" 2>/dev/null || true
    for pid in "$TAIL_PID" "$HISTORY_PID"; do
        [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    done
    [[ -n "$HOST_PID" ]] && kill -TERM "$HOST_PID" 2>/dev/null && wait "$HOST_PID" 2>/dev/null || true
    kill "$BROKER_PID" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sed -e "s|^bootstrap_servers = .*|bootstrap_servers = \"127.0.0.1:$PORT\"|" \
    -e "s|^path = \"../target/wasm32-wasip2/plugin/|path = \"$PLUGIN_DIR/|" \
    "$REPO/examples/fleethost.toml" > "$RUN_DIR/fleethost.toml"

step "simulating $DRIVERS drivers at $RATE fixes/s into rider-updates, their orders into order-events (log: $RUN_DIR/simulator.log)"
setsid "$FLEETHOST" simulate --bootstrap-servers "127.0.0.1:$PORT" --topic rider-updates \
    --drivers "$DRIVERS" --rate "$RATE" --partitions 4 >"$RUN_DIR/simulator.log" 2>&1 &
SIMULATOR_PID=$!

step "running fleethost with $RUN_DIR/fleethost.toml: five pipelines (live-location, history, eta, fare, geofence). Ctrl-C to stop."
echo "    try: redis-cli hgetall driver:driver-000001   |   redis-cli geosearch drivers:geo fromlonlat 77.59 12.97 byradius 1 km asc" >&2
echo "         redis-cli --scan --pattern 'eta:*' | head   |   psql -h 127.0.0.1 -U postgres test -c 'select count(*) from driver_locations'" >&2
setsid "$FLEETHOST" run --config "$RUN_DIR/fleethost.toml" &
HOST_PID=$!

# The plugins' output, live: a summary of the three output topics every 10 s
# (`fleethost tail`), the history table's size and a fare.
setsid "$FLEETHOST" tail --bootstrap-servers "127.0.0.1:$PORT" --summary 10 \
    eta-updates fare-updates delivery-notifications &
TAIL_PID=$!
# Final fares come at deliveries (minutes into the run); a running one is
# shown from Redis meanwhile.
setsid bash -c 'while sleep 10; do
    echo "driver_locations: $(psql -h 127.0.0.1 -U postgres -d test -Atc "select count(*) from driver_locations" 2>/dev/null || echo "?") rows in PostgreSQL"
    fare_key="$(redis-cli --scan --pattern "fare:order-*" 2>/dev/null | head -1)"
    if [[ -n "$fare_key" ]]; then
        echo "a fare in Redis: $fare_key $(redis-cli hmget "$fare_key" status fare currency distance_m duration_s | paste -sd " ")"
    fi
done' &
HISTORY_PID=$!
wait "$HOST_PID"
