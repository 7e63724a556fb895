#!/usr/bin/env bash
# Builds {{module}}.wasm, the {{name}} plugin, from app.py: one command, on a
# machine with nothing but python3. The first run makes a virtualenv in
# .venv holding componentize-py (pinned, its wheel's sha256 checked); every
# run then turns app.py, fleethost_plugin/ and the WIT in wit/ into a
# WebAssembly component.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

VERSION="0.25.1"
VENV=".venv"
TOOL="$VENV/bin/componentize-py"

if [[ -x "$TOOL" && "$("$TOOL" --version 2>/dev/null)" == "componentize-py $VERSION" ]]; then
    echo "==> componentize-py $VERSION: $TOOL"
else
    echo "==> installing componentize-py $VERSION (from PyPI, sha256-checked) into $VENV"
    if [[ ! -x "$VENV/bin/python" ]]; then
        python3 -m venv "$VENV" || {
            echo "python3 could not make a virtualenv: install its venv module (Debian, Ubuntu: apt-get install python3-venv)" >&2
            exit 1
        }
    fi
    # One wheel per platform, no dependencies; pip takes this machine's and
    # refuses it unless its sha256 is one of these.
    cat > "$VENV/componentize-py.txt" <<EOF
componentize-py==$VERSION \\
    --hash=sha256:8623cd8cab8453cb0cd8bf03f3c7103420d06f2f3d360186a280a70a1ca5e89f \\
    --hash=sha256:7b6a87c520358166843af0daa86d2312d7af4cbcbbf1e598951085cf7f2991ca \\
    --hash=sha256:65fbc4a94df1de8acf7da50a1f5ed1711230188844e53e6332d99029be4e0afa \\
    --hash=sha256:a556991534cc496207a9d2ca733c4b0f17ed38ef56a8d6b5f1847fdf1225dd1b \\
    --hash=sha256:c7fd552fb0849858b0c1e8981543ed5dff4b0cc1597a8ea0bc26a495786dc0c6
EOF
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        --only-binary=:all: --require-hashes -r "$VENV/componentize-py.txt"
fi

echo "==> building {{module}}.wasm: app.py + fleethost_plugin/ against wit/ (world plugin of fleethost:plugin@0.2.0)"
"$TOOL" -d wit -w plugin componentize app -o {{module}}.wasm
echo "==> built {{module}}.wasm ($(wc -c < {{module}}.wasm | awk '{ printf "%.1f MB", $1 / 1e6 }'))"
