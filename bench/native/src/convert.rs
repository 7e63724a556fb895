//! Conversions between the guest SDK's types (wit-bindgen) and the host's
//! (wasmtime bindgen) for native plugins. Both are generated from the same
//! WIT, so every conversion is field by field; these copies stand in for the
//! canonical ABI's lowering and lifting on the wasm path.
//!
//! Host to guest: the batch, capability results and errors. Guest to host:
//! capability arguments, the batch outcome and the plugin error.

use fleethost_plugin_sdk as sdk;

use fleethost_core::bindings::{kv, log, produce, sql, state, types};

use crate::Convert;

// ---- the batch (host -> guest) ----

impl Convert<sdk::Event> for &types::Event {
    fn convert(self) -> sdk::Event {
        let event = self;
        sdk::Event {
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

impl Convert<sdk::OrderEvent> for &types::OrderEvent {
    fn convert(self) -> sdk::OrderEvent {
        let order = self;
        sdk::OrderEvent {
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

impl Convert<sdk::Batch> for &types::Batch {
    fn convert(self) -> sdk::Batch {
        let batch = self;
        sdk::Batch {
            pipeline: batch.pipeline.clone(),
            topic: batch.topic.clone(),
            partition: batch.partition,
            events: batch.events.iter().map(Convert::convert).collect(),
            orders: batch.orders.iter().map(Convert::convert).collect(),
        }
    }
}

// ---- the answer (guest -> host) ----

impl Convert<types::BatchOutcome> for sdk::BatchOutcome {
    fn convert(self) -> types::BatchOutcome {
        let outcome = self;
        types::BatchOutcome {
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

impl Convert<types::PluginError> for sdk::PluginError {
    fn convert(self) -> types::PluginError {
        let error = self;
        types::PluginError {
            message: error.message,
            retryable: error.retryable,
        }
    }
}

// ---- kv ----

impl Convert<kv::FieldValue> for &sdk::kv::FieldValue {
    fn convert(self) -> kv::FieldValue {
        let field = self;
        kv::FieldValue {
            field: field.field.clone(),
            value: field.value.clone(),
        }
    }
}

impl Convert<sdk::kv::FieldValue> for kv::FieldValue {
    fn convert(self) -> sdk::kv::FieldValue {
        let field = self;
        sdk::kv::FieldValue {
            field: field.field,
            value: field.value,
        }
    }
}

fn fields(fields: &[sdk::kv::FieldValue]) -> Vec<kv::FieldValue> {
    fields.iter().map(Convert::convert).collect()
}

impl Convert<kv::GeoMember> for &sdk::kv::GeoMember {
    fn convert(self) -> kv::GeoMember {
        let member = self;
        kv::GeoMember {
            key: member.key.clone(),
            member: member.member.clone(),
            longitude: member.longitude,
            latitude: member.latitude,
        }
    }
}

impl Convert<kv::WriteOp> for &sdk::kv::WriteOp {
    fn convert(self) -> kv::WriteOp {
        let op = self;
        use sdk::kv::WriteOp as Guest;
        match op {
            Guest::Set(set) => kv::WriteOp::Set(kv::SetOp {
                key: set.key.clone(),
                value: set.value.clone(),
                ttl_ms: set.ttl_ms,
            }),
            Guest::HashSet(hash) => kv::WriteOp::HashSet(kv::HashSetOp {
                key: hash.key.clone(),
                fields: fields(&hash.fields),
            }),
            Guest::UpsertNewer(upsert) => kv::WriteOp::UpsertNewer(kv::UpsertNewerOp {
                key: upsert.key.clone(),
                version_field: upsert.version_field.clone(),
                version: upsert.version,
                fields: fields(&upsert.fields),
                geo: upsert.geo.as_ref().map(Convert::convert),
            }),
            Guest::GeoAdd(member) => kv::WriteOp::GeoAdd(member.convert()),
            Guest::Expire((key, ttl_ms)) => kv::WriteOp::Expire((key.clone(), *ttl_ms)),
            Guest::Delete(key) => kv::WriteOp::Delete(key.clone()),
            Guest::Incr(incr) => kv::WriteOp::Incr(kv::IncrOp {
                key: incr.key.clone(),
                by: incr.by,
                ttl_ms: incr.ttl_ms,
            }),
            Guest::Publish(publish) => kv::WriteOp::Publish(kv::PublishOp {
                channel: publish.channel.clone(),
                message: publish.message.clone(),
            }),
        }
    }
}

impl Convert<sdk::kv::WriteResult> for kv::WriteResult {
    fn convert(self) -> sdk::kv::WriteResult {
        let result = self;
        match result {
            kv::WriteResult::Done => sdk::kv::WriteResult::Done,
            kv::WriteResult::Applied(applied) => sdk::kv::WriteResult::Applied(applied),
            kv::WriteResult::Counter(value) => sdk::kv::WriteResult::Counter(value),
        }
    }
}

impl Convert<sdk::state::StateError> for state::StateError {
    fn convert(self) -> sdk::state::StateError {
        match self {
            state::StateError::Invalid(message) => sdk::state::StateError::Invalid(message),
            state::StateError::Unavailable(message) => sdk::state::StateError::Unavailable(message),
        }
    }
}

impl Convert<sdk::kv::KvError> for kv::KvError {
    fn convert(self) -> sdk::kv::KvError {
        let error = self;
        match error {
            kv::KvError::Denied(message) => sdk::kv::KvError::Denied(message),
            kv::KvError::Invalid(message) => sdk::kv::KvError::Invalid(message),
            kv::KvError::Unavailable(message) => sdk::kv::KvError::Unavailable(message),
        }
    }
}

// ---- sql ----

impl Convert<sql::TableDef> for &sdk::sql::TableDef {
    fn convert(self) -> sql::TableDef {
        let table = self;
        use sdk::sql::ColumnType as Guest;
        sql::TableDef {
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

impl Convert<sql::ColumnValues> for &sdk::sql::ColumnValues {
    fn convert(self) -> sql::ColumnValues {
        let values = self;
        use sdk::sql::ColumnValues as Guest;
        match values {
            Guest::Text(values) => sql::ColumnValues::Text(values.clone()),
            Guest::BigInt(values) => sql::ColumnValues::BigInt(values.clone()),
            Guest::Double(values) => sql::ColumnValues::Double(values.clone()),
            Guest::Boolean(values) => sql::ColumnValues::Boolean(values.clone()),
            Guest::Timestamp(values) => sql::ColumnValues::Timestamp(values.clone()),
        }
    }
}

impl Convert<sql::InsertOp> for &sdk::sql::InsertOp {
    fn convert(self) -> sql::InsertOp {
        let op = self;
        use sdk::sql::OnConflict as Guest;
        sql::InsertOp {
            table: op.table.clone(),
            columns: op
                .columns
                .iter()
                .map(|column| sql::ColumnData {
                    name: column.name.clone(),
                    values: (&column.values).convert(),
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

impl Convert<sql::SelectOp> for &sdk::sql::SelectOp {
    fn convert(self) -> sql::SelectOp {
        let query = self;
        sql::SelectOp {
            table: query.table.clone(),
            columns: query.columns.clone(),
            key_column: query.key_column.clone(),
            keys: query.keys.clone(),
            limit: query.limit,
        }
    }
}

impl Convert<sdk::sql::Value> for sql::Value {
    fn convert(self) -> sdk::sql::Value {
        let value = self;
        match value {
            sql::Value::Null => sdk::sql::Value::Null,
            sql::Value::Text(text) => sdk::sql::Value::Text(text),
            sql::Value::BigInt(number) => sdk::sql::Value::BigInt(number),
            sql::Value::Double(number) => sdk::sql::Value::Double(number),
            sql::Value::Boolean(flag) => sdk::sql::Value::Boolean(flag),
            sql::Value::Timestamp(ms) => sdk::sql::Value::Timestamp(ms),
        }
    }
}

impl Convert<sdk::sql::SqlError> for sql::SqlError {
    fn convert(self) -> sdk::sql::SqlError {
        let error = self;
        match error {
            sql::SqlError::Denied(message) => sdk::sql::SqlError::Denied(message),
            sql::SqlError::Invalid(message) => sdk::sql::SqlError::Invalid(message),
            sql::SqlError::Unavailable(message) => sdk::sql::SqlError::Unavailable(message),
        }
    }
}

// ---- produce ----

impl Convert<produce::Message> for &sdk::produce::Message {
    fn convert(self) -> produce::Message {
        let message = self;
        produce::Message {
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

impl Convert<sdk::produce::ProduceError> for produce::ProduceError {
    fn convert(self) -> sdk::produce::ProduceError {
        let error = self;
        match error {
            produce::ProduceError::Denied(message) => sdk::produce::ProduceError::Denied(message),
            produce::ProduceError::Invalid(message) => sdk::produce::ProduceError::Invalid(message),
            produce::ProduceError::Unavailable(message) => sdk::produce::ProduceError::Unavailable(message),
        }
    }
}

// ---- log ----

impl Convert<log::Level> for sdk::log::Level {
    fn convert(self) -> log::Level {
        let level = self;
        match level {
            sdk::log::Level::Trace => log::Level::Trace,
            sdk::log::Level::Debug => log::Level::Debug,
            sdk::log::Level::Info => log::Level::Info,
            sdk::log::Level::Warn => log::Level::Warn,
            sdk::log::Level::Error => log::Level::Error,
        }
    }
}
