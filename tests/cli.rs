//! Proves the command line's promises that need no broker: the example config
//! is valid and its plugin loads, a bad config or a bad plugin is refused with
//! an error naming what was wrong and where, and `--help` lists the commands.

use std::path::Path;
use std::process::{Command, Output, Stdio};

#[path = "support/native_example.rs"]
mod native_example;

fn fleethost(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleethost"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run fleethost")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch_file(name: &str, contents: &[u8]) -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fleethost-cli");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}

/// The example config with its plugin paths made absolute, so that a copy
/// elsewhere still finds them.
fn example_text() -> String {
    let example = std::fs::read_to_string(example_config()).unwrap();
    example.replace("\"../target/wasm32-wasip2/plugin/", &format!("\"{}/", plugin_dir()))
}

fn plugin_dir() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/wasm32-wasip2/plugin")
        .display()
        .to_string()
}

/// Where the example config's live-location plugin is, in [`example_text`].
fn live_location_path() -> String {
    format!("{}/live_location.wasm", plugin_dir())
}

fn example_config() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/fleethost.toml")
        .display()
        .to_string()
}

#[test]
fn help_lists_every_subcommand() {
    let output = fleethost(&["--help"]);
    assert!(output.status.success());
    let help = text(&output.stdout);
    for command in [
        "run", "check", "simulate", "tail", "gateway", "track", "demo", "reload", "status", "new", "test", "deploy",
        "record",
    ] {
        assert!(help.contains(command), "--help does not list {command}:\n{help}");
    }
}

