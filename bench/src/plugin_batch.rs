//! One real plugin's batch in wasm and compiled into the host, without a
//! broker or a sink, as the criterion benchmark `cargo bench -p
//! fleethost-native --bench plugin_batch` measured it: read from
//! criterion's own result files so that the table shows the sandbox's price
//! for one plugin beside the end-to-end figures, where the sinks' share
//! hides it.

use std::path::Path;

use serde::Serialize;

use crate::criterion_estimates::median_ns;

/// The benchmark's functions: (plugin, build) as criterion names their
/// folders (`{plugin}_{build}`).
pub const FUNCTIONS: [(&str, &str); 2] = [("live-location", "wasm"), ("live-location", "native")];

/// Fixes in each measured batch (the criterion benchmark's `FIXES`).
pub const FIXES_PER_BATCH: usize = 1_000;

/// One function's median.
#[derive(Debug, Clone, Serialize)]
pub struct PluginBatchResult {
    pub plugin: String,
    /// `wasm` or `native`.
    pub build: String,
    /// Median time of one `process-batch` call of `FIXES_PER_BATCH` fixes, ns.
    pub per_batch_ns: f64,
}

/// Reads `{criterion_dir}/plugin_batch/{plugin}_{build}/new/estimates.json`
/// for each function; functions without results are left out.
pub fn read(criterion_dir: &Path) -> Vec<PluginBatchResult> {
    FUNCTIONS
        .iter()
        .filter_map(|&(plugin, build)| {
            let function_dir = criterion_dir.join("plugin_batch").join(format!("{plugin}_{build}"));
            Some(PluginBatchResult {
                plugin: plugin.to_string(),
                build: build.to_string(),
                per_batch_ns: median_ns(&function_dir)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_function_s_median_and_leaves_out_what_did_not_run() {
        let dir = std::env::temp_dir().join(format!("fleethost-plugin-batch-{}", std::process::id()));
        let wasm = dir.join("plugin_batch/live-location_wasm/new");
        std::fs::create_dir_all(&wasm).expect("criterion folder");
        std::fs::write(
            wasm.join("estimates.json"),
            r#"{"mean":{"point_estimate":2600000.0},"median":{"point_estimate":2500000.0}}"#,
        )
        .expect("estimates");
        let results = read(&dir);
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(results.len(), 1, "{results:?}");
        assert_eq!(
            (results[0].plugin.as_str(), results[0].build.as_str()),
            ("live-location", "wasm")
        );
        assert_eq!(results[0].per_batch_ns, 2_500_000.0);
    }
}
