//! Conversions between the guest SDK's types (wit-bindgen) and the host's
//! (wasmtime bindgen) for native plugins. Both are generated from the same
//! WIT, so every conversion is field by field; these copies stand in for the
//! canonical ABI's lowering and lifting on the wasm path.
//!
//! Host to guest: the batch, capability results and errors. Guest to host:
//! capability arguments, the batch outcome and the plugin error.

use fleethost_plugin_sdk as sdk;

use super::{kv, log, produce, sql, types_host as types};

// ---- the batch (host -> guest) ----

impl From<&types::Event> for sdk::Event {
    fn from(event: &types::Event) -> Self {
        Self {
            driver_id: event.driver_id.clone(),
            latitude: event.latitude,
            longitude: event.longitude,
            timestamp_ms: event.timestamp_ms,
            region: event.region.clone(),
            order_id: event.order_id.clone(),
            speed: event.speed,
            heading: event.heading,
            offset: event.offset,
        }
    }
}

fn point(point: &types::Point) -> sdk::Point {
    sdk::Point {
        latitude: point.latitude,
        longitude: point.longitude,
    }
}

impl From<&types::OrderEvent> for sdk::OrderEvent {
    fn from(order: &types::OrderEvent) -> Self {
        Self {
            order_id: order.order_id.clone(),
            driver_id: order.driver_id.clone(),
            kind: match order.kind {
                types::OrderKind::Assigned => sdk::OrderKind::Assigned,
                types::OrderKind::PickedUp => sdk::OrderKind::PickedUp,
                types::OrderKind::Delivered => sdk::OrderKind::Delivered,
                types::OrderKind::Cancelled => sdk::OrderKind::Cancelled,
            },
            pickup: order.pickup.as_ref().map(point),
            dropoff: order.dropoff.as_ref().map(point),
            timestamp_ms: order.timestamp_ms,
            offset: order.offset,
        }
    }
}

impl From<&types::Batch> for sdk::Batch {
    fn from(batch: &types::Batch) -> Self {
        Self {
            pipeline: batch.pipeline.clone(),
            topic: batch.topic.clone(),
            partition: batch.partition,
            events: batch.events.iter().map(Into::into).collect(),
            orders: batch.orders.iter().map(Into::into).collect(),
        }
    }
}

// ---- the answer (guest -> host) ----

impl From<sdk::BatchOutcome> for types::BatchOutcome {
    fn from(outcome: sdk::BatchOutcome) -> Self {
        Self {
            rejected: outcome
                .rejected
                .into_iter()
                .map(|rejection| types::Rejection {
                    index: rejection.index,
                    reason: rejection.reason,
                })
                .collect(),
        }
    }
}

impl From<sdk::PluginError> for types::PluginError {
    fn from(error: sdk::PluginError) -> Self {
        Self {
            message: error.message,
            retryable: error.retryable,
        }
    }
}

// ---- kv ----

impl From<&sdk::kv::FieldValue> for kv::FieldValue {
    fn from(field: &sdk::kv::FieldValue) -> Self {
        Self {
            field: field.field.clone(),
            value: field.value.clone(),
        }
    }
}

impl From<kv::FieldValue> for sdk::kv::FieldValue {
    fn from(field: kv::FieldValue) -> Self {
        Self {
            field: field.field,
            value: field.value,
        }
    }
}

fn fields(fields: &[sdk::kv::FieldValue]) -> Vec<kv::FieldValue> {
    fields.iter().map(Into::into).collect()
}

impl From<&sdk::kv::GeoMember> for kv::GeoMember {
    fn from(member: &sdk::kv::GeoMember) -> Self {
        Self {
            key: member.key.clone(),
            member: member.member.clone(),
            longitude: member.longitude,
            latitude: member.latitude,
        }
    }
}

impl From<&sdk::kv::WriteOp> for kv::WriteOp {
    fn from(op: &sdk::kv::WriteOp) -> Self {
        use sdk::kv::WriteOp as Guest;
        match op {
            Guest::Set(set) => Self::Set(kv::SetOp {
                key: set.key.clone(),
                value: set.value.clone(),
                ttl_ms: set.ttl_ms,
            }),
            Guest::HashSet(hash) => Self::HashSet(kv::HashSetOp {
                key: hash.key.clone(),
                fields: fields(&hash.fields),
            }),
            Guest::UpsertNewer(upsert) => Self::UpsertNewer(kv::UpsertNewerOp {
                key: upsert.key.clone(),
                version_field: upsert.version_field.clone(),
                version: upsert.version,
                fields: fields(&upsert.fields),
                geo: upsert.geo.as_ref().map(Into::into),
            }),
            Guest::GeoAdd(member) => Self::GeoAdd(member.into()),
            Guest::Expire((key, ttl_ms)) => Self::Expire((key.clone(), *ttl_ms)),
            Guest::Delete(key) => Self::Delete(key.clone()),
            Guest::Incr(incr) => Self::Incr(kv::IncrOp {
                key: incr.key.clone(),
                by: incr.by,
                ttl_ms: incr.ttl_ms,
            }),
            Guest::Publish(publish) => Self::Publish(kv::PublishOp {
                channel: publish.channel.clone(),
                message: publish.message.clone(),
            }),
        }
    }
}

