//! A Tansu broker of one test's own, which the test can freeze (SIGSTOP)
//! to make every request to it hang, as a broker that stopped answering
//! without closing its connections would, or kill and start again on the
//! same port; and topics and messages on it. Started on an
//! [`S3Storage`], it keeps its topics, messages and group offsets there, so
//! they outlive a kill; in memory, they die with it.
//!
//! The broker binary comes from `FLEETHOST_TEST_TANSU` (scripts/test.sh
//! sets it to the Tansu it installed). Its output, across restarts, goes to
//! a log file that a failing test prints the end of.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::s3_storage::S3Storage;
use super::{Fixture, Position, free_port};

/// The private broker; resumed and killed when dropped.
pub struct PrivateBroker {
    child: Child,
    port: u16,
    /// What it tells clients to connect to, when not its own port (a TLS
    /// proxy in front of it), and whether it requires SASL.
    options: BrokerOptions,
    /// The storage URL and the environment its client reads.
    storage: (String, Vec<(&'static str, String)>),
    /// Where the broker's output goes, every start appended.
    log: PathBuf,
    /// Its `host:port`.
    pub bootstrap: String,
}

/// How a private broker is started beyond its port and storage.
#[derive(Debug, Clone, Default)]
pub struct BrokerOptions {
    /// The port it advertises in its metadata instead of its own: where a
    /// proxy in front of it listens, so that every connection goes through
    /// the proxy.
    pub advertised_port: Option<u16>,
    /// `--authentication`: every client must authenticate with SASL.
    pub authentication: bool,
    /// `--schema-registry`: a folder of schemas named after their topics
    /// (`TOPIC.proto`, `TOPIC.avsc`, `TOPIC.json`), which the broker
    /// validates every message produced to those topics against.
    pub schema_registry: Option<PathBuf>,
}

impl PrivateBroker {
    /// Starts Tansu on a free loopback port with in-memory storage and
    /// waits until it accepts connections.
    pub fn start() -> Self {
        Self::start_with(("memory://tansu/".to_string(), Vec::new()), BrokerOptions::default())
    }

    /// Starts Tansu keeping its data in `storage`.
    pub fn start_on(storage: &S3Storage) -> Self {
        Self::start_with(
            (storage.storage_url(), storage.client_environment()),
            BrokerOptions::default(),
        )
    }

    /// Starts Tansu in memory with `options`.
    pub fn start_with_options(options: BrokerOptions) -> Self {
        Self::start_with(("memory://tansu/".to_string(), Vec::new()), options)
    }

    fn start_with(storage: (String, Vec<(&'static str, String)>), options: BrokerOptions) -> Self {
        let port = free_port();
        let log = super::write_config_text("private-broker", "").with_extension("log");
        let child = spawn(port, &storage, &log, &options);
        let broker = Self {
            child,
            port,
            options,
            storage,
            log,
            bootstrap: format!("127.0.0.1:{port}"),
        };
        broker.wait_until_listening();
        broker
    }

    /// Kills the broker with SIGKILL, as a crash would, and waits for it.
    pub fn kill(&mut self) {
        self.thaw();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts a killed broker again on its port and storage.
    pub fn start_again(&mut self) {
        self.child = spawn(self.port, &self.storage, &self.log, &self.options);
        self.wait_until_listening();
    }

    fn wait_until_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&self.bootstrap).is_err() {
            assert!(
                Instant::now() < deadline,
                "the private broker does not listen on {}",
                self.bootstrap
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Freezes the broker: its connections stay open, nothing is answered.
    pub fn freeze(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Lets a frozen broker run again.
    pub fn thaw(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: i32) {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Creates `topic` with `partitions` partitions.
    pub async fn create_topic(&self, topic: &str, partitions: i32) {
        super::create_topic_at(&self.bootstrap, topic, partitions).await;
    }

    /// Produces every fixture to `topic`, keyed by driver id.
    pub async fn produce(&self, topic: &str, data: &[Fixture]) -> Vec<Position> {
        super::produce_at(&self.bootstrap, topic, data).await
    }
}

/// Starts Tansu listening on `port` with `storage` and `options`, its output
/// appended to `log`.
fn spawn(
    port: u16,
    (url, environment): &(String, Vec<(&'static str, String)>),
    log: &Path,
    options: &BrokerOptions,
) -> Child {
    let tansu = std::env::var("FLEETHOST_TEST_TANSU").expect(
        "FLEETHOST_TEST_TANSU is not set: it names the Tansu binary this test starts a broker of its own with; run the test with scripts/test.sh, which sets it",
    );
    let listener = format!("tcp://127.0.0.1:{port}");
    let advertised = format!("tcp://127.0.0.1:{}", options.advertised_port.unwrap_or(port));
    let output = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("broker log");
    let mut command = Command::new(&tansu);
    command.args([
        "broker",
        "--listener-url",
        &listener,
        "--advertised-listener-url",
        &advertised,
        "--storage-engine",
        url,
    ]);
    if let Some(registry) = &options.schema_registry {
        // Tansu reads a file:// registry URL relative to its working folder.
        command
            .current_dir(registry.parent().expect("the registry folder has a parent"))
            .arg("--schema-registry")
            .arg(format!(
                "file://./{}",
                registry.file_name().expect("a folder name").to_string_lossy()
            ));
    }
    command
        .args(options.authentication.then_some("--authentication"))
        .envs(environment.iter().map(|(name, value)| (*name, value.as_str())))
        .stdout(Stdio::from(output.try_clone().expect("broker log")))
        .stderr(Stdio::from(output))
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start the broker {tansu} (FLEETHOST_TEST_TANSU): {error}"))
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            eprintln!(
                "----- the private broker's log ({}), last 200 lines -----\n{}\n----- end -----",
                self.log.display(),
                lines[lines.len().saturating_sub(200)..].join("\n")
            );
        }
    }
}
