//! What a plugin may import. A component that imports anything else (WASI
//! HTTP, an interface the host does not know) is refused at load, naming the
//! import, before any of its code runs.
//!
//! WASI's filesystem and sockets are linked but serve nothing (see
//! [`HostState::new`](super::host_state::HostState::new)): the runtimes of
//! Python (componentize-py) and JavaScript (componentize-js) import them
//! whether or not a plugin uses them, and a plugin that tries gets "not
//! permitted", never a file or a connection.

use wasmtime::Engine;
use wasmtime::component::Component;

/// Import name prefixes a plugin may use. The WASI parts are what the
/// standard libraries of `wasm32-wasip2` (Rust's, and the Python and
/// JavaScript runtimes') import; the host links them with an empty context:
/// no environment variables, no arguments, no stdin, output discarded, exit
/// traps the instance, no preopened directory, no network.
pub const ALLOWED_IMPORT_PREFIXES: [&str; 12] = [
    "fleethost:plugin/",
    "wasi:io/",
    "wasi:cli/environment@",
    "wasi:cli/exit@",
    "wasi:cli/stdin@",
    "wasi:cli/stdout@",
    "wasi:cli/stderr@",
    "wasi:cli/terminal-",
    "wasi:random/",
    "wasi:clocks/",
    "wasi:filesystem/",
    "wasi:sockets/",
];

/// The component's imports that are not allowed, in order.
pub fn forbidden_imports(engine: &Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .filter(|name| !is_allowed_import(name))
        .collect()
}

/// Whether a plugin may import the interface `name`.
pub fn is_allowed_import(name: &str) -> bool {
    ALLOWED_IMPORT_PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_unknown_interfaces_are_not_allowed() {
        let allowed = is_allowed_import;
        assert!(allowed("fleethost:plugin/kv@0.1.0"));
        assert!(allowed("wasi:cli/stderr@0.2.6"));
        assert!(allowed("wasi:filesystem/preopens@0.2.9"));
        assert!(allowed("wasi:sockets/tcp@0.2.9"));
        assert!(!allowed("wasi:http/outgoing-handler@0.2.6"));
        assert!(!allowed("acme:evil/backdoor"));
    }
}
