//! Unit tests of `memory.rs`.

use super::*;
use crate::bindings::kv::{GeoMember, HashSetOp, IncrOp, PublishOp, SetOp, UpsertNewerOp};

fn field(field: &str, value: &str) -> FieldValue {
    FieldValue {
        field: field.into(),
        value: value.into(),
    }
}

fn upsert(key: &str, version: i64, lat: &str) -> WriteOp {
    WriteOp::UpsertNewer(UpsertNewerOp {
        key: key.into(),
        version_field: "ts_ms".into(),
        version,
        fields: vec![field("lat", lat)],
        geo: Some(GeoMember {
            key: "drivers:geo".into(),
            member: key.into(),
            longitude: 77.59,
            latitude: lat.parse().expect("number"),
        }),
    })
}

/// The bindings' types have no `PartialEq`: compare what they print.
fn shown<T: std::fmt::Debug>(value: T) -> String {
    format!("{value:?}")
}

fn sorted(mut fields: Vec<FieldValue>) -> Vec<(String, String)> {
    fields.sort_by(|a, b| a.field.cmp(&b.field));
    fields.into_iter().map(|f| (f.field, f.value)).collect()
}

#[test]
fn the_newest_version_wins_and_an_older_one_changes_nothing() {
    let kv = MemoryKv::new();
    let results = kv
        .write(&[
            upsert("d1", 2000, "12.9"),
            upsert("d1", 1000, "11.0"),
            upsert("d1", 2000, "13.0"),
        ])
        .expect("writes");
    assert_eq!(
        shown(results),
        shown([
            WriteResult::Applied(true),
            WriteResult::Applied(false),
            WriteResult::Applied(false)
        ])
    );
    let hash = kv.hash_get_all_many(&["d1".into()]).expect("read");
    assert_eq!(
        sorted(hash[0].clone()),
        vec![("lat".into(), "12.9".into()), ("ts_ms".into(), "2000".into())]
    );
    assert_eq!(kv.geo_members("drivers:geo", 10), vec!["d1".to_string()]);
    assert_eq!(
        shown(kv.write(&[upsert("d1", 3000, "14.0")]).expect("newer")),
        shown([WriteResult::Applied(true)])
    );
    assert_eq!(kv.hash("d1")["lat"], "14.0");
}

#[test]
fn strings_counters_and_deletes_answer_like_redis() {
    let kv = MemoryKv::new();
    let incr = |by| {
        WriteOp::Incr(IncrOp {
            key: "n".into(),
            by,
            ttl_ms: None,
        })
    };
    let results = kv
        .write(&[
            WriteOp::Set(SetOp {
                key: "s".into(),
                value: "v".into(),
                ttl_ms: None,
            }),
            incr(5),
            incr(-2),
            WriteOp::Delete("s".into()),
        ])
        .expect("writes");
    assert_eq!(
        shown(results),
        shown([
            WriteResult::Done,
            WriteResult::Counter(5),
            WriteResult::Counter(3),
            WriteResult::Done
        ])
    );
    assert_eq!(
        kv.get_many(&["s".into(), "n".into(), "absent".into()]).expect("read"),
        vec![None, Some("3".into()), None]
    );
    assert!(kv.hash_get_all_many(&["absent".into()]).expect("read")[0].is_empty());
}

#[test]
fn a_key_of_another_type_is_refused_naming_the_key() {
    let kv = MemoryKv::new();
    kv.write(&[WriteOp::HashSet(HashSetOp {
        key: "h".into(),
        fields: vec![field("a", "1")],
    })])
    .expect("hash");
    let error = kv.get_many(&["h".into()]).expect_err("not a string");
    assert_eq!(
        shown(error),
        shown(KvError::Invalid(r#""h" holds a hash, not a string (WRONGTYPE)"#.into()))
    );
    let error = kv
        .write(&[WriteOp::Incr(IncrOp {
            key: "h".into(),
            by: 1,
            ttl_ms: None,
        })])
        .expect_err("not a counter");
    assert!(matches!(error, KvError::Invalid(message) if message.contains("\"h\" holds a hash")));
}

#[test]
fn keys_expire() {
    let kv = MemoryKv::new();
    kv.write(&[
        WriteOp::Set(SetOp {
            key: "short".into(),
            value: "v".into(),
            ttl_ms: Some(30),
        }),
        WriteOp::Set(SetOp {
            key: "long".into(),
            value: "v".into(),
            ttl_ms: None,
        }),
        WriteOp::HashSet(HashSetOp {
            key: "h".into(),
            fields: vec![field("a", "1")],
        }),
        WriteOp::Expire(("h".into(), 30)),
    ])
    .expect("writes");
    assert_eq!(kv.len(), 3);
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(
        kv.get_many(&["short".into(), "long".into()]).expect("read"),
        vec![None, Some("v".into())]
    );
    assert!(kv.hash("h").is_empty());
    assert_eq!(kv.len(), 1);
}

#[test]
fn published_messages_reach_every_subscriber_in_order() {
    let kv = MemoryKv::new();
    let mut first = kv.subscribe();
    let mut second = kv.subscribe();
    let publish = |message: &str| {
        WriteOp::Publish(PublishOp {
            channel: "live:driver:d1".into(),
            message: message.into(),
        })
    };
    kv.write(&[publish("a"), publish("b")]).expect("publish");
    for receiver in [&mut first, &mut second] {
        let got: Vec<String> = (0..2)
            .map(|_| receiver.try_recv().expect("message").message.to_string())
            .collect();
        assert_eq!(got, ["a", "b"]);
        assert!(receiver.try_recv().is_err(), "nothing more");
    }
}

#[test]
fn prefix_scans_and_geo_members_are_bounded() {
    let kv = MemoryKv::new();
    let ops: Vec<WriteOp> = (0..20)
        .flat_map(|i| {
            [
                WriteOp::HashSet(HashSetOp {
                    key: format!("eta:o{i}"),
                    fields: vec![field("eta_s", "1")],
                }),
                WriteOp::GeoAdd(GeoMember {
                    key: "drivers:geo".into(),
                    member: format!("d{i:02}"),
                    longitude: 77.0,
                    latitude: 12.0,
                }),
            ]
        })
        .collect();
    kv.write(&ops).expect("writes");
    assert_eq!(kv.keys_with_prefix("eta:", 100).len(), 20);
    assert_eq!(kv.keys_with_prefix("eta:", 5).len(), 5);
    assert_eq!(kv.geo_members("drivers:geo", 3), vec!["d00", "d01", "d02"]);
    let error = kv
        .write(&[WriteOp::GeoAdd(GeoMember {
            key: "drivers:geo".into(),
            member: "pole".into(),
            longitude: 0.0,
            latitude: 89.0,
        })])
        .expect_err("outside the indexable area");
    assert!(matches!(error, KvError::Invalid(message) if message.contains("pole")));
}
