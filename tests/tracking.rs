//! Proves `fleethost track`: a customer watching a driver gets that driver's
//! positions in order and nothing else, the current position first from the
//! hash; 100 customers on one driver all get every update through exactly one
//! Redis subscription (none once they leave); a slow customer is told what it
//! missed without holding up the others; a Redis restart is survived by
//! resubscribing; and end to end through the broker and the live-location
//! plugin, a customer gets exactly the positions that moved its driver
//! forward, in event-time order. SIGTERM closes the WebSockets and exits 0.

mod support;

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use support::*;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a frame that should come may take.
const FRAME_TIMEOUT: Duration = Duration::from_secs(15);

/// A `fleethost track` child process (its log is shown when a test fails).
struct Tracker(server::Server);

impl Tracker {
    /// Starts the tracking server for `prefix` against the Redis at `redis`
    /// on a free port, and waits until `/health` answers.
    fn start(prefix: &str, redis: &str, buffer: usize) -> Self {
        let buffer = buffer.to_string();
        Self(server::Server::start(
            "tracking server",
            &[
                "track",
                "--redis-url",
                redis,
                "--key-prefix",
                prefix,
                "--buffer",
                &buffer,
                "--token-key",
                &token_key_arg(),
            ],
        ))
    }

    /// Connects a customer with `query` (`driver=ID` or `order=ID`) and a
    /// token for exactly that target.
    async fn connect(&self, query: &str) -> Socket {
        let subject = query.replacen('=', ":", 1);
        let url = self
            .0
            .ws(&format!("/ws/track?{query}&access_token={}", customer_token(&subject)));
        let (socket, _) = tokio_tungstenite::connect_async(&url)
            .await
            .unwrap_or_else(|error| panic!("connect to {url}: {error}"));
        socket
    }

    /// `/stats`, with `query` (e.g. `driver=ID`) when not empty.
    fn stats(&self, query: &str) -> Value {
        let url = self.0.http(&format!("/stats?{query}"));
        let mut response = ureq::get(&url)
            .header("Authorization", format!("Bearer {}", operator_token()))
            .call()
            .expect("GET /stats");
        serde_json::from_str(&response.body_mut().read_to_string().expect("stats body")).expect("stats JSON")
    }

    /// Waits until `query`'s channel has `watchers` watchers and, when there
    /// are any, Redis confirmed its subscription: from then on every message
    /// published on it reaches them.
    fn wait_for_watchers(&self, query: &str, watchers: u64) {
        wait_until(
            &format!("{watchers} watchers of {query}, subscribed"),
            Duration::from_secs(30),
            || {
                let stats = self.stats(query);
                stats["channel"]["watchers"] == watchers && stats["channel"]["subscribed"] == (watchers > 0)
            },
        );
    }
}

impl std::ops::Deref for Tracker {
    type Target = server::Server;

    fn deref(&self) -> &server::Server {
        &self.0
    }
}

impl std::ops::DerefMut for Tracker {
    fn deref_mut(&mut self) -> &mut server::Server {
        &mut self.0
    }
}

/// The next text frame, `None` when none comes within `timeout` (or the
/// connection ended).
async fn next_text(socket: &mut Socket, timeout: Duration) -> Option<String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) | Ok(None) | Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(Message::Text(text)))) => return Some(text.to_string()),
            Ok(Some(Ok(Message::Close(_)))) => return None,
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// The next text frame as JSON; fails the test when none comes.
async fn next_json(socket: &mut Socket, what: &str) -> Value {
    next_json_within(socket, FRAME_TIMEOUT, what).await
}

