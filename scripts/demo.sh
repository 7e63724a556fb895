#!/usr/bin/env bash
# The demo, the whole system from one binary: a Kafka-compatible broker
# (Tansu), then `fleethost demo`, one process with the drivers' WebSocket
# gateway, a simulated fleet driving through it (their orders go to Kafka),
# all five plugins, each in its own pipeline (live positions, the history,
# ETAs, fares and geofence notifications), and the tracking server with the
# live map. It prints the map's address, which stores it runs on, a figures
# line and a progress line per pipeline every few seconds, and a summary of
# the plugins' Kafka output, until Ctrl-C.
#
# Redis and PostgreSQL are used when they answer (examples/fleethost.toml
# names them); where they do not, the demo runs on its embedded defaults (an
# in-process store and a SQLite file under target/demo) and says so.
#
#   scripts/demo.sh [DRIVERS] [FIXES_PER_SECOND] [fleethost demo flags...]
#   e.g. scripts/demo.sh 2000 2000 --redis-url memory: --database-url sqlite://target/demo/h.sqlite
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DRIVERS="${1:-2000}"
RATE="${2:-$DRIVERS}"
shift $(( $# < 2 ? $# : 2 ))

ensure_wasm_target
build_plugins
install_tansu
step "building fleethost (release)"
(cd "$REPO" && cargo build --release -p fleethost)
FLEETHOST="$REPO/target/release/fleethost"

PORT="$(free_port)"
RUN_DIR="$REPO/target/demo"
mkdir -p "$RUN_DIR"
start_broker "$PORT" "$RUN_DIR/tansu.log"
TAIL_PID=""
# Ctrl-C reaches fleethost demo (it stops the fleet, flushes the gateway,
# commits, then closes the map) and the tail; the broker runs in its own
# session and is stopped last, once fleethost has committed.
cleanup() {
    trap - EXIT INT TERM
    [[ -n "$TAIL_PID" ]] && kill -TERM "$TAIL_PID" 2>/dev/null && wait "$TAIL_PID" 2>/dev/null || true
    kill "$BROKER_PID" 2>/dev/null || true
}
trap cleanup EXIT

sed -e "s|^bootstrap_servers = .*|bootstrap_servers = \"127.0.0.1:$PORT\"|" \
    -e "s|^path = \"../target/wasm32-wasip2/plugin/|path = \"$PLUGIN_DIR/|" \
    "$REPO/examples/fleethost.toml" > "$RUN_DIR/fleethost.toml"

# The plugins' Kafka output, live: a summary of the three output topics every
# 10 s.
"$FLEETHOST" tail --bootstrap-servers "127.0.0.1:$PORT" --summary 10 \
    eta-updates fare-updates delivery-notifications &
TAIL_PID=$!

MAP_PORT="${MAP_PORT:-8090}"
GATEWAY_PORT="$(free_port)"
step "plugins deploy into this demo with: FLEETHOST_CONFIG=$RUN_DIR/fleethost.toml fleethost deploy plugin.toml"
step "running fleethost demo: $DRIVERS drivers at $RATE fixes/s through the gateway, five pipelines, live map on port $MAP_PORT (the demo prints its address with this run's operator token; config: $RUN_DIR/fleethost.toml). Ctrl-C to stop."
"$FLEETHOST" demo --config "$RUN_DIR/fleethost.toml" --data-dir "$RUN_DIR" \
    --gateway-listen "127.0.0.1:$GATEWAY_PORT" --map-listen "127.0.0.1:$MAP_PORT" \
    --drivers "$DRIVERS" --rate "$RATE" "$@" || status=$?
exit "${status:-0}"
