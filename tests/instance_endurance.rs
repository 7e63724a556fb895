//! One plugin instance serves every batch of its partition for as long as
//! the partition stays assigned: hundreds of thousands of calls. This proves
//! that a plugin's heap survives that many batches copied in and freed,
//! whatever allocator the plugin sets: test-checked-alloc's allocator traps
//! on freeing a buffer it did not allocate. The buffers the host copies in
//! come from the plugin's `cabi_realloc` and the bindings free them through
//! the global allocator; without the `cabi_realloc` that `export_plugin!`
//! defines (wasi-libc's, on `malloc`, was linked instead) this plugin traps
//! on its config, and a faster allocator than `malloc` corrupted the heap
//! after many batches (BENCHMARKS.md).

use fleethost_core::runtime::{Batch, Event};

mod support;

use support::standalone::standalone_instance;

/// Batches sent to one instance.
const BATCHES: usize = 100_000;

/// A batch of `size` fixes whose strings vary in length from batch to batch,
/// so that freed blocks are reused for allocations of other sizes.
fn batch(number: usize, size: usize) -> Batch {
    Batch {
        pipeline: "endurance".into(),
        topic: "fixes".repeat(1 + number % 3),
        partition: 0,
        events: (0..size)
            .map(|index| Event {
                driver_id: format!("driver-{}", number * size + index),
                latitude: 12.9,
                longitude: 77.6,
                timestamp_ms: 1_700_000_000_000 + index as i64,
                region: (index % 2 == 0).then(|| "south".repeat(1 + number % 4)),
                order_id: (index % 3 == 0).then(|| format!("order-{number}")),
                speed: Some(8.5),
                heading: None,
                offset: (number * size + index) as i64,
            })
            .collect(),
        orders: Vec::new(),
    }
}

#[test]
fn one_instance_processes_a_hundred_thousand_batches() {
    let tokio = tokio::runtime::Runtime::new().expect("tokio runtime");
    let _inside_runtime = tokio.enter();
    // A config, so that `init` too frees buffers the host copied in.
    let mut instance = standalone_instance(
        "endurance",
        "test_checked_alloc",
        "config = { region = \"south\", batch = \"any size\" }\n",
    );
    for number in 0..BATCHES {
        let batch = batch(number, 1 + number % 12);
        if let Err(error) = instance.process(&batch) {
            panic!("batch {number} of {BATCHES} failed: {error:?}");
        }
    }
}
