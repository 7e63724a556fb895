import assert from "node:assert/strict";
import { test } from "node:test";
import * as op from "../kv_ops.js";
import { fieldsToObject } from "../kv_ops.js";
import { message } from "../message.js";

test("kv write ops are the WIT variants, integers as BigInt", () => {
  assert.deepEqual(op.incr("speeding:d-1"), { tag: "incr", val: { key: "speeding:d-1", by: 1n, ttlMs: undefined } });
  assert.deepEqual(op.incr("c", 5n, 60000), { tag: "incr", val: { key: "c", by: 5n, ttlMs: 60000n } });
  assert.deepEqual(op.set("k", 42, 1000), { tag: "set", val: { key: "k", value: "42", ttlMs: 1000n } });
  assert.deepEqual(op.hashSet("h", { lat: 1.5, lng: "2" }), {
    tag: "hash-set",
    val: { key: "h", fields: [{ field: "lat", value: "1.5" }, { field: "lng", value: "2" }] },
  });
  assert.deepEqual(op.publish("live:driver:d", "{}"), { tag: "publish", val: { channel: "live:driver:d", message: "{}" } });
  assert.deepEqual(op.expire("k", 5000), { tag: "expire", val: ["k", 5000n] });
  assert.deepEqual(op.delete("k"), { tag: "delete", val: "k" });
  assert.deepEqual(op.geoAdd("drivers:geo", "d", 12.9, 77.6), {
    tag: "geo-add",
    val: { key: "drivers:geo", member: "d", longitude: 77.6, latitude: 12.9 },
  });
  assert.deepEqual(
    op.upsertNewer({ key: "driver:d", versionField: "ts_ms", version: 17n, fields: [["ts_ms", "17"]], geo: op.geoMember("g", "d", 1, 2) }),
    {
      tag: "upsert-newer",
      val: {
        key: "driver:d",
        versionField: "ts_ms",
        version: 17n,
        fields: [{ field: "ts_ms", value: "17" }],
        geo: { key: "g", member: "d", longitude: 2, latitude: 1 },
      },
    },
  );
  assert.throws(() => op.incr("k", 1.5), RangeError);
  assert.deepEqual(fieldsToObject([{ field: "a", value: "1" }]), { a: "1" });
});

test("a message carries its payload and headers as UTF-8 bytes", () => {
  const record = message("speed-alerts", "d-é", '{"v":"é"}', { source: "speed" });
  assert.equal(record.topic, "speed-alerts");
  assert.equal(record.key, "d-é");
  assert.deepEqual([...record.payload], [...Buffer.from('{"v":"é"}', "utf8")]);
  assert.deepEqual(record.headers, [{ key: "source", value: new TextEncoder().encode("speed") }]);
  assert.equal(message("t", null, new Uint8Array([1])).key, undefined);
});
