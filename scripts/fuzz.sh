#!/usr/bin/env bash
# Fuzzes the location decoder, the order-event decoder, the Avro and
# Protobuf payload formats and the gateway's frame handling (fuzz/) with
# cargo fuzz, SECONDS each (default 20), from
# the committed corpus (fuzz/corpus/TARGET, left unchanged: new inputs go to
# a scratch copy) with the event format's dictionary (fuzz/events.dict).
# Prints executions and crashes per target and fails on a crash, naming the
# input that caused it (fuzz/artifacts/TARGET/). Does its own set-up.
#   scripts/fuzz.sh [SECONDS] [TARGET ...]
# With FLEETHOST_FUZZ_GROW=1 the inputs that reached new code are merged
# into the committed corpus afterwards (libFuzzer's -merge=1 keeps only
# those), for a long run whose findings should seed the short ones.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECONDS_EACH="${1:-20}"
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=(location_decoder order_decoder payload_formats gateway_frames)
fi

install_cargo_fuzz
# cargo fuzz passes -Z flags to rustc (the sanitizer, coverage); the one
# toolchain of this machine is stable, and RUSTC_BOOTSTRAP lets it take them.
export RUSTC_BOOTSTRAP=1
step "building the fuzz targets (cargo fuzz build, into fuzz/target)"
(cd "$REPO/fuzz" && "$CARGO_FUZZ" build)

SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
for target in "${TARGETS[@]}"; do
    step "fuzzing $target for $SECONDS_EACH s"
    mkdir -p "$SCRATCH/$target"
    log="$SCRATCH/$target.log"
    seeds="$(find "$REPO/fuzz/corpus/$target" -type f | wc -l)"
    if (cd "$REPO/fuzz" && "$CARGO_FUZZ" run "$target" "$SCRATCH/$target" "corpus/$target" -- \
        -dict=events.dict -max_total_time="$SECONDS_EACH" -print_final_stats=1) >"$log" 2>&1; then
        executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
        found="$(find "$SCRATCH/$target" -type f | wc -l)"
        printf '%s: %s executions in %s s, 0 crashes; corpus of %s seeds, %s new inputs\n' \
            "$target" "$executions" "$SECONDS_EACH" "$seeds" "$found" >&2
        if [ "${FLEETHOST_FUZZ_GROW:-0}" = 1 ]; then
            (cd "$REPO/fuzz" && "$CARGO_FUZZ" run "$target" "corpus/$target" "$SCRATCH/$target" -- -merge=1) \
                >"$log.merge" 2>&1 || { cat "$log.merge" >&2; exit 1; }
            step "$target: corpus now $(find "$REPO/fuzz/corpus/$target" -type f | wc -l) inputs"
        fi
    else
        grep -v '^#' "$log" | tail -40 >&2
        echo "$target: a crash; the input is in fuzz/artifacts/$target/ (cargo fuzz run $target FILE replays it)" >&2
        exit 1
    fi
done
