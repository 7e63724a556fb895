//! A simulated fleet: drivers working through delivery orders in a city, each
//! sending a GPS fix every second (by default) to the fixes topic, and the
//! orders' lifecycle events (`order_assigned`, `picked_up`, `delivered`,
//! `cancelled`) to the orders topic, both keyed by driver id as a gateway and
//! an order service would produce them. Fixes and order events agree: a
//! driver is at the pickup when it is `picked_up` (see [`trip_model`]).
//!
//! Files: [`trip_model`] (the drivers' movements and order lifecycles, with
//! their rules), [`messages`] (the JSON, or the topic's Avro or Protobuf),
//! [`geometry`] (distances and the city
//! area), [`through_gateway`] (the fixes through `fleethost gateway`'s
//! WebSocket instead of Kafka); this file paces the fleet and produces to
//! Kafka.

pub mod geometry;
pub mod messages;
pub mod through_gateway;
pub mod trip_model;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fleethost_event::format::{FormatError, PayloadFormat};
use futures::future::{Join, Ready, join, ready};
use futures::stream::FuturesUnordered;
use futures::{Future, FutureExt, StreamExt};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use tokio_util::sync::CancellationToken;

pub use geometry::{CityArea, Point};
use trip_model::{DriverModel, TripRules};

/// The city the fleet drives in: a bounding box around central Bengaluru.
pub const CITY: CityArea = CityArea {
    south: 12.85,
    north: 13.10,
    west: 77.45,
    east: 77.75,
};

/// The most fixes per driver and second: one per millisecond, so that a
/// driver's fixes have distinct millisecond timestamps.
const MAX_FIXES_PER_DRIVER_PER_S: f64 = 1000.0;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimulationConfig {
    /// How to reach Kafka: brokers, TLS, SASL, properties.
    pub kafka: fleethost_core::config::KafkaConfig,
    /// Topic of the GPS fixes.
    pub topic: String,
    /// How `topic`'s messages are encoded (its `[topics."NAME".format]` in
    /// the host's config), so that the host reads the fixes as it reads
    /// any producer's: JSON, or each fix encoded in Avro or Protobuf. Not
    /// used through a gateway, which encodes for its own topic.
    pub fixes_format: Arc<PayloadFormat>,
    /// Topic of the order lifecycle events; `None`: no order events, and
    /// fixes without `order_id` (the drivers still drive the same trips).
    pub orders_topic: Option<String>,
    /// How `orders_topic`'s messages are encoded, as `fixes_format`.
    pub orders_format: Arc<PayloadFormat>,
    /// Number of drivers (at least 1).
    pub drivers: usize,
    /// Fixes per second for the whole fleet, drivers in turn: each driver
    /// sends one fix every `drivers / rate` seconds.
    pub rate: f64,
    /// Stop after this many fixes (`None`: until cancelled). Order events
    /// are not counted.
    pub count: Option<u64>,
    /// Seed of the drivers' trips and GPS noise, for reproducible runs.
    pub seed: u64,
    /// Partitions of the topics when the simulator creates them.
    pub partitions: i32,
    /// Send the fixes through this gateway (`ws://HOST:PORT/ws/driver`),
    /// one WebSocket per driver, instead of producing them to `topic`; the
    /// gateway decides their topic. Order events still go to Kafka.
    pub gateway: Option<String>,
    /// For a `wss://` gateway whose certificate a private CA signed: the
    /// PEM file of that CA (the system's trust store otherwise).
    pub gateway_ca_file: Option<std::path::PathBuf>,
    /// Signs each driver's token for the gateway (`sub` = its driver id),
    /// as a driver app's login service would; `None`: connect without one.
    pub driver_tokens: Option<fleethost_core::auth::TokenSigner>,
}