/// The next text frame as JSON, within `timeout`; fails the test when none comes.
async fn next_json_within(socket: &mut Socket, timeout: Duration, what: &str) -> Value {
    let text = next_text(socket, timeout)
        .await
        .unwrap_or_else(|| panic!("no frame within {timeout:?}: {what}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("frame {text:?} is not JSON: {error}"))
}

/// Asserts that no text frame arrives within `quiet`.
async fn assert_silent(socket: &mut Socket, quiet: Duration, what: &str) {
    if let Some(extra) = next_text(socket, quiet).await {
        panic!("{what}: unexpected frame {extra}");
    }
}

/// A position message as live-location publishes it.
fn position(driver: &str, seq: i64) -> String {
    format!(r#"{{"type":"position","driver_id":"{driver}","lat":12.9,"lng":77.6,"ts_ms":{seq}}}"#)
}

/// Publishes `message` on `channel`; the number of Redis subscribers that got it.
fn publish(connection: &mut redis::Connection, channel: &str, message: &str) -> i64 {
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(message)
        .query(connection)
        .expect("PUBLISH")
}

/// How many clients Redis itself counts as subscribed to `channel`.
fn redis_subscribers(connection: &mut redis::Connection, channel: &str) -> i64 {
    let answer: (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query(connection)
        .expect("PUBSUB NUMSUB");
    answer.1
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_gets_its_drivers_positions_in_order_and_nothing_else() {
    let prefix = format!("{}:", unique("track-one"));
    let mut tracker = Tracker::start(&prefix, &redis_url(), 64);
    let mut watching_a = tracker.connect("driver=a").await;
    let mut watching_b = tracker.connect("driver=b").await;
    tracker.wait_for_watchers("driver=a", 1);
    tracker.wait_for_watchers("driver=b", 1);

    let mut redis = redis();
    for seq in 0..50 {
        // Interleaved: a, b, an order of a, and a channel nobody watches.
        assert_eq!(
            publish(&mut redis, &format!("{prefix}live:driver:a"), &position("a", seq)),
            1
        );
        assert_eq!(
            publish(&mut redis, &format!("{prefix}live:driver:b"), &position("b", seq)),
            1
        );
        publish(&mut redis, &format!("{prefix}live:order:o-a"), &position("a", seq));
        publish(&mut redis, &format!("{prefix}live:driver:c"), &position("c", seq));
    }
    for (socket, driver) in [(&mut watching_a, "a"), (&mut watching_b, "b")] {
        for seq in 0..50 {
            let text = next_text(socket, FRAME_TIMEOUT).await.expect("every position arrives");
            assert_eq!(text, position(driver, seq), "driver {driver}'s positions, in order");
        }
        assert_silent(socket, Duration::from_millis(500), "nothing but the driver's positions").await;
    }

    // A bad target is refused with the reason; the stats count the watchers.
    let refused = tokio_tungstenite::connect_async(format!(
        "ws://127.0.0.1:{}/ws/track?driver=&access_token={}",
        tracker.port,
        operator_token()
    ))
    .await;
    assert!(refused.is_err(), "an empty driver id is refused");
    let stats = tracker.stats("");
    assert_eq!(
        (stats["watchers"].as_u64(), stats["redis_subscriptions"].as_u64()),
        (Some(2), Some(2))
    );

    let status = tracker.terminate(Duration::from_secs(15));
    assert!(status.success(), "SIGTERM exits 0, got {status}");
    match watching_a.next().await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Away),
        other => panic!("expected a close frame (1001), got {other:?}"),
    }
    assert!(tracker.log().contains("tracking server stopped"), "{}", tracker.log());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_customers_on_one_driver_cost_one_redis_subscription() {
    const CUSTOMERS: usize = 100;
    const UPDATES: i64 = 200;
    let prefix = format!("{}:", unique("track-many"));
    let channel = format!("{prefix}live:driver:d1");
    // A buffer larger than the burst: this test is about fan-out, not lag.
    let tracker = Tracker::start(&prefix, &redis_url(), 512);
    let mut customers = Vec::with_capacity(CUSTOMERS);
    for _ in 0..CUSTOMERS {
        customers.push(tracker.connect("driver=d1").await);
    }
    tracker.wait_for_watchers("driver=d1", CUSTOMERS as u64);
    let stats = tracker.stats("driver=d1");
    assert_eq!(stats["redis_subscriptions"], 1, "{stats}");
    assert_eq!(stats["channels"], 1, "{stats}");
    assert_eq!(stats["watchers"], CUSTOMERS, "{stats}");
    let mut redis = redis();
    assert_eq!(redis_subscribers(&mut redis, &channel), 1, "Redis sees one subscriber");

    for seq in 0..UPDATES {
        // One Redis subscriber receives each message, however many customers.
        assert_eq!(publish(&mut redis, &channel, &position("d1", seq)), 1);
    }
    let readers: Vec<_> = customers
        .into_iter()
        .enumerate()
        .map(|(index, mut socket)| {
            tokio::spawn(async move {
                for seq in 0..UPDATES {
                    let text = next_text(&mut socket, FRAME_TIMEOUT)
                        .await
                        .unwrap_or_else(|| panic!("customer {index} got only {seq} of {UPDATES} updates"));
                    assert_eq!(text, position("d1", seq), "customer {index}: every update, in order");
                }
                socket.close(None).await.expect("close");
                // Drain until the server's close answer.
                while let Some(Ok(_)) = socket.next().await {}
            })
        })
        .collect();
    for reader in readers {
        reader.await.expect("customer task");
    }
    let stats = tracker.stats("");
    assert_eq!(stats["lagged_frames"], 0, "{stats}");

    // Everyone left: the subscription is gone, in the server and in Redis.
    tracker.wait_for_watchers("driver=d1", 0);
    wait_until("the Redis subscription is dropped", Duration::from_secs(10), || {
        tracker.stats("")["redis_subscriptions"] == 0 && redis_subscribers(&mut redis, &channel) == 0
    });
    assert_eq!(tracker.stats("")["channels"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_current_position_comes_first_from_the_hash() {
    let prefix = format!("{}:", unique("track-initial"));
    let tracker = Tracker::start(&prefix, &redis_url(), 64);
    let mut redis = redis();
    let _: () = redis::cmd("HSET")
        .arg(format!("{prefix}driver:d7"))
        .arg(&["lat", "12.9716", "lng", "77.5946", "ts_ms", "1700000000000"])
        .query(&mut redis)
        .expect("HSET");

    let mut customer = tracker.connect("driver=d7").await;
    let first = next_json(&mut customer, "the current position").await;
    assert_eq!(
        first,
        serde_json::json!({"type": "position", "driver_id": "d7", "lat": 12.9716, "lng": 77.5946, "ts_ms": 1_700_000_000_000i64})
    );
    tracker.wait_for_watchers("driver=d7", 1);
    // The position the hash showed, published again (as when a change lands
    // between the subscription and the read), is not shown twice; the next is.
    let channel = format!("{prefix}live:driver:d7");
    publish(&mut redis, &channel, &position("d7", 1_700_000_000_000));
    publish(&mut redis, &channel, &position("d7", 1_700_000_001_000));
    let next = next_json(&mut customer, "the next position").await;
    assert_eq!(next["ts_ms"], 1_700_000_001_000i64);
    assert_silent(&mut customer, Duration::from_millis(300), "each position once").await;

    // An order has no current position: nothing until its first message.
    let mut order_customer = tracker.connect("order=o-9").await;
    tracker.wait_for_watchers("order=o-9", 1);
    assert_silent(
        &mut order_customer,
        Duration::from_millis(300),
        "no initial frame for an order",
    )
    .await;
    // Its estimates come on eta's own channel, which the session watches too.
    let estimates = format!("{prefix}live:eta:o-9");
    wait_until("the estimates channel is subscribed", Duration::from_secs(30), || {
        redis_subscribers(&mut redis, &estimates) == 1
    });
    let eta = r#"{"type":"eta","order_id":"o-9","driver_id":"d7","phase":"to_pickup","distance_m":900,"speed_mps":5,"eta_s":180,"ts_ms":5}"#;
    publish(&mut redis, &estimates, eta);
    assert_eq!(
        next_text(&mut order_customer, FRAME_TIMEOUT).await.as_deref(),
        Some(eta)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_customer_is_told_what_it_missed_and_holds_up_no_one() {
    const UPDATES: i64 = 300;
    let prefix = format!("{}:", unique("track-slow"));
    let channel = format!("{prefix}live:driver:d1");
    let tracker = Tracker::start(&prefix, &redis_url(), 4);
    let mut fast = tracker.connect("driver=d1").await;
    let mut slow = tracker.connect("driver=d1").await;
    tracker.wait_for_watchers("driver=d1", 2);

    // 64 KiB messages: ~19 MiB in all, far more than the slow customer's
    // socket buffers hold while it does not read.
    let padding = "x".repeat(64 * 1024);
    let message = move |seq: i64| format!(r#"{{"type":"position","driver_id":"d1","ts_ms":{seq},"pad":"{padding}"}}"#);
    let seq_of = |text: &str| serde_json::from_str::<Value>(text).expect("JSON")["ts_ms"].as_i64();
    // Each update once the fast customer has the previous one: it keeps up,
    // the slow one (not reading) cannot.
    let mut redis = redis();
    for seq in 0..UPDATES {
        publish(&mut redis, &channel, &message(seq));
        let text = next_text(&mut fast, FRAME_TIMEOUT)
            .await
            .unwrap_or_else(|| panic!("the fast customer got only {seq} of {UPDATES} while the other did not read"));
        assert_eq!(seq_of(&text), Some(seq), "the fast customer misses nothing");
    }

    // Now the slow one reads: what fit in its buffers, a lag notice, the rest.
    let (mut received, mut missed, mut last) = (0i64, 0i64, -1i64);
    while last < UPDATES - 1 {
        let text = next_text(&mut slow, FRAME_TIMEOUT)
            .await
            .expect("the slow customer keeps going");
        let frame: Value = serde_json::from_str(&text).expect("JSON");
        if frame["type"] == "lagged" {
            missed += frame["missed"].as_i64().expect("missed is a number");
            continue;
        }
        let seq = frame["ts_ms"].as_i64().expect("ts_ms");
        assert!(seq > last, "in order: {seq} after {last}");
        last = seq;
        received += 1;
    }
    eprintln!("slow customer: {received} updates received, {missed} missed (reported in lagged frames)");
    assert!(missed > 0, "the slow customer fell behind and was told so");
    assert_eq!(
        received + missed,
        UPDATES,
        "every update either received or counted as missed"
    );
    let stats = tracker.stats("");
    assert!(stats["lagged_frames"].as_u64() >= Some(1), "{stats}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_restart_is_survived_by_resubscribing() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let prefix = format!("{}:", unique("track-restart"));
    let channel = format!("{prefix}live:driver:d1");
    let private_redis = PrivateRedis::start(port);
    let tracker = Tracker::start(&prefix, &url, 64);
    let mut customer = tracker.connect("driver=d1").await;
    tracker.wait_for_watchers("driver=d1", 1);
    publish(&mut redis_at(&url), &channel, &position("d1", 1));
    assert_eq!(next_text(&mut customer, FRAME_TIMEOUT).await, Some(position("d1", 1)));

    drop(private_redis);
    wait_until("the server notices Redis is gone", Duration::from_secs(30), || {
        tracker.stats("")["redis_connected"] == false
    });
    let _private_redis = PrivateRedis::start(port);
    tracker.wait_for_watchers("driver=d1", 1);
    let mut redis = redis_at(&url);
    assert_eq!(redis_subscribers(&mut redis, &channel), 1, "resubscribed once");
    publish(&mut redis, &channel, &position("d1", 2));
    assert_eq!(
        next_text(&mut customer, FRAME_TIMEOUT).await,
        Some(position("d1", 2)),
        "the same WebSocket goes on after the restart"
    );
    assert!(tracker.stats("")["redis_reconnects"].as_u64() >= Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn positions_flow_from_kafka_through_live_location_to_a_customer() {
    let TestNames { topic, group, prefix } = TestNames::create("track-e2e", 1).await;
    let config = write_config("track-e2e", &topic, &group, &prefix, &["live_location"]);
    let host = Host::start("track-e2e", &config);
    let tracker = Tracker::start(&prefix, &redis_url(), 64);
    let mut by_driver = tracker.connect("driver=x").await;
    let mut by_order = tracker.connect("order=o-x").await;
    tracker.wait_for_watchers("driver=x", 1);
    tracker.wait_for_watchers("order=o-x", 1);

    let base_ms: i64 = 1_700_000_000_000;
    let fix = |driver: &str, step: i64, ts_ms: i64| {
        let payload = format!(
            r#"{{"driver_id":"{driver}","lat":{},"lng":{},"timestamp":{ts_ms},"order_id":"o-{driver}"}}"#,
            12.9 + step as f64 * 0.001,
            77.6 + step as f64 * 0.0005,
        );
        (driver.to_string(), payload)
    };
    let mut positions = Vec::new();
    for step in 0..8i64 {
        let ts_ms = base_ms + step * 1000;
        // x moves forward; y, in the same partition, must not reach x's customers.
        positions.extend(produce_messages(&topic, &[fix("y", step, ts_ms), fix("x", step, ts_ms)]).await);
        for (socket, what) in [(&mut by_driver, "driver"), (&mut by_order, "order")] {
            // The first fix waits for the consumer group to form.
            let timeout = if step == 0 {
                Duration::from_secs(90)
            } else {
                FRAME_TIMEOUT
            };
            let frame = next_json_within(socket, timeout, &format!("x's fix {step} on its {what} channel")).await;
            assert_eq!(frame["type"], "position");
            assert_eq!(frame["driver_id"], "x");
            assert_eq!(frame["ts_ms"], ts_ms, "the positions in event-time order");
            assert_eq!(frame["lat"].as_f64(), Some(12.9 + step as f64 * 0.001));
            assert_eq!(frame["lng"].as_f64(), Some(77.6 + step as f64 * 0.0005));
            assert_eq!(frame["order_id"], "o-x");
        }
        // A late fix, older than what Redis holds, moves nobody: no message.
        positions.extend(produce_messages(&topic, &[fix("x", 100 + step, ts_ms - 500)]).await);
    }
    wait_until_consumed(&group, &topic, 1, &positions, Duration::from_secs(60));
    assert_silent(
        &mut by_driver,
        Duration::from_millis(500),
        "only the positions that moved x",
    )
    .await;
    assert_silent(
        &mut by_order,
        Duration::from_millis(100),
        "only the positions that moved x",
    )
    .await;
    drop(host);
}

/// `GET path` on the tracker with `token` as bearer (none when empty): its
/// status and body.
fn get_with(tracker: &Tracker, path: &str, token: &str) -> (u16, String) {
    let mut request = ureq::get(&tracker.0.http(path))
        .config()
        .http_status_as_error(false)
        .build();
    if !token.is_empty() {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = request.call().expect("an answer");
    (
        response.status().as_u16(),
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_follow_only_what_their_token_names_and_the_map_needs_an_operator() {
    use fleethost_core::auth::access_token::{Claims, TRACK_AUDIENCE};
    let prefix = format!("{}:", unique("tracking-auth"));
    let tracker = Tracker::start(&prefix, &redis_url(), 64);
    let track = |query: String| tracker.0.ws(&format!("/ws/track?{query}"));
    let expired = support::access::signer().sign_claims(&Claims {
        sub: "driver:a".into(),
        aud: TRACK_AUDIENCE.into(),
        exp: 1_700_000_000,
    });
    for (what, query, status, says) in [
        ("no token", "driver=a".to_string(), 401, "no access token".to_string()),
        (
            "another driver's token",
            format!("driver=b&access_token={}", customer_token("driver:a")),
            403,
            r#"may follow "driver:a", not "driver:b""#.to_string(),
        ),
        (
            "an order's token for its driver",
            format!("driver=a&access_token={}", customer_token("order:o-1")),
            403,
            r#"not "driver:a""#.to_string(),
        ),
        (
            "an expired token",
            format!("driver=a&access_token={expired}"),
            401,
            "expired".to_string(),
        ),
        (
            "a driver app's token",
            format!("driver=a&access_token={}", driver_token("a")),
            401,
            r#"for "fleethost-driver""#.to_string(),
        ),
    ] {
        let (answered, _, body) = refused_upgrade(&track(query)).await;
        assert_eq!(answered, status, "{what}: {body}");
        assert!(body.contains(&says), "{what}: {body}");
    }
    // The token's own target, and anything for an operator.
    let _customer = tracker.connect("driver=a").await;
    let (_operator, _) =
        tokio_tungstenite::connect_async(track(format!("order=o-9&access_token={}", operator_token())))
            .await
            .expect("an operator follows any order");

    for path in ["/api/map", "/map", "/stats"] {
        let (status, body) = get_with(&tracker, path, "");
        assert_eq!(status, 401, "{path} without a token: {body}");
        let (status, body) = get_with(&tracker, path, &customer_token("driver:a"));
        assert_eq!(status, 401, "{path} with a customer's token: {body}");
        assert!(body.contains("fleethost-operator"), "{body}");
        let (status, body) = get_with(&tracker, path, &operator_token());
        assert_eq!(status, 200, "{path} with an operator's token: {body}");
    }
    assert_eq!(get_with(&tracker, "/health", ""), (200, "ok".to_string()));
}