#[test]
fn example_config_is_valid_and_its_plugins_load() {
    let output = fleethost(&["check", "--config", &example_config()]);
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
    assert!(
        text(&output.stdout).contains("plugin live-location@"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn the_wasm_profiler_writes_a_perf_map_and_an_unknown_one_is_refused() {
    let config = example_config();
    let child = Command::new(env!("CARGO_BIN_EXE_fleethost"))
        .args(["check", "--config", &config])
        .env("FLEETHOST_WASM_PROFILER", "perfmap")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run fleethost");
    let map_path = format!("/tmp/perf-{}.map", child.id());
    let output = child.wait_with_output().expect("fleethost ends");
    assert!(output.status.success(), "stderr: {}", text(&output.stderr));
    let map = std::fs::read_to_string(&map_path);
    let _ = std::fs::remove_file(&map_path);
    let map = map.expect("the perf map of the check's process");
    assert!(
        map.lines().any(|line| line.contains("wasm[")),
        "the map names the plugins' compiled functions: {map:.400}"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_fleethost"))
        .args(["check", "--config", &config])
        .env("FLEETHOST_WASM_PROFILER", "vtune")
        .output()
        .expect("run fleethost");
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("FLEETHOST_WASM_PROFILER=\"vtune\" is not a profiler"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn unknown_key_is_refused_naming_key_and_file() {
    let example = std::fs::read_to_string(example_config()).unwrap();
    let config = scratch_file(
        "typo.toml",
        example.replace("max_events = 1000", "max_event = 1000").as_bytes(),
    );
    let output = fleethost(&["run", "--config", &config]);
    assert!(!output.status.success());
    let error = text(&output.stderr);
    assert!(error.contains(&config) && error.contains("max_event"), "{error}");
}

#[test]
fn a_separate_tracking_server_refuses_the_embedded_store() {
    let output = fleethost(&["track", "--redis-url", "memory:", "--listen", "127.0.0.1:0"]);
    assert!(!output.status.success());
    let error = text(&output.stderr);
    assert!(
        error.contains("--redis-url memory:") && error.contains("fleethost demo"),
        "{error}"
    );
}

#[test]
fn the_demo_refuses_a_given_store_that_does_not_answer() {
    let output = fleethost(&[
        "demo",
        "--config",
        &example_config(),
        "--redis-url",
        "redis://127.0.0.1:1",
        "--data-dir",
        &std::env::temp_dir().join("fleethost-cli-demo").display().to_string(),
    ]);
    assert!(!output.status.success());
    let error = text(&output.stderr);
    assert!(
        error.contains("--redis-url redis://127.0.0.1:1: ") && error.contains("leave the flag out"),
        "{error}"
    );
}

#[test]
fn a_file_that_is_not_a_component_is_refused_at_load() {
    let not_wasm = scratch_file("not-a-plugin.wasm", b"this is not wasm");
    let config = example_text().replace(&live_location_path(), &not_wasm);
    let config = scratch_file("bad-plugin.toml", config.as_bytes());
    let output = fleethost(&["check", "--config", &config]);
    assert!(!output.status.success());
    let error = text(&output.stderr);
    assert!(
        error.contains("plugin live-location") && error.contains("not a valid WebAssembly component"),
        "{error}"
    );
}

#[test]
fn a_plugin_whose_init_fails_is_refused_at_load() {
    let config = example_text().replace("key_prefix = \"\"", "key_prefx = \"oops\"");
    let config = scratch_file("bad-init.toml", config.as_bytes());
    let output = fleethost(&["check", "--config", &config]);
    assert!(!output.status.success());
    let error = text(&output.stderr);
    assert!(error.contains("init failed") && error.contains("key_prefx"), "{error}");
}

#[test]
fn a_prebuilt_plugin_of_the_oldest_supported_wit_version_still_loads() {
    // tests/fixtures/test_recorder-wit-0.1.0.wasm was built against
    // wit/since_v0.1.0 and is never rebuilt: it stands for plugins in the field.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/test_recorder-wit-0.1.0.wasm");
    let config = example_text()
        .replace(&live_location_path(), &fixture.display().to_string())
        .replace("key_prefix = \"\"", "key_prefix = \"fixture:\"");
    let config = scratch_file("wit-0.1.0.toml", config.as_bytes());
    let output = fleethost(&["check", "--config", &config]);
    assert!(output.status.success(), "stderr: {}", text(&output.stderr));
    let listing = text(&output.stdout);
    assert!(
        listing
            .lines()
            .any(|line| line.contains("plugin live-location@") && line.contains("WIT 0.1.0")),
        "the fixture is linked as a 0.1.0 plugin:\n{listing}"
    );
    assert!(
        listing
            .lines()
            .any(|line| line.contains("plugin eta@") && line.contains("WIT 0.3.0")),
        "current plugins are linked as 0.3.0:\n{listing}"
    );
}

/// The example config with every plugin path `native:<name>`, as a file.
fn native_example_config() -> String {
    scratch_file("native.toml", native_example::native_example_text().as_bytes())
}

#[test]
fn a_native_plugin_path_is_refused_naming_the_binary_that_has_native_plugins() {
    let config = native_example_config();
    let output = fleethost(&["check", "--config", &config]);
    assert!(!output.status.success());
    let error = text(&output.stderr);
    assert!(
        error.contains(&config) && error.contains("plugins.") && error.contains(".path"),
        "names the file and the key: {error}"
    );
    assert!(error.contains("fleethost-native"), "names the binary: {error}");
}

#[test]
fn the_gateway_and_the_tracking_server_need_token_keys_or_an_explicit_no_auth() {
    for args in [
        &["gateway", "--listen", "127.0.0.1:0"][..],
        &["track", "--listen", "127.0.0.1:0", "--redis-url", "redis://127.0.0.1:1"],
    ] {
        let output = fleethost(args);
        assert!(!output.status.success(), "{args:?} started without keys");
        let error = text(&output.stderr);
        assert!(error.contains("--token-key") && error.contains("--no-auth"), "{error}");
    }
    let output = fleethost(&["gateway", "--listen", "127.0.0.1:0", "--token-key", "hunter2-secret"]);
    assert!(!output.status.success());
    let error = text(&output.stderr);
    assert!(
        error.contains("file:PATH") && !error.contains("hunter2"),
        "an inline secret is refused unquoted: {error}"
    );
    let output = fleethost(&["gateway", "--token-key", "env:FLEETHOST_CLI_TEST_UNSET_KEY"]);
    let error = text(&output.stderr);
    assert!(
        !output.status.success() && error.contains("FLEETHOST_CLI_TEST_UNSET_KEY"),
        "{error}"
    );
}

#[test]
fn an_admin_interface_needs_tokens_and_the_cli_needs_one() {
    let without_tokens = example_text().replace("tokens = [\"env:FLEETHOST_ADMIN_TOKEN\"]", "");
    assert_ne!(without_tokens, example_text(), "the example config has admin tokens");
    let config = scratch_file("no-admin-tokens.toml", without_tokens.as_bytes());
    let output = fleethost(&["check", "--config", &config]);
    assert!(!output.status.success());
    let error = text(&output.stderr);
    assert!(
        error.contains("`admin.tokens`") && error.contains("admin.listen"),
        "{error}"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_fleethost"))
        .args(["status", "--admin", "127.0.0.1:1"])
        .env_remove("FLEETHOST_ADMIN_TOKEN")
        .output()
        .expect("run fleethost status");
    assert!(!output.status.success());
    let error = text(&output.stderr);
    assert!(
        error.contains("--token-file") && error.contains("FLEETHOST_ADMIN_TOKEN"),
        "{error}"
    );
}

#[test]
fn logs_are_json_lines_on_request_and_never_coloured_into_a_pipe() {
    let run = |format: &str| {
        Command::new(env!("CARGO_BIN_EXE_fleethost"))
            .args(["--log-format", format, "check", "--config", &example_config()])
            .env_remove("NO_COLOR")
            .output()
            .expect("run fleethost")
    };
    let json = run("json");
    assert!(json.status.success(), "stderr: {}", text(&json.stderr));
    let lines: Vec<String> = text(&json.stderr).lines().map(str::to_owned).collect();
    assert!(
        lines.iter().any(|line| line.contains("plugin loaded")),
        "check logs its plugins: {lines:?}"
    );
    for line in &lines {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}"));
        assert!(
            event["level"].is_string() && event["message"].is_string() && event["timestamp"].is_string(),
            "a log object has level, message and timestamp: {line}"
        );
    }
    let plain = run("text");
    assert!(plain.status.success(), "stderr: {}", text(&plain.stderr));
    let stderr = text(&plain.stderr);
    assert!(stderr.contains("plugin loaded"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no colour codes into a pipe: {stderr:?}");
}

#[test]
fn a_replay_refuses_fixture_flags_and_names_what_it_cannot_read() {
    let output = fleethost(&["test", "--replay", "recording", "--fixes", "fixes.jsonl"]);
    assert!(!output.status.success());
    let error = text(&output.stderr);
    assert!(error.contains("--replay") && error.contains("--fixes"), "{error}");

    let missing = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fleethost-cli-no-such-recording");
    let output = fleethost(&["test", "--replay", &missing.display().to_string()]);
    assert!(!output.status.success());
    let error = text(&output.stderr);
    assert!(
        error.contains("cannot read the recording in") && error.contains("recording.json"),
        "{error}"
    );

    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fleethost-cli-bad-recording-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("recording.json"), "{ not json").unwrap();
    let output = fleethost(&["test", "--replay", &dir.display().to_string()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!output.status.success());
    let error = text(&output.stderr);
    assert!(error.contains("recording.json:1:"), "{error}");
}

#[test]
fn a_recording_of_a_host_that_does_not_answer_says_where_it_looked() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fleethost-cli-record-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_fleethost"))
        .args([
            "record",
            "eta",
            "--out",
            &out.display().to_string(),
            "--admin",
            "127.0.0.1:1",
        ])
        .env("FLEETHOST_ADMIN_TOKEN", "cli-test-token")
        .output()
        .expect("run fleethost record");
    assert!(!output.status.success());
    let error = text(&output.stderr);
    assert!(
        error.contains("cannot reach the admin interface at http://127.0.0.1:1/plugins/eta/recording"),
        "{error}"
    );
    assert!(!out.exists(), "nothing was recorded, yet {} was written", out.display());
}

#[test]
fn a_plugin_test_keeps_the_state_of_each_partition_from_batch_to_batch() {
    let fixes: String = (0..3)
        .map(|index| {
            format!(
                "{{\"driver_id\":\"drv-1\",\"lat\":12.9,\"lng\":77.5,\"timestamp\":{}}}\n",
                1_700_000_000_000i64 + index * 1_000
            )
        })
        .collect();
    let fixes = scratch_file("tally-fixes.jsonl", fixes.as_bytes());
    let plugin = format!("{}/test_tally.wasm", plugin_dir());
    let output = fleethost(&["test", &plugin, "--fixes", &fixes, "--batch-size", "1"]);
    let printed = text(&output.stdout);
    assert!(output.status.success(), "{printed}{}", text(&output.stderr));
    let puts: Vec<&str> = printed.lines().filter(|line| line.contains("state.put-many")).collect();
    assert_eq!(puts.len(), 3, "one put per batch:\n{printed}");
    for (line, count) in puts.iter().zip(["1", "2", "3"]) {
        assert!(
            line.contains(&format!("[\"drv-1\",\"{count}\"]")),
            "the count goes on from the batch before: {line}"
        );
    }
}
