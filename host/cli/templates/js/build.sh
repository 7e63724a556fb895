#!/usr/bin/env bash
# Builds {{module}}.wasm, the {{name}} plugin, from plugin.js: one command, on a
# machine with Node.js 20 (or newer) and npm. The first run installs the
# build tools into node_modules (componentize-js and jco, at the versions
# package.json and package-lock.json pin); every run then turns plugin.js,
# fleethost_plugin/ and the WIT in wit/ into a WebAssembly component.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "build.sh needs Node.js 20 or newer and npm (https://nodejs.org, or your system's nodejs and npm packages)" >&2
    exit 1
fi
if (( $(node -p 'process.versions.node.split(".")[0]') < 20 )); then
    echo "build.sh needs Node.js 20 or newer; this is $(node --version)" >&2
    exit 1
fi

if [[ -x node_modules/.bin/componentize-js ]]; then
    echo "==> build tools: node_modules (componentize-js, jco)"
else
    echo "==> installing the build tools into node_modules: npm install (componentize-js 0.23.0, jco 1.34.0; about 380 MB from the npm registry, once)"
    npm install --no-audit --no-fund --loglevel=error
fi

echo "==> building {{module}}.wasm: plugin.js + fleethost_plugin/ against wit/ (world plugin of fleethost:plugin@0.2.0; no wasi:http)"
start=$SECONDS
npm run --silent build
echo "==> built {{module}}.wasm ($(( $(wc -c < {{module}}.wasm) / 1024 / 1024 )) MB) in $(( SECONDS - start )) s; its imports and exports: npx jco wit {{module}}.wasm"
