//! The Redis backend of the `kv` capability: every call is one pipeline, one
//! round trip, however many keys it carries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Value};

use super::write_once::{WriteScope, applies_once, apply_once_command};
use crate::bindings::kv::{FieldValue, GeoMember, KvError, WriteOp, WriteResult};

/// Applies a run of upsert-newer ops in one script call: each writes its
/// hash (and geo member) only when its version is newer than the one stored
/// in the hash, atomically per op. One call for a whole batch's drivers
/// instead of one per driver: setting up a script call per op cost Redis
/// several times the work of the writes themselves.
///
/// The script goes as `EVAL` with its text, never `EVALSHA`: an `EVALSHA`
/// that meets an empty script cache (a new or restarted Redis, a failover,
/// `SCRIPT FLUSH`) fails on its own while the other commands of the same
/// pipeline take effect, so loading the script and sending the pipeline
/// again would apply those (an `INCRBY`, a `PUBLISH`) twice. `EVAL` cannot
/// miss the cache; Redis keeps the compiled script by its hash, so the text
/// costs only its bytes, once per call rather than per op.
///
/// KEYS = per op: the hash, then the geo set when the op has one;
/// ARGV = the op count, then per op: field count, has-geo (`1`/`0`),
/// version field, version, longitude, latitude, member, field, value, ...
/// Returns one 1 (applied) or 0 (an equal or newer version was there) per op.
const UPSERT_NEWER_MANY_LUA: &str = r#"
local results = {}
local key, arg = 1, 2
for op = 1, tonumber(ARGV[1]) do
  local field_count, has_geo = tonumber(ARGV[arg]), ARGV[arg + 1] == '1'
  local version_field, version = ARGV[arg + 2], ARGV[arg + 3]
  local hash = KEYS[key]
  local current = tonumber(redis.call('HGET', hash, version_field))
  if current and current >= tonumber(version) then
    results[op] = 0
  else
    local fields = {version_field, version}
    for i = arg + 7, arg + 6 + 2 * field_count do
      fields[#fields + 1] = ARGV[i]
    end
    redis.call('HSET', hash, unpack(fields))
    if has_geo then
      redis.call('GEOADD', KEYS[key + 1], ARGV[arg + 4], ARGV[arg + 5], ARGV[arg + 6])
    end
    results[op] = 1
  end
  key = key + (has_geo and 2 or 1)
  arg = arg + 7 + 2 * field_count
end
return results
"#;

/// Changes a hash only while one of its fields holds a number (a claim):
/// how a host that lost a partition without noticing cannot overwrite the
/// state its new owner claimed. Sent as `EVAL`, for the reason above.
///
/// KEYS = the hash; ARGV = the claim field, the claim, the count of fields
/// to delete, those fields, then field, value, ... to set. Returns 1 when it
/// changed the hash, 0 when the claim was not the one there.
const CHANGE_IF_CLAIMED_LUA: &str = r#"
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
local deletes = tonumber(ARGV[3])
for i = 4, 3 + deletes do redis.call('HDEL', KEYS[1], ARGV[i]) end
for i = 4 + deletes, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"#;

/// Room for a number written as a Redis argument (an `f64` or `i64`), when
/// sizing a command up front.
const NUMBER_LEN: usize = 24;

/// Latitudes Redis GEO can index (Web Mercator limits).
pub const GEO_MAX_LATITUDE: f64 = 85.051_128_78;

/// A Redis connection (it reconnects on its own), and the way to the one of
/// each pipeline.
///
/// Every pipeline talks to Redis over its own connection
/// ([`RedisKv::for_pipeline`]), shared by its instances: one connection's
/// replies are read and parsed in order by one task, so on a shared
/// connection the live pipeline's small replies would wait behind another
/// pipeline's thousand-hash reads, and one thread would parse every
/// pipeline's replies. The connection is opened on first use, from the
/// pipeline's own threads, so its reading task runs at the pipeline's CPU
/// priority (`pipelines[].nice`).
#[derive(Clone)]
pub struct RedisKv {
    client: Arc<redis::Client>,
    connection: ConnectionManager,
    pipelines: Arc<Mutex<HashMap<String, ConnectionManager>>>,
}

/// How the kv connections are made: without a response timeout of the
/// Redis client's own. Every kv call is already bounded by the calling
/// plugin's `limits.host_call_timeout_ms` (`KvCapability`); redis-rs's
/// default of 500 ms cut calls shorter than that limit whenever Redis
/// stalled for half a second (a batch of thousands of hash reads, a loaded
/// machine), failing batches the operator's limit allowed. A timeout does
/// not make redis-rs reconnect either, so the client's own adds nothing.
fn connection_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new().set_response_timeout(None)
}

