//! Unit tests of `connection.rs`.

use std::time::Instant;

use futures::SinkExt;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DefaultProducerContext, FutureProducer};
use tokio_tungstenite::tungstenite::Message as ClientMessage;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::*;
use crate::access::Access;
use crate::gateway::partitioning::{Partitioner, Partitioning};
use crate::gateway::producing::FixProducer;
use crate::gateway::routes;
use crate::gateway::stats::GatewayStats;
use crate::test_formats;
use fleethost_event::format::PayloadFormat;
use fleethost_event::location::Location;

const TOPIC: &str = "fixes";
/// The harness's idle timeout: longer than any pause of the other tests.
const IDLE_TIMEOUT: Duration = Duration::from_secs(3);

type Client = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A gateway on a loopback port producing to a one-broker mock cluster.
struct Harness {
    cluster: MockCluster<'static, DefaultProducerContext>,
    shared: Arc<GatewayShared>,
    address: std::net::SocketAddr,
}

/// Who the harness admits and how fast.
struct Admission {
    access: Access,
    max_connections: usize,
    fix_quota: Option<governor::Quota>,
}

impl Default for Admission {
    fn default() -> Self {
        Self {
            access: Access::Open,
            max_connections: 1000,
            fix_quota: None,
        }
    }
}

impl Harness {
    async fn start(max_in_flight: usize, producer_settings: &[(&str, &str)]) -> Self {
        Self::start_with(max_in_flight, producer_settings, Admission::default()).await
    }

    async fn start_with(max_in_flight: usize, producer_settings: &[(&str, &str)], admission: Admission) -> Self {
        Self::start_in(PayloadFormat::json(), max_in_flight, producer_settings, admission).await
    }