impl From<kv::WriteResult> for sdk::kv::WriteResult {
    fn from(result: kv::WriteResult) -> Self {
        match result {
            kv::WriteResult::Done => Self::Done,
            kv::WriteResult::Applied(applied) => Self::Applied(applied),
            kv::WriteResult::Counter(value) => Self::Counter(value),
        }
    }
}

impl From<kv::KvError> for sdk::kv::KvError {
    fn from(error: kv::KvError) -> Self {
        match error {
            kv::KvError::Denied(message) => Self::Denied(message),
            kv::KvError::Invalid(message) => Self::Invalid(message),
            kv::KvError::Unavailable(message) => Self::Unavailable(message),
        }
    }
}

// ---- sql ----

impl From<&sdk::sql::TableDef> for sql::TableDef {
    fn from(table: &sdk::sql::TableDef) -> Self {
        use sdk::sql::ColumnType as Guest;
        Self {
            name: table.name.clone(),
            columns: table
                .columns
                .iter()
                .map(|column| sql::ColumnDef {
                    name: column.name.clone(),
                    kind: match column.kind {
                        Guest::Text => sql::ColumnType::Text,
                        Guest::BigInt => sql::ColumnType::BigInt,
                        Guest::Double => sql::ColumnType::Double,
                        Guest::Boolean => sql::ColumnType::Boolean,
                        Guest::Timestamp => sql::ColumnType::Timestamp,
                    },
                    nullable: column.nullable,
                })
                .collect(),
            unique: table.unique.clone(),
            indexes: table.indexes.clone(),
        }
    }
}

impl From<&sdk::sql::ColumnValues> for sql::ColumnValues {
    fn from(values: &sdk::sql::ColumnValues) -> Self {
        use sdk::sql::ColumnValues as Guest;
        match values {
            Guest::Text(values) => Self::Text(values.clone()),
            Guest::BigInt(values) => Self::BigInt(values.clone()),
            Guest::Double(values) => Self::Double(values.clone()),
            Guest::Boolean(values) => Self::Boolean(values.clone()),
            Guest::Timestamp(values) => Self::Timestamp(values.clone()),
        }
    }
}

impl From<&sdk::sql::InsertOp> for sql::InsertOp {
    fn from(op: &sdk::sql::InsertOp) -> Self {
        use sdk::sql::OnConflict as Guest;
        Self {
            table: op.table.clone(),
            columns: op
                .columns
                .iter()
                .map(|column| sql::ColumnData {
                    name: column.name.clone(),
                    values: (&column.values).into(),
                    nulls: column.nulls.clone(),
                })
                .collect(),
            on_conflict: match &op.on_conflict {
                Guest::Fail => sql::OnConflict::Fail,
                Guest::DoNothing => sql::OnConflict::DoNothing,
                Guest::Update(update) => sql::OnConflict::Update(sql::ConflictUpdate {
                    target: update.target.clone(),
                    set: update.set.clone(),
                }),
            },
        }
    }
}

impl From<&sdk::sql::SelectOp> for sql::SelectOp {
    fn from(query: &sdk::sql::SelectOp) -> Self {
        Self {
            table: query.table.clone(),
            columns: query.columns.clone(),
            key_column: query.key_column.clone(),
            keys: query.keys.clone(),
            limit: query.limit,
        }
    }
}

impl From<sql::Value> for sdk::sql::Value {
    fn from(value: sql::Value) -> Self {
        match value {
            sql::Value::Null => Self::Null,
            sql::Value::Text(text) => Self::Text(text),
            sql::Value::BigInt(number) => Self::BigInt(number),
            sql::Value::Double(number) => Self::Double(number),
            sql::Value::Boolean(flag) => Self::Boolean(flag),
            sql::Value::Timestamp(ms) => Self::Timestamp(ms),
        }
    }
}

impl From<sql::SqlError> for sdk::sql::SqlError {
    fn from(error: sql::SqlError) -> Self {
        match error {
            sql::SqlError::Denied(message) => Self::Denied(message),
            sql::SqlError::Invalid(message) => Self::Invalid(message),
            sql::SqlError::Unavailable(message) => Self::Unavailable(message),
        }
    }
}

// ---- produce ----

impl From<&sdk::produce::Message> for produce::Message {
    fn from(message: &sdk::produce::Message) -> Self {
        Self {
            topic: message.topic.clone(),
            key: message.key.clone(),
            payload: message.payload.clone(),
            headers: message
                .headers
                .iter()
                .map(|header| produce::Header {
                    key: header.key.clone(),
                    value: header.value.clone(),
                })
                .collect(),
        }
    }
}

impl From<produce::ProduceError> for sdk::produce::ProduceError {
    fn from(error: produce::ProduceError) -> Self {
        match error {
            produce::ProduceError::Denied(message) => Self::Denied(message),
            produce::ProduceError::Invalid(message) => Self::Invalid(message),
            produce::ProduceError::Unavailable(message) => Self::Unavailable(message),
        }
    }
}

// ---- log ----

impl From<sdk::log::Level> for log::Level {
    fn from(level: sdk::log::Level) -> Self {
        match level {
            sdk::log::Level::Trace => Self::Trace,
            sdk::log::Level::Debug => Self::Debug,
            sdk::log::Level::Info => Self::Info,
            sdk::log::Level::Warn => Self::Warn,
            sdk::log::Level::Error => Self::Error,
        }
    }
}
