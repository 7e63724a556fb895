//! Shared helpers of the integration tests: the real broker, Redis and
//! PostgreSQL, unique
//! names per test, a generated fleet data set, the `fleethost` binary as a
//! child process, and waiting for the consumer group to catch up.
//!
//! The broker address comes from `FLEETHOST_TEST_BOOTSTRAP` (scripts/test.sh
//! starts Tansu and sets it), Redis from `FLEETHOST_TEST_REDIS`, PostgreSQL
//! from `FLEETHOST_TEST_DATABASE`, the plugins from `FLEETHOST_PLUGIN_DIR`.

#![allow(dead_code)]

pub mod admin;
pub mod chromium;
pub mod concurrent_batches;
pub mod demo_run;
pub mod geometry;
pub mod native_example;
pub mod pipes;
pub mod private_broker;
pub mod server;
pub mod standalone;
pub mod standalone_broker;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

// Not every test file uses them.
#[allow(unused_imports)]
pub use admin::{admin_get, fleethost, fleethost_command};

/// The host binary the tests start: `fleethost`, or in the native
/// plugins' tests (package fleethost-native) `fleethost-native`, the same
/// command line with the plugins compiled in.
pub fn fleethost_binary() -> &'static str {
    option_env!("CARGO_BIN_EXE_fleethost-native")
        .or(option_env!("CARGO_BIN_EXE_fleethost"))
        .expect("a test target of the fleethost or fleethost-native package")
}

/// The broker the tests run against.
pub fn bootstrap() -> String {
    std::env::var("FLEETHOST_TEST_BOOTSTRAP").expect(
        "FLEETHOST_TEST_BOOTSTRAP is not set: run the suite with scripts/test.sh, which starts a broker and sets it",
    )
}

/// The Redis the tests run against.
pub fn redis_url() -> String {
    std::env::var("FLEETHOST_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string())
}

/// The PostgreSQL the tests run against (each test in its own tables).
pub fn database_url() -> String {
    std::env::var("FLEETHOST_TEST_DATABASE").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A connection pool to the test database.
pub async fn database() -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&database_url())
        .await
        .expect("PostgreSQL at FLEETHOST_TEST_DATABASE (or 127.0.0.1:5432, database test) is reachable")
}

/// A table name no other test uses (PostgreSQL identifiers: lowercase, `_`).
pub fn unique_table(name: &str) -> String {
    unique(name).replace('-', "_").to_lowercase()
}

/// Path of a built plugin component, e.g. `plugin_path("live_location")`.
pub fn plugin_path(name: &str) -> PathBuf {
    let dir = std::env::var("FLEETHOST_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/wasm32-wasip2/plugin"));
    let path = dir.join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: build the plugins (scripts/test.sh does)",
        path.display()
    );
    path
}

/// A name no other test (or earlier run) uses: for topics, groups, key prefixes.
pub fn unique(name: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{name}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The names one test owns: its topic, consumer group and Redis key prefix,
/// unique so that tests run in parallel and never see each other's data.
pub struct TestNames {
    pub topic: String,
    pub group: String,
    pub prefix: String,
}

impl TestNames {
    /// Fresh names for test `name`, with its topic created with `partitions`.
    pub async fn create(name: &str, partitions: i32) -> Self {
        let names = Self {
            topic: unique(&format!("{name}-rider-updates")),
            group: unique(&format!("{name}-group")),
            prefix: format!("{}:", unique(name)),
        };
        create_topic(&names.topic, partitions).await;
        names
    }
}

/// Creates a topic with `partitions` partitions.
pub async fn create_topic(topic: &str, partitions: i32) {
    create_topic_at(&bootstrap(), topic, partitions).await;
}

/// Creates a topic with `partitions` partitions on the broker at `bootstrap`.
pub async fn create_topic_at(bootstrap: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin client");
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(-1))],
            &AdminOptions::new(),
        )
        .await
        .expect("create topic");
    for result in results {
        result.expect("topic created");
    }
}

/// One message of a generated data set.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub key: String,
    pub payload: String,
    /// The valid fix in it, or `None` for a malformed / out-of-range message.
    pub valid: Option<Fix>,
}

