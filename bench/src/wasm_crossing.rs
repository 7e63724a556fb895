//! The per-batch cost of crossing into wasm, as the criterion benchmark
//! `cargo bench -p fleethost-native --bench wasm_crossing` measured it: read from
//! criterion's own result files so that the table shows them beside the
//! end-to-end figures.

use std::path::Path;

use serde::Serialize;

use crate::criterion_estimates::median_ns;

/// Batch sizes the criterion benchmark measures.
pub const BATCH_SIZES: [usize; 4] = [1, 10, 100, 1000];

/// One batch size's median.
#[derive(Debug, Clone, Serialize)]
pub struct CrossingResult {
    pub batch_size: usize,
    /// Median time of one `process-batch` call, ns.
    pub per_batch_ns: f64,
}

/// Reads `{criterion_dir}/wasm_crossing/{n}/new/estimates.json` for each
/// batch size; sizes without results are left out.
pub fn read(criterion_dir: &Path) -> Vec<CrossingResult> {
    BATCH_SIZES
        .iter()
        .filter_map(|&batch_size| {
            let function_dir = criterion_dir.join("wasm_crossing").join(batch_size.to_string());
            Some(CrossingResult {
                batch_size,
                per_batch_ns: median_ns(&function_dir)?,
            })
        })
        .collect()
}
