//! Counters and publications applied once, even when a write is sent again
//! because its answer was lost.
//!
//! A write in flight when Redis dies (or its connection drops) may have
//! been applied with its answer lost: the host cannot tell, so the batch is
//! retried, and an `INCRBY` or a `PUBLISH` in it would count twice.
//! Upserts, sets, hash sets, deletes, expiries and geo members are the same
//! when applied again; increments and publications are not. So each run of
//! consecutive increments and publications of a write is one script call
//! that applies it and records that it did, atomically, in a guard hash of
//! the plugin's partition (`fleethost:write-guard:{host}:{pipeline}:
//! {plugin}:{topic}:{partition}`): the batch it belongs to, and per write
//! call and run what it answered. The same run of the same batch sent again
//! is answered from the guard and applies nothing. A new batch starts the
//! hash afresh, so it holds one batch's answers per partition and plugin;
//! `{host}` is random per host process, so a batch delivered again after a
//! crash or a rebalance is applied again, as at-least-once delivery says.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

use crate::bindings::kv::{IncrOp, PublishOp, WriteOp};

/// The key prefix of the guard hashes, outside every plugin's grants.
pub const GUARD_KEY_PREFIX: &str = "fleethost:write-guard:";

/// How long a guard hash outlives its partition's last write, in ms: a day,
/// so that a batch waiting out a long outage still finds it.
const GUARD_TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// Applies a run of increments and publications once per guard mark.
///
/// KEYS = the guard hash, then the increments' keys in order; ARGV = the
/// batch, the mark (write call and run), the guard's TTL, then per op
/// `I`, by, TTL ms (empty for none) or `P`, channel, message. Returns per
/// op the counter's value (`I`) or 0 (`P`): the first time as applied, after
/// that as recorded.
const APPLY_ONCE_LUA: &str = r#"
local guard, batch, mark = KEYS[1], ARGV[1], ARGV[2]
if redis.call('HGET', guard, 'batch') == batch then
  local recorded = redis.call('HGET', guard, mark)
  if recorded then return cjson.decode(recorded) end
else
  redis.call('DEL', guard)
  redis.call('HSET', guard, 'batch', batch)
