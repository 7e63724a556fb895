//! An S3-compatible object store of one test's own (moto's server), the
//! durable storage a private Tansu keeps its topics, messages and group
//! offsets in, so that the broker can be killed and started again without
//! losing them. The store is a process of its own: it outlives the broker.
//!
//! The server binary comes from `FLEETHOST_TEST_S3_SERVER` (scripts/test.sh
//! sets it to the one it installed).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, unique};

/// The store; killed when dropped.
pub struct S3Storage {
    child: Child,
    /// Its `http://host:port`.
    pub endpoint: String,
    /// The bucket the broker writes to, created at start.
    pub bucket: String,
}

impl S3Storage {
    /// Starts the server on a free loopback port and creates a bucket.
    pub fn start() -> Self {
        let server = std::env::var("FLEETHOST_TEST_S3_SERVER").expect(
            "FLEETHOST_TEST_S3_SERVER is not set: it names the S3 server a private broker keeps its data in; run the test with scripts/test.sh, which installs and sets it",
        );
        let port = free_port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start the S3 server {server} (FLEETHOST_TEST_S3_SERVER): {error}"));
        let endpoint = format!("http://127.0.0.1:{port}");
        let bucket = unique("tansu").replace('_', "-").to_lowercase();
        let deadline = Instant::now() + Duration::from_secs(30);
        // The bucket is created with a plain `PUT /bucket` once the server answers.
        loop {
            match ureq::put(&format!("{endpoint}/{bucket}")).send_empty() {
                Ok(_) => break,
                Err(error) => {
                    assert!(
                        Instant::now() < deadline,
                        "the S3 server at {endpoint} does not create bucket {bucket}: {error}"
                    );
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        Self {
            child,
            endpoint,
            bucket,
        }
    }

    /// The storage URL Tansu is started with.
    pub fn storage_url(&self) -> String {
        format!("s3://{}/", self.bucket)
    }

    /// The environment Tansu's S3 client reads: where the store is, over
    /// plain HTTP, with the test credentials moto accepts.
    pub fn client_environment(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }
}

impl Drop for S3Storage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