    /// A harness whose topic is in `format`.
    async fn start_in(
        format: PayloadFormat,
        max_in_flight: usize,
        producer_settings: &[(&str, &str)],
        admission: Admission,
    ) -> Self {
        let cluster = MockCluster::new(1).expect("mock cluster");
        cluster.create_topic(TOPIC, 1, 1).expect("topic");
        let kafka = fleethost_core::config::KafkaConfig::bootstrap_only(cluster.bootstrap_servers());
        let mut config = fleethost_core::kafka::client_config::producer(&kafka).expect("producer config");
        for (key, value) in producer_settings {
            config.set(*key, *value);
        }
        let producer: FutureProducer = config.create().expect("producer");
        let shared = Arc::new(GatewayShared {
            producer: FixProducer::from_parts(
                producer,
                TOPIC,
                Partitioner::new(Partitioning::Driver, 1),
                Arc::new(format),
            ),
            stats: Arc::new(GatewayStats::default()),
            max_in_flight,
            idle_timeout: Some(IDLE_TIMEOUT),
            access: admission.access,
            max_connections: admission.max_connections,
            fix_quota: admission.fix_quota,
            shutdown: CancellationToken::new(),
            connections: TaskTracker::new(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let router = routes::router(shared.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            cluster,
            shared,
            address,
        }
    }

    async fn connect(&self, query: &str) -> Client {
        let url = format!("ws://{}/ws/driver{query}", self.address);
        tokio_tungstenite::connect_async(url.as_str()).await.expect("connect").0
    }

    fn stat(&self, counter: fn(&GatewayStats) -> &std::sync::atomic::AtomicU64) -> u64 {
        counter(&self.shared.stats).load(Ordering::Relaxed)
    }

    /// The first `count` records of the topic, read from its start within
    /// `wait`: (payload, Kafka timestamp).
    fn produced(&self, count: usize, wait: Duration) -> Vec<(Vec<u8>, Option<i64>)> {
        use rdkafka::Message as _;
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", self.cluster.bootstrap_servers())
            .set("group.id", "gateway-unit-reader")
            .create()
            .expect("consumer");
        let mut assignment = rdkafka::TopicPartitionList::new();
        assignment
            .add_partition_offset(TOPIC, 0, rdkafka::Offset::Beginning)
            .expect("partition");
        consumer.assign(&assignment).expect("assign");
        let deadline = Instant::now() + wait;
        let mut records = Vec::new();
        while records.len() < count && Instant::now() < deadline {
            if let Some(message) = consumer.poll(Duration::from_millis(200)) {
                let message = message.expect("a record");
                records.push((
                    message.payload().unwrap_or_default().to_vec(),
                    message.timestamp().to_millis(),
                ));
            }
        }
        records
    }
}

fn fix(sequence: usize) -> ClientMessage {
    ClientMessage::text(format!(r#"{{"driverId":"d1","lat":12.9,"lng":77.6,"seq":{sequence}}}"#))
}

/// The next JSON text frame from the gateway (10 s at most).
async fn next_reply(client: &mut Client) -> serde_json::Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), client.next())
            .await
            .expect("a reply within 10 s")
            .expect("connection open")
            .expect("frame");
        if let ClientMessage::Text(text) = message {
            return serde_json::from_str(text.as_str()).expect("JSON reply");
        }
    }
}

/// Sends every frame, then reads replies until `{"ack": total}`.
async fn send_and_await_ack(
    client: &mut Client,
    frames: impl Iterator<Item = ClientMessage>,
) -> Vec<serde_json::Value> {
    let mut total = 0;
    for frame in frames {
        client.send(frame).await.expect("send");
        total += 1;
    }
    let mut errors = Vec::new();
    loop {
        let reply = next_reply(client).await;
        match reply["ack"].as_u64() {
            Some(ack) if ack == total => return errors,
            Some(_) => {}
            None => errors.push(reply),
        }
    }
}

/// Waits until `condition` holds (10 s at most).
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_after_the_idle_timeout_and_a_talking_one_is_not() {
    let harness = Harness::start(1000, &[("linger.ms", "1")]).await;
    let mut silent = harness.connect("").await;
    let mut talking = harness.connect("?ack=true").await;
    let started = Instant::now();
    // Acks are cumulative: after fix N the ack is N + 1.
    let mut send_one = async |sequence: u64| {
        talking.send(fix(sequence as usize)).await.expect("send");
        let reply = next_reply(&mut talking).await;
        assert_eq!(reply["ack"].as_u64(), Some(sequence + 1), "{reply}");
    };
    for sequence in 0..5 {
        send_one(sequence).await;
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    let close = loop {
        let message = tokio::time::timeout(Duration::from_secs(10), silent.next())
            .await
            .expect("the silent connection is closed")
            .expect("a close frame before the end")
            .expect("frame");
        if let ClientMessage::Close(frame) = message {
            break frame.expect("a close code and reason");
        }
    };
    assert_eq!(u16::from(close.code), 1000);
    assert_eq!(
        close.reason.as_str(),
        "idle: nothing received for 3 s; reconnect to send again"
    );
    assert!(started.elapsed() >= IDLE_TIMEOUT, "not before the timeout");
    // Five seconds in, the talking one is open and served.
    send_one(5).await;
    assert_eq!(harness.stat(|s| &s.idle_closes), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_stops_reading_at_its_in_flight_limit() {
    let harness = Harness::start(5, &[("linger.ms", "1")]).await;
    harness
        .cluster
        .broker_round_trip_time(1, Duration::from_millis(300))
        .expect("slow broker");
    let mut client = harness.connect("?ack=true").await;
    for sequence in 0..30 {
        client.send(fix(sequence)).await.expect("send");
    }
    // The first deliveries take several 300 ms round trips.
    eventually("5 fixes are in flight", || harness.stat(|s| &s.in_flight) == 5).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(harness.stat(|s| &s.frames), 5, "frames read while 5 are in flight");
    let mut acked = 0;
    while acked < 30 {
        let reply = next_reply(&mut client).await;
        acked = reply["ack"]
            .as_u64()
            .unwrap_or_else(|| panic!("only acks expected: {reply}"));
        assert!(harness.stat(|s| &s.in_flight) <= 5);
    }
    assert_eq!(harness.stat(|s| &s.fixes_delivered), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_producer_queue_stops_reading_until_deliveries_make_room() {
    let harness = Harness::start(1000, &[("linger.ms", "1"), ("queue.buffering.max.messages", "3")]).await;
    harness
        .cluster
        .broker_round_trip_time(1, Duration::from_millis(200))
        .expect("slow broker");
    let mut client = harness.connect("?ack=true").await;
    let errors = send_and_await_ack(&mut client, (0..20).map(fix)).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert!(harness.stat(|s| &s.queue_full_waits) > 0, "the queue filled up");
    assert_eq!(harness.stat(|s| &s.fixes_delivered), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undeliverable_fix_is_answered_as_unavailable_and_the_connection_stays_open() {
    let harness = Harness::start(1000, &[("message.timeout.ms", "500")]).await;
    harness.cluster.broker_down(1).expect("broker down");
    let mut client = harness.connect("?ack=true").await;
    let errors = send_and_await_ack(
        &mut client,
        [fix(1), ClientMessage::text(r#"{"driverId":"d1","lat":91,"lng":0}"#)].into_iter(),
    )
    .await;
    let kinds: Vec<(u64, &str)> = errors
        .iter()
        .map(|error| {
            (
                error["frame"].as_u64().unwrap_or(0),
                error["kind"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(kinds.contains(&(1, "unavailable")), "{errors:?}");
    assert!(kinds.contains(&(2, "out-of-range")), "{errors:?}");
    let unavailable = errors.iter().find(|error| error["kind"] == "unavailable");
    let reason = unavailable
        .and_then(|error| error["error"].as_str())
        .unwrap_or_default();
    assert!(reason.contains("timed out"), "names Kafka's reason: {reason}");
    assert_eq!(harness.stat(|s| &s.delivery_failures), 1);

    // The app sends again on the same connection until the broker, back
    // up, takes the fix (librdkafka reconnects with backoff).
    harness.cluster.broker_up(1).expect("broker up");
    let mut frame = 2;
    let delivered = loop {
        frame += 1;
        assert!(frame < 40, "no fix delivered after the broker came back");
        client.send(fix(frame as usize)).await.expect("send after the failure");
        let mut unavailable = false;
        loop {
            let reply = next_reply(&mut client).await;
            unavailable |= reply["frame"] == frame && reply["kind"] == "unavailable";
            if reply["ack"] == frame {
                break;
            }
        }
        if !unavailable {
            break frame;
        }
    };
    assert!(delivered > 2);
    assert_eq!(harness.stat(|s| &s.fixes_delivered), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_settles_in_flight_fixes_then_closes_with_going_away() {
    let harness = Harness::start(1000, &[("linger.ms", "1")]).await;
    harness
        .cluster
        .broker_round_trip_time(1, Duration::from_millis(200))
        .expect("slow broker");
    let mut client = harness.connect("?ack=true").await;
    for sequence in 0..10 {
        client.send(fix(sequence)).await.expect("send");
    }
    eventually("10 frames read", || harness.stat(|s| &s.frames) == 10).await;
    harness.shared.shutdown.cancel();
    let mut acked = 0;
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(10), client.next()).await {
            Ok(Some(Ok(ClientMessage::Text(text)))) => {
                let reply: serde_json::Value = serde_json::from_str(text.as_str()).expect("JSON");
                acked = reply["ack"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("only acks expected: {reply}"));
            }
            Ok(Some(Ok(ClientMessage::Close(frame)))) => break frame,
            other => panic!("expected acks then a close frame, got {other:?}"),
        }
    };
    assert_eq!(acked, 10, "every fix settled before the close");
    assert_eq!(
        close.map(|frame| u16::from(frame.code)),
        Some(close_code::AWAY),
        "close code"
    );
    assert_eq!(harness.stat(|s| &s.fixes_delivered), 10);
}

/// A harness that admits drivers with tokens signed by `secret`.
async fn secured(secret: &fleethost_core::auth::Secret, admission: Admission) -> Harness {
    let access = Access::Tokens(Box::new(fleethost_core::auth::TokenVerifier::shared_secret(secret)));
    Harness::start_with(1000, &[("linger.ms", "1")], Admission { access, ..admission }).await
}

/// Connects with `Authorization: Bearer {token}`.
async fn connect_with_token(harness: &Harness, token: &str) -> Result<Client, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{}/ws/driver?ack=true", harness.address)
        .into_client_request()
        .expect("request");
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().expect("header"));
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(client, _)| client)
}

fn signer(secret: &fleethost_core::auth::Secret) -> fleethost_core::auth::TokenSigner {
    fleethost_core::auth::TokenSigner::shared_secret(secret)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_sends_only_its_own_drivers_fixes_and_ends_with_its_token() {
    use fleethost_core::auth::access_token::DRIVER_AUDIENCE;
    let secret = fleethost_core::auth::Secret::from_bytes(b"gateway-unit-key".to_vec());
    let harness = secured(&secret, Admission::default()).await;
    let token = signer(&secret).sign("d1", DRIVER_AUDIENCE, Duration::from_secs(3));
    let mut client = connect_with_token(&harness, &token)
        .await
        .expect("a valid token connects");
    let other = ClientMessage::text(r#"{"driverId":"d2","lat":12.9,"lng":77.6}"#);
    let errors = send_and_await_ack(&mut client, [fix(1), other, fix(2)].into_iter()).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["kind"], "wrong-driver");
    assert_eq!(errors[0]["frame"], 2);
    let reason = errors[0]["error"].as_str().unwrap_or_default();
    assert!(reason.contains("\"d2\"") && reason.contains("\"d1\""), "{reason}");
    eventually("both own fixes delivered", || harness.stat(|s| &s.fixes_delivered) == 2).await;
    assert_eq!(harness.stat(|s| &s.wrong_driver), 1);
    // The token expires 3 s after it was signed: the gateway closes then.
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(10), client.next()).await {
            Ok(Some(Ok(ClientMessage::Close(frame)))) => break frame,
            Ok(Some(Ok(_))) => {}
            other => panic!("expected a close frame when the token expired, got {other:?}"),
        }
    };
    let close = close.expect("a close frame with a code");
    assert_eq!(u16::from(close.code), close_code::POLICY);
    assert!(close.reason.contains("expired"), "{}", close.reason);
    assert_eq!(harness.stat(|s| &s.token_expiries), 1);
    // Without a token, or with the driver token of another key: 401.
    let refused = connect_with_token(&harness, "not-a-token").await.expect_err("refused");
    assert!(
        matches!(&refused, tokio_tungstenite::tungstenite::Error::Http(response) if response.status() == 401),
        "{refused:?}"
    );
    assert_eq!(harness.stat(|s| &s.refused_tokens), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_faster_than_its_rate_is_slowed_and_loses_nothing() {
    let rate = std::num::NonZeroU32::new(20).expect("non-zero");
    let burst = std::num::NonZeroU32::new(5).expect("non-zero");
    let admission = Admission {
        fix_quota: Some(governor::Quota::per_second(rate).allow_burst(burst)),
        ..Admission::default()
    };
    let harness = Harness::start_with(1000, &[("linger.ms", "1")], admission).await;
    let mut client = harness.connect("?ack=true").await;
    let started = Instant::now();
    let errors = send_and_await_ack(&mut client, (0..45).map(fix)).await;
    let took = started.elapsed();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(harness.stat(|s| &s.fixes_delivered), 45, "every fix delivered");
    assert!(
        harness.stat(|s| &s.rate_limited_waits) >= 30,
        "the limit held the connection back"
    );
    // 5 at once, then 40 at 20 per second: at least 2 s, whatever the machine.
    assert!(
        took >= Duration::from_millis(1900),
        "45 fixes at 20/s took only {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_answered_503_until_one_leaves() {
    let admission = Admission {
        max_connections: 2,
        ..Admission::default()
    };
    let harness = Harness::start_with(1000, &[("linger.ms", "1")], admission).await;
    let first = harness.connect("").await;
    let _second = harness.connect("").await;
    let url = format!("ws://{}/ws/driver", harness.address);
    let refused = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect_err("the third is refused");
    match refused {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            assert_eq!(response.status(), 503);
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).to_string();
            assert!(body.contains("--max-connections"), "{body}");
        }
        other => panic!("expected 503, got {other:?}"),
    }
    assert_eq!(harness.stat(|s| &s.refused_full), 1);
    drop(first);
    eventually("the first connection is gone", || {
        harness.stat(|s| &s.connections_open) == 1
    })
    .await;
    let _third = harness.connect("").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_protobuf_topic_each_fix_is_produced_encoded_and_the_host_reads_it_back() {
    let harness = Harness::start_in(
        test_formats::protobuf("fleethost.v1.Location"),
        1000,
        &[("linger.ms", "1")],
        Admission::default(),
    )
    .await;
    let mut client = harness.connect("?ack=true").await;
    let frames = [
        r#"{"driverId":"d1","lat":12.9,"lng":77.6,"speed":8.5,"state":"south","seq":1}"#,
        r#"{"driver_id":"d1","latitude":12.91,"longitude":77.61,"timestamp":"2026-01-01T00:00:00Z"}"#,
    ];
    let errors = send_and_await_ack(&mut client, frames.iter().map(|frame| ClientMessage::text(*frame))).await;
    assert!(errors.is_empty(), "{errors:?}");
    let produced = harness.produced(2, Duration::from_secs(10));
    assert_eq!(produced.len(), 2, "both fixes produced");
    let format = harness.shared.producer.format();
    for ((payload, timestamp), frame) in produced.iter().zip(frames) {
        assert_eq!(
            payload[..5],
            [0, 0, 0, 0, test_formats::SCHEMA_ID as u8],
            "Confluent framing"
        );
        let bounds = fleethost_event::EventsConfig::default();
        let read = format
            .decode_location(Some(payload), *timestamp, &bounds)
            .expect("the host reads it");
        let sent = Location::decode_within(Some(frame.as_bytes()), *timestamp, &bounds).expect("a fix");
        assert_eq!(read, sent);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_fix_its_topics_format_cannot_take_is_answered_and_not_produced() {
    let harness = Harness::start_in(
        test_formats::avro_requiring_speed(),
        1000,
        &[("linger.ms", "1")],
        Admission::default(),
    )
    .await;
    let mut client = harness.connect("?ack=true").await;
    let frames = [
        ClientMessage::text(r#"{"driverId":"d1","lat":12.9,"lng":77.6}"#),
        ClientMessage::text(r#"{"driverId":"d1","lat":12.9,"lng":77.6,"speed":4.0}"#),
    ];
    let errors = send_and_await_ack(&mut client, frames.into_iter()).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0]["kind"].as_str(), errors[0]["frame"].as_u64()),
        (Some("unencodable"), Some(1))
    );
    let reason = errors[0]["error"].as_str().unwrap_or_default();
    assert!(reason.contains("speed"), "names what the schema lacked: {reason}");
    eventually("the other fix delivered", || harness.stat(|s| &s.fixes_delivered) == 1).await;
    assert_eq!(harness.stat(|s| &s.unencodable), 1);
    assert_eq!(harness.stat(|s| &s.bad_frames), 0, "a valid fix is not a bad frame");
    let produced = harness.produced(2, Duration::from_secs(2));
    assert_eq!(produced.len(), 1, "only the fix with a speed was produced");
}
