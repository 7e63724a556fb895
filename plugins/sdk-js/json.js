// Message payloads as JSON text, with the numbers written as Rust and
// Python write them (decimal.js) and the fields in the order given.

import { shortest } from "./decimal.js";

/** Text that goes into the JSON as it is (see `raw`). */
class RawJson {
  constructor(text) {
    this.text = text;
  }
}

/**
 * Marks `text` to be written as it is: a number already formatted, such as
 * `raw(fixed(kmh, 1))` for `"speed_kmh":120.0`.
 */
export function raw(text) {
  return new RawJson(String(text));
}

/**
 * One JSON value: a string (escaped as JSON.stringify does), a number (its
 * `shortest` text; NaN and infinities become null), a BigInt (an integer, as
 * the WIT's s64 and u64 arrive), a boolean, null or undefined (null), a `raw`
 * text, an array, or a plain object (its fields in insertion order).
 */
export function jsonValue(value) {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? shortest(value) : "null";
    case "bigint":
      return value.toString();
    case "boolean":
      return value ? "true" : "false";
    case "undefined":
      return "null";
    default:
      if (value === null) {
        return "null";
      }
      if (value instanceof RawJson) {
        return value.text;
      }
      if (Array.isArray(value)) {
        return `[${value.map(jsonValue).join(",")}]`;
      }
      return jsonObject(value);
  }
}

/**
 * A JSON object without spaces, its fields in the order given: either a plain
 * object or a list of [name, value] pairs.
 *
 *   jsonObject([["driver_id", id], ["speed_kmh", raw(fixed(kmh, 1))]])
 *   // '{"driver_id":"d-1","speed_kmh":120.0}'
 */
export function jsonObject(fields) {
  const entries = Array.isArray(fields) ? fields : Object.entries(fields);
  return `{${entries.map(([name, value]) => `${JSON.stringify(String(name))}:${jsonValue(value)}`).join(",")}}`;
}