/// A client of the Redis at `url`; with `ca_file`, its TLS (`rediss://`)
/// trusts exactly the CA certificates in that PEM file.
pub fn client_trusting(url: &str, ca_file: Option<&std::path::Path>) -> Result<redis::Client, RedisError> {
    let Some(ca_file) = ca_file else {
        return redis::Client::open(url);
    };
    let root_cert = std::fs::read(ca_file).map_err(|error| {
        RedisError::from((
            redis::ErrorKind::InvalidClientConfig,
            "cannot read redis.ca_file",
            format!("{}: {error}", ca_file.display()),
        ))
    })?;
    redis::Client::build_with_tls(
        url,
        redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(root_cert),
        },
    )
}

impl RedisKv {
    /// Connects lazily to `url`: the host starts even when Redis is down, and
    /// calls fail with `unavailable` (retried by the pipeline) until it is up.
    pub fn connect_lazy(url: &str) -> Result<Self, RedisError> {
        Self::connect_lazy_trusting(url, None)
    }

    /// [`RedisKv::connect_lazy`], a `rediss://` server's certificate checked
    /// against the CA certificates in `ca_file` (without it: the system's
    /// trust store).
    pub fn connect_lazy_trusting(url: &str, ca_file: Option<&std::path::Path>) -> Result<Self, RedisError> {
        let client = client_trusting(url, ca_file)?;
        let connection = client.get_connection_manager_lazy(connection_config())?;
        Ok(Self {
            client: Arc::new(client),
            connection,
            pipelines: Arc::default(),
        })
    }

    /// The same store over `pipeline`'s own connection, opened lazily the
    /// first time one of its instances asks and shared by all of them.
    pub fn for_pipeline(&self, pipeline: &str) -> Result<Self, RedisError> {
        let mut pipelines = self.pipelines.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let connection = match pipelines.get(pipeline) {
            Some(connection) => connection.clone(),
            None => {
                let connection = self.client.get_connection_manager_lazy(connection_config())?;
                pipelines.insert(pipeline.to_string(), connection.clone());
                connection
            }
        };
        Ok(Self {
            connection,
            ..self.clone()
        })
    }

