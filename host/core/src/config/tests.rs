//! Unit tests of the config: parsing, defaults, validation, serialising.

use super::*;

const MINIMAL: &str = r#"
[kafka]
bootstrap_servers = "127.0.0.1:9092"

[[pipelines]]
name = "live"
group_id = "g"
topics = ["rider-updates"]
plugins = ["live-location"]

[plugins.live-location]
path = "live_location.wasm"
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/fleethost.toml"))
}

#[test]
fn minimal_config_gets_the_documented_defaults() {
    let config = parse(MINIMAL).unwrap();
    let pipeline = &config.pipelines[0];
    assert_eq!(pipeline.batch.max_events, 1000);
    assert_eq!(pipeline.batch.max_wait_ms, 1000);
    assert_eq!(pipeline.failure.retries, 3);
    assert_eq!(pipeline.failure.on_exhausted, OnExhausted::DeadLetter);
    assert_eq!(pipeline.failure.isolation_calls, 64);
    assert_eq!(config.redis.url, "redis://127.0.0.1:6379");
    assert_eq!(config.plugins["live-location"].limits.memory_mib, 64);
    assert_eq!(config.shutdown.timeout_ms, 30_000);
}

#[test]
fn a_zero_shutdown_timeout_is_refused_naming_the_key() {
    let error = parse(&MINIMAL.replace("[[pipelines]]", "[shutdown]\ntimeout_ms = 0\n\n[[pipelines]]"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("`shutdown.timeout_ms`: must be at least 1"), "{error}");
    let config = parse(&MINIMAL.replace("[[pipelines]]", "[shutdown]\ntimeout_ms = 3000\n\n[[pipelines]]")).unwrap();
    assert_eq!(config.shutdown.timeout_ms, 3000);
}

#[test]
fn the_annotated_example_config_is_valid() {
    let example = include_str!("../../../../examples/fleethost.toml");
    Config::parse(example, Path::new("examples/fleethost.toml")).unwrap();
}

#[test]
fn unknown_key_is_rejected_naming_key_and_file() {
    let text = MINIMAL.replace("group_id = \"g\"", "group_id = \"g\"\nmax_evnts = 5");
    let error = parse(&text).unwrap_err().to_string();
    assert!(error.contains("/etc/fleethost.toml"), "{error}");
    assert!(error.contains("max_evnts"), "{error}");
}

#[test]
fn coalescing_is_off_by_default_and_refused_for_a_plugin_writing_rows() {
    assert_eq!(parse(MINIMAL).unwrap().pipelines[0].coalesce, Coalesce::None);
    let coalesced = MINIMAL.replace("group_id = \"g\"", "group_id = \"g\"\ncoalesce = \"latest-per-key\"");
    assert_eq!(parse(&coalesced).unwrap().pipelines[0].coalesce, Coalesce::LatestPerKey);
    let history = coalesced.replace(
        "path = \"live_location.wasm\"",
        "path = \"live_location.wasm\"\ngrants = { sql_write = [\"location_history\"] }",
    );
    let error = parse(&history).unwrap_err().to_string();
    assert!(
        error.contains("`pipelines[0].coalesce`") && error.contains("\"live-location\" may write rows"),
        "{error}"
    );
    let unknown = MINIMAL.replace("group_id = \"g\"", "group_id = \"g\"\ncoalesce = \"newest\"");
    assert!(parse(&unknown).unwrap_err().to_string().contains("latest-per-key"));
}

#[test]
fn unknown_plugin_reference_names_the_key() {
    let text = MINIMAL.replace("plugins = [\"live-location\"]", "plugins = [\"live-locaton\"]");
    let error = parse(&text).unwrap_err().to_string();
    assert!(error.contains("pipelines[0].plugins[0]"), "{error}");
    assert!(error.contains("live-locaton"), "{error}");
}

#[test]
fn host_owned_kafka_property_is_refused() {
    let text = MINIMAL.replace(
        "bootstrap_servers = \"127.0.0.1:9092\"",
        "bootstrap_servers = \"127.0.0.1:9092\"\nproperties = { \"enable.auto.offset.store\" = \"true\" }",
    );
    let error = parse(&text).unwrap_err().to_string();
    assert!(
        error.contains("kafka.properties.\"enable.auto.offset.store\""),
        "{error}"
    );
}

#[test]
fn pipeline_consumer_properties_apply_over_the_shared_ones() {
    let text = MINIMAL
        .replace(
            "bootstrap_servers = \"127.0.0.1:9092\"",
            "bootstrap_servers = \"127.0.0.1:9092\"\nconsumer_properties = { \"fetch.wait.max.ms\" = \"500\", \"fetch.min.bytes\" = \"1000\" }",
        )
        .replace(
            "group_id = \"g\"",
            "group_id = \"g\"\nconsumer_properties = { \"fetch.wait.max.ms\" = \"10\" }",
        );
    let config = parse(&text).unwrap();
    let client = crate::kafka::client_config::consumer(&config.kafka, &config.pipelines[0]).unwrap();
    assert_eq!(client.get("fetch.wait.max.ms"), Some("10"));
    assert_eq!(client.get("fetch.min.bytes"), Some("1000"));
    assert_eq!(client.get("group.id"), Some("g"));
    assert_eq!(client.get("queued.min.messages"), Some("5000"), "the host's default");
    assert_eq!(client.get("fetch.queue.backoff.ms"), Some("10"), "the host's default");
    assert_eq!(
        client.get("queued.max.messages.kbytes"),
        Some("2048"),
        "the host's default"
    );
}

#[test]
fn host_owned_pipeline_consumer_property_is_refused() {
    let text = MINIMAL.replace(
        "group_id = \"g\"",
        "group_id = \"g\"\nconsumer_properties = { \"group.id\" = \"other\" }",
    );
    let error = parse(&text).unwrap_err().to_string();
    assert!(
        error.contains("pipelines[0].consumer_properties.\"group.id\""),
        "{error}"
    );
    assert!(error.contains("/etc/fleethost.toml"), "{error}");
}

#[test]
fn nice_above_19_is_refused_and_defaults_to_0() {
    let with_nice = |nice: &str| {
        parse(&MINIMAL.replace(
            "plugins = [\"live-location\"]",
            &format!("plugins = [\"live-location\"]\nnice = {nice}"),
        ))
    };
    assert_eq!(parse(MINIMAL).unwrap().pipelines[0].nice, 0);
    assert_eq!(with_nice("10").unwrap().pipelines[0].nice, 10);
    let error = with_nice("20").unwrap_err().to_string();
    assert!(error.contains("pipelines[0].nice"), "{error}");
    assert!(error.contains("between 0 and 19"), "{error}");
    let negative = with_nice("-5").unwrap_err().to_string();
    assert!(negative.contains("nice"), "{negative}");
}

#[test]
fn event_bounds_get_their_defaults_and_can_be_set() {
    let events = &parse(MINIMAL).unwrap().pipelines[0].events;
    assert_eq!(events, &EventsConfig::default());
    assert_eq!(
        (events.max_future_skew_ms, events.max_age_ms, events.max_speed_mps),
        (300_000, 0, 100.0)
    );
    let text = MINIMAL.replace(
        "plugins = [\"live-location\"]",
        "plugins = [\"live-location\"]\nevents = { max_future_skew_ms = 1000, max_age_ms = 60000, max_speed_mps = 40 }",
    );
    let events = &parse(&text).unwrap().pipelines[0].events;
    assert_eq!(
        (events.max_future_skew_ms, events.max_age_ms, events.max_speed_mps),
        (1000, 60_000, 40.0)
    );
}

#[test]
fn unknown_event_bound_is_refused_naming_key_and_file() {
    let text = MINIMAL.replace(
        "plugins = [\"live-location\"]",
        "plugins = [\"live-location\"]\nevents = { max_future_skew_s = 300 }",
    );
    let error = parse(&text).unwrap_err().to_string();
    assert!(error.contains("/etc/fleethost.toml"), "{error}");
    assert!(error.contains("max_future_skew_s"), "{error}");
}

#[test]
fn a_speed_limit_that_is_not_positive_is_refused() {
    for bad in ["0", "-5", "nan", "inf"] {
        let text = MINIMAL.replace(
            "plugins = [\"live-location\"]",
            &format!("plugins = [\"live-location\"]\nevents = {{ max_speed_mps = {bad} }}"),
        );
        let error = parse(&text).unwrap_err().to_string();
        assert!(error.contains("pipelines[0].events.max_speed_mps"), "{bad}: {error}");
        assert!(error.contains("/etc/fleethost.toml"), "{bad}: {error}");
    }
}

#[test]
fn zero_batch_size_is_refused() {
    let text = MINIMAL.replace(
        "plugins = [\"live-location\"]",
        "plugins = [\"live-location\"]\nbatch = { max_events = 0 }",
    );
    let error = parse(&text).unwrap_err().to_string();
    assert!(error.contains("pipelines[0].batch.max_events"), "{error}");
}

#[test]
fn empty_grant_prefix_is_refused() {
    let text = format!("{MINIMAL}grants = {{ kv_write = [\"\"] }}\n");
    let error = parse(&text).unwrap_err().to_string();
    assert!(error.contains("plugins.live-location.grants.kv_write"), "{error}");
}

#[test]
fn relative_plugin_path_is_resolved_against_the_config_folder() {
    let dir = std::env::temp_dir().join(format!("fleethost-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("fleethost.toml");
    std::fs::write(&file, MINIMAL).unwrap();
    let config = Config::load(&file).unwrap();
    assert_eq!(config.plugins["live-location"].path, dir.join("live_location.wasm"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Whether a `native:` path can run is the runtime's question (its
/// registry); the config keeps it as written, unresolved.
#[test]
fn a_native_plugin_path_is_kept_as_written() {
    let text = MINIMAL.replace("live_location.wasm", "native:live-location");
    let dir = std::env::temp_dir().join(format!("fleethost-native-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("fleethost.toml");
    std::fs::write(&file, &text).unwrap();
    let config = Config::load(&file).unwrap();
    assert_eq!(config.plugins["live-location"].path, Path::new("native:live-location"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn only_native_prefixed_paths_name_a_native_plugin() {
    assert_eq!(super::native_name(std::path::Path::new("native:eta")), Some("eta"));
    assert_eq!(super::native_name(std::path::Path::new("plugins/eta.wasm")), None);
    assert_eq!(super::native_name(std::path::Path::new("/x/native:eta")), None);
}

#[test]
fn a_serialised_config_reads_back_as_the_same_config() {
    let example = include_str!("../../../../examples/fleethost.toml");
    let config = Config::parse(example, Path::new("examples/fleethost.toml")).unwrap();
    let written = toml::to_string(&config).expect("a config serialises");
    let read_back = parse(&written).unwrap_or_else(|error| panic!("{error}\n{written}"));
    assert_eq!(toml::to_string(&read_back).expect("serialises"), written);
    assert_eq!(read_back.pipelines.len(), config.pipelines.len());
    assert_eq!(read_back.plugins, config.plugins);
}

#[test]
fn a_config_built_in_code_is_a_valid_file_with_the_defaults() {
    let mut config = Config::new("127.0.0.1:9092");
    config
        .pipelines
        .push(PipelineConfig::new("live", "g", &["rider-updates"], &["live-location"]));
    config
        .plugins
        .insert("live-location".into(), PluginConfig::new("live_location.wasm"));
    let read_back = parse(&toml::to_string(&config).expect("serialises")).unwrap();
    let defaults = parse(MINIMAL).unwrap();
    assert_eq!(
        toml::to_string(&read_back).expect("serialises"),
        toml::to_string(&defaults).expect("serialises")
    );
}

/// MINIMAL with `section` added after `[kafka]`'s keys.
fn with_kafka(section: &str) -> String {
    MINIMAL.replace(
        "bootstrap_servers = \"127.0.0.1:9092\"\n",
        &format!("bootstrap_servers = \"127.0.0.1:9092\"\n{section}\n"),
    )
}

#[test]
fn a_secret_in_the_kafka_properties_is_refused_without_repeating_it() {
    let error = parse(&with_kafka("properties = { \"sasl.password\" = \"hunter2\" }"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("kafka.properties.\"sasl.password\""), "{error}");
    assert!(error.contains("kafka.sasl.password"), "says where it goes: {error}");
    assert!(!error.contains("hunter2"), "the secret is not repeated: {error}");
}

#[test]
fn plain_sasl_without_tls_is_refused() {
    let error = parse(&with_kafka(
        "sasl = { mechanism = \"PLAIN\", username = \"u\", password = \"env:PATH\" }",
    ))
    .unwrap_err()
    .to_string();
    assert!(error.contains("kafka.sasl.mechanism"), "{error}");
}

#[test]
fn a_security_property_beside_the_tls_section_is_refused() {
    let error = parse(&with_kafka(
        "tls = {}\nproperties = { \"security.protocol\" = \"PLAINTEXT\" }",
    ))
    .unwrap_err()
    .to_string();
    assert!(error.contains("kafka.properties.\"security.protocol\""), "{error}");
}

#[test]
fn an_unreadable_sasl_password_is_refused_naming_the_key() {
    let error = parse(&with_kafka(
        "sasl = { mechanism = \"SCRAM-SHA-512\", username = \"u\", password = \"env:FLEETHOST_TEST_UNSET_VARIABLE\" }",
    ))
    .unwrap_err()
    .to_string();
    assert!(error.contains("kafka.sasl.password"), "{error}");
    assert!(error.contains("FLEETHOST_TEST_UNSET_VARIABLE"), "{error}");
}

#[test]
fn tls_and_sasl_become_librdkafka_settings_with_the_password_read_from_its_source() {
    let dir = std::env::temp_dir().join(format!("fleethost-kafka-security-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, password) = (dir.join("ca.pem"), dir.join("password"));
    std::fs::write(&ca, "not checked here").unwrap();
    std::fs::write(&password, "p4ss\n").unwrap();
    let config = parse(&with_kafka(&format!(
        "tls = {{ ca_file = {ca:?} }}\nsasl = {{ mechanism = \"SCRAM-SHA-256\", username = \"fleet\", password = \"file:{}\" }}",
        password.display()
    )))
    .unwrap();
    let client = crate::kafka::client_config::producer(&config.kafka).unwrap();
    assert_eq!(client.get("security.protocol"), Some("SASL_SSL"));
    assert_eq!(client.get("ssl.ca.location"), Some(ca.to_str().unwrap()));
    assert_eq!(client.get("ssl.endpoint.identification.algorithm"), Some("https"));
    assert_eq!(client.get("sasl.mechanism"), Some("SCRAM-SHA-256"));
    assert_eq!(client.get("sasl.username"), Some("fleet"));
    assert_eq!(
        client.get("sasl.password"),
        Some("p4ss"),
        "read from the file, newline dropped"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn schema_files_are_found_beside_a_config_file_named_by_a_relative_path() {
    // Unit tests run in host/core: the workspace's target folder is ../../target.
    let folder = format!("../../target/config-format-{}", std::process::id());
    std::fs::create_dir_all(format!("{folder}/schemas")).unwrap();
    std::fs::copy("../../schemas/location.avsc", format!("{folder}/schemas/location.avsc")).unwrap();
    let text = format!(
        "{MINIMAL}\n[topics.\"rider-updates\".format]\nencoding = \"avro\"\nframing = \"bare\"\nschema = \"schemas/location.avsc\"\n"
    );
    let path = Path::new(&folder).join("fleethost.toml");
    std::fs::write(&path, text).unwrap();
    let loaded = Config::load(&path);
    let compiled = loaded
        .as_ref()
        .ok()
        .map(|config| config.payload_format("rider-updates").map(|format| format.encoding()));
    let from_the_file_alone = Config::load_topic_format(&path, "rider-updates");
    std::fs::remove_dir_all(&folder).unwrap();
    let config = loaded.expect("the schema is found beside the file");
    assert_eq!(compiled.unwrap().unwrap(), Encoding::Avro);
    assert_eq!(from_the_file_alone.unwrap().encoding(), Encoding::Avro);
    assert_eq!(config.payload_format("other").unwrap().encoding(), Encoding::Json);
}
