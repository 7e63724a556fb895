//! Host-side bindings of the `fleethost:plugin` WIT world.

wasmtime::component::bindgen!({
    path: "../wit/since_v0.1.0",
    world: "plugin",
});
