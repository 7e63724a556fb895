// {{name}}: a fleethost plugin in JavaScript. For every location fix faster
// than `max_speed_kmh` it counts the driver's speeding fixes in kv (key
// `key_prefix` + driver id) and sends an alert to `alerts_topic`; a fix
// faster than 300 km/h is a broken reading and goes to the dead-letter topic.
//
// The SDK layer in fleethost_plugin/ wraps the host's imports
// (docs/plugins-javascript.md in the fleethost repository).

import { definePlugin, fixed, jsonObject, kv, log, op, produce, raw, reject } from "./fleethost_plugin/index.js";

const KNOWN_KEYS = ["max_speed_kmh", "alerts_topic", "key_prefix"];

/** Faster than this, a fix is a broken GPS reading, not a driver. */
const IMPLAUSIBLE_KMH = 300;

/** What `init` read from the plugin's config; each instance has its own. */
let settings;

export const { init, processBatch } = definePlugin({
  init(config) {
    config.rejectUnknown(KNOWN_KEYS);
    settings = {
      maxSpeedKmh: config.number("max_speed_kmh", 90),
      alertsTopic: config.string("alerts_topic", "speed-alerts"),
      keyPrefix: config.string("key_prefix", "speeding:"),
    };
  },

  processBatch(batch) {
    // An order batch has no fixes: nothing to do.
    const rejected = [];
    const alerts = [];
    batch.events.forEach((event, index) => {
      if (event.speed === undefined || event.speed === null) {
        return;
      }
      const kmh = event.speed * 3.6;
      if (kmh > IMPLAUSIBLE_KMH) {
        rejected.push(reject(index, `implausible speed: ${fixed(kmh, 1)} km/h`));
      } else if (kmh > settings.maxSpeedKmh) {
        alerts.push({ event, kmh });
      }
    });
    if (alerts.length > 0) {
      // One call per capability for the whole batch, never one per event.
      kv.write(alerts.map(({ event }) => op.incr(settings.keyPrefix + event.driverId)));
      produce.send(
        alerts.map(({ event, kmh }) => produce.message(settings.alertsTopic, event.driverId, alertPayload(event, kmh))),
      );
      log.info(`${alerts.length} speeding of ${batch.events.length} fixes`);
    }
    return rejected;
  },
});

/** The alert as JSON: {"driver_id":…,"speed_kmh":…,"latitude":…,"longitude":…,"timestamp_ms":…}. */
function alertPayload(event, kmh) {
  return jsonObject([
    ["driver_id", event.driverId],
    ["speed_kmh", raw(fixed(kmh, 1))],
    ["latitude", raw(fixed(event.latitude, 6))],
    ["longitude", raw(fixed(event.longitude, 6))],
    ["timestamp_ms", event.timestampMs],
  ]);
}
