//! Debian's Chromium, headless, for the browser tests of the live map:
//! dump a page's DOM after its scripts ran, or save a screenshot.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use super::unique;

/// Debian's Chromium (scripts/test.sh installs it where missing).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How long one Chromium run may take. Headless Chromium now and then never
/// exits after its work (a CI run hung on a screenshot that takes 20 s here),
/// so a run that overstays is killed and started once more.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// Runs Chromium headless on `url` with `arguments`; its stdout.
pub async fn chromium(url: &str, arguments: &[String]) -> String {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/test.sh (ensure_chromium installs Debian's chromium package)"
    );
    for attempt in 1..=2 {
        match run_once(url, arguments).await {
            Some(stdout) => return stdout,
            None => println!("Chromium did not finish within {RUN_TIMEOUT:?} (attempt {attempt}): killed"),
        }
    }
    panic!("Chromium did not finish within {RUN_TIMEOUT:?}, twice");
}

/// One Chromium run in a fresh profile: its stdout, or `None` when it
/// overstayed [`RUN_TIMEOUT`] (and was killed).
async fn run_once(url: &str, arguments: &[String]) -> Option<String> {
    let profile = std::env::temp_dir().join(unique("live-map-chromium"));
    let run = tokio::process::Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=8000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(arguments)
        .arg(url)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let finished = tokio::time::timeout(RUN_TIMEOUT, run).await;
    let _ = std::fs::remove_dir_all(&profile);
    let output = finished.ok()?.expect("run Chromium");
    assert!(
        output.status.success(),
        "Chromium failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The number in `<body … name="N">` of a dumped DOM.
pub fn body_number(dom: &str, name: &str) -> u64 {
    let body = &dom[dom.find("<body ").expect("a <body> in the DOM")..];
    let body = &body[..body.find('>').expect("the <body> tag ends")];
    let start = body
        .find(&format!("{name}=\""))
        .unwrap_or_else(|| panic!("no {name} on <body>: {body}"))
        + name.len()
        + 2;
    let end = start + body[start..].find('"').expect("the value ends");
    body[start..end]
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number: {body}"))
}

/// Saves a 1280×800 screenshot of `url` as `target/test-output/{file}` and
/// checks it is a real picture (over 10 KiB); its path and size.
pub async fn screenshot(url: &str, file: &str) -> (PathBuf, u64) {
    let path = test_output(file);
    let _ = std::fs::remove_file(&path);
    chromium(
        url,
        &[
            format!("--screenshot={}", path.display()),
            "--window-size=1280,800".to_string(),
        ],
    )
    .await;
    let size = std::fs::metadata(&path).map(|meta| meta.len()).unwrap_or(0);
    assert!(size > 10 * 1024, "{} is {size} bytes", path.display());
    println!("screenshot: {} ({size} bytes)", path.display());
    (path, size)
}

/// `target/test-output/{file}` (the folder created), where the tests leave
/// what a person may want to look at, such as screenshots.
pub fn test_output(file: &str) -> PathBuf {
    let output = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the workspace")
        .join("target/test-output");
    std::fs::create_dir_all(&output).expect("target/test-output");
    output.join(file)
}
