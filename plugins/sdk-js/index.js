// fleethost-plugin: the SDK of JavaScript plugins, over the WIT world
// fleethost:plugin@0.2.0 as componentize-js presents it. A plugin imports
// everything from here:
//
//   import { definePlugin, kv, op, produce, log, reject } from "./fleethost_plugin/index.js";
//
// The reference is docs/plugins-javascript.md.

export { definePlugin } from "./define.js";
export { ConfigError, PluginConfig } from "./config.js";
export { PluginError, capabilityError } from "./errors.js";
export { reject } from "./outcome.js";
export * as op from "./kv_ops.js";
export { fieldsToObject } from "./kv_ops.js";
export * as kv from "./kv.js";
export * as produce from "./produce.js";
export * as sql from "./sql.js";
export * as log from "./log.js";
export { fixed, shortest } from "./decimal.js";
export { jsonObject, jsonValue, raw } from "./json.js";
export { EARTH_RADIUS_M, bearingDeg, boundsOf, destination, haversineM, pointInPolygon } from "./geo.js";
export { FenceGrid } from "./fence_grid.js";
