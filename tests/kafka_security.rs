//! Proves that the host reaches Kafka over TLS with `[kafka.tls]`: its
//! consumers, its producer (dead letters) and its admin client all go
//! through a TLS endpoint in front of a private broker, checking the
//! broker's certificate against the configured CA; a client that trusts
//! another CA, or speaks plaintext, gets nowhere. And that `[kafka.sasl]`
//! authenticates with SCRAM, its password read from a file and never
//! logged: against a Tansu that requires authentication the broker
//! answers the host's SCRAM exchange, and the host reports the refusal
//! (this Tansu build keeps no users, so no SASL login can succeed against
//! it; docs/security.md says so).

mod support;

use std::time::Duration;

use fleethost_core::auth::SecretSource;
use fleethost_core::config::{KafkaSasl, KafkaTls, SaslMechanism};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureProducer;
use support::private_broker::{BrokerOptions, PrivateBroker};
use support::test_tls::test_certificates;
use support::tls_terminator::TlsTerminator;
use support::*;

const PARTITIONS: i32 = 2;

/// The Kafka settings of a client that reaches the broker through the TLS
/// endpoint on `port`, trusting `ca_file`.
fn tls_kafka(port: u16, ca_file: std::path::PathBuf) -> fleethost_core::config::KafkaConfig {
    let mut kafka = fleethost_core::config::KafkaConfig::bootstrap_only(format!("127.0.0.1:{port}"));
    kafka.tls = Some(KafkaTls {
        ca_file: Some(ca_file),
        ..KafkaTls::default()
    });
    kafka
}

