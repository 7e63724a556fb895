//! One contender's figures from one round, and their summary over rounds.

use serde::Serialize;

use crate::process_stats::ServicesSample;

/// What one run of one contender measured.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// Contender name, as in the results table.
    pub contender: String,
    /// Round number (1-based): contenders alternate within each round.
    pub round: u32,
    /// Records the contender handled in the measured window.
    pub events: u64,
    /// Seconds from the first event consumed to the last one written and
    /// committed (or the tool's own timing for the sinks' limits).
    pub seconds: f64,
    /// CPU seconds the contender's own process used in that window, where
    /// the contender is one process of ours.
    pub cpu_seconds: Option<f64>,
    /// Peak resident memory of that process, bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Average busy cores of the whole machine in the window (broker,
    /// databases and contender together).
    pub busy_cores: f64,
    /// CPU seconds the broker, Redis and PostgreSQL used in the window.
    pub services: Option<ServicesSample>,
}

impl Measurement {
    /// Events per second.
    pub fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.events as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// CPU seconds per million events.
    pub fn cpu_per_million(&self) -> Option<f64> {
        self.per_million(self.cpu_seconds)
    }

    /// `seconds` per million events.
    pub fn per_million(&self, seconds: Option<f64>) -> Option<f64> {
        seconds
            .filter(|_| self.events > 0)
            .map(|s| s / self.events as f64 * 1e6)
    }
}

/// A figure over the rounds: median and spread.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// Median, min and max of the values; `None` when there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Self> {
        let mut values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let middle = values.len() / 2;
        let median = if values.len() % 2 == 1 {
            values[middle]
        } else {
            (values[middle - 1] + values[middle]) / 2.0
        };
        Some(Self {
            median,
            min: values[0],
            max: values[values.len() - 1],
        })
    }
}

/// One contender's rounds, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub contender: String,
    pub rounds: usize,
    pub events_per_s: Option<Spread>,
    pub cpu_s_per_million: Option<Spread>,
    pub peak_rss_mib: Option<Spread>,
    pub busy_cores: Option<Spread>,
    /// CPU seconds per million events of the broker, Redis and PostgreSQL.
    pub broker_cpu_s_per_million: Option<Spread>,
    pub redis_cpu_s_per_million: Option<Spread>,
    pub postgres_cpu_s_per_million: Option<Spread>,
}

impl Summary {
    /// Summarises the measurements of `contender`.
    pub fn of(contender: &str, measurements: &[Measurement]) -> Self {
        let mine: Vec<&Measurement> = measurements.iter().filter(|m| m.contender == contender).collect();
        Self {
            contender: contender.to_string(),
            rounds: mine.len(),
            events_per_s: Spread::of(mine.iter().map(|m| m.rate())),
            cpu_s_per_million: Spread::of(mine.iter().filter_map(|m| m.cpu_per_million())),
            peak_rss_mib: Spread::of(
                mine.iter()
                    .filter_map(|m| m.peak_rss_bytes)
                    .map(|bytes| bytes as f64 / (1024.0 * 1024.0)),
            ),
            busy_cores: Spread::of(mine.iter().map(|m| m.busy_cores)),
            broker_cpu_s_per_million: Spread::of(
                mine.iter().filter_map(|m| m.per_million(m.services.map(|s| s.broker))),
            ),
            redis_cpu_s_per_million: Spread::of(mine.iter().filter_map(|m| m.per_million(m.services.map(|s| s.redis)))),
            postgres_cpu_s_per_million: Spread::of(
                mine.iter()
                    .filter_map(|m| m.per_million(m.services.map(|s| s.postgres))),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread() {
        assert_eq!(
            Spread::of([3.0, 1.0, 2.0]),
            Some(Spread {
                median: 2.0,
                min: 1.0,
                max: 3.0
            })
        );
        assert_eq!(Spread::of([4.0, 1.0]).map(|s| s.median), Some(2.5));
        assert_eq!(Spread::of([]), None);
    }

    #[test]
    fn rate_and_cpu_per_million() {
        let m = Measurement {
            contender: "x".into(),
            round: 1,
            events: 500_000,
            seconds: 5.0,
            cpu_seconds: Some(2.0),
            peak_rss_bytes: Some(1 << 20),
            busy_cores: 1.5,
            services: None,
        };
        assert_eq!(m.rate(), 100_000.0);
        assert_eq!(m.cpu_per_million(), Some(4.0));
        let summary = Summary::of("x", &[m]);
        assert_eq!(summary.peak_rss_mib.map(|s| s.median), Some(1.0));
    }
}