/// A valid fix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    pub latitude: f64,
    pub longitude: f64,
    pub timestamp_ms: i64,
}

/// `fixes` messages for `drivers` drivers in shuffled order (so event time is
/// not offset order), with every `bad_every`-th message malformed or out of
/// range, in the field spellings of the seed systems.
pub fn fleet_data(drivers: usize, fixes: usize, bad_every: usize, seed: u64) -> Vec<Fixture> {
    let mut rng = StdRng::seed_from_u64(seed);
    let base_ms: i64 = 1_700_000_000_000;
    let mut data = Vec::with_capacity(fixes);
    for index in 0..fixes {
        let driver = index % drivers;
        let round = (index / drivers) as i64;
        let key = format!("drv-{driver}");
        let timestamp_ms = base_ms + round * 1000 + rng.random_range(0..900);
        let latitude = 12.9 + rng.random_range(0.0..0.2);
        let longitude = 77.5 + rng.random_range(0.0..0.2);
        let payload = match driver % 3 {
            0 => format!(
                r#"{{"driverId":"{key}","latitude":{latitude},"longitude":{longitude},"timestamp":{timestamp_ms}}}"#
            ),
            1 => format!(
                r#"{{"driver_id":"{key}","lat":{latitude},"lng":{longitude},"timestamp":{timestamp_ms},"state":"south"}}"#
            ),
            _ => format!(
                r#"{{"rider_id":"{key}","lat":{latitude},"lon":{longitude},"timestamp":{timestamp_ms},"speed":7.5}}"#
            ),
        };
        data.push(Fixture {
            key,
            payload,
            valid: Some(Fix {
                latitude,
                longitude,
                timestamp_ms,
            }),
        });
    }
    data.shuffle(&mut rng);
    let bad_payloads = [
        |key: &str| format!("{{not json {key}"),
        |key: &str| format!(r#"{{"driverId":"{key}","latitude":95.5,"longitude":77.6,"timestamp":1700000000000}}"#),
        |key: &str| format!(r#"{{"driverId":"{key}","latitude":12.9,"longitude":-181,"timestamp":1700000000000}}"#),
        |_: &str| r#"{"latitude":12.9,"longitude":77.6}"#.to_string(),
        |key: &str| format!(r#"{{"driverId":"{key}","timestamp":1700000000000}}"#),
    ];
    let mut bad_kind = 0;
    for (index, fixture) in data.iter_mut().enumerate() {
        if bad_every > 0 && index % bad_every == bad_every - 1 {
            fixture.payload = bad_payloads[bad_kind % bad_payloads.len()](&fixture.key);
            fixture.valid = None;
            bad_kind += 1;
        }
    }
    data
}

/// Where a produced message landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub partition: i32,
    pub offset: i64,
}

/// Produces every fixture, keyed by driver id, and returns where each landed.
pub async fn produce(topic: &str, data: &[Fixture]) -> Vec<Position> {
    produce_at(&bootstrap(), topic, data).await
}

/// [`produce`] to the broker at `bootstrap`.
pub async fn produce_at(bootstrap: &str, topic: &str, data: &[Fixture]) -> Vec<Position> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "10")
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    let mut positions = Vec::with_capacity(data.len());
    for chunk in data.chunks(2000) {
        let sends = chunk.iter().map(|fixture| {
            producer.send(
                FutureRecord::to(topic)
                    .key(fixture.key.as_bytes())
                    .payload(fixture.payload.as_bytes()),
                Duration::from_secs(30),
            )
        });
        for result in futures::future::join_all(sends).await {
            let delivery = result.map_err(|(error, _)| error).expect("message delivered");
            positions.push(Position {
                partition: delivery.partition,
                offset: delivery.offset,
            });
        }
    }
    positions
}

/// Produces `(key, payload)` messages in order (one at a time, so that their
/// order in each partition is the order given) and returns where each landed.
pub async fn produce_messages(topic: &str, messages: &[(String, String)]) -> Vec<Position> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    let mut positions = Vec::with_capacity(messages.len());
    for (key, payload) in messages {
        let delivery = producer
            .send(
                FutureRecord::to(topic).key(key.as_bytes()).payload(payload.as_bytes()),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(error, _)| error)
            .expect("message delivered");
        positions.push(Position {
            partition: delivery.partition,
            offset: delivery.offset,
        });
    }
    positions
}

