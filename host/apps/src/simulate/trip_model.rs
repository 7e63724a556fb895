//! The trip model: how one simulated driver works through orders, and the GPS
//! fixes and order events that follow from it, so that a consumer sees fixes
//! and order lifecycles that agree.
//!
//! # Rules
//!
//! Time moves only at the driver's fixes: [`DriverModel::fix_at`] drives the
//! driver for the time since its previous fix, then applies at most one
//! lifecycle step, dated with that fix's timestamp. Every order event thus has
//! the timestamp of a fix of the same driver, and that fix shows where the
//! event happened.
//!
//! A driver repeats:
//! 1. **Idle** where it stopped ([`TripRules::first_idle_ms`] at the start,
//!    [`TripRules::idle_ms`] after an order). At the first fix after that:
//!    `order_assigned`, with a pickup [`TripRules::pickup_distance_m`] from the
//!    driver and a drop-off [`TripRules::dropoff_distance_m`] from the pickup,
//!    on random bearings, both at least [`CITY_MARGIN_M`] inside the city
//!    (after [`PLACEMENT_ATTEMPTS`] bearings that leave it, the bearing toward
//!    the city centre).
//! 2. **To the pickup** in a straight line (great circle: there is no road
//!    network, which is also what the eta plugin assumes) toward a parking spot
//!    at most [`TripRules::parking_offset_m`] from the pickup, at the leg's
//!    speed ([`TripRules::speed_mps`]) varied by up to
//!    ±[`TripRules::speed_variation`] per fix interval. The driver stops at
//!    the spot: in the interval it arrives it covers only what was left.
//! 3. **At the pickup** from the arrival fix for [`TripRules::pickup_dwell_ms`];
//!    `picked_up` at the first fix after the dwell.
//! 4. **To the drop-off** the same way, with a new leg speed; `delivered` at the
//!    arrival fix; then back to 1.
//!
//! A fraction [`TripRules::cancel_probability`] of the orders is cancelled,
//! decided at assignment: `cancelled` at the first fix after a moment between
//! 5 % and 80 % of the planned drive to the pickup (still before `picked_up`
//! when the driver was faster and is already waiting); the driver idles where
//! it is. A cancelled order has neither `picked_up` nor `delivered`.
//!
//! A fix reports the true position moved by GPS jitter, uniform over a disc of
//! radius [`TripRules::jitter_m`]; `speed_mps` is the distance driven since the
//! previous fix over the time between them (0 while waiting), so reported
//! positions are `speed_mps × Δt` apart give or take two jitters; `heading_deg`
//! is the direction of travel (kept while stopped); `order_id` is the driver's
//! order from the fix of its assignment to the fix of its delivery or
//! cancellation, both included.
//!
//! Determinism: a driver draws from two random streams keyed by the run's seed
//! and the driver's index, one for its plan (order points, speeds, dwell,
//! cancellation, idle) and one for noise (jitter, speed variation); the same
//! seed and fix times give the same fixes and events, whatever the fleet size.
//! Order ids are `order-{seed}-{driver index:06}-{n}`, `n` counting the
//! driver's orders from 1: unique within a run and between seeds.

use std::ops::Range;

use rand::distr::uniform::SampleUniform;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::geometry::{CityArea, Point};

/// A driver this close to a pickup or drop-off point is there: every fix
/// dated with a `picked_up` or `delivered` event is this close to its point
/// (the geofence plugin's default `arrived_m` is 50 m).
pub const ARRIVAL_RADIUS_M: f64 = 30.0;
/// How far inside the city's edges order points are placed, so that parking
/// spots and jittered fixes stay in the city too.
pub const CITY_MARGIN_M: f64 = 100.0;
/// Random bearings tried for a new order point before heading for the centre.
pub const PLACEMENT_ATTEMPTS: usize = 16;
/// The slowest a leg is driven, whatever the rules say: a driver always
/// arrives.
const MIN_SPEED_MPS: f64 = 0.5;
/// When a cancellation happens, as a fraction of the planned drive to the
/// pickup: late enough to look like a customer changing their mind, early
/// enough to come before the pickup.
const CANCEL_MOMENT: Range<f64> = 0.05..0.8;

