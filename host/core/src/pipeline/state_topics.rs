//! A plugin's state is kept per partition number, and the workers of one
//! partition of each of the pipeline's topics share it (a driver's fixes and
//! order events, keyed alike, meet in it). That holds only when the topics
//! are co-partitioned, as Kafka Streams requires of joined topics: as many
//! partitions each, and the range assignor, which gives one member the same
//! partition numbers of every topic. Checked when a pipeline whose plugins
//! keep state starts.

/// The assignor that keeps partition numbers together across topics.
const RANGE: &str = "range";

/// Why the pipeline's topics cannot share its plugins' state, or `Ok` when
/// they can: `stateful` names the plugins that keep state (none: nothing to
/// check), `strategy` is the consumer's `partition.assignment.strategy`,
/// `partitions` each topic's partition count (`None` when the broker does
/// not know it yet: not held against it).
pub fn check(
    stateful: &[String],
    topics: &[String],
    strategy: Option<&str>,
    partitions: &[Option<i32>],
) -> Result<(), String> {
    if stateful.is_empty() || topics.len() < 2 {
        return Ok(());
    }
    let plugins = stateful.join(", ");
    let first = strategy.and_then(|strategy| strategy.split(',').next()).map(str::trim);
    if first != Some(RANGE) {
        return Err(format!(
            "{plugins} keep state per partition, which its topics share by partition number: \
             partition.assignment.strategy must put \"range\" first (it is {:?})",
            strategy.unwrap_or_default()
        ));
    }
    let known: Vec<(&String, i32)> = topics
        .iter()
        .zip(partitions)
        .filter_map(|(topic, count)| count.map(|count| (topic, count)))
        .collect();
    if known.windows(2).any(|pair| pair[0].1 != pair[1].1) {
        let counts: Vec<String> = known.iter().map(|(topic, count)| format!("{topic}: {count}")).collect();
        return Err(format!(
            "{plugins} keep state per partition, which its topics share by partition number: \
             they must have as many partitions each ({})",
            counts.join(", ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn co_partitioned_topics_or_stateless_plugins_pass() {
        let topics = names(&["fixes", "orders"]);
        assert!(check(&names(&["eta"]), &topics, Some("range,roundrobin"), &[Some(8), Some(8)]).is_ok());
        assert!(check(&[], &topics, Some("roundrobin"), &[Some(8), Some(4)]).is_ok());
        assert!(check(&names(&["eta"]), &names(&["fixes"]), Some("roundrobin"), &[Some(8)]).is_ok());
        assert!(check(&names(&["eta"]), &topics, Some("range"), &[Some(8), None]).is_ok());
    }

    #[test]
    fn unequal_partition_counts_are_refused_naming_them() {
        let error = check(
            &names(&["eta", "fare"]),
            &names(&["fixes", "orders"]),
            Some("range,roundrobin"),
            &[Some(8), Some(4)],
        )
        .unwrap_err();
        assert!(
            error.contains("eta, fare") && error.contains("fixes: 8, orders: 4"),
            "{error}"
        );
    }

    #[test]
    fn an_assignor_that_splits_partition_numbers_is_refused() {
        let error = check(
            &names(&["eta"]),
            &names(&["fixes", "orders"]),
            Some("cooperative-sticky"),
            &[Some(8), Some(8)],
        )
        .unwrap_err();
        assert!(error.contains("\"cooperative-sticky\""), "{error}");
    }
}
