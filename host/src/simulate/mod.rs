//! A simulated fleet: drivers moving along plausible paths in a city, each
//! sending a GPS fix every second (by default), produced to Kafka in the seed
//! JSON format and keyed by driver id, as a gateway would.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rand::Rng;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio_util::sync::CancellationToken;

/// The city the fleet drives in: a bounding box around central Bengaluru.
pub const CITY: CityArea = CityArea {
    south: 12.85,
    north: 13.10,
    west: 77.45,
    east: 77.75,
};

/// Metres per degree of latitude (and of longitude at the equator).
const METRES_PER_DEGREE: f64 = 111_320.0;

/// A rectangular city area in degrees.
#[derive(Debug, Clone, Copy)]
pub struct CityArea {
    pub south: f64,
    pub north: f64,
    pub west: f64,
    pub east: f64,
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimulationConfig {
    /// Kafka bootstrap servers.
    pub bootstrap_servers: String,
    /// Topic to produce to.
    pub topic: String,
    /// Number of drivers.
    pub drivers: usize,
    /// Fixes per second for the whole fleet (default: one per driver per second).
    pub rate: f64,
    /// Stop after this many fixes (`None`: until cancelled).
    pub count: Option<u64>,
    /// Seed of the random paths, for reproducible runs.
    pub seed: u64,
    /// Partitions of the topic when the simulator creates it.
    pub partitions: i32,
}

/// One simulated driver.
#[derive(Debug, Clone)]
struct Driver {
    id: String,
    latitude: f64,
    longitude: f64,
    target: (f64, f64),
    speed: f64,
    last_fix_ms: i64,
}

impl Driver {
    fn new(index: usize, rng: &mut StdRng, now_ms: i64) -> Self {
        let (latitude, longitude) = random_point(rng);
        Self {
            id: format!("driver-{index:06}"),
            latitude,
            longitude,
            target: random_point(rng),
            speed: rng.random_range(4.0..14.0),
            last_fix_ms: now_ms,
        }
    }

