//! What each plugin version uses, and the quotas that bound it: host calls
//! by capability (with their durations), time in its own code, bytes in and
//! out, refusals by grants and by quotas. Counted into the host's metric
//! families under the plugin's name and version, so a new version is
//! compared with the one it replaced.
//!
//! Bytes count what crosses the sandbox as data: strings and byte lists at
//! their length, numbers at 8 bytes; not the canonical ABI's padding.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;

use crate::config::PluginLimits;
use crate::metrics::labels::{BatchLabels, Capability, HostCallLabels, PluginLabels, Quota, QuotaLabels};
use crate::metrics::{Families, SecondsCounter};

/// The usage of one plugin version over all its instances.
#[derive(Debug)]
pub struct PluginUsage {
    families: Families,
    labels: PluginLabels,
    denied: Counter,
    calls: [Counter; 3],
    call_durations: [Histogram; 3],
    plugin_seconds: SecondsCounter,
    bytes_in: Counter,
    bytes_out: Counter,
    refused: [Counter; 2],
    per_batch: Option<u32>,
    per_second: Option<u32>,
    /// The current one-second window of `per_second`: its start (the
    /// first call after the last window) and its calls.
    window: Mutex<Option<(Instant, u32)>>,
}

const CAPABILITIES: [Capability; 3] = [Capability::Kv, Capability::Sql, Capability::Produce];

fn index(capability: Capability) -> usize {
    match capability {
        Capability::Kv => 0,
        Capability::Sql => 1,
        Capability::Produce => 2,
    }
}

impl PluginUsage {
    /// The usage of `plugin` at `version`, counted into `families`, under
    /// the quotas of `limits`.
    pub fn new(families: &Families, plugin: &str, version: &str, limits: &PluginLimits) -> Self {
        let labels = PluginLabels::new(plugin, version);
        let call_labels = |capability| HostCallLabels {
            plugin: plugin.to_string(),
            version: version.to_string(),
            capability,
        };
        let quota_labels = |quota| QuotaLabels {
            plugin: plugin.to_string(),
            version: version.to_string(),
            quota,
        };
        Self {
            families: families.clone(),
            denied: families.denied.get_or_create_owned(&labels),
            calls: CAPABILITIES.map(|capability| families.host_calls.get_or_create_owned(&call_labels(capability))),
            call_durations: CAPABILITIES.map(|capability| {
                families
                    .host_call_duration
                    .get_or_create_owned(&call_labels(capability))
            }),
            plugin_seconds: families.plugin_seconds.get_or_create_owned(&labels),
            bytes_in: families.bytes_in.get_or_create_owned(&labels),
            bytes_out: families.bytes_out.get_or_create_owned(&labels),
            refused: [Quota::PerBatch, Quota::PerSecond]
                .map(|quota| families.quota_refusals.get_or_create_owned(&quota_labels(quota))),
            labels,
            per_batch: limits.host_calls_per_batch,
            per_second: limits.host_calls_per_second,
            window: Mutex::new(None),
        }
    }

    /// Host calls refused by the grants so far.
    pub fn denied(&self) -> u64 {
        self.denied.get()
    }

    /// The batch histograms (duration, events) of this version in `pipeline`.
    pub fn batch_histograms(&self, pipeline: &str) -> (Histogram, Histogram) {
        let labels = BatchLabels {
            pipeline: pipeline.to_string(),
            plugin: self.labels.plugin.clone(),
            version: self.labels.version.clone(),
        };
        (
            self.families.batch_duration.get_or_create_owned(&labels),
            self.families.batch_events.get_or_create_owned(&labels),
        )
    }

    /// Takes one call out of the current one-second window; `false` when
    /// the window's quota is spent.
    fn take_from_window(&self, limit: u32) -> bool {
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        let (_, calls) = match window.as_mut() {
            Some(current) if current.0.elapsed() < Duration::from_secs(1) => current,
            _ => window.insert((Instant::now(), 0)),
        };
        if *calls >= limit {
            return false;
        }
        *calls += 1;
        true
    }
}

/// The meter of one instance: its calls in the current batch (the
/// per-batch quota) and the time they took (to tell the plugin's own time
/// from the host's).
#[derive(Debug)]
pub struct CallMeter {
    usage: Arc<PluginUsage>,
    batch_calls: AtomicU32,
    host_nanos: AtomicU64,
}

impl CallMeter {
    /// A meter for a new instance of the version `usage` counts.
    pub fn new(usage: Arc<PluginUsage>) -> Arc<Self> {
        Arc::new(Self {
            usage,
            batch_calls: AtomicU32::new(0),
            host_nanos: AtomicU64::new(0),
        })
    }

    /// Starts a batch of `bytes` bytes: the per-batch quota starts over.
    pub fn begin_batch(&self, bytes: u64) {
        self.batch_calls.store(0, Ordering::Relaxed);
        self.host_nanos.store(0, Ordering::Relaxed);
        self.usage.bytes_in.inc_by(bytes);
    }

    /// Ends a batch call that took `elapsed` in all: the time not spent in
    /// host calls is the plugin's own.
    pub fn end_batch(&self, elapsed: Duration) {
        let host = Duration::from_nanos(self.host_nanos.load(Ordering::Relaxed));
        self.usage
            .plugin_seconds
            .inc_by(elapsed.saturating_sub(host).as_secs_f64());
    }

    /// Counts a call refused by the grants.
    pub fn denied(&self) {
        self.usage.denied.inc();
    }

