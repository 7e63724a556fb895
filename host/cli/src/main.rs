//! The `fleethost` binary: the command line, without native plugins.

fn main() -> std::process::ExitCode {
    fleethost::main(None)
}
