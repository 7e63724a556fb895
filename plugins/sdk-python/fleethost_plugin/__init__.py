"""The fleethost plugin SDK for Python guests, over componentize-py's bindings.

A plugin is an ``app.py`` holding ``class WitWorld(wit_world.WitWorld)``
with ``init`` and ``process_batch``; this package holds what such a plugin
would otherwise write again, one concern per module:

- ``config``: ``Config``, typed getters whose errors name the key;
- ``slot``: ``Slot``, where ``init`` keeps the settings for every batch
  (componentize-py makes a new ``WitWorld`` object per call, so not on
  ``self``);
- ``errors``: ``ConfigError`` and ``PluginError``, and a capability's error
  turned into a ``PluginError`` (retryable when it said ``unavailable``);
- ``export``: the ``@export.init`` and ``@export.process_batch`` decorators
  that turn those exceptions into the WIT ``err`` results, and ``reject`` and
  ``outcome`` for a batch's answer;
- ``kv``, ``produce``, ``sql``, ``log``: the host's capabilities: op
  builders, and calls that raise ``PluginError``;
- ``json_object``: flat JSON objects written as the Rust SDK writes them;
- ``geo`` and ``fence_grid``: distances, bearings, fences and a grid index.

The pure modules (config, errors, json_object, geo, fence_grid) import
without the bindings, so they can be tested with a plain ``python3``; the
others need ``wit_world``, which componentize-py generates from the WIT when
it builds the component (or ``componentize-py bindings`` on disk).
"""

from .config import Config
from .errors import ConfigError, PluginError
from .fence_grid import FenceGrid
from .geo import Circle, Polygon, bearing_deg, haversine_m, point_in_polygon
from .json_object import JsonObject, json_string
from .slot import Slot

# Names that need the generated bindings, resolved on first use so that the
# pure modules above import without them.
_FROM_EXPORT = ("reject", "outcome")


def __getattr__(name):
    if name in _FROM_EXPORT:
        from . import export

        return getattr(export, name)
    raise AttributeError("module 'fleethost_plugin' has no attribute %r" % name)


__all__ = [
    "Circle",
    "Config",
    "ConfigError",
    "FenceGrid",
    "JsonObject",
    "PluginError",
    "Polygon",
    "Slot",
    "bearing_deg",
    "haversine_m",
    "json_string",
    "outcome",
    "point_in_polygon",
    "reject",
]