    /// Moves toward the current target for the time since the last fix; picks a
    /// new target (and speed) on arrival. Returns the heading in degrees.
    fn advance(&mut self, now_ms: i64, rng: &mut StdRng) -> f64 {
        let seconds = ((now_ms - self.last_fix_ms).max(0) as f64) / 1000.0;
        self.last_fix_ms = now_ms;
        let metres_per_lng = METRES_PER_DEGREE * self.latitude.to_radians().cos();
        let north = (self.target.0 - self.latitude) * METRES_PER_DEGREE;
        let east = (self.target.1 - self.longitude) * metres_per_lng;
        let remaining = north.hypot(east);
        let step = self.speed * seconds;
        if remaining <= step || remaining < 1.0 {
            (self.latitude, self.longitude) = self.target;
            self.target = random_point(rng);
            self.speed = rng.random_range(4.0..14.0);
        } else {
            self.latitude += north / remaining * step / METRES_PER_DEGREE;
            self.longitude += east / remaining * step / metres_per_lng;
        }
        east.atan2(north).to_degrees().rem_euclid(360.0)
    }
}

fn random_point(rng: &mut StdRng) -> (f64, f64) {
    (
        rng.random_range(CITY.south..CITY.north),
        rng.random_range(CITY.west..CITY.east),
    )
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// The seed JSON of one fix.
fn fix_json(driver: &Driver, heading: f64, timestamp_ms: i64) -> String {
    let region = if driver.latitude < (CITY.south + CITY.north) / 2.0 {
        "south"
    } else {
        "north"
    };
    serde_json::json!({
        "driverId": driver.id,
        "latitude": driver.latitude,
        "longitude": driver.longitude,
        "timestamp": timestamp_ms,
        "speed": driver.speed,
        "heading": heading,
        "state": region,
    })
    .to_string()
}

/// Runs the simulation until `count` fixes were sent or `stop` is cancelled;
/// returns the number of fixes the broker acknowledged.
pub async fn run(config: SimulationConfig, stop: CancellationToken) -> Result<u64, KafkaError> {
    let kafka = crate::config::KafkaConfig {
        bootstrap_servers: config.bootstrap_servers.clone(),
        properties: Default::default(),
        consumer_properties: Default::default(),
        producer_properties: Default::default(),
    };
    crate::kafka::admin::ensure_topics(&kafka, std::slice::from_ref(&config.topic), config.partitions).await?;
    // The host's producer settings, with a longer linger: the fleet sends
    // many small records.
    let producer: FutureProducer = crate::kafka::client_config::producer(&kafka)
        .set("linger.ms", "20")
        .create()?;
    let mut rng = StdRng::seed_from_u64(config.seed);
    let start_ms = now_ms();
    let mut drivers: Vec<Driver> = (0..config.drivers.max(1))
        .map(|index| Driver::new(index, &mut rng, start_ms))
        .collect();

    let tick = Duration::from_millis(10);
    let per_tick = config.rate * tick.as_secs_f64();
    let mut budget = 0.0;
    let mut next_driver = 0;
    let mut sent: u64 = 0;
    let mut acknowledged: u64 = 0;
    let mut in_flight = FuturesUnordered::new();
    let mut ticker = tokio::time::interval(tick);
    let mut last_report = (std::time::Instant::now(), 0u64);
    tracing::info!(drivers = drivers.len(), rate = config.rate, topic = %config.topic, "simulating fleet");
    'run: loop {
        tokio::select! {
            _ = stop.cancelled() => break 'run,
            _ = ticker.tick() => {}
        }
        budget += per_tick;
        while budget >= 1.0 {
            if config.count.is_some_and(|count| sent >= count) {
                break 'run;
            }
            budget -= 1.0;
            let fleet_size = drivers.len();
            let driver = &mut drivers[next_driver];
            next_driver = (next_driver + 1) % fleet_size;
            let timestamp_ms = now_ms();
            let heading = driver.advance(timestamp_ms, &mut rng);
            let payload = fix_json(driver, heading, timestamp_ms);
            let mut record = FutureRecord::to(&config.topic)
                .key(driver.id.as_bytes())
                .payload(payload.as_bytes());
            loop {
                match producer.send_result(record) {
                    Ok(delivery) => {
                        in_flight.push(delivery);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                        record = returned;
                        if let Some(result) = in_flight.next().await {
                            acknowledged += u64::from(matches!(result, Ok(Ok(_))));
                        }
                    }
                    Err((error, _)) => return Err(error),
                }
            }
            sent += 1;
        }
        while let Some(Some(result)) = futures::FutureExt::now_or_never(in_flight.next()) {
            acknowledged += u64::from(matches!(result, Ok(Ok(_))));
        }
        if last_report.0.elapsed() >= Duration::from_secs(5) {
            let rate = (sent - last_report.1) as f64 / last_report.0.elapsed().as_secs_f64();
            tracing::info!(
                sent,
                acknowledged,
                fixes_per_s = format!("{rate:.0}"),
                "simulator progress"
            );
            last_report = (std::time::Instant::now(), sent);
        }
    }
    while let Some(result) = in_flight.next().await {
        acknowledged += u64::from(matches!(result, Ok(Ok(_))));
    }
    tracing::info!(sent, acknowledged, "simulator finished");
    Ok(acknowledged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_stay_in_the_city_and_move_at_their_speed() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut driver = Driver::new(1, &mut rng, 0);
        for second in 1..=600 {
            let (lat, lng) = (driver.latitude, driver.longitude);
            driver.advance(second * 1000, &mut rng);
            let moved = ((driver.latitude - lat) * METRES_PER_DEGREE)
                .hypot((driver.longitude - lng) * METRES_PER_DEGREE * lat.to_radians().cos());
            assert!(moved <= 14.5, "moved {moved} m in one second");
            assert!((CITY.south..=CITY.north).contains(&driver.latitude));
            assert!((CITY.west..=CITY.east).contains(&driver.longitude));
        }
    }

    #[test]
    fn fixes_decode_with_the_host_decoder() {
        let mut rng = StdRng::seed_from_u64(1);
        let driver = Driver::new(3, &mut rng, 0);
        let json = fix_json(&driver, 90.0, 1_700_000_000_000);
        let location = crate::event::Location::decode(Some(json.as_bytes()), None).unwrap();
        assert_eq!(location.driver_id, "driver-000003");
        assert_eq!(location.timestamp_ms, 1_700_000_000_000);
    }
}