/// The numbers behind the model. [`TripRules::default`] is a food delivery
/// fleet in a city; tests change them to provoke rare cases. Keep
/// `parking_offset_m + jitter_m` below [`ARRIVAL_RADIUS_M`].
#[derive(Debug, Clone, PartialEq)]
pub struct TripRules {
    /// Distance from the driver to the pickup of a new order, in metres.
    pub pickup_distance_m: Range<f64>,
    /// Distance from the pickup to the drop-off, in metres.
    pub dropoff_distance_m: Range<f64>,
    /// Cruising speed of one leg in m/s (18–47 km/h: city traffic).
    pub speed_mps: Range<f64>,
    /// Largest relative change of the speed in one fix interval (traffic).
    pub speed_variation: f64,
    /// Largest distance between a pickup or drop-off point and where the
    /// driver parks for it, in metres.
    pub parking_offset_m: f64,
    /// Largest GPS error of a fix, in metres.
    pub jitter_m: f64,
    /// Wait at the pickup between arrival and `picked_up`, in ms.
    pub pickup_dwell_ms: Range<i64>,
    /// Pause between the end of an order and the next assignment, in ms.
    pub idle_ms: Range<i64>,
    /// Pause before the first assignment, in ms (spreads the fleet's first
    /// orders over time).
    pub first_idle_ms: Range<i64>,
    /// Fraction of the orders cancelled before pickup.
    pub cancel_probability: f64,
}

impl Default for TripRules {
    fn default() -> Self {
        Self {
            pickup_distance_m: 300.0..3_000.0,
            dropoff_distance_m: 1_000.0..5_000.0,
            speed_mps: 5.0..13.0,
            speed_variation: 0.15,
            parking_offset_m: 20.0,
            jitter_m: 5.0,
            pickup_dwell_ms: 20_000..120_000,
            idle_ms: 15_000..90_000,
            first_idle_ms: 0..30_000,
            cancel_probability: 0.03,
        }
    }
}

/// What one fix of a driver produces: the fix, and the order event that
/// happened at it, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub fix: Fix,
    pub order_event: Option<OrderEvent>,
}

/// One GPS fix as the driver's phone reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    /// Event time, ms since the epoch.
    pub timestamp_ms: i64,
    /// The true position moved by GPS jitter.
    pub position: Point,
    /// Distance driven since the previous fix over the time between them, m/s.
    pub speed_mps: f64,
    /// Direction of travel in degrees clockwise from north.
    pub heading_deg: f64,
    /// The order the driver is on at this fix, if any.
    pub order_id: Option<String>,
}

/// One step of an order's lifecycle.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderEvent {
    pub order_id: String,
    /// Event time, ms since the epoch: the timestamp of the fix it came with.
    pub timestamp_ms: i64,
    pub kind: OrderEventKind,
}

/// Which lifecycle step an [`OrderEvent`] is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OrderEventKind {
    /// The order was given to the driver.
    Assigned { pickup: Point, dropoff: Point },
    /// The driver collected the order at the pickup.
    PickedUp,
    /// The driver handed the order over at the drop-off.
    Delivered,
    /// The order was cancelled before its pickup.
    Cancelled,
}

impl OrderEventKind {
    /// The event's `type` in the order event JSON (see `fleethost_event::order`).
    pub fn type_name(&self) -> &'static str {
        match self {
            OrderEventKind::Assigned { .. } => "order_assigned",
            OrderEventKind::PickedUp => "picked_up",
            OrderEventKind::Delivered => "delivered",
            OrderEventKind::Cancelled => "cancelled",
        }
    }
}

/// The id of the driver with index `index`, as fixes and order events carry it.
pub fn driver_id(index: usize) -> String {
    format!("driver-{index:06}")
}

