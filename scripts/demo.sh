#!/usr/bin/env bash
# The demo: a Kafka-compatible broker, a simulated fleet of drivers, and
# fleethost consuming them through the live-location plugin into Redis, with a
# progress line every few seconds, until Ctrl-C.
#
#   scripts/demo.sh [DRIVERS] [FIXES_PER_SECOND]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DRIVERS="${1:-2000}"
RATE="${2:-$DRIVERS}"

ensure_wasm_target
build_plugins
install_tansu
ensure_redis
step "building fleethost (release)"
(cd "$REPO" && cargo build --release -p fleethost)
FLEETHOST="$REPO/target/release/fleethost"

PORT="$(free_port)"
RUN_DIR="$REPO/target/demo"
mkdir -p "$RUN_DIR"
start_broker "$PORT" "$RUN_DIR/tansu.log"
PIDS=("$BROKER_PID")
cleanup() {
    step "stopping the demo"
    for pid in "${PIDS[@]:1}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]:1}"; do wait "$pid" 2>/dev/null || true; done
    kill "$BROKER_PID" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

sed -e "s|^bootstrap_servers = .*|bootstrap_servers = \"127.0.0.1:$PORT\"|" \
    -e "s|^path = \"../target/wasm32-wasip2/plugin/|path = \"$PLUGIN_DIR/|" \
    "$REPO/examples/fleethost.toml" > "$RUN_DIR/fleethost.toml"

step "simulating $DRIVERS drivers at $RATE fixes/s into topic rider-updates (log: $RUN_DIR/simulator.log)"
"$FLEETHOST" simulate --bootstrap-servers "127.0.0.1:$PORT" --topic rider-updates \
    --drivers "$DRIVERS" --rate "$RATE" --partitions 4 >"$RUN_DIR/simulator.log" 2>&1 &
PIDS+=("$!")

step "running fleethost with $RUN_DIR/fleethost.toml; live positions go to Redis (driver:{id}, drivers:geo). Ctrl-C to stop."
echo "    try: redis-cli hgetall driver:driver-000001   |   redis-cli geosearch drivers:geo fromlonlat 77.59 12.97 byradius 1 km asc" >&2
"$FLEETHOST" run --config "$RUN_DIR/fleethost.toml" &
PIDS+=("$!")
wait "${PIDS[2]}"