/// Produces `data` in chunks of `chunk` messages, `pause` apart: a steady
/// stream that is still flowing while a test stops or kills a host.
pub async fn produce_paced(topic: String, data: Vec<Fixture>, chunk: usize, pause: Duration) -> Vec<Position> {
    let mut positions = Vec::with_capacity(data.len());
    for part in data.chunks(chunk) {
        positions.extend(produce(&topic, part).await);
        tokio::time::sleep(pause).await;
    }
    positions
}

/// Like [`produce_paced`], but stops early when `stop` is cancelled: a stream
/// that flows for as long as a test needs. Returns where the produced prefix
/// of `data` landed.
pub async fn produce_until(
    topic: String,
    data: Vec<Fixture>,
    chunk: usize,
    pause: Duration,
    stop: tokio_util::sync::CancellationToken,
) -> Vec<Position> {
    let mut positions = Vec::with_capacity(data.len());
    for part in data.chunks(chunk) {
        if stop.is_cancelled() {
            break;
        }
        positions.extend(produce(&topic, part).await);
        tokio::time::sleep(pause).await;
    }
    positions
}

/// The newest valid fix per driver: what Redis must hold in the end.
pub fn newest_per_driver(data: &[Fixture]) -> HashMap<String, Fix> {
    let mut newest: HashMap<String, Fix> = HashMap::new();
    for fixture in data {
        if let Some(fix) = fixture.valid {
            let entry = newest.entry(fixture.key.clone()).or_insert(fix);
            if fix.timestamp_ms > entry.timestamp_ms {
                *entry = fix;
            }
        }
    }
    newest
}

/// A fleethost config for one test: one pipeline over `topic` with the given
/// plugins (`live_location` and/or `test_recorder`), all keys under `prefix`.
pub fn write_config(name: &str, topic: &str, group: &str, prefix: &str, plugins: &[&str]) -> PathBuf {
    write_config_with_redis(name, topic, group, prefix, plugins, &redis_url())
}

/// Like [`write_config`], with the capabilities' Redis at `redis`.
pub fn write_config_with_redis(
    name: &str,
    topic: &str,
    group: &str,
    prefix: &str,
    plugins: &[&str],
    redis: &str,
) -> PathBuf {
    let mut text = config_header(redis);
    text.push_str(&pipeline_section(
        name,
        group,
        topic,
        plugins,
        "batch = { max_events = 500, max_wait_ms = 200 }",
    ));
    for plugin in plugins {
        text.push_str(&plugin_section(
            plugin,
            plugin,
            &format!("key_prefix = \"{prefix}\""),
            prefix,
            "",
        ));
    }
    write_config_text(name, &text)
}

/// The `[kafka]`, `[redis]` and `[status]` part of a test config: the test
/// broker, a short session timeout (fast group joins), progress every 500 ms.
pub fn config_header(redis: &str) -> String {
    format!(
        r#"[kafka]
bootstrap_servers = "{bootstrap}"
consumer_properties = {{ "session.timeout.ms" = "6000", "heartbeat.interval.ms" = "1000" }}

[redis]
url = "{redis}"

[status]
interval_ms = 500
"#,
        bootstrap = bootstrap(),
    )
}

