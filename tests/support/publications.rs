//! Every message published on the Redis channels under a prefix, collected
//! on a thread of its own that subscribes again whenever its connection
//! drops (a Redis restart): what a test needs to count publications, and
//! ones applied twice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The collector; [`Publications::stop`] ends it and returns what it saw.
pub struct Publications {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<(String, String)>>>,
    thread: Option<JoinHandle<()>>,
}

impl Publications {
    /// Subscribes to `pattern` (`PSUBSCRIBE`) at the Redis at `url`, and
    /// again after every disconnection, until stopped.
    pub fn collect(url: &str, pattern: &str) -> Self {
        let (stop, seen) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Vec::new())));
        let (url, pattern, thread_stop, thread_seen) =
            (url.to_string(), pattern.to_string(), stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            while !thread_stop.load(Ordering::SeqCst) {
                // Down or restarting: try again shortly.
                let _ = subscribe_until_dropped(&url, &pattern, &thread_stop, &thread_seen);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Self {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    /// Stops collecting; every `(channel, message)` seen, in order.
    pub fn stop(mut self) -> Vec<(String, String)> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        std::mem::take(&mut *self.seen.lock().expect("publications"))
    }
}

/// One subscription: collects until the connection drops or `stop` is set.
fn subscribe_until_dropped(
    url: &str,
    pattern: &str,
    stop: &AtomicBool,
    seen: &Mutex<Vec<(String, String)>>,
) -> redis::RedisResult<()> {
    let mut connection = redis::Client::open(url)?.get_connection_with_timeout(Duration::from_secs(1))?;
    let mut pubsub = connection.as_pubsub();
    pubsub.psubscribe(pattern)?;
    pubsub.set_read_timeout(Some(Duration::from_millis(200)))?;
    while !stop.load(Ordering::SeqCst) {
        match pubsub.get_message() {
            Ok(message) => {
                let payload: String = message.get_payload()?;
                seen.lock()
                    .expect("publications")
                    .push((message.get_channel_name().to_string(), payload));
            }
            Err(error) if error.is_timeout() => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

impl Drop for Publications {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
