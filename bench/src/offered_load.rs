//! The load the latency runs offer: the simulator's fleet producing fixes
//! (and their order events) with `timestamp` = the wall clock, paced by the
//! caller. Shared by the fleethost latency runs and the broker's own floor.

use fleethost_apps::simulate::trip_model::{DriverModel, TripRules};
use fleethost_apps::simulate::{CITY, messages};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

/// A fleet of drivers and the producer their fixes go out through.
pub struct OfferedLoad {
    producer: FutureProducer,
    fleet: Vec<DriverModel>,
    fixes_topic: String,
    orders_topic: Option<String>,
    produced: u64,
}

impl OfferedLoad {
    /// `drivers` drivers producing to `fixes_topic`, and their order events to
    /// `orders_topic` when given. The producer batches for at most
    /// `linger_ms`.
    pub fn new(
        kafka: &fleethost_core::config::KafkaConfig,
        drivers: usize,
        fixes_topic: &str,
        orders_topic: Option<&str>,
        linger_ms: u64,
    ) -> anyhow::Result<Self> {
        let producer: FutureProducer = fleethost_core::kafka::client_config::producer(kafka)?
            .set("linger.ms", linger_ms.to_string())
            .create()?;
        let fleet = (0..drivers.max(1))
            .map(|index| DriverModel::new(index, 7, now_ms(), CITY, TripRules::default()))
            .collect();
        Ok(Self {
            producer,
            fleet,
            fixes_topic: fixes_topic.to_string(),
            orders_topic: orders_topic.map(str::to_string),
            produced: 0,
        })
    }

    /// Fixes handed to the producer so far.
    pub fn produced(&self) -> u64 {
        self.produced
    }

    /// Produces fixes, the drivers in turn, until `due` went out or the
    /// producer's queue is full (the broker is behind: the caller tries again
    /// on its next tick).
    pub fn produce_until(&mut self, due: u64) {
        while self.produced < due {
            let driver = (self.produced % self.fleet.len() as u64) as usize;
            let model = &mut self.fleet[driver];
            let step = model.fix_at(now_ms());
            let payload = messages::fix_json(model.driver_id(), &step.fix, &CITY, true);
            let record = FutureRecord::to(&self.fixes_topic)
                .key(model.driver_id())
                .payload(&payload);
            if self.producer.send_result(record).is_err() {
                return;
            }
            if let (Some(event), Some(orders_topic)) = (&step.order_event, &self.orders_topic) {
                let order = messages::order_json(model.driver_id(), event);
                let _ = self
                    .producer
                    .send_result(FutureRecord::to(orders_topic).key(model.driver_id()).payload(&order));
            }
            self.produced += 1;
        }
    }

    /// Waits up to `timeout` for what is queued to reach the broker.
    pub fn flush(&self, timeout: std::time::Duration) {
        let _ = self.producer.flush(timeout);
    }
}

/// Milliseconds since the Unix epoch, the clock of the fixes' timestamps.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
