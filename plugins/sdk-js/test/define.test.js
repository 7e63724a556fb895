import assert from "node:assert/strict";
import { test } from "node:test";
import { definePlugin } from "../define.js";
import { capabilityError, PluginError } from "../errors.js";
import { reject } from "../outcome.js";

// What componentize-js throws when an import's result is `err`.
class ComponentError {
  constructor(payload) {
    this.payload = payload;
  }
}

const batch = { pipeline: "p", topic: "t", partition: 0, events: [], orders: [] };

test("init gets a PluginConfig and any failure becomes text", () => {
  let seen;
  const plugin = definePlugin({
    init(config) {
      seen = config.number("n", 1);
      config.rejectUnknown(["n"]);
    },
    processBatch() {},
  });
  plugin.init([["n", "2"]]);
  assert.equal(seen, 2);
  assert.throws(() => plugin.init([["m", "2"]]), (error) => error === 'unknown config key "m"');
  const broken = definePlugin({
    init() {
      null.x;
    },
    processBatch() {},
  });
  assert.throws(() => broken.init([]), (error) => typeof error === "string" && error.startsWith("TypeError: "));
});

test("processBatch may return nothing, a list or an outcome", () => {
  for (const [returned, rejected] of [
    [undefined, []],
    [[reject(2, "bad")], [{ index: 2, reason: "bad" }]],
    [{ rejected: [reject(0, 7)] }, [{ index: 0, reason: "7" }]],
  ]) {
    const plugin = definePlugin({ processBatch: () => returned });
    assert.deepEqual(plugin.processBatch(batch), { rejected });
  }
});

test("a thrown error becomes the WIT plugin-error", () => {
  const throwing = (error) =>
    definePlugin({
      processBatch() {
        throw error;
      },
    });
  const caught = (error) => {
    try {
      throwing(error).processBatch(batch);
    } catch (thrown) {
      return thrown;
    }
    assert.fail("did not throw");
  };
  assert.deepEqual(caught(PluginError.retryable("db down")), { message: "db down", retryable: true });
  assert.deepEqual(caught(new PluginError("bad data")), { message: "bad data", retryable: false });
  assert.deepEqual(caught(new RangeError("oops")), { message: "RangeError: oops", retryable: false });
  assert.deepEqual(caught(new ComponentError({ tag: "unavailable", val: "redis" })), {
    message: "unavailable: redis",
    retryable: true,
  });
  assert.deepEqual(caught("plain"), { message: "plain", retryable: false });
});

test("a capability's error names the capability; only unavailable is retryable", () => {
  const unavailable = capabilityError("kv", new ComponentError({ tag: "unavailable", val: "connection refused" }));
  assert.ok(unavailable instanceof PluginError);
  assert.equal(unavailable.message, "kv: connection refused");
  assert.equal(unavailable.retryable, true);
  assert.equal(unavailable.kind, "unavailable");
  const denied = capabilityError("produce", new ComponentError({ tag: "denied", val: "topic x is not granted" }));
  assert.equal(denied.message, "produce: topic x is not granted");
  assert.equal(denied.retryable, false);
  const other = new TypeError("not a capability error");
  assert.equal(capabilityError("kv", other), other);
});
