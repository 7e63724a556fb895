//! What a customer watches (a driver or an order) and the Redis pub/sub
//! channels it maps to: the channels the plugins publish on (live-location:
//! positions; eta: an order's estimates), named by [`LiveKeys`].

use super::live_keys::LiveKeys;

/// The longest driver or order id a customer may ask for, in bytes: ids are
/// short, and the id goes into Redis channel names and the registry's map.
pub const MAX_ID_BYTES: usize = 256;

/// What one customer's WebSocket follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A driver's positions (`?driver=ID`).
    Driver(String),
    /// An order's positions and ETAs (`?order=ID`).
    Order(String),
}

impl Target {
    /// The target named by a query string: exactly one of `driver=ID` or
    /// `order=ID` (percent-decoded, non-empty, at most [`MAX_ID_BYTES`]).
    /// Other parameters are ignored, so that clients may add their own. The
    /// error says what was wrong, for a 400 answer.
    pub fn from_query(query: Option<&str>) -> Result<Self, String> {
        let mut found: Option<Target> = None;
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let target = match name.as_ref() {
                "driver" => Target::Driver(checked_id("driver", &value)?),
                "order" => Target::Order(checked_id("order", &value)?),
                _ => continue,
            };
            if found.is_some() {
                return Err("give one of `driver=ID` or `order=ID`, once".to_string());
            }
            found = Some(target);
        }
        found.ok_or_else(|| "missing query parameter: `driver=ID` or `order=ID`".to_string())
    }

    /// The `sub` of a customer's token that may follow this target:
    /// `driver:ID` or `order:ID`.
    pub fn token_subject(&self) -> String {
        match self {
            Target::Driver(driver_id) => format!("driver:{driver_id}"),
            Target::Order(order_id) => format!("order:{order_id}"),
        }
    }

    /// The Redis pub/sub channel of this target's positions.
    pub fn channel(&self, keys: &LiveKeys) -> String {
        match self {
            Target::Driver(driver_id) => keys.driver_channel(driver_id),
            Target::Order(order_id) => keys.order_channel(order_id),
        }
    }

    /// The channel of this target's estimates: an order's, which eta
    /// publishes on a channel of its own; `None` for a driver.
    pub fn estimates_channel(&self, keys: &LiveKeys) -> Option<String> {
        match self {
            Target::Driver(_) => None,
            Target::Order(order_id) => Some(keys.eta_channel(order_id)),
        }
    }
}

fn checked_id(parameter: &str, value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err(format!("query parameter `{parameter}` is empty: give the id to watch"));
    }
    if value.len() > MAX_ID_BYTES {
        return Err(format!(
            "query parameter `{parameter}` is {} bytes long: at most {MAX_ID_BYTES}",
            value.len()
        ));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_driver_or_an_order_is_watched() {
        assert_eq!(Target::from_query(Some("driver=d-1")), Ok(Target::Driver("d-1".into())));
        assert_eq!(
            Target::from_query(Some("token=x&order=o%2F7")),
            Ok(Target::Order("o/7".into()))
        );
        let driver = Target::Driver("d1".into());
        assert_eq!(driver.token_subject(), "driver:d1");
        assert_eq!(Target::Order("o1".into()).token_subject(), "order:o1");
        assert_eq!(driver.channel(&LiveKeys::with_prefix("p:")), "p:live:driver:d1");
        let order = Target::Order("o1".into());
        assert_eq!(order.channel(&LiveKeys::with_prefix("")), "live:order:o1");
        assert_eq!(
            order.estimates_channel(&LiveKeys::with_prefix("")).as_deref(),
            Some("live:eta:o1")
        );
        assert_eq!(driver.estimates_channel(&LiveKeys::with_prefix("")), None);
    }

    #[test]
    fn bad_queries_say_what_is_wrong() {
        let missing = Target::from_query(None).expect_err("nothing to watch");
        assert!(missing.contains("driver=ID"), "{missing}");
        let both = Target::from_query(Some("driver=a&order=b")).expect_err("two targets");
        assert!(both.contains("once"), "{both}");
        let empty = Target::from_query(Some("driver=")).expect_err("empty id");
        assert!(empty.contains("`driver` is empty"), "{empty}");
        let long = format!("order={}", "x".repeat(MAX_ID_BYTES + 1));
        let error = Target::from_query(Some(&long)).expect_err("too long");
        assert!(error.contains("at most 256"), "{error}");
    }
}