end
local results, key = {}, 2
for arg = 4, #ARGV, 3 do
  if ARGV[arg] == 'I' then
    results[#results + 1] = redis.call('INCRBY', KEYS[key], ARGV[arg + 1])
    if ARGV[arg + 2] ~= '' then redis.call('PEXPIRE', KEYS[key], ARGV[arg + 2]) end
    key = key + 1
  else
    redis.call('PUBLISH', ARGV[arg + 1], ARGV[arg + 2])
    results[#results + 1] = 0
  end
end
redis.call('HSET', guard, mark, cjson.encode(results))
redis.call('PEXPIRE', guard, ARGV[3])
return results
"#;

/// Which write of which batch a kv call is: what makes a write sent again
/// recognisable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteScope {
    /// The guard hash of the plugin's partition ([`guard_key`]).
    pub guard_key: String,
    /// The batch the plugin is processing ([`batch_mark`]).
    pub batch: String,
    /// The number of this write call in the plugin's call, from 1.
    pub call: u32,
}

/// The guard hash of `plugin` in `pipeline` for `topic`/`partition`, in this
/// host process.
pub fn guard_key(pipeline: &str, plugin: &str, topic: &str, partition: i32) -> String {
    format!(
        "{GUARD_KEY_PREFIX}{}:{pipeline}:{plugin}:{topic}:{partition}",
        host_incarnation()
    )
}

/// A batch as the guard knows it: its first and last offsets and its size,
/// the same for every retry of it.
pub fn batch_mark(first_offset: i64, last_offset: i64, records: usize) -> String {
    format!("{first_offset}-{last_offset}/{records}")
}

/// Whether `op` counts twice when applied twice.
pub fn applies_once(op: &WriteOp) -> bool {
    matches!(op, WriteOp::Incr(_) | WriteOp::Publish(_))
}

/// One script call applying `run` (increments and publications only) once
/// for `scope`; `run_index` tells the runs of one write call apart.
pub fn apply_once_command(run: &[WriteOp], scope: &WriteScope, run_index: usize) -> redis::Cmd {
    let increments: Vec<&IncrOp> = run
        .iter()
        .filter_map(|op| match op {
            WriteOp::Incr(incr) => Some(incr),
            _ => None,
        })
        .collect();
    let mut command = redis::Cmd::with_capacity(8 + increments.len() + 3 * run.len(), 256);
    command
        .arg("EVAL")
        .arg(APPLY_ONCE_LUA)
        .arg(1 + increments.len())
        .arg(&scope.guard_key);
    for incr in &increments {
        command.arg(&incr.key);
    }
    command
        .arg(&scope.batch)
        .arg(format!("{}.{run_index}", scope.call))
        .arg(GUARD_TTL_MS);
    for op in run {
        match op {
            WriteOp::Incr(incr) => {
                command.arg("I").arg(incr.by);
                match incr.ttl_ms {
                    Some(ttl) => command.arg(ttl.max(1)),
                    None => command.arg(""),
                };
            }
            WriteOp::Publish(PublishOp { channel, message }) => {
                command.arg("P").arg(channel).arg(message);
            }
            _ => unreachable!("only increments and publications are applied once"),
        }
    }
    command
}

/// Random per host process: a redelivered batch in a new process is new.
fn host_incarnation() -> &'static str {
    static INCARNATION: OnceLock<String> = OnceLock::new();
    INCARNATION.get_or_init(|| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        format!("{:016x}", hasher.finish())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::kv::WriteResult;
    use crate::capabilities::kv::redis::RedisKv;
    use crate::capabilities::kv::test_redis;

    /// A write sent again with the same scope, as after a lost answer, is
    /// answered as the first time and applies nothing; the batch's next
    /// write, and the same write of another batch, apply.
    #[tokio::test]
    async fn a_write_sent_again_in_its_batch_counts_and_publishes_once() {
        let url = test_redis::url();
        let kv = RedisKv::connect_lazy(&url).expect("redis url");
        let prefix = test_redis::unique_prefix("write-once");
        let (counter, channel) = (format!("{prefix}n"), format!("{prefix}live"));
        let mut subscriber = test_redis::subscriber(&channel).await;
        let ops = |message: &str| {
            vec![
                WriteOp::Incr(IncrOp {
                    key: counter.clone(),
                    by: 7,
                    ttl_ms: Some(60_000),
                }),
                WriteOp::Publish(PublishOp {
                    channel: channel.clone(),
                    message: message.to_string(),
                }),
            ]
        };
        let guard = guard_key("live", "recorder", &format!("{prefix}topic"), 0);
        let scope = |batch: &str, call: u32| WriteScope {
            guard_key: guard.clone(),
            batch: batch.to_string(),
            call,
        };
        let counted = |results: Vec<WriteResult>| format!("{results:?}");
        let first = scope(&batch_mark(0, 99, 100), 1);
        let once = counted(kv.write(&ops("a"), Some(&first)).await.expect("write"));
        assert_eq!(once, "[WriteResult::Counter(7), WriteResult::Done]");
        let again = counted(kv.write(&ops("a"), Some(&first)).await.expect("write again"));
        assert_eq!(again, once, "the same write of the same batch is answered as before");
        let next = counted(
            kv.write(&ops("b"), Some(&scope(&batch_mark(0, 99, 100), 2)))
                .await
                .expect("next"),
        );
        assert_eq!(
            next, "[WriteResult::Counter(14), WriteResult::Done]",
            "the batch's next write applies"
        );
        let other = counted(
            kv.write(&ops("c"), Some(&scope(&batch_mark(100, 199, 100), 1)))
                .await
                .expect("other"),
        );
        assert_eq!(
            other, "[WriteResult::Counter(21), WriteResult::Done]",
            "another batch applies"
        );
        let unscoped = counted(kv.write(&ops("d"), None).await.expect("unscoped"));
        assert_eq!(
            unscoped, "[WriteResult::Counter(28), WriteResult::Done]",
            "a write outside a batch applies"
        );

        let received = test_redis::received(&mut subscriber).await;
        assert_eq!(received, ["a", "b", "c", "d"], "each publication once");
        let mut connection = redis::Client::open(url.as_str())
            .expect("redis url")
            .get_multiplexed_async_connection()
            .await
            .expect("connection");
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&guard)
            .query_async(&mut connection)
            .await
            .expect("PTTL");
        assert!(ttl > 0 && ttl <= GUARD_TTL_MS as i64, "the guard expires: {ttl}");
        let _: () = redis::cmd("DEL")
            .arg(&counter)
            .arg(&guard)
            .query_async(&mut connection)
            .await
            .expect("DEL");
    }
}
