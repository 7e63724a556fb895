//! A test's output compared with a golden file (`fleethost test --expect`):
//! equal, or a line diff that says what to change.

use std::path::Path;

use similar::{ChangeTag, TextDiff};

/// Lines of context around each change in the diff.
const CONTEXT_LINES: usize = 2;

/// `None` when `actual` equals the file's text (ignoring a final newline),
/// otherwise a unified diff, `-` the expected lines and `+` the actual ones.
pub fn compare(expected_path: &Path, expected: &str, actual: &str) -> Option<String> {
    if expected.trim_end_matches('\n') == actual.trim_end_matches('\n') {
        return None;
    }
    let diff = TextDiff::from_lines(expected, actual);
    let mut text = format!("--- {} (expected)\n+++ this run\n", expected_path.display());
    for group in diff.grouped_ops(CONTEXT_LINES) {
        for op in group {
            for change in diff.iter_changes(&op) {
                let sign = match change.tag() {
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                    ChangeTag::Equal => ' ',
                };
                let line = change.value().trim_end_matches('\n');
                text.push_str(&format!("{sign}{line}\n"));
            }
        }
        text.push_str("@@\n");
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_outputs_pass_and_a_changed_line_is_shown_both_ways() {
        let path = Path::new("expected.jsonl");
        assert_eq!(compare(path, "a\nb\n", "a\nb"), None);
        let diff = compare(path, "a\nb\nc\n", "a\nB\nc\n").unwrap();
        assert!(diff.contains("-b\n+B\n"), "{diff}");
        assert!(diff.starts_with("--- expected.jsonl (expected)"), "{diff}");
    }
}
