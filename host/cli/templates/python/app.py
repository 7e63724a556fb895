"""{{name}}: alerts on drivers going faster than a limit.

For each fix with a speed, in batch order: above 300 km/h the fix is
implausible and goes to the dead-letter topic; above `max_speed_kmh` it is
an alert. A batch with alerts makes three host calls: one kv write (a
counter per driver, `{key_prefix}{driver_id}`, one incr per alert), one
produce send (a JSON message per alert to `alerts_topic`, keyed by driver)
and one log line. A batch without alerts, or of order events, makes none.

Config keys (any other is refused by init):
    max_speed_kmh  the limit, a number (default 90)
    alerts_topic   where alerts go (default "speed-alerts")
    key_prefix     prefix of the per-driver counters (default "speeding:")
"""

import wit_world
from fleethost_plugin import Config, JsonObject, Slot, export, kv, log, outcome, produce, reject

# Every key the plugin knows, and its kind: the config's pairs are checked
# in order, the first unknown key or non-number is the error.
CONFIG_KEYS = {"max_speed_kmh": float, "alerts_topic": str, "key_prefix": str}
# No vehicle on a road goes faster: a fix above it has a broken speed.
IMPLAUSIBLE_KMH = 300.0


class Settings:
    """What init read from the config."""

    def __init__(self, config):
        config = Config(config, known=CONFIG_KEYS)
        self.max_speed_kmh = config.float("max_speed_kmh", default=90.0)
        self.alerts_topic = config.string("alerts_topic", "speed-alerts")
        self.key_prefix = config.string("key_prefix", "speeding:")


# componentize-py makes a new WitWorld object for every call: what init read
# is kept here, at module level, not on self.
SETTINGS = Slot("settings")


def alert_payload(event, kmh):
    """The alert message: UTF-8 JSON, fields in this order, no spaces."""
    return (
        JsonObject()
        .string("driver_id", event.driver_id)
        .fixed("speed_kmh", kmh, 1)
        .fixed("latitude", event.latitude, 6)
        .fixed("longitude", event.longitude, 6)
        .integer("timestamp_ms", event.timestamp_ms)
        .finish()
    )


class WitWorld(wit_world.WitWorld):
    @export.init
    def init(self, config):
        SETTINGS.set(Settings(config))

    @export.process_batch
    def process_batch(self, batch):
        settings = SETTINGS.get()
        rejected = []
        counters = []
        alerts = []
        for index, event in enumerate(batch.events):
            if event.speed is None:
                continue
            kmh = event.speed * 3.6
            if kmh > IMPLAUSIBLE_KMH:
                rejected.append(reject(index, "implausible speed: %.1f km/h" % kmh))
            elif kmh > settings.max_speed_kmh:
                counters.append(kv.incr(settings.key_prefix + event.driver_id))
                alerts.append(produce.message(settings.alerts_topic, alert_payload(event, kmh), key=event.driver_id))
        if alerts:
            # Errors raise PluginError ("kv: ...", "produce: ..."), retryable
            # when the store or the broker was unavailable.
            kv.write(counters)
            produce.send(alerts)
            log.info("%d speeding of %d fixes" % (len(alerts), len(batch.events)))
        return outcome(rejected)
