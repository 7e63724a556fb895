// The operations of a kv `write` call (the WIT `write-op` variant), built
// from plain values: `kv.write([op.incr("speeding:d-1"), op.publish(…)])`.
//
// componentize-js writes a WIT variant as `{ tag, val }` (tags in
// kebab-case, as in the WIT), a record as an object with camelCase fields,
// an `option` as the value or undefined, a tuple as an array, and s64/u64 as
// BigInt. These builders take numbers or BigInts and convert.

/** A u64 or s64 from a number or BigInt (a fractional or unsafe number is refused). */
function int64(value, what) {
  if (typeof value === "bigint") {
    return value;
  }
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`${what} must be a whole number, got ${value}`);
  }
  return BigInt(value);
}

function optionalTtl(ttlMs) {
  return ttlMs === undefined || ttlMs === null ? undefined : int64(ttlMs, "ttlMs");
}

/**
 * A hash's fields (`list<field-value>`) from a plain object, a list of
 * [field, value] pairs or a list of `{ field, value }`; values become text.
 */
export function fieldValues(fields) {
  const entries = Array.isArray(fields) ? fields : Object.entries(fields);
  return entries.map((entry) =>
    Array.isArray(entry) ? { field: String(entry[0]), value: String(entry[1]) } : { field: entry.field, value: String(entry.value) },
  );
}

/** A hash as `hash-get-all-many` returns it (`[{ field, value }]`) as a plain object. */
export function fieldsToObject(fields) {
  return Object.fromEntries(fields.map(({ field, value }) => [field, value]));
}

/** Sets `key` to `value`, expiring after `ttlMs` when given. */
export function set(key, value, ttlMs) {
  return { tag: "set", val: { key, value: String(value), ttlMs: optionalTtl(ttlMs) } };
}

/** Sets fields of the hash at `key` (see fieldValues). */
export function hashSet(key, fields) {
  return { tag: "hash-set", val: { key, fields: fieldValues(fields) } };
}

/**
 * Writes `fields` into the hash at `key` (and the geo member `geo`, from
 * `geoMember`, when given) only if `version` is greater than the number in
 * the hash's `versionField`: "the newest fix by event time wins".
 */
export function upsertNewer({ key, versionField, version, fields, geo }) {
  return {
    tag: "upsert-newer",
    val: { key, versionField, version: int64(version, "version"), fields: fieldValues(fields), geo },
  };
}

/** A member of the geo set at `key`, for `geoAdd` and `upsertNewer`. */
export function geoMember(key, member, latitude, longitude) {
  return { key, member, longitude, latitude };
}

/** Adds `member` at (latitude, longitude) to the geo set at `key`. */
export function geoAdd(key, member, latitude, longitude) {
  return { tag: "geo-add", val: geoMember(key, member, latitude, longitude) };
}

/** Expires `key` after `ms` milliseconds. */
export function expire(key, ms) {
  return { tag: "expire", val: [key, int64(ms, "ms")] };
}

/** Deletes `key` (exported as `op.delete`). */
function remove(key) {
  return { tag: "delete", val: key };
}
export { remove as delete };

/** Adds `by` (default 1) to the counter at `key`, expiring it after `ttlMs` when given. */
export function incr(key, by = 1, ttlMs = undefined) {
  return { tag: "incr", val: { key, by: int64(by, "by"), ttlMs: optionalTtl(ttlMs) } };
}

/** Publishes `message` on the pub/sub `channel` (needs a publish_channels grant). */
export function publish(channel, message) {
  return { tag: "publish", val: { channel, message: String(message) } };
}
