//! test-wrong-world: a plain WASI command component (it exports `wasi:cli/run`,
//! not `process-batch`). Offered as a plugin it must be refused for its world.

fn main() {
    println!("I am not a fleethost plugin");
}