/// A `[[pipelines]]` entry; `extra` is more TOML lines for it.
pub fn pipeline_section(name: &str, group: &str, topic: &str, plugins: &[&str], extra: &str) -> String {
    let plugin_list = plugins
        .iter()
        .map(|plugin| format!("\"{plugin}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"
[[pipelines]]
name = "{name}"
group_id = "{group}"
topics = ["{topic}"]
plugins = [{plugin_list}]
commit_interval_ms = 500
{extra}
"#
    )
}

/// A `[plugins.NAME]` table running the built component `file`, with the
/// given inline `config` pairs, kv write grant `prefix`, and `extra` lines.
pub fn plugin_section(name: &str, file: &str, config: &str, prefix: &str, extra: &str) -> String {
    format!(
        r#"
[plugins.{name}]
path = "{path}"
config = {{ {config} }}
grants = {{ kv_write = ["{prefix}"] }}
{extra}
"#,
        path = plugin_path(file).display(),
    )
}

/// A `[plugins.NAME]` table running the built component `file`, with the
/// given inline `config` pairs and inline `grants` (e.g.
/// `kv_write = ["p:"], produce_topics = ["t"]`).
pub fn plugin_with_grants(name: &str, file: &str, config: &str, grants: &str) -> String {
    format!(
        r#"
[plugins.{name}]
path = "{path}"
config = {{ {config} }}
grants = {{ {grants} }}
"#,
        path = plugin_path(file).display(),
    )
}

/// The `[database]` section pointing at `url`.
pub fn database_section(url: &str) -> String {
    format!("\n[database]\nurl = \"{url}\"\n")
}

/// Writes a test config file and returns its path.
pub fn write_config_text(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fleethost-tests");
    std::fs::create_dir_all(&dir).expect("config dir");
    let path = dir.join(format!("{}.toml", unique(name)));
    std::fs::write(&path, text).expect("write config");
    path
}

/// A free TCP port on loopback (for a private Redis).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A private `redis-server` on `port`, stopped when dropped.
pub struct PrivateRedis(Child);

impl PrivateRedis {
    /// Starts redis-server (no persistence) and waits until it answers.
    pub fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        let url = format!("redis://127.0.0.1:{port}");
        wait_until("the private Redis answers", Duration::from_secs(10), || {
            redis::Client::open(url.as_str())
                .and_then(|client| client.get_connection())
                .is_ok()
        });
        Self(child)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `fleethost run` child process whose log is shown when the test fails.
pub struct Host {
    child: Option<Child>,
    log: PathBuf,
    name: String,
}

impl Host {
    /// Starts `fleethost run --config CONFIG`.
    pub fn start(name: &str, config: &Path) -> Self {
        let config_arg = config.to_str().expect("a UTF-8 config path");
        Self::start_with(
            name,
            config.with_extension(format!("{name}.log")),
            &["run", "--config", config_arg],
        )
    }

    /// Starts `fleethost ARGS`, its stdout and stderr into `log`.
    pub fn start_with(name: &str, log: PathBuf, args: &[&str]) -> Self {
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(fleethost_binary())
            .args(args)
            .env("RUST_LOG", "info,librdkafka=warn,rdkafka=warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::from(file.try_clone().expect("log file")))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("start fleethost");
        Self {
            child: Some(child),
            log,
            name: name.to_string(),
        }
    }

    /// The host's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        let child = self.child.as_mut().expect("host running");
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                self.child = None;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "host {} did not exit within {timeout:?} of SIGTERM",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no chance to commit anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill");
            child.wait().expect("wait");
        }
    }

    /// The process id, while running.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("host running").id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| child.try_wait().expect("wait").is_none())
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "----- log of host {} ({}) -----\n{}\n----- end of log -----",
                self.name,
                self.log.display(),
                self.log()
            );
        }
    }
}

fn offsets_consumer(group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer")
}

/// The group's committed offset per partition (-1 where none).
pub fn committed_offsets(group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let consumer = offsets_consumer(group);
    let mut list = TopicPartitionList::new();
    for partition in 0..partitions {
        list.add_partition(topic, partition);
    }
    let committed = consumer
        .committed_offsets(list, Duration::from_secs(10))
        .expect("committed offsets");
    (0..partitions)
        .map(|partition| {
            match committed
                .find_partition(topic, partition)
                .map(|element| element.offset())
            {
                Some(Offset::Offset(offset)) => offset,
                _ => -1,
            }
        })
        .collect()
}

