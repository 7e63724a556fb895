//! The Redis backend of the `kv` capability: every call is one pipeline, one
//! round trip, however many keys it carries.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, ServerErrorKind, Value};

use crate::runtime::kv::{FieldValue, GeoMember, KvError, WriteOp, WriteResult};

/// Atomically writes a hash (and a geo member) only when the given version is
/// newer than the one stored in the hash.
///
/// KEYS[1] = hash, KEYS[2] = geo set (optional);
/// ARGV = version field, version, longitude, latitude, member, field, value, ...
const UPSERT_NEWER_LUA: &str = r#"
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
if current and current >= tonumber(ARGV[2]) then
  return 0
end
local fields = {ARGV[1], ARGV[2]}
for i = 6, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[1], unpack(fields))
if #KEYS > 1 then
  redis.call('GEOADD', KEYS[2], ARGV[3], ARGV[4], ARGV[5])
end
return 1
"#;

/// Latitudes Redis GEO can index (Web Mercator limits).
pub const GEO_MAX_LATITUDE: f64 = 85.051_128_78;

/// A Redis connection shared by every instance; it reconnects on its own.
#[derive(Clone)]
pub struct RedisKv {
    connection: ConnectionManager,
    upsert_newer: redis::Script,
}

impl RedisKv {
    /// Connects lazily to `url`: the host starts even when Redis is down, and
    /// calls fail with `unavailable` (retried by the pipeline) until it is up.
    pub fn connect_lazy(url: &str) -> Result<Self, RedisError> {
        let client = redis::Client::open(url)?;
        let connection = client.get_connection_manager_lazy(ConnectionManagerConfig::new())?;
        Ok(Self {
            connection,
            upsert_newer: redis::Script::new(UPSERT_NEWER_LUA),
        })
    }

    /// Applies `ops` in order in one pipeline.
    pub async fn write(&self, ops: &[WriteOp]) -> Result<Vec<WriteResult>, KvError> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for op in ops {
            self.add_write(&mut pipe, op)?;
        }
        let values: Vec<Value> = match self.query(&pipe).await {
            Err(error) if error.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                // Redis restarted or was flushed: load the script and try once more.
                let mut connection = self.connection.clone();
                self.upsert_newer
                    .prepare_invoke()
                    .load_async(&mut connection)
                    .await
                    .map_err(unavailable)?;
                self.query(&pipe).await.map_err(unavailable)?
            }
            other => other.map_err(unavailable)?,
        };
        Ok(ops
            .iter()
            .zip(values)
            .map(|(op, value)| match (op, value) {
                (WriteOp::UpsertNewer(_), Value::Int(applied)) => WriteResult::Applied(applied == 1),
                (WriteOp::Incr(_), Value::Int(value)) => WriteResult::Counter(value),
                _ => WriteResult::Done,
            })
            .collect())
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

    async fn query(&self, pipe: &redis::Pipeline) -> Result<Vec<Value>, RedisError> {
        let mut connection = self.connection.clone();
        pipe.query_async(&mut connection).await
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
            WriteOp::UpsertNewer(upsert) => {
                let command = pipe.cmd("EVALSHA").arg(self.upsert_newer.get_hash());
                match &upsert.geo {
                    Some(geo) => {
                        check_geo(geo)?;
                        command
                            .arg(2)
                            .arg(&upsert.key)
                            .arg(&geo.key)
                            .arg(&upsert.version_field)
                            .arg(upsert.version)
                            .arg(geo.longitude)
                            .arg(geo.latitude)
                            .arg(&geo.member);
                    }
                    None => {
                        command
                            .arg(1)
                            .arg(&upsert.key)
                            .arg(&upsert.version_field)
                            .arg(upsert.version)
                            .arg("")
                            .arg("")
                            .arg("");
                    }
                }
                for field in &upsert.fields {
                    command.arg(&field.field).arg(&field.value);
                }
            }
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
                pipe.cmd("PUBLISH").arg(&publish.channel).arg(&publish.message);
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
