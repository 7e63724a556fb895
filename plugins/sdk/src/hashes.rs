//! Reading the state a plugin keeps in kv hashes, one hash per key.
//!
//! A plugin that keeps per-driver state reads every driver of a batch in one
//! `kv::hash_get_all_many` call: one round trip per batch instead of one per
//! driver, which is what keeps a batch of hundreds of drivers fast.

use crate::PluginError;
use crate::kv::{self, FieldValue};

/// The hash of every key, in the order of `keys`, in one round trip; an absent
/// key gives an empty hash.
///
/// Callers pair the hashes with their keys by position, so a reply that does
/// not hold one hash per key is refused as fatal rather than mismatched.
pub fn read_hashes(keys: &[String]) -> Result<Vec<Vec<FieldValue>>, PluginError> {
    one_per_key(keys, kv::hash_get_all_many(keys)?)
}

/// `hashes` if it holds one hash per key.
fn one_per_key(keys: &[String], hashes: Vec<Vec<FieldValue>>) -> Result<Vec<Vec<FieldValue>>, PluginError> {
    if hashes.len() != keys.len() {
        return Err(PluginError::fatal(format!(
            "kv returned {} hashes for {} keys",
            hashes.len(),
            keys.len()
        )));
    }
    Ok(hashes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_must_hold_one_hash_per_key() {
        let keys = vec!["a".to_string(), "b".to_string()];
        let hashes = vec![vec![FieldValue::new("x", 1)], Vec::new()];
        assert_eq!(one_per_key(&keys, hashes.clone()), Ok(hashes));
        assert_eq!(
            one_per_key(&keys, vec![Vec::new()]),
            Err(PluginError::fatal("kv returned 1 hashes for 2 keys"))
        );
    }
}
