#!/usr/bin/env bash
# The demo, the whole system from one binary: a Kafka-compatible broker, the
# drivers' WebSocket gateway, a simulated fleet driving through it (their
# orders go to Kafka), fleethost running all five plugins, each in its own
# pipeline (live positions into Redis, the history into PostgreSQL, ETAs,
# fares and geofence notifications onto Kafka topics), and the tracking
# server with the live map. It prints the map's address, a progress line per
# pipeline and a summary of the plugins' output every few seconds, until
# Ctrl-C.
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
GATEWAY_PID=""
TRACK_PID=""
HOST_PID=""
TAIL_PID=""
HISTORY_PID=""
# Ctrl-C reaches only this script (the children run in their own sessions), so
# the shutdown happens in order: fleet first, then the gateway (it flushes
# what it accepted), then fleethost (which finishes its batches and commits
# while the broker is still up), then the tracking server and the broker.
cleanup() {
    trap - EXIT INT TERM
    step "stopping the demo: simulator, gateway, then fleethost (commits), then the tracking server and the broker"
    for pid in "$SIMULATOR_PID" "$GATEWAY_PID" "$TAIL_PID" "$HISTORY_PID"; do
        [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    done
    [[ -n "$HOST_PID" ]] && kill -TERM "$HOST_PID" 2>/dev/null && wait "$HOST_PID" 2>/dev/null || true
    [[ -n "$TRACK_PID" ]] && kill -TERM "$TRACK_PID" 2>/dev/null && wait "$TRACK_PID" 2>/dev/null || true
    kill "$BROKER_PID" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sed -e "s|^bootstrap_servers = .*|bootstrap_servers = \"127.0.0.1:$PORT\"|" \
    -e "s|^path = \"../target/wasm32-wasip2/plugin/|path = \"$PLUGIN_DIR/|" \
    "$REPO/examples/fleethost.toml" > "$RUN_DIR/fleethost.toml"

GATEWAY_PORT="$(free_port)"
step "starting the drivers' gateway on ws://127.0.0.1:$GATEWAY_PORT/ws/driver -> rider-updates (log: $RUN_DIR/gateway.log)"
setsid "$FLEETHOST" gateway --bootstrap-servers "127.0.0.1:$PORT" --listen "127.0.0.1:$GATEWAY_PORT" \
    --topic rider-updates --partitions 4 >"$RUN_DIR/gateway.log" 2>&1 &
GATEWAY_PID=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$GATEWAY_PORT/health" >/dev/null 2>&1 && break
    sleep 0.1
done

MAP_PORT="${MAP_PORT:-8090}"
step "starting the tracking server: live map at http://127.0.0.1:$MAP_PORT/map, customers at ws://127.0.0.1:$MAP_PORT/ws/track?driver=ID (log: $RUN_DIR/track.log)"
setsid "$FLEETHOST" track --listen "127.0.0.1:$MAP_PORT" --redis-url redis://127.0.0.1:6379 \
    >"$RUN_DIR/track.log" 2>&1 &
TRACK_PID=$!

step "simulating $DRIVERS drivers at $RATE fixes/s, each a WebSocket to the gateway; their orders into order-events (seed = run start; log: $RUN_DIR/simulator.log)"
# A new seed per run: order ids derive from it, and the plugins' trip state
# from an earlier run is still in Redis (an order id seen before would be
# taken for a redelivery).
SEED="$(date +%s)"
setsid "$FLEETHOST" simulate --bootstrap-servers "127.0.0.1:$PORT" --gateway "ws://127.0.0.1:$GATEWAY_PORT/ws/driver" \
    --topic rider-updates --drivers "$DRIVERS" --rate "$RATE" --partitions 4 --seed "$SEED" >"$RUN_DIR/simulator.log" 2>&1 &
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
