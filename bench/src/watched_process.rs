//! Runs one consumer contender as its own process and times it the same way
//! for every contender: from the first event it consumed to the moment its
//! consumer groups have committed the whole data set (and, for writers of the
//! history, every row is in the table).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::committed::CommittedOffsets;
use crate::measurement::Measurement;
use crate::process_stats::{self, MachineSample, ServicesSample};

/// The environment variable the benchmark's hosts read their admin token
/// from (their `admin.tokens`): the benchmark sets it on each child it starts.
pub const ADMIN_TOKEN_VARIABLE: &str = "FLEETHOST_BENCH_ADMIN_TOKEN";
/// The admin token of the benchmark's hosts (loopback only), sent with the
/// `/metrics` reads here.
pub const ADMIN_TOKEN: &str = "fleethost-bench-admin-token";

/// How the runner learns that the contender consumed its first event.
pub enum FirstEvent {
    /// The fleethost admin endpoint's `fleethost_events_total` became
    /// non-zero (the first batch finished: within one batch of the first
    /// event consumed).
    AdminMetrics(std::net::SocketAddr),
    /// The process printed a JSON line with `first_message_ms` on stdout.
    StdoutLine,
}

/// A history table that must hold `rows` rows before the contender is done.
pub struct RowsExpected<'a> {
    pub pool: &'a sqlx::PgPool,
    pub table: String,
    pub rows: u64,
}

/// Everything the runner needs to time one contender.
pub struct Watch<'a> {
    pub contender: String,
    pub round: u32,
    pub first_event: FirstEvent,
    /// Every consumer group the contender runs, with the data it must commit.
    pub groups: Vec<CommittedOffsets>,
    /// The location fixes of the data set: the events a rate is counted in
    /// (pipelines reading the same fix each count it once together).
    pub events: u64,
    pub rows: Option<RowsExpected<'a>>,
    /// Give up when nothing is committed for this long.
    pub stall_timeout: Duration,
}

/// Starts `command` (stderr, and stdout unless it is read, into `log`),
/// measures it, then stops it with SIGTERM.
pub async fn measure(mut command: Command, log: &Path, watch: Watch<'_>) -> anyhow::Result<Measurement> {
    let log_file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
    command.stderr(log_file.try_clone()?);
    match watch.first_event {
        FirstEvent::StdoutLine => command.stdout(Stdio::piped()),
        FirstEvent::AdminMetrics(_) => command.stdout(log_file),
    };
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", watch.contender))?;
    let result = watch_child(&mut child, &watch).await;
    tokio::task::block_in_place(|| stop(&mut child));
    result.with_context(|| {
        format!(
            "{} (round {}; its log: {})",
            watch.contender,
            watch.round,
            log.display()
        )
    })
}

async fn watch_child(child: &mut Child, watch: &Watch<'_>) -> anyhow::Result<Measurement> {
    let pid = child.id();
    let first_line = match watch.first_event {
        FirstEvent::StdoutLine => Some(stdout_first_event(child)?),
        FirstEvent::AdminMetrics(_) => None,
    };
    // Wait for the first event.
    let waiting_since = Instant::now();
    let (started, cpu_at_start, machine_at_start, services_at_start) = loop {
        if let Some(status) = child.try_wait()? {
            bail!("exited before consuming anything: {status}");
        }
        let consumed = match (&watch.first_event, &first_line) {
            (FirstEvent::AdminMetrics(address), _) => events_finished(*address).await > 0,
            (FirstEvent::StdoutLine, Some(receiver)) => receiver.try_recv().is_ok(),
            (FirstEvent::StdoutLine, None) => unreachable!("stdout is read"),
        };
        if consumed {
            let sample = process_stats::sample(pid).unwrap_or_default();
            break (Instant::now(), sample, MachineSample::now(), ServicesSample::now());
        }
        if waiting_since.elapsed() > Duration::from_secs(120) {
            bail!("consumed nothing within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    // Wait until everything is committed (and written).
    let total: u64 = watch.groups.iter().map(CommittedOffsets::total).sum();
    let mut last_progress = (Instant::now(), 0u64);
    let (finished, cpu_at_end, machine_at_end, services_at_end) = loop {
        if let Some(status) = child.try_wait()? {
            bail!("exited before finishing: {status}");
        }
        let mut committed = 0;
        for group in &watch.groups {
            committed += tokio::task::block_in_place(|| group.committed())?;
        }
        let rows_done = match &watch.rows {
            Some(expected) => table_rows(expected).await? >= expected.rows,
            None => true,
        };
        if committed >= total && rows_done {
            let sample = process_stats::sample(pid).unwrap_or_default();
            break (Instant::now(), sample, MachineSample::now(), ServicesSample::now());
        }
        if committed > last_progress.1 {
            last_progress = (Instant::now(), committed);
        } else if last_progress.0.elapsed() > watch.stall_timeout {
            bail!(
                "stalled: {committed} of {total} records committed, nothing more for {} s",
                watch.stall_timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    Ok(Measurement {
        contender: watch.contender.clone(),
        round: watch.round,
        events: watch.events,
        seconds: finished.duration_since(started).as_secs_f64(),
        cpu_seconds: Some(cpu_at_end.cpu_seconds - cpu_at_start.cpu_seconds),
        peak_rss_bytes: Some(cpu_at_end.peak_rss_bytes),
        busy_cores: machine_at_end.busy_cores_since(&machine_at_start),
        services: Some(services_at_end.since(&services_at_start)),
    })
}

/// Reads the child's stdout on a thread; the receiver gets one message when
/// a line mentions `first_message_ms`. Other lines are passed to our stderr
/// prefixed, so progress stays visible.
fn stdout_first_event(child: &mut Child) -> anyhow::Result<mpsc::Receiver<()>> {
    let stdout = child.stdout.take().context("stdout was not piped")?;
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("first_message_ms") {
                let _ = sender.send(());
            }
        }
    });
    Ok(receiver)
}

/// Sum of `fleethost_events_total` over the pipelines, 0 when the admin
/// endpoint does not answer yet.
async fn events_finished(address: std::net::SocketAddr) -> u64 {
    let url = format!("http://{address}/metrics");
    let body = tokio::task::spawn_blocking(move || {
        ureq::get(&url)
            .header("Authorization", format!("Bearer {ADMIN_TOKEN}"))
            .call()
            .ok()
            .and_then(|mut response| response.body_mut().read_to_string().ok())
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_default();
    body.lines()
        .filter(|line| line.starts_with("fleethost_events_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

async fn table_rows(expected: &RowsExpected<'_>) -> anyhow::Result<u64> {
    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {}", expected.table)))
        .fetch_one(expected.pool)
        .await
        .or_else(|error| match &error {
            // The contender creates its table itself: not there yet.
            sqlx::Error::Database(db) if db.code().as_deref() == Some("42P01") => Ok(0),
            _ => Err(error),
        })
        .with_context(|| format!("counting the rows of {}", expected.table))?;
    Ok(count as u64)
}

/// Stops a contender: SIGTERM (a clean shutdown), then SIGKILL after 15 s.
pub fn stop(child: &mut Child) {
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}
