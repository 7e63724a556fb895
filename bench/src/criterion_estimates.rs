//! criterion's own result files, which the results table quotes: the median
//! one benchmark function measured in its last run.

use std::path::Path;

/// The median time, ns, in `{function_dir}/new/estimates.json`; `None` when
/// the function has not run (or its file does not read).
pub fn median_ns(function_dir: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(function_dir.join("new/estimates.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["median"]["point_estimate"].as_f64()
}