/// What a simulation sent and the broker acknowledged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimulationSummary {
    pub fixes_sent: u64,
    pub fixes_acknowledged: u64,
    pub order_events_sent: u64,
    pub order_events_acknowledged: u64,
}

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimulationError {
    /// The rate cannot pace the fleet.
    #[error(
        "rate {rate} is not usable for {drivers} driver(s): give a number of fixes per second above 0 and at most \
         1000 per driver"
    )]
    InvalidRate { rate: f64, drivers: usize },
    /// The orders topic has no name.
    #[error("the orders topic name is empty: name a topic, or disable order events")]
    EmptyOrdersTopic,
    /// Fixes and orders would share a topic, and every consumer of either
    /// would dead-letter the other half.
    #[error("the orders topic `{0}` is also the fixes topic: order events need a topic of their own")]
    SameTopics(String),
    /// A fix or an order event cannot be written in its topic's format (a
    /// schema that does not fit them, or a Confluent framing without
    /// `schema_id`): every later one would fail alike, so the run stops.
    #[error(
        "cannot write {what} to `{topic}` in its format: {source} (check `[topics.\"{topic}\".format]` of the config file)"
    )]
    Unwritable {
        what: &'static str,
        topic: String,
        source: FormatError,
    },
    /// Kafka refused to create a topic or to produce.
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    /// The gateway address is not a WebSocket URL.
    #[error("gateway `{0}` is not a ws:// or wss:// URL: give e.g. ws://127.0.0.1:8080/ws/driver")]
    InvalidGatewayUrl(String),
    /// The CA file for a `wss://` gateway cannot be used.
    #[error("--gateway-ca-file: {0}")]
    GatewayCa(#[from] fleethost_core::tls::TlsError),
    /// A driver could not connect to the gateway.
    #[error("cannot connect to the gateway at {url}: {source} (is `fleethost gateway` running there?)")]
    Gateway {
        url: String,
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    /// The gateway closed a driver's connection while the fleet was running.
    #[error("the gateway at {url} closed a driver's connection")]
    GatewayClosed { url: String },
}

impl SimulationConfig {
    /// Checks what [`run`] cannot work with, before connecting to anything.
    pub fn validate(&self) -> Result<(), SimulationError> {
        let drivers = self.drivers.max(1);
        if !(self.rate > 0.0 && self.rate <= MAX_FIXES_PER_DRIVER_PER_S * drivers as f64) {
            return Err(SimulationError::InvalidRate {
                rate: self.rate,
                drivers,
            });
        }
        if let Some(url) = &self.gateway
            && !url.starts_with("ws://")
            && !url.starts_with("wss://")
        {
            return Err(SimulationError::InvalidGatewayUrl(url.clone()));
        }
        match &self.orders_topic {
            Some(orders_topic) if orders_topic.is_empty() => return Err(SimulationError::EmptyOrdersTopic),
            Some(orders_topic) if *orders_topic == self.topic => {
                return Err(SimulationError::SameTopics(self.topic.clone()));
            }
            _ => {}
        }
        self.check_formats()
    }

    /// Writes a sample fix and order event in their topics' formats, so
    /// that a format that cannot take them (a Confluent framing without
    /// `schema_id`, a schema that does not fit) is refused before the
    /// topics are created rather than at the first fix.
    fn check_formats(&self) -> Result<(), SimulationError> {
        let at = Point::new(12.97, 77.59);
        if self.gateway.is_none() {
            let fix = trip_model::Fix {
                timestamp_ms: 1_764_000_000_000,
                position: at,
                speed_mps: 8.5,
                heading_deg: 90.0,
                order_id: Some("order-0".into()),
            };
            messages::fix_payload(&self.fixes_format, "driver-000000", &fix, &CITY, true).map_err(|source| {
                SimulationError::Unwritable {
                    what: "a fix",
                    topic: self.topic.clone(),
                    source,
                }
            })?;
        }
        if let Some(orders_topic) = &self.orders_topic {
            let event = trip_model::OrderEvent {
                order_id: "order-0".into(),
                timestamp_ms: 1_764_000_000_000,
                kind: trip_model::OrderEventKind::Assigned {
                    pickup: at,
                    dropoff: at,
                },
            };
            messages::order_payload(&self.orders_format, "driver-000000", &event).map_err(|source| {
                SimulationError::Unwritable {
                    what: "an order event",
                    topic: orders_topic.clone(),
                    source,
                }
            })?;
        }
        Ok(())
    }
}

/// When each fix of the fleet is due: fix `n` (from 0) is driver `n %
/// drivers`'s, `n / rate` seconds after the start. Event timestamps come from
/// this schedule, not from the clock, so that a seed always gives the same
/// trips; the clock only decides when a fix is sent.
#[derive(Debug, Clone, Copy)]
struct FixSchedule {
    rate: f64,
    drivers: usize,
}

impl FixSchedule {
    /// Milliseconds from the start to fix `fix_number`.
    fn offset_ms(&self, fix_number: u64) -> i64 {
        (fix_number as f64 * 1000.0 / self.rate).floor() as i64
    }

    /// Index of the driver that sends fix `fix_number`.
    fn driver(&self, fix_number: u64) -> usize {
        (fix_number % self.drivers as u64) as usize
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// The kind of message a delivery report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Message {
    Fix,
    OrderEvent,
}

/// A delivery report, tagged with the kind of message it is about.
type TaggedDelivery = Join<Ready<Message>, DeliveryFuture>;

/// The producer, the deliveries in flight and the counts of what was sent and
/// acknowledged.
struct FleetProducer {
    producer: FutureProducer,
    in_flight: FuturesUnordered<TaggedDelivery>,
    summary: SimulationSummary,
}

impl FleetProducer {
    fn new(producer: FutureProducer) -> Self {
        Self {
            producer,
            in_flight: FuturesUnordered::new(),
            summary: SimulationSummary::default(),
        }
    }

    /// Queues one message with its event time as the Kafka timestamp, waiting
    /// for delivery reports while the producer's queue is full.
    async fn send(
        &mut self,
        message: Message,
        topic: &str,
        key: &str,
        payload: &[u8],
        timestamp_ms: i64,
    ) -> Result<(), KafkaError> {
        let mut record = FutureRecord::to(topic)
            .key(key.as_bytes())
            .payload(payload)
            .timestamp(timestamp_ms);
        loop {
            match self.producer.send_result(record) {
                Ok(delivery) => {
                    self.in_flight.push(join(ready(message), delivery));
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    self.wait_for_one().await;
                }
                Err((error, _)) => return Err(error),
            }
        }
        match message {
            Message::Fix => self.summary.fixes_sent += 1,
            Message::OrderEvent => self.summary.order_events_sent += 1,
        }
        Ok(())
    }

    fn record(&mut self, (message, report): <TaggedDelivery as Future>::Output) {
        let acknowledged = u64::from(matches!(report, Ok(Ok(_))));
        match message {
            Message::Fix => self.summary.fixes_acknowledged += acknowledged,
            Message::OrderEvent => self.summary.order_events_acknowledged += acknowledged,
        }
    }

    /// Records the delivery reports that have arrived, without waiting.
    fn collect_ready(&mut self) {
        while let Some(Some(report)) = self.in_flight.next().now_or_never() {
            self.record(report);
        }
    }

    /// Waits for one delivery report, if any is outstanding.
    async fn wait_for_one(&mut self) {
        if let Some(report) = self.in_flight.next().await {
            self.record(report);
        }
    }

    /// Waits for every outstanding delivery report.
    async fn wait_for_all(&mut self) {
        while let Some(report) = self.in_flight.next().await {
            self.record(report);
        }
    }
}

/// Runs the simulation until `count` fixes were sent or `stop` is cancelled;
/// returns what was sent and acknowledged.
pub async fn run(config: SimulationConfig, stop: CancellationToken) -> Result<SimulationSummary, SimulationError> {
    config.validate()?;
    let kafka = &config.kafka;
    // Through a gateway, the fixes topic is the gateway's to create.
    let fixes_topic = config.gateway.is_none().then(|| config.topic.clone());
    let topics: Vec<String> = fixes_topic.into_iter().chain(config.orders_topic.clone()).collect();
    fleethost_core::kafka::admin::ensure_topics(kafka, &topics, config.partitions).await?;
    // The host's producer settings, with a longer linger: the fleet sends
    // many small records.
    let producer: FutureProducer = fleethost_core::kafka::client_config::producer(kafka)?
        .set("linger.ms", "20")
        .create()?;
    let mut producer = FleetProducer::new(producer);
    let gateway = match &config.gateway {
        Some(url) => {
            if let Err(error) = crate::gateway::open_files::raise_to_hard_limit() {
                tracing::warn!(%error, "cannot raise the open-files limit: fewer drivers can connect");
            }
            Some(
                through_gateway::GatewayFleet::connect(
                    url,
                    config.drivers.max(1),
                    config.driver_tokens.as_ref(),
                    config.gateway_ca_file.as_deref(),
                )
                .await?,
            )
        }
        None => None,
    };

    let schedule = FixSchedule {
        rate: config.rate,
        drivers: config.drivers.max(1),
    };
    let started = Instant::now();
    let start_ms = now_ms();
    let mut fleet: Vec<DriverModel> = (0..schedule.drivers)
        .map(|index| DriverModel::new(index, config.seed, start_ms, CITY, TripRules::default()))
        .collect();
    let mut next_fix: u64 = 0;
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    let mut last_report = (Instant::now(), 0u64);
    tracing::info!(
        drivers = fleet.len(),
        rate = config.rate,
        fixes_to = config.gateway.as_deref().unwrap_or(&config.topic),
        orders_topic = config.orders_topic.as_deref().unwrap_or("(none)"),
        fixes_encoding = if config.gateway.is_some() {
            "(the gateway's)"
        } else {
            config.fixes_format.encoding().as_str()
        },
        orders_encoding = config.orders_format.encoding().as_str(),
        seed = config.seed,
        "simulating fleet"
    );
    'run: loop {
        tokio::select! {
            _ = stop.cancelled() => break 'run,
            _ = ticker.tick() => {}
        }
        let elapsed_ms = started.elapsed().as_millis() as i64;
        while schedule.offset_ms(next_fix) <= elapsed_ms {
            if config.count.is_some_and(|count| next_fix >= count) {
                break 'run;
            }
            let driver = &mut fleet[schedule.driver(next_fix)];
            let step = driver.fix_at(start_ms + schedule.offset_ms(next_fix));
            next_fix += 1;
            let with_order_id = config.orders_topic.is_some();
            match &gateway {
                // JSON frames: the gateway encodes for its topic.
                Some(gateway) => {
                    let fix = messages::fix_json(driver.driver_id(), &step.fix, &CITY, with_order_id);
                    gateway.send(schedule.driver(next_fix - 1), fix).await?
                }
                None => {
                    let fix = messages::fix_payload(
                        &config.fixes_format,
                        driver.driver_id(),
                        &step.fix,
                        &CITY,
                        with_order_id,
                    )
                    .map_err(|source| SimulationError::Unwritable {
                        what: "a fix",
                        topic: config.topic.clone(),
                        source,
                    })?;
                    producer
                        .send(
                            Message::Fix,
                            &config.topic,
                            driver.driver_id(),
                            &fix,
                            step.fix.timestamp_ms,
                        )
                        .await?
                }
            }
            if let (Some(orders_topic), Some(event)) = (&config.orders_topic, &step.order_event) {
                let order =
                    messages::order_payload(&config.orders_format, driver.driver_id(), event).map_err(|source| {
                        SimulationError::Unwritable {
                            what: "an order event",
                            topic: orders_topic.clone(),
                            source,
                        }
                    })?;
                producer
                    .send(
                        Message::OrderEvent,
                        orders_topic,
                        driver.driver_id(),
                        &order,
                        event.timestamp_ms,
                    )
                    .await?;
            }
        }
        producer.collect_ready();
        if last_report.0.elapsed() >= Duration::from_secs(5) {
            let (sent, acknowledged) = match &gateway {
                Some(gateway) => (gateway.sent(), gateway.acknowledged()),
                None => (producer.summary.fixes_sent, producer.summary.fixes_acknowledged),
            };
            let rate = sent.saturating_sub(last_report.1) as f64 / last_report.0.elapsed().as_secs_f64();
            tracing::info!(
                sent,
                acknowledged,
                order_events = producer.summary.order_events_sent,
                fixes_per_s = format!("{rate:.0}"),
                "simulator progress"
            );
            last_report = (Instant::now(), sent);
        }
    }
    producer.wait_for_all().await;
    let mut summary = producer.summary;
    if let Some(gateway) = gateway {
        (summary.fixes_sent, summary.fixes_acknowledged) = gateway.finish().await;
    }
    tracing::info!(
        fixes_sent = summary.fixes_sent,
        fixes_acknowledged = summary.fixes_acknowledged,
        order_events_sent = summary.order_events_sent,
        order_events_acknowledged = summary.order_events_acknowledged,
        "simulator finished"
    );
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rate: f64, drivers: usize, orders_topic: Option<&str>) -> SimulationConfig {
        SimulationConfig {
            kafka: fleethost_core::config::KafkaConfig::bootstrap_only("127.0.0.1:9092"),
            topic: "rider-updates".into(),
            fixes_format: Arc::new(PayloadFormat::json()),
            orders_topic: orders_topic.map(str::to_owned),
            orders_format: Arc::new(PayloadFormat::json()),
            drivers,
            rate,
            count: None,
            seed: 42,
            partitions: 4,
            gateway: None,
            gateway_ca_file: None,
            driver_tokens: None,
        }
    }

    #[test]
    fn each_driver_gets_its_turn_at_the_fleet_rate() {
        let schedule = FixSchedule {
            rate: 250.0,
            drivers: 1000,
        };
        assert_eq!(
            (schedule.driver(0), schedule.driver(999), schedule.driver(1000)),
            (0, 999, 0)
        );
        // 1000 drivers at 250 fixes/s: one fix per driver every 4 s.
        assert_eq!(schedule.offset_ms(1000) - schedule.offset_ms(0), 4_000);
        assert_eq!(schedule.offset_ms(1), 4);
    }

    #[test]
    fn a_drivers_fix_times_always_increase() {
        for (rate, drivers) in [(1000.0, 1), (3.0, 7), (2999.0, 3), (1.0, 1)] {
            let schedule = FixSchedule { rate, drivers };
            let last_driver = drivers as u64 - 1;
            let times: Vec<i64> = (0..200u64)
                .map(|turn| schedule.offset_ms(turn * drivers as u64 + last_driver))
                .collect();
            assert!(
                times.windows(2).all(|pair| pair[0] < pair[1]),
                "{rate}/s, {drivers} drivers"
            );
        }
    }

    #[test]
    fn unusable_settings_are_refused_before_connecting() {
        assert!(config(1000.0, 1000, Some("order-events")).validate().is_ok());
        assert!(config(1000.0, 1000, None).validate().is_ok());
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY, 1001.0] {
            let error = config(rate, 1, None).validate().expect_err("an unusable rate");
            assert!(matches!(error, SimulationError::InvalidRate { .. }), "{error}");
        }
        assert!(matches!(
            config(10.0, 10, Some("")).validate(),
            Err(SimulationError::EmptyOrdersTopic)
        ));
        assert!(matches!(
            config(10.0, 10, Some("rider-updates")).validate(),
            Err(SimulationError::SameTopics(_))
        ));
        let mut through_gateway = config(10.0, 10, None);
        through_gateway.gateway = Some("http://127.0.0.1:8080/ws/driver".into());
        assert!(matches!(
            through_gateway.validate(),
            Err(SimulationError::InvalidGatewayUrl(_))
        ));
        through_gateway.gateway = Some("ws://127.0.0.1:8080/ws/driver".into());
        assert!(through_gateway.validate().is_ok());
    }

    #[test]
    fn a_topic_format_that_cannot_write_is_refused_before_connecting() {
        let reader_only = || {
            let config = fleethost_event::format::FormatConfig {
                encoding: fleethost_event::format::Encoding::Avro,
                framing: None,
                schema: None,
                message: None,
                schema_id: None,
                writer_schemas: Default::default(),
                registry_url: None,
            };
            Arc::new(PayloadFormat::load(&config, std::path::Path::new(".")).expect("a reader's format"))
        };
        let mut fixes = config(10.0, 10, Some("order-events"));
        fixes.fixes_format = reader_only();
        let error = fixes.validate().expect_err("no schema to write fixes with");
        assert!(
            matches!(&error, SimulationError::Unwritable { topic, .. } if topic == "rider-updates"),
            "{error}"
        );
        // Through a gateway the fixes are the gateway's to encode.
        fixes.gateway = Some("ws://127.0.0.1:8080/ws/driver".into());
        assert!(fixes.validate().is_ok());
        let mut orders = config(10.0, 10, Some("order-events"));
        orders.orders_format = reader_only();
        let error = orders.validate().expect_err("no schema to write order events with");
        assert!(error.to_string().contains("`order-events`"), "{error}");
        orders.fixes_format = Arc::new(crate::test_formats::avro("location.avsc"));
        orders.orders_format = Arc::new(crate::test_formats::protobuf("fleethost.v1.OrderEvent"));
        assert!(orders.validate().is_ok());
    }
}
