// The sql capability (PostgreSQL or SQLite), its errors turned into
// PluginErrors: `sql: <text>`, retryable when the database was unavailable.
// The arguments are the WIT records as componentize-js writes them (camelCase
// fields, variants as { tag, val }, s64 as BigInt); see docs/plugins-javascript.md.

import * as imported from "fleethost:plugin/sql@0.2.0";
import { callCapability } from "./errors.js";

/** Creates the table and its indexes when missing. */
export function ensureTable(table) {
  callCapability("sql", imported.ensureTable, table);
}

/** Inserts the rows of every op in one transaction; the rows written per op (BigInts). */
export function insert(ops) {
  return callCapability("sql", imported.insert, ops);
}

/** Rows by key: each a list of `{ tag, val }` values in the requested column order. */
export function select(query) {
  return callCapability("sql", imported.select, query);
}
