#!/bin/sh
# Builds {{module}}.wasm: the plugin as a WebAssembly component.
set -eu
cd "$(dirname "$0")"
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    echo "build: adding the Rust target wasm32-wasip2"
    rustup target add wasm32-wasip2
fi
echo "build: cargo build --release --target wasm32-wasip2"
cargo build --quiet --release --target wasm32-wasip2
cp "${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/{{module}}.wasm" {{module}}.wasm
echo "build: wrote {{module}}.wasm"