/// The end offset (last offset + 1) per partition of the messages produced at
/// `positions`. Taken from the delivery reports rather than ListOffsets, whose
/// answer some Kafka-compatible brokers compute per record batch.
pub fn end_offsets(positions: &[Position], partitions: i32) -> Vec<i64> {
    (0..partitions)
        .map(|partition| {
            positions
                .iter()
                .filter(|position| position.partition == partition)
                .map(|position| position.offset + 1)
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// Waits until the group committed every partition up to `ends`.
pub fn wait_for_commits(group: &str, topic: &str, ends: &[i64], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let committed = committed_offsets(group, topic, ends.len() as i32);
        // A partition that never got a message has nothing to commit (-1).
        if committed
            .iter()
            .zip(ends)
            .all(|(committed, end)| (*committed).max(0) == *end)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "group {group} committed {committed:?}, end offsets {ends:?} after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Waits until `group` committed `topic` past every message produced at
/// `positions` (partitions that got none count as done).
pub fn wait_until_consumed(group: &str, topic: &str, partitions: i32, positions: &[Position], timeout: Duration) {
    wait_for_commits(group, topic, &end_offsets(positions, partitions), timeout);
}

/// Waits until `condition` holds.
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A dead letter as read back from Kafka.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub payload: Option<String>,
    pub headers: BTreeMap<String, String>,
}

/// The messages of `topic` from its start: reads until `expected` arrived,
/// then `settle` longer so that any extra message is caught too.
pub fn read_all(topic: &str, expected: usize, settle: Duration) -> Vec<DeadLetter> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("reader"))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    // Assign every partition from the beginning: no group join to wait for.
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let mut assignment = TopicPartitionList::new();
    for partition in metadata.topics().iter().flat_map(|topic| topic.partitions()) {
        assignment
            .add_partition_offset(topic, partition.id(), Offset::Beginning)
            .expect("assignment");
    }
    consumer.assign(&assignment).expect("assign");
    let mut messages = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut settle_until: Option<Instant> = None;
    loop {
        if messages.len() >= expected {
            let until = *settle_until.get_or_insert_with(|| Instant::now() + settle);
            if Instant::now() >= until {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "read only {} of {expected} messages of {topic}",
            messages.len()
        );
        let Some(result) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = result.expect("message");
        let text = |bytes: Option<&[u8]>| bytes.map(|bytes| String::from_utf8_lossy(bytes).into_owned());
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|header| (header.key.to_string(), text(header.value).unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        messages.push(DeadLetter {
            partition: message.partition(),
            offset: message.offset(),
            key: text(message.key()),
            payload: text(message.payload()),
            headers,
        });
    }
    messages
}

/// A Redis connection.
pub fn redis() -> redis::Connection {
    redis_at(&redis_url())
}

/// A connection to the Redis at `url`.
pub fn redis_at(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .expect("redis url")
        .get_connection()
        .expect("redis connection")
}

/// Asserts that the tests' Redis holds exactly the newest valid fix of every driver.
pub fn assert_live_positions(prefix: &str, expected: &HashMap<String, Fix>) {
    assert_live_positions_at(&redis_url(), prefix, expected);
}

/// Asserts that the Redis at `url` holds exactly the newest valid fix of every driver.
pub fn assert_live_positions_at(url: &str, prefix: &str, expected: &HashMap<String, Fix>) {
    let mut connection = redis_at(url);
    let mut wrong = Vec::new();
    for (driver, fix) in expected {
        let hash: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(format!("{prefix}driver:{driver}"))
            .query(&mut connection)
            .expect("hgetall");
        let read = |field: &str| hash.get(field).and_then(|value| value.parse::<f64>().ok());
        let actual = (read("lat"), read("lng"), read("ts_ms").map(|ts| ts as i64));
        if actual != (Some(fix.latitude), Some(fix.longitude), Some(fix.timestamp_ms)) {
            wrong.push(format!("{driver}: expected {fix:?}, Redis has {hash:?}"));
        }
    }
    let geo_members: i64 = redis::cmd("ZCARD")
        .arg(format!("{prefix}drivers:geo"))
        .query(&mut connection)
        .expect("zcard");
    assert!(
        wrong.is_empty(),
        "{} of {} drivers wrong, e.g. {:?}",
        wrong.len(),
        expected.len(),
        &wrong[..wrong.len().min(5)]
    );
    assert_eq!(geo_members as usize, expected.len(), "drivers in the GEO set");
}

/// The offsets the test-recorder plugin saw, per partition.
pub fn recorded_offsets(prefix: &str, topic: &str, partitions: i32) -> BTreeSet<Position> {
    let mut connection = redis();
    let mut seen = BTreeSet::new();
    for partition in 0..partitions {
        let offsets: Vec<String> = redis::cmd("HKEYS")
            .arg(format!("{prefix}seen:{topic}:{partition}"))
            .query(&mut connection)
            .expect("hkeys");
        seen.extend(offsets.iter().map(|offset| Position {
            partition,
            offset: offset.parse().expect("offset"),
        }));
    }
    seen
}

/// Positions of the valid and of the bad messages of a produced data set.
pub fn split_positions(data: &[Fixture], positions: &[Position]) -> (BTreeSet<Position>, BTreeSet<Position>) {
    let mut valid = BTreeSet::new();
    let mut bad = BTreeSet::new();
    for (fixture, position) in data.iter().zip(positions) {
        if fixture.valid.is_some() {
            valid.insert(*position)
        } else {
            bad.insert(*position)
        };
    }
    (valid, bad)
}

/// Asserts that after a run over `data` (produced at `positions`) with the
/// live-location and test-recorder plugins under `prefix`: Redis holds every
/// driver's newest valid fix, every valid message was processed at least once,
/// and the dead-letter topic names exactly the bad messages (a redelivery may
/// name one twice, never zero times).
pub fn assert_nothing_lost(prefix: &str, topic: &str, partitions: i32, data: &[Fixture], positions: &[Position]) {
    let (valid, bad) = split_positions(data, positions);
    assert_live_positions(prefix, &newest_per_driver(data));
    let seen = recorded_offsets(prefix, topic, partitions);
    assert_covered(&valid, &seen, "valid fixes never processed");
    let dead_letters = read_all(&format!("{topic}.dlq"), bad.len(), Duration::from_secs(2));
    assert_eq!(
        dead_letter_positions(&dead_letters),
        bad,
        "dead letters name exactly the bad messages"
    );
}

/// Asserts that every position of `expected` is in `found`, naming how many
/// are not and a few of them after `what`.
pub fn assert_covered(expected: &BTreeSet<Position>, found: &BTreeSet<Position>, what: &str) {
    let missing: Vec<_> = expected.difference(found).collect();
    assert!(
        missing.is_empty(),
        "{} {what}, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
}

/// The source positions named by dead letters' headers.
pub fn dead_letter_positions(dead_letters: &[DeadLetter]) -> BTreeSet<Position> {
    dead_letters
        .iter()
        .map(|letter| Position {
            partition: letter.headers["fleethost.source.partition"]
                .parse()
                .expect("partition header"),
            offset: letter.headers["fleethost.source.offset"]
                .parse()
                .expect("offset header"),
        })
        .collect()
}

/// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// A TCP proxy in front of a service (PostgreSQL) that a test can cut and
/// restore: while down it refuses new connections and drops open ones, as an
/// unreachable database would look to the host.
pub struct TcpProxy {
    pub port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    generation: std::sync::Arc<AtomicU64>,
}

impl TcpProxy {
    /// Starts a proxy to `target` (`host:port`), down or up as `up` says.
    pub async fn start(target: &str, up: bool) -> Self {
        use std::sync::Arc;
        use std::sync::atomic::AtomicBool;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("proxy listener");
        let port = listener.local_addr().expect("proxy address").port();
        let state = Arc::new(AtomicBool::new(up));
        let generation = Arc::new(AtomicU64::new(0));
        let (target, accept_state, accept_generation) = (target.to_string(), state.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !accept_state.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let (target, generation) = (target.clone(), accept_generation.clone());
                let born = generation.load(Ordering::SeqCst);
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                    let cut = async {
                        while generation.load(Ordering::SeqCst) == born {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    };
                    tokio::select! {
                        _ = copy => {}
                        _ = cut => {}
                    }
                });
            }
        });
        Self {
            port,
            up: state,
            generation,
        }
    }

    /// Refuses new connections and drops the open ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}