    /// Applies `ops` in order in one pipeline; each run of consecutive
    /// upsert-newer ops is one script call. With a `scope` (a plugin's write
    /// during a batch), each run of increments and publications is applied
    /// once however often the same write of the batch is sent
    /// ([`super::write_once`]).
    pub async fn write(&self, ops: &[WriteOp], scope: Option<&WriteScope>) -> Result<Vec<WriteResult>, KvError> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::Pipeline::with_capacity(ops.len());
        // How many ops each reply of the pipeline answers, in order.
        let mut answered_by_reply = Vec::new();
        let mut start = 0;
        let mut once_runs = 0;
        while start < ops.len() {
            let upserts = ops[start..]
                .iter()
                .take_while(|op| matches!(op, WriteOp::UpsertNewer(_)))
                .count();
            // Counted only for a plugin's write during a batch.
            let once = match scope {
                Some(_) => ops[start..].iter().take_while(|op| applies_once(op)).count(),
                None => 0,
            };
            if upserts > 0 {
                self.add_upserts(&mut pipe, &ops[start..start + upserts])?;
                answered_by_reply.push(upserts);
                start += upserts;
            } else if let (Some(scope), 1..) = (scope, once) {
                pipe.add_command(apply_once_command(&ops[start..start + once], scope, once_runs));
                once_runs += 1;
                answered_by_reply.push(once);
                start += once;
            } else {
                self.add_write(&mut pipe, &ops[start])?;
                answered_by_reply.push(1);
                start += 1;
            }
        }
        let values = self.query(&pipe).await.map_err(unavailable)?;
        let mut results = Vec::with_capacity(ops.len());
        let mut start = 0;
        for (count, value) in answered_by_reply.into_iter().zip(values) {
            match (&ops[start], value) {
                (WriteOp::UpsertNewer(_), Value::Array(applied)) => {
                    results.extend(
                        applied
                            .into_iter()
                            .map(|applied| WriteResult::Applied(matches!(applied, Value::Int(1)))),
                    );
                }
                // A run applied once: a counter's value per increment.
                (first, Value::Array(answers)) if applies_once(first) => {
                    results.extend(ops[start..start + count].iter().zip(answers).map(|(op, answer)| {
                        match (op, answer) {
                            (WriteOp::Incr(_), Value::Int(value)) => WriteResult::Counter(value),
                            _ => WriteResult::Done,
                        }
                    }));
                }
                (WriteOp::Incr(_), Value::Int(value)) => results.push(WriteResult::Counter(value)),
                _ => results.push(WriteResult::Done),
            }
            start += count;
        }
        if results.len() != ops.len() {
            return Err(KvError::Unavailable(format!(
                "Redis answered {} results for {} writes",
                results.len(),
                ops.len()
            )));
        }
        Ok(results)
    }

    /// `GET` of every key, in one pipeline.
    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, KvError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.get(key);
        }
        let mut connection = self.connection.clone();
        pipe.query_async(&mut connection).await.map_err(unavailable)
    }

    /// `HGETALL` of every key, in one pipeline.
    pub async fn hash_get_all_many(&self, keys: &[String]) -> Result<Vec<Vec<FieldValue>>, KvError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.hgetall(key);
        }
        let mut connection = self.connection.clone();
        let hashes: Vec<Vec<(String, String)>> = pipe.query_async(&mut connection).await.map_err(unavailable)?;
        Ok(hashes
            .into_iter()
            .map(|hash| {
                hash.into_iter()
                    .map(|(field, value)| FieldValue { field, value })
                    .collect()
            })
            .collect())
    }

    /// Adds one to the number in `field` of the hash at `key` and reads the
    /// whole hash, in one transaction: the new number (the claim) and every
    /// field, that number's included.
    pub async fn hash_claim(&self, key: &str, field: &str) -> Result<(i64, Vec<FieldValue>), KvError> {
        let mut pipe = redis::pipe();
        pipe.atomic().hincr(key, field, 1).hgetall(key);
        let mut connection = self.connection.clone();
        let (claim, fields): (i64, Vec<(String, String)>) =
            pipe.query_async(&mut connection).await.map_err(unavailable)?;
        Ok((
            claim,
            fields
                .into_iter()
                .map(|(field, value)| FieldValue { field, value })
                .collect(),
        ))
    }

    /// Deletes `deletes` and sets `sets` in the hash at `key`, at once, only
    /// while its `field` still holds `claim` (nobody claimed it since);
    /// whether it did. One `EVAL` of the script `CHANGE_IF_CLAIMED_LUA`.
    pub async fn hash_change_if_claimed(
        &self,
        key: &str,
        field: &str,
        claim: i64,
        sets: &[(String, String)],
        deletes: &[String],
    ) -> Result<bool, KvError> {
        let mut command = redis::cmd("EVAL");
        command
            .arg(CHANGE_IF_CLAIMED_LUA)
            .arg(1)
            .arg(key)
            .arg(field)
            .arg(claim)
            .arg(deletes.len());
        for field in deletes {
            command.arg(field);
        }
        for (field, value) in sets {
            command.arg(field).arg(value);
        }
        let mut connection = self.connection.clone();
        let changed: i64 = command.query_async(&mut connection).await.map_err(unavailable)?;
        Ok(changed == 1)
    }

    async fn query(&self, pipe: &redis::Pipeline) -> Result<Vec<Value>, RedisError> {
        let mut connection = self.connection.clone();
        pipe.query_async(&mut connection).await
    }

    /// One call of the upsert script for `upserts` (all `UpsertNewer`); its
    /// reply is one 1/0 per op.
    fn add_upserts(&self, pipe: &mut redis::Pipeline, upserts: &[WriteOp]) -> Result<(), KvError> {
        let upserts: Vec<_> = upserts
            .iter()
            .filter_map(|op| match op {
                WriteOp::UpsertNewer(upsert) => Some(upsert),
                _ => None,
            })
            .collect();
        let key_count: usize = upserts.iter().map(|upsert| 1 + usize::from(upsert.geo.is_some())).sum();
        // Sized up front: a batch's call has thousands of arguments, and
        // growing them from empty (doubling and copying) was a visible share
        // of the live pipeline's CPU (docs/perf-log.md).
        let arg_count = 3 + key_count + upserts.iter().map(|upsert| 7 + 2 * upsert.fields.len()).sum::<usize>();
        let data_len = 64
            + upserts
                .iter()
                .map(|upsert| {
                    let geo = upsert
                        .geo
                        .as_ref()
                        .map_or(0, |geo| geo.key.len() + geo.member.len() + 2 * NUMBER_LEN);
                    let fields: usize = upsert
                        .fields
                        .iter()
                        .map(|field| field.field.len() + field.value.len())
                        .sum();
                    upsert.key.len() + upsert.version_field.len() + 2 * NUMBER_LEN + geo + fields
                })
                .sum::<usize>();
        let mut command = redis::Cmd::with_capacity(arg_count, data_len);
        command.arg("EVAL").arg(UPSERT_NEWER_MANY_LUA).arg(key_count);
        for upsert in &upserts {
            command.arg(&upsert.key);
            if let Some(geo) = &upsert.geo {
                check_geo(geo)?;
                command.arg(&geo.key);
            }
        }
        command.arg(upserts.len());
        for upsert in &upserts {
            command
                .arg(upsert.fields.len())
                .arg(if upsert.geo.is_some() { "1" } else { "0" })
                .arg(&upsert.version_field)
                .arg(upsert.version);
            match &upsert.geo {
                Some(geo) => command.arg(geo.longitude).arg(geo.latitude).arg(&geo.member),
                None => command.arg("").arg("").arg(""),
            };
            for field in &upsert.fields {
                command.arg(&field.field).arg(&field.value);
            }
        }
        pipe.add_command(command);
        Ok(())
    }

    fn add_write(&self, pipe: &mut redis::Pipeline, op: &WriteOp) -> Result<(), KvError> {
        match op {
            WriteOp::Set(set) => {
                let command = pipe.cmd("SET").arg(&set.key).arg(&set.value);
                if let Some(ttl) = set.ttl_ms {
                    command.arg("PX").arg(ttl.max(1));
                }
            }
            WriteOp::HashSet(hash) => {
                if hash.fields.is_empty() {
                    return Err(KvError::Invalid(format!("hash-set of {:?} without fields", hash.key)));
                }
                let command = pipe.cmd("HSET").arg(&hash.key);
                for field in &hash.fields {
                    command.arg(&field.field).arg(&field.value);
                }
            }
            WriteOp::UpsertNewer(_) => self.add_upserts(pipe, std::slice::from_ref(op))?,
            WriteOp::GeoAdd(geo) => {
                check_geo(geo)?;
                pipe.cmd("GEOADD")
                    .arg(&geo.key)
                    .arg(geo.longitude)
                    .arg(geo.latitude)
                    .arg(&geo.member);
            }
            WriteOp::Expire((key, ttl_ms)) => {
                pipe.cmd("PEXPIRE").arg(key).arg(*ttl_ms);
            }
            WriteOp::Delete(key) => {
                pipe.cmd("DEL").arg(key);
            }
            WriteOp::Incr(incr) => {
                pipe.cmd("INCRBY").arg(&incr.key).arg(incr.by);
                if let Some(ttl) = incr.ttl_ms {
                    // Its reply is dropped so that replies stay one per op.
                    pipe.cmd("PEXPIRE").arg(&incr.key).arg(ttl.max(1)).ignore();
                }
            }
            WriteOp::Publish(publish) => {
                // Sized up front, as the upserts: a batch publishes thousands.
                let mut command = redis::Cmd::with_capacity(3, 16 + publish.channel.len() + publish.message.len());
                command.arg("PUBLISH").arg(&publish.channel).arg(&publish.message);
                pipe.add_command(command);
            }
        }
        Ok(())
    }
}