/// A private broker reached only through a TLS endpoint of the test's own,
/// which it advertises: the broker, the proxy and the TLS port.
async fn broker_behind_tls() -> (PrivateBroker, TlsTerminator, u16) {
    let tls_port = free_port();
    let broker = PrivateBroker::start_with_options(BrokerOptions {
        advertised_port: Some(tls_port),
        ..BrokerOptions::default()
    });
    let proxy = TlsTerminator::start(tls_port, &broker.bootstrap).await;
    (broker, proxy, tls_port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_consumes_and_dead_letters_over_tls_and_untrusted_brokers_get_nothing() {
    let (_broker, _proxy, tls_port) = broker_behind_tls().await;
    let (topic, group, prefix) = (
        unique("kafka-tls"),
        unique("kafka-tls-group"),
        format!("{}:", unique("kafka-tls")),
    );
    let kafka = tls_kafka(tls_port, test_certificates().ca_file());
    fleethost_core::kafka::admin::ensure_topics(&kafka, std::slice::from_ref(&topic), PARTITIONS)
        .await
        .expect("topics created over TLS");

    // Plaintext to the TLS endpoint: no metadata, whatever the wait.
    let plaintext: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", format!("127.0.0.1:{tls_port}"))
        .create()
        .expect("plaintext client");
    assert!(
        plaintext.fetch_metadata(Some(&topic), Duration::from_secs(3)).is_err(),
        "a plaintext client got metadata from the TLS endpoint"
    );

    let data = fleet_data(40, 2_000, 50, 29);
    let producer: FutureProducer = fleethost_core::kafka::client_config::producer(&kafka)
        .expect("producer settings")
        .create()
        .expect("producer");
    let positions = produce_through(&producer, &topic, &data).await;
    let (valid, bad) = split_positions(&data, &positions);

    let mut config = one_pipeline_config(
        "kafka-tls",
        &topic,
        &group,
        &prefix,
        &["live_location", "test_recorder"],
        &redis_url(),
    );
    config.kafka.bootstrap_servers = kafka.bootstrap_servers.clone();
    config.kafka.tls = kafka.tls.clone();
    let config_file = write_config_file("kafka-tls", &config);
    let mut host = Host::start("kafka-tls", &config_file);
    wait_until("every valid fix processed over TLS", Duration::from_secs(120), || {
        valid.is_subset(&recorded_offsets(&prefix, &topic, PARTITIONS))
    });
    assert_live_positions(&prefix, &newest_per_driver(&data));
    // The bad messages' dead letters went out through the same TLS
    // endpoint, acknowledged before the offsets past them moved.
    wait_until("the dead letters counted", Duration::from_secs(30), || {
        host.log().contains(&format!(" dead_letters={} ", bad.len()))
    });
    let status = host.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");

    // The same host trusting another CA: the broker's certificate fails
    // verification and nothing is consumed.
    let mut config = config.clone();
    config.kafka.tls = Some(KafkaTls {
        ca_file: Some(test_certificates().other_ca_file()),
        ..KafkaTls::default()
    });
    config.pipelines[0].group_id = unique("kafka-tls-untrusted");
    let other_prefix = format!("{}:", unique("kafka-tls-untrusted"));
    config.plugins.clear();
    add_plugins_under(&mut config, &["live_location", "test_recorder"], &other_prefix);
    let mut untrusting = Host::start(
        "kafka-tls-untrusted",
        &write_config_file("kafka-tls-untrusted", &config),
    );
    wait_until(
        "the host reports the failed verification",
        Duration::from_secs(60),
        || untrusting.log().contains("certificate verify failed"),
    );
    assert!(
        recorded_offsets(&other_prefix, &topic, PARTITIONS).is_empty(),
        "a host that does not trust the broker consumed"
    );
    untrusting.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_authenticates_with_scram_and_keeps_the_password_out_of_its_log() {
    let broker = PrivateBroker::start_with_options(BrokerOptions {
        authentication: true,
        ..BrokerOptions::default()
    });
    // A client without SASL is turned away.
    let anonymous: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &broker.bootstrap)
        .create()
        .expect("client");
    assert!(
        anonymous.fetch_metadata(None, Duration::from_secs(3)).is_err(),
        "a client without SASL got metadata from a broker that requires authentication"
    );

    let (topic, group, prefix) = (
        unique("kafka-sasl"),
        unique("kafka-sasl-group"),
        format!("{}:", unique("kafka-sasl")),
    );
    let password = "s3cret-fleethost-scram-password";
    let password_file = write_config_text("kafka-sasl-password", &format!("{password}\n"));
    let mut config = one_pipeline_config("kafka-sasl", &topic, &group, &prefix, &["test_recorder"], &redis_url());
    config.kafka.bootstrap_servers = broker.bootstrap.clone();
    config.kafka.sasl = Some(KafkaSasl {
        mechanism: SaslMechanism::ScramSha512,
        username: "fleethost".into(),
        password: SecretSource::File(password_file),
    });
    let mut host = Host::start("kafka-sasl", &write_config_file("kafka-sasl", &config));
    // The broker took the host's SCRAM exchange and refused the user: a
    // host that sent no SASL would be disconnected without an answer.
    wait_until(
        "the host reports the broker's SASL answer",
        Duration::from_secs(60),
        || {
            let log = host.log();
            log.contains("SASL SCRAM authentication failed") || log.contains("SASL authentication error")
        },
    );
    let log = host.log();
    assert!(!log.contains(password), "the SASL password reached the log");
    host.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_produces_over_tls_with_the_hosts_kafka_section() {
    use futures::{SinkExt, StreamExt};
    use rdkafka::Message;
    let (_broker, _proxy, tls_port) = broker_behind_tls().await;
    let topic = unique("gateway-kafka-tls");
    let kafka = tls_kafka(tls_port, test_certificates().ca_file());
    // The host's config file; the gateway reads only its [kafka] section.
    let mut config = one_pipeline_config(
        "gateway-kafka-tls",
        &topic,
        "unused",
        "unused:",
        &["live_location"],
        &redis_url(),
    );
    config.kafka = kafka.clone();
    let config_file = write_config_file("gateway-kafka-tls", &config);
    let gateway = support::server::Server::start(
        "gateway",
        &[
            "gateway",
            "--kafka-config",
            config_file.to_str().expect("path"),
            "--topic",
            &topic,
            "--partitions",
            "1",
            "--token-key",
            &token_key_arg(),
        ],
    );
    let url = gateway.ws(&format!(
        "/ws/driver?ack=true&access_token={}",
        driver_token("drv-kafka-tls")
    ));
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str()).await.expect("connect");
    let fix = r#"{"driverId":"drv-kafka-tls","lat":12.97,"lng":77.59,"timestamp":1700000000000}"#;
    socket
        .send(tokio_tungstenite::tungstenite::Message::text(fix))
        .await
        .expect("send");
    let ack = tokio::time::timeout(Duration::from_secs(30), socket.next())
        .await
        .expect("an ack within 30 s: the fix was produced over TLS")
        .expect("a frame")
        .expect("a frame");
    assert_eq!(ack.to_text().expect("text"), r#"{"ack":1}"#);

    // Read back through the same TLS endpoint.
    let reader: BaseConsumer = fleethost_core::kafka::client_config::reader(&kafka)
        .expect("reader settings")
        .set("group.id", unique("gateway-kafka-tls-reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("reader");
    reader.subscribe(&[&topic]).expect("subscribe");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let payload = loop {
        assert!(std::time::Instant::now() < deadline, "the fix never arrived on {topic}");
        if let Some(message) = reader.poll(Duration::from_millis(500)) {
            let message = message.expect("message");
            break String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned();
        }
    };
    assert_eq!(payload, fix, "produced as sent, through TLS");
}
