"""Stand-ins for the bindings componentize-py generates (``wit_world`` and
``componentize_py_types``), so the SDK's modules that use them can be tested
with a plain ``python3``: the same module, class and field names as the
generated ones for fleethost:plugin@0.2.0, and import functions that the
tests replace.

``install()`` puts them in ``sys.modules`` unless the real bindings import
(``componentize-py -d wit -w plugin bindings DIR`` and DIR on PYTHONPATH):
the tests then run against those instead.
"""

import enum
import sys
import types
from dataclasses import dataclass, make_dataclass
from typing import Generic, TypeVar

E = TypeVar("E")


@dataclass(frozen=True)
class Err(Generic[E], Exception):
    value: E


def _records(module, specs):
    for name, fields in specs.items():
        setattr(module, name, make_dataclass(name, fields))


def _variant(module, name, cases):
    for case in cases:
        setattr(module, "%s_%s" % (name, case), make_dataclass("%s_%s" % (name, case), ["value"]))


def _unbound(name):
    def call(*args):
        raise NotImplementedError("%s: a test did not replace this import" % name)

    return call


def _module(name):
    module = types.ModuleType(name)
    sys.modules[name] = module
    return module


def install():
    try:
        import componentize_py_types  # noqa: F401
        import wit_world.imports.kv  # noqa: F401

        return "generated"
    except ImportError:
        pass

    runtime_types = _module("componentize_py_types")
    runtime_types.Err = Err

    world = _module("wit_world")
    imports = _module("wit_world.imports")
    world.imports = imports

    wit_types = _module("wit_world.imports.types")
    _records(
        wit_types,
        {
            "Event": [
                "driver_id", "latitude", "longitude", "timestamp_ms",
                "region", "order_id", "speed", "heading", "offset",
            ],
            "Point": ["latitude", "longitude"],
            "OrderEvent": ["order_id", "driver_id", "kind", "pickup", "dropoff", "timestamp_ms", "offset"],
            "Batch": ["pipeline", "topic", "partition", "events", "orders"],
            "Rejection": ["index", "reason"],
            "BatchOutcome": ["rejected"],
            "PluginError": ["message", "retryable"],
        },
    )

    kv = _module("wit_world.imports.kv")
    _records(
        kv,
        {
            "FieldValue": ["field", "value"],
            "GeoMember": ["key", "member", "longitude", "latitude"],
            "SetOp": ["key", "value", "ttl_ms"],
            "HashSetOp": ["key", "fields"],
            "UpsertNewerOp": ["key", "version_field", "version", "fields", "geo"],
            "IncrOp": ["key", "by", "ttl_ms"],
            "PublishOp": ["channel", "message"],
        },
    )
    _variant(kv, "KvError", ["Denied", "Invalid", "Unavailable"])
    _variant(kv, "WriteOp", ["Set", "HashSet", "UpsertNewer", "GeoAdd", "Expire", "Delete", "Incr", "Publish"])
    _variant(kv, "WriteResult", ["Applied", "Counter"])
    kv.WriteResult_Done = make_dataclass("WriteResult_Done", [])
    kv.write = _unbound("kv.write")
    kv.get_many = _unbound("kv.get_many")
    kv.hash_get_all_many = _unbound("kv.hash_get_all_many")

    produce = _module("wit_world.imports.produce")
    _records(produce, {"Header": ["key", "value"], "Message": ["topic", "key", "payload", "headers"]})
    _variant(produce, "ProduceError", ["Denied", "Invalid", "Unavailable"])
    produce.send = _unbound("produce.send")

    log = _module("wit_world.imports.log")
    log.Level = enum.Enum("Level", [("TRACE", 0), ("DEBUG", 1), ("INFO", 2), ("WARN", 3), ("ERROR", 4)])
    log.log = _unbound("log.log")

    sql = _module("wit_world.imports.sql")
    _variant(sql, "SqlError", ["Denied", "Invalid", "Unavailable"])
    sql.ensure_table = _unbound("sql.ensure_table")
    sql.insert = _unbound("sql.insert")
    sql.select = _unbound("sql.select")

    for name in ("types", "kv", "produce", "log", "sql"):
        setattr(imports, name, sys.modules["wit_world.imports." + name])

    class WitWorld:
        pass

    world.WitWorld = WitWorld
    return "fake"
