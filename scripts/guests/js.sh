# The tools that build fleethost plugins written in JavaScript, pinned:
# componentize-js (a JS module and the WIT world into a WebAssembly component,
# SpiderMonkey inside) and jco (`jco wit` shows a component's imports and
# exports). Sourced by scripts/lib.sh, whose REPO and step it uses; like its
# other steps, install_jco says what it does and is idempotent.
#
# The versions are those of js-tools/package.json, every dependency under
# them those of js-tools/package-lock.json: the build depends on the tree,
# not only on the two versions (see docs/plugins-javascript.md, "Versions").

JS_TOOLS_SPEC="$REPO/scripts/guests/js-tools"
JS_TOOLS="$REPO/target/guest-tools/js"
COMPONENTIZE_JS="$JS_TOOLS/node_modules/.bin/componentize-js"
JCO="$JS_TOOLS/node_modules/.bin/jco"

# install_jco: componentize-js and jco into target/guest-tools/js (npm ci
# from the committed package.json and package-lock.json), unless the same
# lock is installed there already (installed.lock: a copy of the lock, made
# once npm ci succeeded). Needs Node.js 20 or newer and npm.
install_jco() {
    if [[ -x "$COMPONENTIZE_JS" && -x "$JCO" ]] && cmp -s "$JS_TOOLS_SPEC/package-lock.json" "$JS_TOOLS/installed.lock"; then
        step "JavaScript guest tools (componentize-js, jco): $JS_TOOLS"
        return
    fi
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        step "Node.js and npm are needed for the JavaScript guest tools: installing Debian's nodejs and npm"
        apt-get install -y -qq nodejs npm >/dev/null
    fi
    local major
    major="$(node -p 'process.versions.node.split(".")[0]')"
    if (( major < 20 )); then
        echo "the JavaScript guest tools need Node.js 20 or newer; this machine has $(node --version)" >&2
        exit 1
    fi
    local pinned
    pinned="$(node -p "Object.entries(require('$JS_TOOLS_SPEC/package.json').devDependencies).map(([name, version]) => name.split('/').pop() + ' ' + version).join(', ')")"
    step "installing the JavaScript guest tools ($pinned: npm ci from scripts/guests/js-tools) into $JS_TOOLS"
    mkdir -p "$JS_TOOLS"
    cp "$JS_TOOLS_SPEC/package.json" "$JS_TOOLS_SPEC/package-lock.json" "$JS_TOOLS/"
    npm ci --prefix "$JS_TOOLS" --no-audit --no-fund --loglevel=error
    cp "$JS_TOOLS_SPEC/package-lock.json" "$JS_TOOLS/installed.lock"
}
