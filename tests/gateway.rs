//! Proves `fleethost gateway`: 1,000 driver apps connected at once each get
//! every valid fix into Kafka byte for byte, keyed by driver id and in order,
//! and an error frame naming what was wrong for every bad frame, without
//! losing their connection; region partitioning puts the south in partition 0
//! and nothing else there; SIGTERM closes the connections (1001) and exits 0.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use support::*;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A `fleethost gateway` child process (its log is shown when a test fails).
struct Gateway(server::Server);

impl Gateway {
    /// Starts the gateway on a free port and waits until `/health` answers.
    fn start(topic: &str, partitioning: &str, partitions: i32) -> Self {
        let bootstrap = bootstrap();
        let partitions = partitions.to_string();
        Self(server::Server::start(
            "gateway",
            &[
                "gateway",
                "--bootstrap-servers",
                &bootstrap,
                "--topic",
                topic,
                "--partitions",
                &partitions,
                "--partitioning",
                partitioning,
                "--status-interval",
                "1",
                "--token-key",
                &token_key_arg(),
            ],
        ))
    }

    /// `/ws/driver` without a token, with `query` (`?…` or empty).
    fn url(&self, query: &str) -> String {
        self.0.ws(&format!("/ws/driver{query}"))
    }

    /// `/ws/driver` with driver `driver_id`'s token and `query` (`&…` or empty).
    fn url_for(&self, driver_id: &str, query: &str) -> String {
        self.url(&format!("?access_token={}{query}", driver_token(driver_id)))
    }
}

impl std::ops::Deref for Gateway {
    type Target = server::Server;

    fn deref(&self) -> &server::Server {
        &self.0
    }
}

impl std::ops::DerefMut for Gateway {
    fn deref_mut(&mut self) -> &mut server::Server {
        &mut self.0
    }
}

/// Raises this process's soft open-files limit to the hard limit: the test
/// holds a thousand sockets.
fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on a struct we own.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    assert!(
        limit.rlim_cur >= 2500,
        "the hard open-files limit ({}) is too low",
        limit.rlim_cur
    );
}

/// One frame a driver app sends, and what the gateway must make of it.
#[derive(Debug, Clone)]
enum Frame {
    /// A valid fix: reaches Kafka as these bytes under this key.
    Fix { key: String, payload: String },
    /// A bad text frame: answered with this kind and an error containing `names`.
    Bad {
        text: String,
        kind: &'static str,
        names: &'static str,
    },
    /// A binary frame: answered with `binary-frame`.
    Binary,
}