/// One driver of the simulated fleet: where it is, what it is doing, and the
/// random streams that decide what comes next.
#[derive(Debug, Clone)]
pub struct DriverModel {
    driver_id: String,
    order_id_prefix: String,
    orders_assigned: u64,
    rules: TripRules,
    /// Where order points may go: the city, [`CITY_MARGIN_M`] inside its edges.
    order_area: CityArea,
    plan_rng: StdRng,
    noise_rng: StdRng,
    /// The true position, without jitter.
    position: Point,
    heading_deg: f64,
    last_fix_ms: i64,
    activity: Activity,
}

/// What a driver is doing between two fixes.
#[derive(Debug, Clone)]
enum Activity {
    Idle { until_ms: i64 },
    ToPickup(Trip),
    AtPickup { trip: Trip, ready_at_ms: i64 },
    ToDropoff(Trip),
}

impl Activity {
    /// Where the driver is driving to and at what speed, when it is driving.
    fn leg(&self) -> Option<(Point, f64)> {
        match self {
            Activity::ToPickup(trip) => Some((trip.pickup_stop, trip.to_pickup_speed_mps)),
            Activity::ToDropoff(trip) => Some((trip.dropoff_stop, trip.to_dropoff_speed_mps)),
            Activity::Idle { .. } | Activity::AtPickup { .. } => None,
        }
    }

    fn order_id(&self) -> Option<&str> {
        match self {
            Activity::Idle { .. } => None,
            Activity::ToPickup(trip) | Activity::AtPickup { trip, .. } | Activity::ToDropoff(trip) => {
                Some(&trip.order_id)
            }
        }
    }
}

/// An order as planned at its assignment: every random choice of its
/// lifecycle is drawn then, so that the plan stream advances by the same draws
/// whatever the timing.
#[derive(Debug, Clone)]
struct Trip {
    order_id: String,
    pickup: Point,
    dropoff: Point,
    /// Where the driver parks for the pickup.
    pickup_stop: Point,
    /// Where the driver parks for the drop-off.
    dropoff_stop: Point,
    to_pickup_speed_mps: f64,
    to_dropoff_speed_mps: f64,
    pickup_dwell_ms: i64,
    /// When the customer cancels, for the orders that will be cancelled.
    cancel_at_ms: Option<i64>,
    /// The pause after this order ends.
    idle_after_ms: i64,
}

impl Trip {
    fn is_cancelled_by(&self, now_ms: i64) -> bool {
        self.cancel_at_ms.is_some_and(|cancel_at_ms| now_ms >= cancel_at_ms)
    }
}

/// What the driving part of a step did.
struct Drive {
    speed_mps: f64,
    reached_stop: bool,
}

impl DriverModel {
    /// The driver with index `index` in a run seeded with `seed`, idle at a
    /// random point of `city` at `start_ms`.
    pub fn new(index: usize, seed: u64, start_ms: i64, city: CityArea, rules: TripRules) -> Self {
        let mut plan_rng = random_stream(seed, index, RandomStream::Plan);
        let noise_rng = random_stream(seed, index, RandomStream::Noise);
        let order_area = city.shrunk_by(CITY_MARGIN_M);
        let position = order_area.random_point(&mut plan_rng);
        let heading_deg = plan_rng.random_range(0.0..360.0);
        let first_idle_ms = draw(&mut plan_rng, &rules.first_idle_ms);
        Self {
            driver_id: driver_id(index),
            order_id_prefix: format!("order-{seed}-{index:06}"),
            orders_assigned: 0,
            rules,
            order_area,
            plan_rng,
            noise_rng,
            position,
            heading_deg,
            last_fix_ms: start_ms,
            activity: Activity::Idle {
                until_ms: start_ms.saturating_add(first_idle_ms),
            },
        }
    }

    /// The driver's id.
    pub fn driver_id(&self) -> &str {
        &self.driver_id
    }

