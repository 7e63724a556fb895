import unittest

from fleethost_plugin import PluginError
from fleethost_plugin.errors import capability_error
from wit_world.imports import kv, produce


class CapabilityErrorTest(unittest.TestCase):
    def test_unavailable_is_retryable_and_the_rest_is_not(self):
        error = capability_error("kv", kv.KvError_Unavailable("redis down"))
        self.assertIsInstance(error, PluginError)
        self.assertEqual((error.message, error.retryable), ("kv: redis down", True))
        error = capability_error("kv", kv.KvError_Denied("key x: not granted"))
        self.assertEqual((error.message, error.retryable), ("kv: key x: not granted", False))
        error = capability_error("produce", produce.ProduceError_Invalid("empty topic"))
        self.assertEqual((error.message, error.retryable), ("produce: empty topic", False))
        error = capability_error("produce", produce.ProduceError_Unavailable("timed out"))
        self.assertEqual((error.message, error.retryable), ("produce: timed out", True))

    def test_plugin_error_defaults_to_not_retryable(self):
        error = PluginError("bad data")
        self.assertEqual((str(error), error.retryable), ("bad data", False))


if __name__ == "__main__":
    unittest.main()