/// A fix in one of the seed systems' spellings, with odd spacing and
/// trailing zeros that a re-serialisation would not keep.
fn fix_payload(driver: usize, sequence: usize, region: Option<&str>) -> (String, String) {
    let latitude = 12.9 + (driver % 100) as f64 * 0.001 + sequence as f64 * 0.0001;
    let longitude = 77.5 + (driver / 100) as f64 * 0.001;
    let timestamp = 1_700_000_000_000i64 + sequence as i64 * 1000;
    let region = region.map_or(String::new(), |region| format!(r#","state":"{region}""#));
    match driver % 4 {
        0 => {
            let key = format!("drv-{driver}");
            let payload = format!(
                r#"{{"driverId":"{key}","latitude":{latitude:.7}0,"longitude":{longitude:.7},"timestamp":{timestamp},"seq":{sequence}{region}}}"#
            );
            (key, payload)
        }
        1 => {
            let key = format!("drv-{driver}");
            let payload = format!(
                r#"{{ "driver_id" : "{key}", "lat" : {latitude}, "lng" : {longitude}, "seq": {sequence}{region} }}"#
            );
            (key, payload)
        }
        2 => {
            // A numeric id: the key is its text.
            let key = (900_000 + driver).to_string();
            let payload = format!(
                r#"{{"seq":{sequence},"car_id":{key},"lon":{longitude},"lat":{latitude},"speed":7.50,"timestamp":"2023-11-14T22:13:{:02}Z"{region}}}"#,
                sequence % 60
            );
            (key, payload)
        }
        _ => {
            let key = format!("rider-{driver}");
            let payload = format!(
                "{{\"rider_id\":\"{key}\",\n\"lat\":\"{latitude}\",\"longitude\":{longitude},\"seq\":{sequence}{region}}}"
            );
            (key, payload)
        }
    }
}

/// A bad frame of one of the kinds a driver app can get wrong.
fn bad_frame(driver: usize, variant: usize) -> Frame {
    let (text, kind, names) = match variant % 6 {
        0 => (
            format!(r#"{{"driverId":"drv-{driver}","lat":95.5,"lng":77.6}}"#),
            "out-of-range",
            "field `lat` = 95.5 is out of range [-90, 90]",
        ),
        1 => (format!("{{not json drv-{driver}"), "not-json", "not a JSON object"),
        2 => (
            r#"{"lat":12.9,"lng":77.6}"#.to_string(),
            "missing-field",
            "missing driver id",
        ),
        3 => (
            format!(r#"{{"driverId":"drv-{driver}","lat":12.9,"longitude":-181}}"#),
            "out-of-range",
            "`longitude` = -181",
        ),
        // A phone whose clock is a century ahead: kept out, it would pin the driver.
        4 => (
            format!(r#"{{"driverId":"drv-{driver}","lat":12.9,"lng":77.6,"timestamp":"2126-01-01T00:00:00Z"}}"#),
            "future-timestamp",
            "the limit is 300000 ms",
        ),
        _ => return Frame::Binary,
    };
    Frame::Bad { text, kind, names }
}

/// A driver's frames: five fixes with two bad frames between them.
fn driver_frames(driver: usize) -> Vec<Frame> {
    let fix = |sequence| {
        let (key, payload) = fix_payload(driver, sequence, None);
        Frame::Fix { key, payload }
    };
    vec![
        fix(0),
        fix(1),
        bad_frame(driver, driver),
        fix(2),
        fix(3),
        bad_frame(driver, driver + 1),
        fix(4),
    ]
}

/// What one driver app heard back.
#[derive(Debug, Default)]
struct Replies {
    /// `frame` → the error frame's JSON.
    errors: BTreeMap<u64, serde_json::Value>,
    /// The highest ack, when acks were asked for.
    acked: u64,
}

/// Reads replies until `done` says so (60 s at most).
async fn read_replies(socket: &mut Socket, replies: &mut Replies, done: impl Fn(&Replies) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done(replies) {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no further reply within 60 s; heard {replies:?}"))
            .unwrap_or_else(|| panic!("the gateway closed the connection; heard {replies:?}"))
            .expect("WebSocket frame");
        let Message::Text(text) = message else {
            continue;
        };
        let reply: serde_json::Value = serde_json::from_str(text.as_str()).expect("replies are JSON");
        if let Some(ack) = reply["ack"].as_u64() {
            replies.acked = replies.acked.max(ack);
        } else {
            let frame = reply["frame"]
                .as_u64()
                .unwrap_or_else(|| panic!("no frame number in {reply}"));
            assert!(
                replies.errors.insert(frame, reply).is_none(),
                "two replies for frame {frame}"
            );
        }
    }
}

/// Sends `frames` and checks every bad one was answered with its kind and
/// frame number; with `ack`, waits until every frame is acknowledged.
async fn drive(mut socket: Socket, frames: &[Frame], ack: bool) -> Socket {
    for frame in frames {
        let message = match frame {
            Frame::Fix { payload, .. } => Message::text(payload.clone()),
            Frame::Bad { text, .. } => Message::text(text.clone()),
            Frame::Binary => Message::binary(vec![1u8, 2, 3]),
        };
        socket.send(message).await.expect("send a frame");
    }
    let bad_count = frames
        .iter()
        .filter(|frame| !matches!(frame, Frame::Fix { .. }))
        .count();
    let total = frames.len() as u64;
    let mut replies = Replies::default();
    read_replies(&mut socket, &mut replies, |replies| {
        replies.errors.len() >= bad_count && (!ack || replies.acked >= total)
    })
    .await;
    for (index, frame) in frames.iter().enumerate() {
        let number = index as u64 + 1;
        let reply = replies.errors.get(&number);
        match frame {
            Frame::Fix { .. } => assert!(reply.is_none(), "a valid fix was answered: {reply:?}"),
            Frame::Bad { kind, names, .. } => {
                let reply = reply.unwrap_or_else(|| panic!("no error frame for bad frame {number}"));
                assert_eq!(reply["kind"], *kind, "{reply}");
                let error = reply["error"].as_str().unwrap_or_default();
                assert!(
                    error.contains(names),
                    "error of frame {number} does not name `{names}`: {reply}"
                );
            }
            Frame::Binary => {
                let reply = reply.unwrap_or_else(|| panic!("no error frame for binary frame {number}"));
                assert_eq!(reply["kind"], "binary-frame", "{reply}");
            }
        }
    }
    if ack {
        assert_eq!(replies.acked, total, "acked through the last frame");
    }
    socket
}

/// A Kafka record as read back, with where it landed.
#[derive(Debug, Clone)]
struct Record {
    partition: i32,
    offset: i64,
    key: String,
    payload: String,
}

/// Every record of `topic` (all partitions from the beginning), once
/// `expected` arrived and `settle` passed without more.
fn read_records(topic: &str, expected: usize, settle: Duration) -> Vec<Record> {
    read_all(topic, expected, settle)
        .into_iter()
        .map(|message| Record {
            partition: message.partition,
            offset: message.offset,
            key: message.key.unwrap_or_default(),
            payload: message.payload.unwrap_or_default(),
        })
        .collect()
}

/// Per key, the payloads in partition order; and each key's partitions.
fn by_key(records: &[Record]) -> (BTreeMap<String, Vec<String>>, BTreeMap<String, BTreeSet<i32>>) {
    let mut sorted = records.to_vec();
    sorted.sort_by_key(|record| (record.partition, record.offset));
    let mut payloads: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut partitions: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    for record in sorted {
        partitions
            .entry(record.key.clone())
            .or_default()
            .insert(record.partition);
        payloads.entry(record.key).or_default().push(record.payload);
    }
    (payloads, partitions)
}

/// Per key, the valid fixes' payloads in the order they were sent.
fn sent_by_key<'a>(frames: impl Iterator<Item = &'a Frame>) -> BTreeMap<String, Vec<String>> {
    let mut sent: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for frame in frames {
        if let Frame::Fix { key, payload } = frame {
            sent.entry(key.clone()).or_default().push(payload.clone());
        }
    }
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_drivers_at_once_get_every_fix_into_kafka_and_every_bad_frame_answered() {
    const DRIVERS: usize = 1000;
    raise_open_files_limit();
    let topic = unique("gateway-fleet");
    // The gateway creates the topic.
    let mut gateway = Gateway::start(&topic, "driver", 4);
    let plans: Arc<Vec<Vec<Frame>>> = Arc::new((0..DRIVERS).map(driver_frames).collect());

    // Everybody connects, then everybody sends once all are connected.
    let connected = Arc::new(tokio::sync::Barrier::new(DRIVERS + 1));
    let go = Arc::new(tokio::sync::Barrier::new(DRIVERS + 1));
    let mut drivers = Vec::with_capacity(DRIVERS);
    for driver in 0..DRIVERS {
        // Half the apps ask for acks; the others learn nothing about valid fixes.
        let ack = driver % 2 == 0;
        let url = gateway.url_for(&fix_payload(driver, 0, None).0, if ack { "&ack=true" } else { "" });
        let (plans, connected, go) = (plans.clone(), connected.clone(), go.clone());
        drivers.push(tokio::spawn(async move {
            let (socket, _) = tokio_tungstenite::connect_async(url.as_str())
                .await
                .unwrap_or_else(|error| panic!("driver {driver} cannot connect: {error}"));
            connected.wait().await;
            go.wait().await;
            let mut socket = drive(socket, &plans[driver], ack).await;
            socket.close(None).await.expect("close");
            let _ = tokio::time::timeout(Duration::from_secs(10), async {
                while let Some(Ok(_)) = socket.next().await {}
            })
            .await;
        }));
    }
    tokio::time::timeout(Duration::from_secs(120), connected.wait())
        .await
        .expect("1000 drivers connect within 120 s");
    let log_says_all_connected = format!("connections={DRIVERS} ");
    wait_until(
        "the gateway counts 1000 open connections",
        Duration::from_secs(30),
        || gateway.log().contains(&log_says_all_connected),
    );
    let rss_kib = proc_status_kib(gateway.pid(), "VmRSS");
    let started = Instant::now();
    go.wait().await;
    for driver in drivers {
        driver.await.expect("driver task");
    }
    let elapsed = started.elapsed();
    let frames: usize = plans.iter().map(Vec::len).sum();
    eprintln!(
        "gateway: {DRIVERS} connections open at once (gateway RSS {} MiB); {frames} frames sent and every reply \
         received in {:.2} s ({:.0} frames/s)",
        rss_kib / 1024,
        elapsed.as_secs_f64(),
        frames as f64 / elapsed.as_secs_f64()
    );

    let sent = sent_by_key(plans.iter().flatten());
    let expected: usize = sent.values().map(Vec::len).sum();
    assert_eq!(expected, DRIVERS * 5);
    let records = read_records(&topic, expected, Duration::from_secs(3));
    let (received, partitions) = by_key(&records);
    assert_eq!(records.len(), expected, "exactly the valid fixes, once each");
    for (key, payloads) in &sent {
        assert_eq!(
            received.get(key),
            Some(payloads),
            "driver {key}: payloads, bytes and order"
        );
        assert_eq!(partitions[key].len(), 1, "driver {key} in one partition");
    }
    let used: BTreeSet<i32> = records.iter().map(|record| record.partition).collect();
    assert_eq!(used.len(), 4, "drivers spread over every partition: {used:?}");

    // SIGTERM with drivers connected: they are told 1001 "going away", exit 0.
    let mut waiting = Vec::new();
    for waiting_driver in 0..10 {
        let (socket, _) = tokio_tungstenite::connect_async(gateway.url_for(&format!("waiting-{waiting_driver}"), ""))
            .await
            .expect("connect");
        waiting.push(socket);
    }
    let status = tokio::task::block_in_place(|| gateway.terminate(Duration::from_secs(60)));
    assert!(status.success(), "gateway exit status {status:?}\n{}", gateway.log());
    for mut socket in waiting {
        let close = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match socket.next().await {
                    Some(Ok(Message::Close(frame))) => return frame.map(|frame| frame.code),
                    Some(Ok(_)) => continue,
                    _ => return None,
                }
            }
        })
        .await
        .expect("the connection ends");
        assert_eq!(close, Some(CloseCode::Away), "close code at shutdown");
    }
    let log = gateway.log();
    assert!(log.contains("gateway stopped"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_partitioning_keeps_the_south_in_partition_0_and_each_driver_in_order() {
    const DRIVERS: usize = 60;
    const FIXES: usize = 20;
    let topic = unique("gateway-region");
    create_topic(&topic, 4).await;
    let gateway = Gateway::start(&topic, "region", 4);
    let regions = [Some("south"), Some("north"), Some("east"), None];
    let region_of = |driver: usize| regions[driver % regions.len()];
    let plans: Vec<Vec<Frame>> = (0..DRIVERS)
        .map(|driver| {
            (0..FIXES)
                .map(|sequence| {
                    let (key, payload) = fix_payload(driver, sequence, region_of(driver));
                    Frame::Fix { key, payload }
                })
                .collect()
        })
        .collect();
    let mut drivers = Vec::new();
    for frames in plans.clone() {
        let Frame::Fix { key, .. } = &frames[0] else {
            unreachable!("every plan is fixes")
        };
        let url = gateway.url_for(key, "&ack=1");
        drivers.push(tokio::spawn(async move {
            let (socket, _) = tokio_tungstenite::connect_async(url.as_str()).await.expect("connect");
            let mut socket = drive(socket, &frames, true).await;
            socket.close(None).await.expect("close");
        }));
    }
    for driver in drivers {
        driver.await.expect("driver task");
    }
    let sent = sent_by_key(plans.iter().flatten());
    let records = read_records(&topic, DRIVERS * FIXES, Duration::from_secs(2));
    assert_eq!(records.len(), DRIVERS * FIXES);
    let (received, partitions) = by_key(&records);
    let mut others_used = BTreeSet::new();
    for (driver, frames) in plans.iter().enumerate() {
        let Some(Frame::Fix { key, .. }) = frames.first() else {
            unreachable!("every plan starts with a fix")
        };
        assert_eq!(
            received.get(key),
            sent.get(key),
            "driver {key}: payloads in the order sent"
        );
        let used = &partitions[key];
        if region_of(driver) == Some("south") {
            assert_eq!(used, &BTreeSet::from([0]), "south driver {key}");
        } else {
            assert_eq!(used.len(), 1, "driver {key} in one partition: {used:?}");
            assert!(!used.contains(&0), "driver {key} outside the south in partition 0");
            others_used.extend(used);
        }
    }
    assert_eq!(
        others_used,
        BTreeSet::from([1, 2, 3]),
        "the other drivers spread over the remaining partitions"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_drives_its_fleet_through_the_gateway() {
    // 4 s at 1000 fixes/s: with --seed 42 some of the 50 drivers get an
    // order in that time (the first idle is drawn from 0-30 s per driver).
    const DRIVERS: usize = 50;
    const FIXES: usize = 4000;
    let (topic, orders_topic) = (unique("gateway-sim-fixes"), unique("gateway-sim-orders"));
    let gateway = Gateway::start(&topic, "driver", 4);
    let log = write_config_text("gateway-simulator", "").with_extension("log");
    let output = Command::new(env!("CARGO_BIN_EXE_fleethost"))
        .args([
            "simulate",
            "--bootstrap-servers",
            &bootstrap(),
            "--gateway",
            &gateway.url(""),
            "--driver-token-key",
            &token_key_arg(),
        ])
        .args(["--orders-topic", &orders_topic, "--drivers", &DRIVERS.to_string()])
        .args(["--rate", "1000", "--count", &FIXES.to_string(), "--seed", "42"])
        .env("NO_COLOR", "1")
        .stderr(std::fs::File::create(&log).expect("log file"))
        .status()
        .expect("run fleethost simulate");
    let simulator_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(output.success(), "simulate failed:\n{simulator_log}");
    assert!(
        simulator_log.contains(&format!("fixes_sent={FIXES} fixes_acknowledged={FIXES}")),
        "every fix acknowledged through the gateway:\n{simulator_log}"
    );

    // Every fix reached the gateway's topic, keyed by its driver, each
    // driver's in event-time order; the orders went to Kafka directly.
    let records = read_records(&topic, FIXES, Duration::from_secs(2));
    assert_eq!(records.len(), FIXES);
    let (received, _) = by_key(&records);
    assert_eq!(received.len(), DRIVERS);
    for (key, payloads) in &received {
        let times: Vec<i64> = payloads
            .iter()
            .map(|payload| {
                let fix =
                    fleethost_event::location::Location::decode(Some(payload.as_bytes()), None).expect("a valid fix");
                assert_eq!(&fix.driver_id, key);
                fix.timestamp_ms
            })
            .collect();
        assert!(
            times.windows(2).all(|pair| pair[0] < pair[1]),
            "driver {key} in order: {times:?}"
        );
    }
    let orders = read_all(&orders_topic, 1, Duration::from_secs(1));
    assert!(
        orders
            .iter()
            .any(|order| order.payload.as_deref().unwrap_or("").contains("order_assigned")),
        "order events produced directly"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_app_needs_a_valid_token_and_sends_only_its_own_fixes() {
    use fleethost_core::auth::access_token::{Claims, DRIVER_AUDIENCE};
    use fleethost_core::auth::{Secret, TokenSigner};
    let topic = unique("gateway-auth");
    let gateway = Gateway::start(&topic, "driver", 1);
    let forged = TokenSigner::shared_secret(&Secret::from_bytes(b"not the gateway's key".to_vec())).sign(
        "drv-a",
        DRIVER_AUDIENCE,
        Duration::from_secs(600),
    );
    let expired = support::access::signer().sign_claims(&Claims {
        sub: "drv-a".into(),
        aud: DRIVER_AUDIENCE.into(),
        exp: 1_700_000_000,
    });
    for (what, query, kind, says) in [
        ("no token", String::new(), "missing", "no access token"),
        (
            "a forged token",
            format!("?access_token={forged}"),
            "bad-signature",
            "does not verify",
        ),
        (
            "an expired token",
            format!("?access_token={expired}"),
            "expired",
            "expired at 1700000000",
        ),
        (
            "a customer's token",
            format!("?access_token={}", customer_token("driver:drv-a")),
            "wrong-audience",
            "\"fleethost-track\", not fleethost-driver",
        ),
    ] {
        let (status, challenge, body) = refused_upgrade(&gateway.url(&query)).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert!(challenge.contains(kind), "{what}: WWW-Authenticate {challenge:?}");
        assert!(body.contains(says), "{what}: {body}");
    }

    // A valid token in the Authorization header: its driver's fix goes to
    // Kafka, another driver's is answered and goes nowhere.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = gateway.url("?ack=true").into_client_request().expect("request");
    let bearer = format!("Bearer {}", driver_token("drv-a"));
    request
        .headers_mut()
        .insert("Authorization", bearer.parse().expect("header"));
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("a valid token connects");
    let own = r#"{"driverId":"drv-a","lat":12.9,"lng":77.6,"timestamp":1700000000000}"#;
    let other = r#"{"driverId":"drv-b","lat":12.9,"lng":77.6,"timestamp":1700000000000}"#;
    let frames = [
        Frame::Fix {
            key: "drv-a".into(),
            payload: own.into(),
        },
        Frame::Bad {
            text: other.into(),
            kind: "wrong-driver",
            names: "names driver \"drv-b\" but this connection's token is for driver \"drv-a\"",
        },
    ];
    let mut socket = drive(socket, &frames, true).await;
    socket.close(None).await.expect("close");
    let records = read_records(&topic, 1, Duration::from_secs(2));
    assert_eq!(records.len(), 1, "only the token's own driver's fix");
    assert_eq!(records[0].key, "drv-a");
    assert_eq!(records[0].payload, own, "produced as sent");
    wait_until("the status line counts the refusals", Duration::from_secs(10), || {
        gateway.log().contains("refused_tokens=4") && gateway.log().contains("wrong_driver=1")
    });
    // Neither the key nor a token reaches the log.
    let log = gateway.log();
    assert!(
        !log.contains(support::access::TOKEN_KEY),
        "the key is in the log:\n{log}"
    );
    // Every JWT starts with the base64 of `{"`.
    assert!(!log.contains("eyJ"), "a token is in the log:\n{log}");
}