    /// The driver's next fix, at `timestamp_ms`, and the order event that
    /// happened at it. A timestamp before the previous fix is taken as the
    /// previous fix's: fixes never go back in time.
    pub fn fix_at(&mut self, timestamp_ms: i64) -> Step {
        let timestamp_ms = timestamp_ms.max(self.last_fix_ms);
        let seconds = (timestamp_ms - self.last_fix_ms) as f64 / 1000.0;
        self.last_fix_ms = timestamp_ms;
        let drive = self.drive(seconds);
        let order_event = self.next_lifecycle_step(timestamp_ms, drive.reached_stop);
        let order_id = self
            .activity
            .order_id()
            .or(order_event.as_ref().map(|event| event.order_id.as_str()))
            .map(str::to_owned);
        let fix = Fix {
            timestamp_ms,
            position: self.jittered_position(),
            speed_mps: drive.speed_mps,
            heading_deg: self.heading_deg,
            order_id,
        };
        Step { fix, order_event }
    }

    /// Drives toward the current leg's stop for `seconds`, stopping there.
    fn drive(&mut self, seconds: f64) -> Drive {
        let Some((stop, leg_speed_mps)) = self.activity.leg() else {
            return Drive {
                speed_mps: 0.0,
                reached_stop: false,
            };
        };
        let variation = self.rules.speed_variation.abs();
        let speed_mps = leg_speed_mps * (1.0 + self.noise_rng.random_range(-variation..=variation));
        let reachable_m = speed_mps.max(MIN_SPEED_MPS) * seconds;
        let remaining_m = self.position.distance_m(stop);
        if remaining_m > 0.0 {
            self.heading_deg = self.position.bearing_deg(stop);
        }
        let (moved_m, reached_stop) = if remaining_m <= reachable_m {
            self.position = stop;
            (remaining_m, true)
        } else {
            self.position = self.position.destination(self.heading_deg, reachable_m);
            (reachable_m, false)
        };
        Drive {
            speed_mps: if seconds > 0.0 { moved_m / seconds } else { 0.0 },
            reached_stop,
        }
    }

    /// Moves the lifecycle on by at most one step at `now_ms`.
    fn next_lifecycle_step(&mut self, now_ms: i64, reached_stop: bool) -> Option<OrderEvent> {
        let activity = std::mem::replace(&mut self.activity, Activity::Idle { until_ms: now_ms });
        let (next, event) = match activity {
            Activity::Idle { until_ms } if now_ms >= until_ms => {
                let trip = self.plan_order(now_ms);
                let kind = OrderEventKind::Assigned {
                    pickup: trip.pickup,
                    dropoff: trip.dropoff,
                };
                let event = event(&trip, now_ms, kind);
                (Activity::ToPickup(trip), Some(event))
            }
            Activity::ToPickup(trip) | Activity::AtPickup { trip, .. } if trip.is_cancelled_by(now_ms) => {
                let event = event(&trip, now_ms, OrderEventKind::Cancelled);
                (idle_after(&trip, now_ms), Some(event))
            }
            Activity::ToPickup(trip) if reached_stop => {
                let ready_at_ms = now_ms.saturating_add(trip.pickup_dwell_ms);
                (Activity::AtPickup { trip, ready_at_ms }, None)
            }
            Activity::AtPickup { trip, ready_at_ms } if now_ms >= ready_at_ms => {
                let event = event(&trip, now_ms, OrderEventKind::PickedUp);
                (Activity::ToDropoff(trip), Some(event))
            }
            Activity::ToDropoff(trip) if reached_stop => {
                let event = event(&trip, now_ms, OrderEventKind::Delivered);
                (idle_after(&trip, now_ms), Some(event))
            }
            unchanged => (unchanged, None),
        };
        self.activity = next;
        event
    }

