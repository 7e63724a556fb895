//! `fleethost-native`: the `fleethost` command line with the five example
//! plugins compiled in (`path = "native:<name>"`), for the benchmark only.

use std::sync::Arc;

fn main() -> std::process::ExitCode {
    fleethost::main(Some(Arc::new(fleethost_native::FivePlugins)))
}
