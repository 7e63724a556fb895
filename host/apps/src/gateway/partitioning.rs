//! Which partition a driver's fix goes to.
//!
//! Two schemes, chosen with `--partitioning`:
//!
//! - [`Partitioning::Driver`] (default): no explicit partition; librdkafka's
//!   default partitioner (`consistent_random`: CRC32 of the key) places the
//!   fix by its key, the driver id, exactly as the simulator and the host's
//!   other producers do. A driver's fixes stay in one partition in order, and
//!   drivers spread evenly. (Java clients hash keys with murmur2: a Java
//!   producer of the same topic would put a driver in another partition.)
//! - [`Partitioning::Region`], as the seed systems do: a fix whose
//!   `state`/`region` is `south` goes to partition 0, every other fix to one of
//!   partitions 1..n chosen by a stable hash of the driver id. Consumers of the
//!   south region read one partition only, but partition 0 takes the whole
//!   region's load (a hotspot), and a driver's fixes stay in order only while
//!   the driver's region does not change: a driver who moves into or out of
//!   the south has fixes in two partitions, which consumers may read out of
//!   order.
//!
//! Partition numbers are explicit in region mode, so the gateway reads the
//! topic's partition count from its metadata at startup; partitions added
//! later are used after a restart of the gateway.

use fleethost_event::location::Location;

/// The region that has a partition of its own in region mode.
pub const DEDICATED_REGION: &str = "south";

/// How fixes are spread over the topic's partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Partitioning {
    /// By driver id, with Kafka's default partitioner on the key.
    #[default]
    Driver,
    /// South-region fixes to partition 0, others over the remaining
    /// partitions by a hash of the driver id.
    Region,
}

/// The partitioning scheme applied to a topic of known size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partitioner {
    scheme: Partitioning,
    partitions: i32,
}

impl Partitioner {
    /// A partitioner for a topic with `partitions` partitions (at least 1).
    pub fn new(scheme: Partitioning, partitions: i32) -> Self {
        Self {
            scheme,
            partitions: partitions.max(1),
        }
    }

    /// The partitioning scheme.
    pub fn scheme(&self) -> Partitioning {
        self.scheme
    }

    /// The topic's partition count, as read at startup.
    pub fn partitions(&self) -> i32 {
        self.partitions
    }

    /// The explicit partition of `location`, or `None` to let the producer's
    /// default partitioner place it by key.
    pub fn partition_for(&self, location: &Location) -> Option<i32> {
        match self.scheme {
            Partitioning::Driver => None,
            Partitioning::Region => Some(self.region_partition(location.region.as_deref(), &location.driver_id)),
        }
    }

    /// Region mode: partition 0 for the dedicated region, otherwise 1..n by
    /// the driver id's hash. With a single partition everything goes to 0.
    fn region_partition(&self, region: Option<&str>, driver_id: &str) -> i32 {
        let in_dedicated_region = region.is_some_and(|region| region.trim().eq_ignore_ascii_case(DEDICATED_REGION));
        if in_dedicated_region || self.partitions == 1 {
            return 0;
        }
        let others = (self.partitions - 1) as u32;
        1 + (fnv1a_32(driver_id.as_bytes()) % others) as i32
    }
}

/// FNV-1a, 32 bits: stable across processes, releases and machines (unlike
/// std's `DefaultHasher`), so that every gateway instance puts a driver in
/// the same partition.
fn fnv1a_32(bytes: &[u8]) -> u32 {
    const OFFSET_BASIS: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    bytes
        .iter()
        .fold(OFFSET_BASIS, |hash, byte| (hash ^ u32::from(*byte)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(driver_id: &str, region: Option<&str>) -> Location {
        Location {
            driver_id: driver_id.to_string(),
            latitude: 12.9,
            longitude: 77.6,
            timestamp_ms: 1_700_000_000_000,
            region: region.map(str::to_string),
            order_id: None,
            speed: None,
            heading: None,
        }
    }

    #[test]
    fn driver_mode_leaves_the_choice_to_the_key_partitioner() {
        let partitioner = Partitioner::new(Partitioning::Driver, 4);
        assert_eq!(partitioner.partition_for(&fix("d1", Some("south"))), None);
        assert_eq!(partitioner.partition_for(&fix("d1", None)), None);
    }

    #[test]
    fn region_mode_puts_the_south_in_partition_0_only() {
        let partitioner = Partitioner::new(Partitioning::Region, 4);
        for driver in 0..500 {
            let driver_id = format!("driver-{driver}");
            for south in ["south", "South", " SOUTH "] {
                assert_eq!(partitioner.partition_for(&fix(&driver_id, Some(south))), Some(0));
            }
            for elsewhere in [None, Some("north"), Some("southeast"), Some("")] {
                let partition = partitioner.partition_for(&fix(&driver_id, elsewhere));
                assert!(
                    matches!(partition, Some(1..=3)),
                    "{driver_id} {elsewhere:?}: {partition:?}"
                );
            }
        }
    }

    #[test]
    fn region_mode_keeps_a_driver_in_one_partition_and_spreads_drivers() {
        let partitioner = Partitioner::new(Partitioning::Region, 4);
        let mut per_partition = [0usize; 4];
        for driver in 0..3000 {
            let driver_id = format!("driver-{driver:06}");
            let first = partitioner.partition_for(&fix(&driver_id, Some("north")));
            let second = partitioner.partition_for(&fix(&driver_id, None));
            assert_eq!(first, second, "{driver_id}");
            per_partition[first.expect("explicit") as usize] += 1;
        }
        assert_eq!(per_partition[0], 0);
        for count in &per_partition[1..] {
            assert!((800..=1200).contains(count), "uneven spread: {per_partition:?}");
        }
    }

    #[test]
    fn region_mode_with_one_partition_uses_it_for_everything() {
        let partitioner = Partitioner::new(Partitioning::Region, 1);
        assert_eq!(partitioner.partition_for(&fix("d1", Some("north"))), Some(0));
        assert_eq!(partitioner.partition_for(&fix("d1", Some("south"))), Some(0));
    }

    #[test]
    fn the_driver_hash_is_fnv1a() {
        // Reference values of 32-bit FNV-1a.
        assert_eq!(fnv1a_32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a_32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a_32(b"foobar"), 0xbf9c_f968);
    }
}
