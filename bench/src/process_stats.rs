//! What a contender process costs, read from `/proc`: CPU seconds (user +
//! system, its threads and waited-for children) and peak resident memory.
//! Linux only, like the machine the benchmark describes.

use std::fs;

/// CPU time and peak memory of one process at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessSample {
    /// User + system CPU seconds so far.
    pub cpu_seconds: f64,
    /// Peak resident set size so far (`VmHWM`), bytes.
    pub peak_rss_bytes: u64,
}

/// Reads `/proc/{pid}/stat` and `/proc/{pid}/status`; `None` once the process
/// is gone.
pub fn sample(pid: u32) -> Option<ProcessSample> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at state.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime, stime, cutime, cstime are fields 14–17 of stat(5): 11–14 here.
    let ticks: u64 = fields.get(11..15)?.iter().filter_map(|f| f.parse::<u64>().ok()).sum();
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let peak_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    Some(ProcessSample {
        cpu_seconds: ticks as f64 / clock_ticks_per_second(),
        peak_rss_bytes: peak_kib * 1024,
    })
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// The whole machine's CPU counters, to tell how busy both cores were while a
/// contender ran (the broker and the databases share them).
#[derive(Debug, Clone, Copy, Default)]
pub struct MachineSample {
    busy_ticks: u64,
    total_ticks: u64,
}

impl MachineSample {
    /// Reads the `cpu` line of `/proc/stat`.
    pub fn now() -> Self {
        let text = fs::read_to_string("/proc/stat").unwrap_or_default();
        let counters: Vec<u64> = text
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|field| field.parse().ok())
            .collect();
        let total: u64 = counters.iter().take(8).sum();
        // idle and iowait are the 4th and 5th counters.
        let idle = counters.get(3).copied().unwrap_or(0) + counters.get(4).copied().unwrap_or(0);
        Self {
            busy_ticks: total.saturating_sub(idle),
            total_ticks: total,
        }
    }

    /// Average number of busy cores between `earlier` and `self`.
    pub fn busy_cores_since(&self, earlier: &MachineSample) -> f64 {
        let total = self.total_ticks.saturating_sub(earlier.total_ticks);
        if total == 0 {
            return 0.0;
        }
        let busy = self.busy_ticks.saturating_sub(earlier.busy_ticks);
        busy as f64 / total as f64 * cores() as f64
    }
}

/// CPU seconds used so far by the services every contender leans on, by
/// process name: the broker (`tansu`), `redis-server` and `postgres` (all
/// its backends). The difference over a contender's window says where the
/// machine's time went besides the contender itself.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct ServicesSample {
    pub broker: f64,
    pub redis: f64,
    pub postgres: f64,
}

impl ServicesSample {
    /// Sums the CPU time of every process of each service (a process that
    /// ended in between is not counted: PostgreSQL's backends live as long as
    /// their connections, which outlive the window).
    pub fn now() -> Self {
        let mut sample = Self::default();
        let Ok(entries) = fs::read_dir("/proc") else {
            return sample;
        };
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(comm) = fs::read_to_string(format!("/proc/{pid}/comm")) else {
                continue;
            };
            let slot = match comm.trim() {
                "tansu" => &mut sample.broker,
                "redis-server" => &mut sample.redis,
                name if name.starts_with("postgres") => &mut sample.postgres,
                _ => continue,
            };
            if let Some(process) = self::sample(pid) {
                *slot += process.cpu_seconds;
            }
        }
        sample
    }

    /// CPU seconds each service used since `earlier`.
    pub fn since(&self, earlier: &ServicesSample) -> ServicesSample {
        ServicesSample {
            broker: (self.broker - earlier.broker).max(0.0),
            redis: (self.redis - earlier.redis).max(0.0),
            postgres: (self.postgres - earlier.postgres).max(0.0),
        }
    }
}

/// Cores the machine has.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_used_cpu_and_memory() {
        let mut spin = 0u64;
        for i in 0..20_000_000u64 {
            spin = spin.wrapping_add(i * i);
        }
        std::hint::black_box(spin);
        let own = sample(std::process::id()).expect("own /proc entry");
        assert!(own.peak_rss_bytes > 1024 * 1024, "{own:?}");
        assert!(own.cpu_seconds > 0.0, "{own:?}");
        assert!(sample(u32::MAX).is_none());
    }

    #[test]
    fn machine_busy_cores_are_between_zero_and_the_core_count() {
        let before = MachineSample::now();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let busy = MachineSample::now().busy_cores_since(&before);
        assert!((0.0..=cores() as f64 + 0.01).contains(&busy), "{busy}");
    }
}