    /// Draws a new order from where the driver is, at `now_ms`.
    fn plan_order(&mut self, now_ms: i64) -> Trip {
        self.orders_assigned += 1;
        let order_id = format!("{}-{}", self.order_id_prefix, self.orders_assigned);
        let rng = &mut self.plan_rng;
        let rules = &self.rules;
        let pickup = place(rng, self.order_area, self.position, &rules.pickup_distance_m);
        let dropoff = place(rng, self.order_area, pickup, &rules.dropoff_distance_m);
        let pickup_stop = parking_spot(rng, pickup, rules.parking_offset_m);
        let dropoff_stop = parking_spot(rng, dropoff, rules.parking_offset_m);
        let to_pickup_speed_mps = draw(rng, &rules.speed_mps).max(MIN_SPEED_MPS);
        let to_dropoff_speed_mps = draw(rng, &rules.speed_mps).max(MIN_SPEED_MPS);
        let pickup_dwell_ms = draw(rng, &rules.pickup_dwell_ms).max(0);
        let idle_after_ms = draw(rng, &rules.idle_ms).max(0);
        let cancel_at_ms = if rng.random::<f64>() < rules.cancel_probability {
            let planned_drive_ms = self.position.distance_m(pickup_stop) / to_pickup_speed_mps * 1000.0;
            let after_ms = (planned_drive_ms * rng.random_range(CANCEL_MOMENT)) as i64;
            Some(now_ms.saturating_add(after_ms.max(1)))
        } else {
            None
        };
        Trip {
            order_id,
            pickup,
            dropoff,
            pickup_stop,
            dropoff_stop,
            to_pickup_speed_mps,
            to_dropoff_speed_mps,
            pickup_dwell_ms,
            cancel_at_ms,
            idle_after_ms,
        }
    }

    /// The true position moved by GPS jitter, uniform over a disc.
    fn jittered_position(&mut self) -> Point {
        let bearing = self.noise_rng.random_range(0.0..360.0);
        let distance_m = self.rules.jitter_m.abs() * self.noise_rng.random::<f64>().sqrt();
        self.position.destination(bearing, distance_m)
    }
}

fn event(trip: &Trip, timestamp_ms: i64, kind: OrderEventKind) -> OrderEvent {
    OrderEvent {
        order_id: trip.order_id.clone(),
        timestamp_ms,
        kind,
    }
}

fn idle_after(trip: &Trip, now_ms: i64) -> Activity {
    Activity::Idle {
        until_ms: now_ms.saturating_add(trip.idle_after_ms),
    }
}

/// A point `distance_m` from `from`, inside `area`: a random bearing that
/// stays inside, else the bearing toward the centre (inside whenever the area
/// is larger than the distance; clamped otherwise).
fn place(rng: &mut StdRng, area: CityArea, from: Point, distance_m: &Range<f64>) -> Point {
    let distance_m = draw(rng, distance_m);
    for _ in 0..PLACEMENT_ATTEMPTS {
        let candidate = from.destination(rng.random_range(0.0..360.0), distance_m);
        if area.contains(candidate) {
            return candidate;
        }
    }
    area.clamp(from.destination(from.bearing_deg(area.centre()), distance_m))
}

/// Where a driver parks for `point`: up to `offset_m` from it.
fn parking_spot(rng: &mut StdRng, point: Point, offset_m: f64) -> Point {
    let bearing = rng.random_range(0.0..360.0);
    let distance_m = offset_m.abs() * rng.random::<f64>();
    point.destination(bearing, distance_m)
}

/// A value drawn from `range`, or its start when the range is empty.
fn draw<T: SampleUniform + PartialOrd + Copy>(rng: &mut StdRng, range: &Range<T>) -> T {
    if range.start < range.end {
        rng.random_range(range.start..range.end)
    } else {
        range.start
    }
}

/// The two random streams of a driver.
#[derive(Clone, Copy)]
enum RandomStream {
    Plan = 0,
    Noise = 1,
}

/// A stream keyed by (seed, driver index, stream): independent of the fleet's
/// size and of the order in which drivers send their fixes.
fn random_stream(seed: u64, index: usize, stream: RandomStream) -> StdRng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(index as u64).to_le_bytes());
    key[16] = stream as u8;
    StdRng::from_seed(key)
}

#[cfg(test)]
mod tests;
