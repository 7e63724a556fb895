//! Host-side bindings of the `fleethost:plugin` WIT world.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin",
});
