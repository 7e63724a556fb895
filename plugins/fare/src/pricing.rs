//! The tariff: what a trip of a given distance and duration costs, and the
//! surge multiplier of each region.

use std::collections::BTreeMap;

/// Surge multipliers by region, from the `surge` config key
/// (`"south=1.5,north=1.2"`). Regions match case-insensitively; a region not
/// listed (or no region) has the multiplier 1.0.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Surge {
    multipliers: BTreeMap<String, f64>,
}

impl Surge {
    /// Parses `region=multiplier` pairs separated by commas (blanks around
    /// either are ignored; an empty text means no surge). Each multiplier must
    /// be a finite number > 0 and each region listed once; errors name the
    /// `surge` key.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut multipliers = BTreeMap::new();
        for entry in text.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
            let fail = |why: &str| format!("config key `surge` = {text:?}: entry {entry:?} {why}");
            let (region, multiplier) = entry
                .split_once('=')
                .ok_or_else(|| fail("is not `region=multiplier`"))?;
            let region = region.trim().to_lowercase();
            if region.is_empty() {
                return Err(fail("has no region"));
            }
            let multiplier = multiplier
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|multiplier| multiplier.is_finite() && *multiplier > 0.0)
                .ok_or_else(|| fail("needs a multiplier that is a number > 0"))?;
            if multipliers.insert(region, multiplier).is_some() {
                return Err(fail("repeats a region"));
            }
        }
        Ok(Self { multipliers })
    }

    /// The multiplier of `region`.
    pub fn multiplier(&self, region: Option<&str>) -> f64 {
        region
            .and_then(|region| self.multipliers.get(&region.trim().to_lowercase()))
            .copied()
            .unwrap_or(1.0)
    }
}

/// Prices (from the plugin config).
#[derive(Debug, Clone, PartialEq)]
pub struct Tariff {
    pub base_fare: f64,
    pub per_km: f64,
    pub per_minute: f64,
    pub minimum_fare: f64,
    pub currency: String,
    pub surge: Surge,
}

/// The price of one trip, with what it was computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    /// Metres driven (unrounded).
    pub distance_m: f64,
    /// Seconds since the pickup (unrounded).
    pub duration_s: f64,
    /// The surge multiplier applied.
    pub surge: f64,
    /// The fare, rounded to 2 decimals.
    pub fare: f64,
}

impl Tariff {
    /// `fare = round2(max(minimum_fare, (base_fare + per_km * km + per_minute *
    /// minutes) * surge(region)))` with `km = distance_m / 1000`, `minutes =
    /// duration_s / 60` and `round2(x) = round(x * 100) / 100` (halves away
    /// from zero).
    pub fn quote(&self, distance_m: f64, duration_s: f64, region: Option<&str>) -> Quote {
        let surge = self.surge.multiplier(region);
        let metered = self.base_fare + self.per_km * distance_m / 1000.0 + self.per_minute * duration_s / 60.0;
        let fare = (metered * surge).max(self.minimum_fare);
        Quote {
            distance_m,
            duration_s,
            surge,
            fare: (fare * 100.0).round() / 100.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tariff() -> Tariff {
        Tariff {
            base_fare: 30.0,
            per_km: 12.0,
            per_minute: 1.5,
            minimum_fare: 50.0,
            currency: "INR".into(),
            surge: Surge::parse("south=1.5, North = 1.2").expect("valid"),
        }
    }

    #[test]
    fn a_known_trip_costs_the_hand_computed_fare() {
        // (30 + 12 * 5.2 + 1.5 * 14) * 1.2 = 113.4 * 1.2 = 136.08
        let quote = tariff().quote(5_200.0, 840.0, Some("north"));
        assert_eq!((quote.fare, quote.surge), (136.08, 1.2));
        // Without surge: 30 + 12 * 3.25 + 1.5 * 10.5 = 84.75
        assert_eq!(tariff().quote(3_250.0, 630.0, None).fare, 84.75);
        assert_eq!(tariff().quote(3_250.0, 630.0, Some("east")).fare, 84.75);
    }

    #[test]
    fn short_trips_pay_the_minimum_and_fares_round_to_cents() {
        assert_eq!(tariff().quote(100.0, 60.0, None).fare, 50.0);
        // 30 + 12 * 1.0001 + 1.5 * 7 = 52.5012 -> 52.5
        assert_eq!(tariff().quote(1_000.1, 420.0, None).fare, 52.5);
    }

    #[test]
    fn surge_regions_match_case_insensitively() {
        let surge = Surge::parse("South=1.5").expect("valid");
        assert_eq!(surge.multiplier(Some("SOUTH")), 1.5);
        assert_eq!(surge.multiplier(None), 1.0);
        assert_eq!(Surge::parse("").expect("empty is no surge"), Surge::default());
    }

    #[test]
    fn surge_errors_name_the_key_and_the_entry() {
        for (text, entry) in [
            ("south", "south"),
            ("south=1.5,=2", "=2"),
            ("south=cheap", "south=cheap"),
            ("south=0", "south=0"),
            ("south=1.5,South=2", "South=2"),
        ] {
            let error = Surge::parse(text).expect_err(text);
            assert!(error.contains("`surge`") && error.contains(entry), "{error}");
        }
    }
}
