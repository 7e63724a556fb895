// The kv capability (Redis in production), its errors turned into
// PluginErrors: `kv: <text>`, retryable when the store was unavailable.
// Build the operations of `write` with `op` (kv_ops.js).

import * as imported from "fleethost:plugin/kv@0.2.0";
import { callCapability } from "./errors.js";

/**
 * Applies the operations in order, in one round trip; returns one result
 * per operation: `{ tag: "done" }`, `{ tag: "applied", val: boolean }` for
 * upsertNewer, `{ tag: "counter", val: BigInt }` for incr.
 */
export function write(ops) {
  return callCapability("kv", imported.write, ops);
}

/** The string at each key, undefined where absent, in one round trip. */
export function getMany(keys) {
  return callCapability("kv", imported.getMany, keys);
}

/** Each hash as `[{ field, value }]` (empty when absent), in one round trip; see fieldsToObject. */
export function hashGetAllMany(keys) {
  return callCapability("kv", imported.hashGetAllMany, keys);
}
