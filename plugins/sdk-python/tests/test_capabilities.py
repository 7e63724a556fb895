import unittest

from fleethost_plugin import PluginError, kv, log, produce
from wit_world.imports import kv as wit_kv
from wit_world.imports import log as wit_log
from wit_world.imports import produce as wit_produce

from .host import RecordingHost


class KvTest(unittest.TestCase):
    def test_op_builders(self):
        self.assertEqual(kv.incr("speeding:d-1"), wit_kv.WriteOp_Incr(wit_kv.IncrOp(key="speeding:d-1", by=1, ttl_ms=None)))
        self.assertEqual(kv.set("k", "v", ttl_ms=5), wit_kv.WriteOp_Set(wit_kv.SetOp(key="k", value="v", ttl_ms=5)))
        op = kv.hash_set("h", [("b", "2"), ("a", "1")])
        self.assertEqual([(f.field, f.value) for f in op.value.fields], [("b", "2"), ("a", "1")])
        self.assertEqual(kv.hash_set("h", {"a": "1"}).value.fields, [wit_kv.FieldValue(field="a", value="1")])
        geo = kv.geo_add("drivers", "d-1", 12.5, 77.5).value
        self.assertEqual((geo.key, geo.member, geo.latitude, geo.longitude), ("drivers", "d-1", 12.5, 77.5))
        upsert = kv.upsert_newer("pos:d-1", "ts", 7, {"lat": "1"}, geo=kv.geo_member("g", "d-1", 1.0, 2.0)).value
        self.assertEqual((upsert.version_field, upsert.version, upsert.geo.longitude), ("ts", 7, 2.0))
        self.assertEqual(kv.expire("k", 1000).value, ("k", 1000))
        self.assertEqual(kv.delete("k").value, "k")
        self.assertEqual(kv.publish("live:x", "m"), wit_kv.WriteOp_Publish(wit_kv.PublishOp(channel="live:x", message="m")))

    def test_write_is_one_call_and_returns_the_results(self):
        with RecordingHost() as host:
            results = kv.write([kv.incr("a"), kv.incr("b", by=2)])
        self.assertEqual([kv.counter(result) for result in results], [1, 1])
        self.assertEqual(len(host.calls), 1)
        self.assertEqual(host.calls[0][0], "kv.write")

    def test_errors_become_plugin_errors(self):
        with RecordingHost(fail={"kv.write": wit_kv.KvError_Unavailable("connection refused")}):
            with self.assertRaises(PluginError) as raised:
                kv.write([kv.incr("a")])
        self.assertEqual((raised.exception.message, raised.exception.retryable), ("kv: connection refused", True))
        with RecordingHost(fail={"kv.write": wit_kv.KvError_Denied("key a is not granted")}):
            with self.assertRaises(PluginError) as raised:
                kv.write([kv.incr("a")])
        self.assertEqual((raised.exception.message, raised.exception.retryable), ("kv: key a is not granted", False))


class ProduceTest(unittest.TestCase):
    def test_message_payload_and_headers_as_bytes(self):
        message = produce.message("alerts", '{"é":1}', key="d-1", headers={"kind": "speed", "raw": b"\x00"})
        self.assertEqual(message.payload, '{"é":1}'.encode("utf-8"))
        self.assertEqual(message.key, "d-1")
        self.assertEqual(
            message.headers,
            [wit_produce.Header(key="kind", value=b"speed"), wit_produce.Header(key="raw", value=b"\x00")],
        )
        self.assertEqual(produce.message("t", b"x").headers, [])
        self.assertIsNone(produce.message("t", b"x").key)

    def test_send_makes_one_call_and_none_for_nothing(self):
        with RecordingHost() as host:
            produce.send([])
            produce.send([produce.message("t", "a"), produce.message("t", "b")])
        self.assertEqual([name for name, _ in host.calls], ["produce.send"])
        self.assertEqual(len(host.calls[0][1]), 2)

    def test_errors_become_plugin_errors(self):
        with RecordingHost(fail={"produce.send": wit_produce.ProduceError_Denied("topic t is not granted")}):
            with self.assertRaises(PluginError) as raised:
                produce.send([produce.message("t", "a")])
        self.assertEqual((raised.exception.message, raised.exception.retryable), ("produce: topic t is not granted", False))


class LogTest(unittest.TestCase):
    def test_levels(self):
        with RecordingHost() as host:
            log.trace("t")
            log.debug("d")
            log.info("i")
            log.warn("w")
            log.error("e")
        self.assertEqual(
            [args for _, args in host.calls],
            [
                (wit_log.Level.TRACE, "t"),
                (wit_log.Level.DEBUG, "d"),
                (wit_log.Level.INFO, "i"),
                (wit_log.Level.WARN, "w"),
                (wit_log.Level.ERROR, "e"),
            ],
        )


if __name__ == "__main__":
    unittest.main()