    /// Counts a call of `capability` and lets it through unless a quota is
    /// spent; `Err` names the quota's key.
    pub fn admit(&self, capability: Capability) -> Result<HostCall<'_>, String> {
        let usage = &self.usage;
        usage.calls[index(capability)].inc();
        let calls = self.batch_calls.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(limit) = usage.per_batch
            && calls > limit
        {
            usage.refused[0].inc();
            tracing::warn!(plugin = %usage.labels.plugin, version = %usage.labels.version, limit, "host call refused: limits.host_calls_per_batch spent");
            return Err(format!(
                "quota: limits.host_calls_per_batch = {limit} of plugin {} is spent for this batch",
                usage.labels.plugin
            ));
        }
        if let Some(limit) = usage.per_second
            && !usage.take_from_window(limit)
        {
            usage.refused[1].inc();
            tracing::warn!(plugin = %usage.labels.plugin, version = %usage.labels.version, limit, "host call refused: limits.host_calls_per_second spent");
            return Err(format!(
                "quota: limits.host_calls_per_second = {limit} of plugin {} is spent for this second",
                usage.labels.plugin
            ));
        }
        Ok(HostCall {
            meter: self,
            capability,
            started: Instant::now(),
            bytes_out: 0,
            bytes_in: 0,
        })
    }
}

/// What one instance counts its batches into: its host calls' meter and
/// the batch histograms of its version in its pipeline.
pub struct InstanceMeter {
    pub(crate) calls: Arc<CallMeter>,
    pub(crate) duration: Histogram,
    pub(crate) events: Histogram,
}

/// One admitted host call; its duration and bytes are counted when dropped.
pub struct HostCall<'a> {
    meter: &'a CallMeter,
    capability: Capability,
    started: Instant,
    bytes_out: u64,
    bytes_in: u64,
}

impl HostCall<'_> {
    /// The plugin handed `bytes` bytes to the call.
    pub fn sent(&mut self, bytes: u64) {
        self.bytes_out += bytes;
    }

    /// The call answered the plugin with `bytes` bytes.
    pub fn received(&mut self, bytes: u64) {
        self.bytes_in += bytes;
    }
}

impl Drop for HostCall<'_> {
    fn drop(&mut self) {
        let elapsed = self.started.elapsed();
        let usage = &self.meter.usage;
        usage.call_durations[index(self.capability)].observe(elapsed.as_secs_f64());
        usage.bytes_out.inc_by(self.bytes_out);
        usage.bytes_in.inc_by(self.bytes_in);
        self.meter
            .host_nanos
            .fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(per_batch: Option<u32>, per_second: Option<u32>) -> (crate::metrics::HostMetrics, Arc<PluginUsage>) {
        let metrics = crate::metrics::HostMetrics::new();
        let families = metrics.families().clone();
        let limits = PluginLimits {
            host_calls_per_batch: per_batch,
            host_calls_per_second: per_second,
            ..PluginLimits::default()
        };
        let usage = Arc::new(PluginUsage::new(&families, "p", "v1", &limits));
        (metrics, usage)
    }

    #[test]
    fn the_per_batch_quota_starts_over_with_each_batch() {
        let (_, usage) = usage(Some(2), None);
        let meter = CallMeter::new(usage.clone());
        meter.begin_batch(0);
        assert!(meter.admit(Capability::Kv).is_ok());
        assert!(meter.admit(Capability::Sql).is_ok());
        let refused = meter.admit(Capability::Kv).err().expect("third call refused");
        assert!(refused.contains("limits.host_calls_per_batch = 2"), "{refused}");
        meter.begin_batch(0);
        assert!(meter.admit(Capability::Kv).is_ok());
        assert_eq!((usage.refused[0].get(), usage.refused[1].get()), (1, 0));
    }

    #[test]
    fn the_per_second_quota_is_shared_by_the_instances() {
        let (_, usage) = usage(None, Some(3));
        let (first, second) = (CallMeter::new(usage.clone()), CallMeter::new(usage.clone()));
        let admitted = (0..4)
            .filter(|call| {
                let meter = if call % 2 == 0 { &first } else { &second };
                meter.admit(Capability::Produce).is_ok()
            })
            .count();
        assert_eq!(admitted, 3);
        assert_eq!((usage.refused[0].get(), usage.refused[1].get()), (0, 1));
    }

    #[test]
    fn calls_bytes_and_time_are_counted_per_capability() {
        let (metrics, usage) = usage(None, None);
        let families = metrics.families();
        let meter = CallMeter::new(usage.clone());
        meter.begin_batch(100);
        {
            let mut call = meter.admit(Capability::Kv).expect("admitted");
            call.sent(40);
            call.received(7);
        }
        meter.denied();
        meter.end_batch(Duration::from_secs(1));
        let labels = |capability| HostCallLabels {
            plugin: "p".into(),
            version: "v1".into(),
            capability,
        };
        assert_eq!(families.host_calls.get_or_create(&labels(Capability::Kv)).get(), 1);
        assert_eq!(families.host_calls.get_or_create(&labels(Capability::Sql)).get(), 0);
        let text = metrics.render();
        assert!(
            text.contains(
                "fleethost_host_call_duration_seconds_count{plugin=\"p\",version=\"v1\",capability=\"kv\"} 1\n"
            ),
            "{text}"
        );
        let plugin = PluginLabels::new("p", "v1");
        assert_eq!(families.bytes_in.get_or_create(&plugin).get(), 107);
        assert_eq!(families.bytes_out.get_or_create(&plugin).get(), 40);
        assert_eq!(usage.denied(), 1);
        let seconds = families.plugin_seconds.get_or_create(&plugin).get();
        assert!(seconds > 0.9 && seconds <= 1.0, "{seconds}");
    }
}
