import assert from "node:assert/strict";
import { test } from "node:test";
import { fixed } from "../decimal.js";
import { jsonObject, raw } from "../json.js";

test("an object keeps its fields in order, without spaces", () => {
  const text = jsonObject([
    ["driver_id", 'a"b\\c\n\u0001é'],
    ["speed_kmh", raw(fixed(120, 1))],
    ["timestamp_ms", 1767225600000n],
    ["ok", true],
    ["none", undefined],
    ["x", 1.5],
    ["big", 1e21],
    ["bad", Number.NaN],
    ["list", [1, "a"]],
  ]);
  assert.equal(
    text,
    '{"driver_id":"a\\"b\\\\c\\n\\u0001é","speed_kmh":120.0,"timestamp_ms":1767225600000,"ok":true,"none":null,"x":1.5,"big":1000000000000000000000,"bad":null,"list":[1,"a"]}',
  );
  assert.deepEqual(JSON.parse(text).driver_id, 'a"b\\c\n\u0001é');
});

test("a plain object works too", () => {
  assert.equal(jsonObject({ b: 1, a: { c: "d" } }), '{"b":1,"a":{"c":"d"}}');
});