pub(super) fn check_geo(geo: &GeoMember) -> Result<(), KvError> {
    let valid = geo.longitude.is_finite()
        && geo.latitude.is_finite()
        && (-180.0..=180.0).contains(&geo.longitude)
        && (-GEO_MAX_LATITUDE..=GEO_MAX_LATITUDE).contains(&geo.latitude);
    if valid {
        Ok(())
    } else {
        Err(KvError::Invalid(format!(
            "geo member {:?} of {:?}: ({}, {}) is outside the indexable area (latitude within ±{GEO_MAX_LATITUDE})",
            geo.member, geo.key, geo.latitude, geo.longitude
        )))
    }
}

fn unavailable(error: RedisError) -> KvError {
    KvError::Unavailable(error.to_string())
}

/// Against the real Redis of the test suite (`FLEETHOST_TEST_REDIS`, default
/// the local one), under a key prefix of its own.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::kv::{IncrOp, PublishOp, UpsertNewerOp};
    use crate::capabilities::kv::test_redis;

    fn upsert(key: &str, version: i64, geo_key: Option<&str>) -> WriteOp {
        WriteOp::UpsertNewer(UpsertNewerOp {
            key: key.to_string(),
            version_field: "ts_ms".into(),
            version,
            fields: vec![
                FieldValue {
                    field: "lat".into(),
                    value: "12.9".into(),
                },
                FieldValue {
                    field: "v".into(),
                    value: version.to_string(),
                },
            ],
            geo: geo_key.map(|geo_key| GeoMember {
                key: geo_key.to_string(),
                member: key.to_string(),
                longitude: 77.6,
                latitude: 12.9,
            }),
        })
    }

    /// Redis's id of the connection `kv` talks over.
    async fn client_id(kv: &RedisKv) -> i64 {
        let mut connection = kv.connection.clone();
        redis::cmd("CLIENT")
            .arg("ID")
            .query_async(&mut connection)
            .await
            .expect("CLIENT ID")
    }

    #[tokio::test]
    async fn each_pipeline_talks_over_its_own_connection() {
        let url = test_redis::url();
        let kv = RedisKv::connect_lazy(&url).expect("redis url");
        let live = kv.for_pipeline("live").expect("live");
        let live_again = kv.for_pipeline("live").expect("live again");
        let history = kv.for_pipeline("history").expect("history");
        let live_id = client_id(&live).await;
        assert_eq!(
            client_id(&live_again).await,
            live_id,
            "a pipeline's instances share one"
        );
        assert_ne!(client_id(&history).await, live_id, "pipelines do not share one");
        assert_ne!(client_id(&kv).await, live_id, "nor with the host's own");
        // And the pipeline's handle is the whole store.
        let key = format!("{}own", test_redis::unique_prefix("redis-kv-test"));
        let results = history
            .write(
                &[WriteOp::Incr(IncrOp {
                    key: key.clone(),
                    by: 2,
                    ttl_ms: Some(60_000),
                })],
                None,
            )
            .await
            .expect("write");
        assert_eq!(format!("{results:?}"), format!("{:?}", vec![WriteResult::Counter(2)]));
        assert_eq!(
            live.get_many(std::slice::from_ref(&key)).await.expect("read"),
            vec![Some("2".to_string())]
        );
    }

    /// `SCRIPT FLUSH` makes Redis look as it does to the host after a
    /// restart, a failover or on a new machine. Flushed before the first call
    /// and again between calls, every counter and every publication of a call
    /// that also carries upserts takes effect exactly once.
    #[tokio::test]
    async fn an_empty_script_cache_applies_every_write_once() {
        let url = test_redis::url();
        let kv = RedisKv::connect_lazy(&url).expect("redis url");
        let prefix = test_redis::unique_prefix("redis-kv-flush");
        let (driver, geo, counter, channel) = (
            format!("{prefix}d"),
            format!("{prefix}geo"),
            format!("{prefix}n"),
            format!("{prefix}live"),
        );
        let mut subscriber = test_redis::subscriber(&channel).await;
        let mut connection = kv.connection.clone();
        for round in 1..=3_i64 {
            let _: () = redis::cmd("SCRIPT")
                .arg("FLUSH")
                .query_async(&mut connection)
                .await
                .expect("SCRIPT FLUSH");
            let ops = vec![
                upsert(&driver, 100 * round, Some(&geo)),
                WriteOp::Publish(PublishOp {
                    channel: channel.clone(),
                    message: format!("m{round}"),
                }),
                WriteOp::Incr(IncrOp {
                    key: counter.clone(),
                    by: 7,
                    ttl_ms: Some(60_000),
                }),
            ];
            let results = kv.write(&ops, None).await.expect("writes");
            assert_eq!(
                format!("{:?}", results[2]),
                format!("{:?}", WriteResult::Counter(7 * round)),
                "round {round}: the counter moved by 7 once"
            );
        }
        let received = test_redis::received(&mut subscriber).await;
        assert_eq!(received, ["m1", "m2", "m3"], "each publication exactly once");
        let _: () = redis::cmd("DEL")
            .arg(&driver)
            .arg(&geo)
            .arg(&counter)
            .query_async(&mut connection)
            .await
            .expect("DEL");
    }

    #[tokio::test]
    async fn runs_of_upserts_answer_one_result_per_op_in_order() {
        let url = test_redis::url();
        let kv = RedisKv::connect_lazy(&url).expect("redis url");
        let prefix = test_redis::unique_prefix("redis-kv-test");
        let (a, b, geo, counter) = (
            format!("{prefix}a"),
            format!("{prefix}b"),
            format!("{prefix}geo"),
            format!("{prefix}n"),
        );
        let ops = vec![
            upsert(&a, 200, Some(&geo)),
            upsert(&b, 100, None),
            upsert(&a, 150, Some(&geo)),
            WriteOp::Publish(PublishOp {
                channel: format!("{prefix}live"),
                message: "m".into(),
            }),
            WriteOp::Incr(IncrOp {
                key: counter.clone(),
                by: 7,
                ttl_ms: Some(60_000),
            }),
            upsert(&b, 300, Some(&geo)),
            upsert(&b, 300, None),
        ];
        let results = kv.write(&ops, None).await.expect("writes");
        let shown: Vec<String> = results.iter().map(|result| format!("{result:?}")).collect();
        assert_eq!(
            shown,
            [
                "WriteResult::Applied(true)",
                "WriteResult::Applied(true)",
                "WriteResult::Applied(false)",
                "WriteResult::Done",
                "WriteResult::Counter(7)",
                "WriteResult::Applied(true)",
                "WriteResult::Applied(false)",
            ]
        );
        let hashes = kv.hash_get_all_many(&[a.clone(), b.clone()]).await.expect("read");
        let field = |hash: &[FieldValue], name: &str| {
            hash.iter()
                .find(|field| field.field == name)
                .map(|field| field.value.clone())
        };
        assert_eq!(
            field(&hashes[0], "v").as_deref(),
            Some("200"),
            "the older write changed nothing"
        );
        assert_eq!(field(&hashes[1], "ts_ms").as_deref(), Some("300"));
        let mut connection = kv.connection.clone();
        let members: Vec<String> = redis::cmd("ZRANGE")
            .arg(&geo)
            .arg(0)
            .arg(-1)
            .query_async(&mut connection)
            .await
            .expect("ZRANGE");
        assert_eq!(members, [a.clone(), b.clone()]);
        let _: () = redis::cmd("DEL")
            .arg(&a)
            .arg(&b)
            .arg(&geo)
            .arg(&counter)
            .query_async(&mut connection)
            .await
            .expect("DEL");
    }
}
