#!/usr/bin/env bash
# The failure scenarios at scale, with figures (docs/reliability.md): the
# same integration tests the test command runs small, built with --release
# and run with large settings. Does its own set-up (through scripts/test.sh).
# The settings can be overridden from the environment:
#   FLEETHOST_CHAOS_FIXES    fixes in the stream      (default 1000000)
#   FLEETHOST_CHAOS_KILLS    kill -9s during it       (default 5)
#   FLEETHOST_CHAOS_DRIVERS  drivers sending them     (default 20000)
#   FLEETHOST_CHAOS_REDIS_DOWN_S  seconds Redis is down (default 60)
#   FLEETHOST_CHAOS_PG_DOWN_S     seconds PostgreSQL is unreachable (default 60)
#   FLEETHOST_CHAOS_BROKER_DOWN_S seconds the broker is down (default 30)
# Arguments go to `cargo test`, e.g. `scripts/chaos.sh --test repeated_kills`;
# without any, every scenario runs.
set -euo pipefail
export FLEETHOST_CHAOS_FIXES="${FLEETHOST_CHAOS_FIXES:-1000000}"
export FLEETHOST_CHAOS_KILLS="${FLEETHOST_CHAOS_KILLS:-5}"
export FLEETHOST_CHAOS_DRIVERS="${FLEETHOST_CHAOS_DRIVERS:-20000}"
export FLEETHOST_CHAOS_REDIS_DOWN_S="${FLEETHOST_CHAOS_REDIS_DOWN_S:-60}"
export FLEETHOST_CHAOS_PG_DOWN_S="${FLEETHOST_CHAOS_PG_DOWN_S:-60}"
export FLEETHOST_CHAOS_BROKER_DOWN_S="${FLEETHOST_CHAOS_BROKER_DOWN_S:-30}"
echo "==> chaos run: $FLEETHOST_CHAOS_FIXES fixes, $FLEETHOST_CHAOS_DRIVERS drivers, $FLEETHOST_CHAOS_KILLS kills, Redis down $FLEETHOST_CHAOS_REDIS_DOWN_S s, PostgreSQL down $FLEETHOST_CHAOS_PG_DOWN_S s, broker down $FLEETHOST_CHAOS_BROKER_DOWN_S s"
if [ $# -eq 0 ]; then
    set -- --test repeated_kills --test hosts_join_and_leave --test redis_restart --test postgres_outage --test broker_restart
fi
exec "$(dirname "${BASH_SOURCE[0]}")/test.sh" --release "$@"
