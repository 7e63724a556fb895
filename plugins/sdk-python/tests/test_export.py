import unittest

import fleethost_plugin
from componentize_py_types import Err
from fleethost_plugin import Config, PluginError, export, outcome, reject
from wit_world.imports import types


class Plugin:
    @export.init
    def init(self, config):
        self.limit = Config(config, known=("limit",)).float("limit", default=1.0)

    @export.process_batch
    def process_batch(self, batch):
        if batch == "fail":
            raise PluginError("kv: down", retryable=True)
        if batch == "bug":
            raise KeyError("bug")
        return outcome([reject(2, "bad")])


class ExportTest(unittest.TestCase):
    def test_init_errors_are_err_text(self):
        plugin = Plugin()
        plugin.init([("limit", "2")])
        self.assertEqual(plugin.limit, 2.0)
        with self.assertRaises(Err) as raised:
            plugin.init([("limit", "x")])
        self.assertEqual(raised.exception.value, 'limit: not a number: "x"')
        with self.assertRaises(Err) as raised:
            plugin.init([("limt", "1")])
        self.assertEqual(raised.exception.value, 'unknown config key "limt"')

    def test_batch_errors_are_err_plugin_error_records(self):
        plugin = Plugin()
        self.assertEqual(
            plugin.process_batch("ok"),
            types.BatchOutcome(rejected=[types.Rejection(index=2, reason="bad")]),
        )
        with self.assertRaises(Err) as raised:
            plugin.process_batch("fail")
        self.assertEqual(raised.exception.value, types.PluginError(message="kv: down", retryable=True))
        # Anything else is a bug: it is not turned into a result (it traps).
        with self.assertRaises(KeyError):
            plugin.process_batch("bug")

    def test_outcome_helpers_from_the_package(self):
        self.assertIs(fleethost_plugin.reject, export.reject)
        self.assertEqual(outcome(), types.BatchOutcome(rejected=[]))
        with self.assertRaises(AttributeError):
            fleethost_plugin.nothing_here


if __name__ == "__main__":
    unittest.main()
