#!/usr/bin/env bash
# What one fix costs the same plugin in Rust, Python and JavaScript: builds
# the speed-alert plugin `fleethost new` writes in each language, then runs
# the criterion benchmark host/core/benches/plugin_languages.rs over them.
# Figures: BENCHMARKS.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_wasm_target
step "building fleethost (release)"
(cd "$REPO" && cargo build --release -p fleethost)
OUT="$REPO/target/bench-languages"
rm -rf "$OUT" && mkdir -p "$OUT"
for language in rust python js; do
    step "building the speed-alert plugin in $language (fleethost new, ./build.sh)"
    "$REPO/target/release/fleethost" new speed-alert --lang "$language" --dir "$OUT/$language-project" >/dev/null
    (cd "$OUT/$language-project" && ./build.sh)
    cp "$OUT/$language-project/speed_alert.wasm" "$OUT/$language.wasm"
done
step "benchmark: one batch of 1,000 fixes through each (cargo bench -p fleethost-core --bench plugin_languages)"
cd "$REPO" && FLEETHOST_BENCH_LANGUAGES_DIR="$OUT" cargo bench -p fleethost-core --bench plugin_languages
