//! The `fleethost` command line: one clap argument struct per subcommand
//! (`commands/`), each turning its flags into the config of the core or app
//! it runs.
//!
//! A library so that a binary can run the same command line with plugins
//! compiled in: the benchmark's `fleethost-native` calls [`main`] with its
//! registry; the `fleethost` binary calls it with none.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use fleethost_core::console;
use fleethost_core::runtime::native::NativePlugins;
use fleethost_core::shutdown::Signals;

mod access_args;
mod admin_client;
pub mod commands;
mod format_args;
mod golden;
mod kafka_args;
mod snippet;
mod templates;
mod tls_args;

/// The shutdown bound of the commands without a config file (tail,
/// gateway, track, simulate): generous, since each bounds its own steps
/// (the gateway waits up to 50 s for its connections and its flush).
pub const UNCONFIGURED_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(120);

/// Consumer host for real-time location streams: Kafka consumer groups,
/// batching and at-least-once commits, with the business logic in sandboxed
/// WebAssembly plugins.
#[derive(Parser)]
#[command(name = "fleethost", version, about)]
struct Cli {
    /// How log lines are written to stderr: `text` (coloured only on a
    /// terminal, and never with NO_COLOR set) or `json` (one object per
    /// line, for a log shipper).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// The shape of the log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event: timestamp, level, target, fields.
    Json,
}

#[derive(Subcommand)]
enum Command {
    Run(commands::run::RunArgs),
    Check(commands::check::CheckArgs),
    Reload(commands::reload::ReloadArgs),
    Status(commands::status::StatusArgs),
    Pause(commands::pause::PauseArgs),
    Resume(commands::pause::ResumeArgs),
    Topics(commands::topics::TopicsArgs),
    Dlq(commands::dlq::DlqArgs),
    Replay(commands::replay::ReplayArgs),
    Tail(commands::tail::TailArgs),
    Gateway(commands::gateway::GatewayArgs),
    Track(commands::track::TrackArgs),
    Demo(commands::demo::DemoArgs),
    Simulate(commands::simulate::SimulateArgs),
    Test(commands::test::TestArgs),
    Record(commands::record::RecordArgs),
    New(commands::new::NewArgs),
    Deploy(commands::deploy::DeployArgs),
}

/// What every subcommand may need beyond its flags.
pub struct Context<'a> {
    /// The process's SIGINT/SIGTERM handling: each command asks it for its
    /// graceful-shutdown token with its own bound.
    pub signals: &'a Signals,
    /// Plugins compiled into the binary for `native:<name>` paths; `None` in
    /// the `fleethost` binary.
    pub native_plugins: Option<Arc<dyn NativePlugins>>,
}

/// Parses the command line and runs the subcommand; the process's exit
/// status. `native_plugins` is the registry `run` and `check` give the
/// plugin runtime.
pub fn main(native_plugins: Option<Arc<dyn NativePlugins>>) -> ExitCode {
    // First, before any other thread exists: every thread inherits the
    // blocked SIGINT/SIGTERM, and only the signal thread takes them.
    let signals = match Signals::install() {
        Ok(signals) => signals,
        Err(error) => {
            console::err(&format!("fleethost: cannot set up the signal handling: {error}"));
            console::flush_all(Duration::from_secs(1));
            return ExitCode::FAILURE;
        }
    };
    let cli = Cli::parse();
    init_logging(cli.log_format);
    // One TLS provider for every client and server of the process (Redis,
    // PostgreSQL, the listeners), chosen before any of them starts.
    fleethost_core::tls::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            console::err(&format!("fleethost: cannot start the async runtime: {error}"));
            console::flush_all(Duration::from_secs(1));
            return ExitCode::FAILURE;
        }
    };
    let context = Context {
        signals: &signals,
        native_plugins,
    };
    let outcome = runtime.block_on(execute(cli.command, &context));
    // Everything the command waits for has ended; a blocking task left
    // behind (a lag probe of a broker that stopped answering) must not hold
    // the exit up.
    runtime.shutdown_background();
    let code = match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            console::err(&format!("fleethost: {error:#}"));
            ExitCode::FAILURE
        }
    };
    console::flush_all(Duration::from_secs(1));
    code
}

async fn execute(command: Command, context: &Context<'_>) -> anyhow::Result<()> {
    match command {
        Command::Run(args) => args.execute(context).await,
        Command::Check(args) => args.execute(context).await,
        Command::Reload(args) => args.execute().await,
        Command::Status(args) => args.execute().await,
        Command::Pause(args) => args.execute().await,
        Command::Resume(args) => args.execute().await,
        Command::Topics(args) => args.execute().await,
        Command::Dlq(args) => args.execute(context).await,
        Command::Replay(args) => args.execute(context).await,
        Command::Tail(args) => args.execute(context).await,
        Command::Gateway(args) => args.execute(context).await,
        Command::Track(args) => args.execute(context).await,
        Command::Demo(args) => args.execute(context).await,
        Command::Simulate(args) => args.execute(context).await,
        Command::Test(args) => args.execute().await,
        Command::Record(args) => args.execute().await,
        Command::New(args) => args.execute().await,
        Command::Deploy(args) => args.execute().await,
    }
}

/// Logs to stderr in `format`, filtered by RUST_LOG (default: info, the
/// Kafka client's and the database's chatter at warn).
fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,librdkafka=warn,rdkafka=warn,sqlx::postgres::notice=warn")
    });
    // Never blocks, never fails: a closed or stalled stderr cannot panic or
    // park the threads that log.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(console::LogWriter)
        .log_internal_errors(false);
    match format {
        LogFormat::Text => {
            let colours = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            builder.with_ansi(colours).init();
        }
        LogFormat::Json => builder.json().flatten_event(true).with_ansi(false).init(),
    }
}
