import doctest
import unittest

import fleethost_plugin.config
from fleethost_plugin import Config, ConfigError
from fleethost_plugin.config import quote


def load_tests(loader, tests, ignore):
    tests.addTests(doctest.DocTestSuite(fleethost_plugin.config))
    return tests


class ConfigTest(unittest.TestCase):
    def test_absent_keys_take_the_default(self):
        config = Config([])
        self.assertEqual(config.float("max_speed_kmh", default=90.0), 90.0)
        self.assertEqual(config.int("n", 3), 3)
        self.assertEqual(config.string("topic", "speed-alerts"), "speed-alerts")
        self.assertIs(config.bool("on", True), True)

    def test_values_are_read(self):
        config = Config([("x", "2.5"), ("y", " -1e3\n"), ("z", ".5"), ("n", "+7"), ("on", "false"), ("t", "a"), ("w", "5.")])
        self.assertEqual(config.float("x", 0.0), 2.5)
        self.assertEqual(config.float("y", 0.0), -1000.0)
        self.assertEqual(config.float("z", 0.0), 0.5)
        self.assertEqual(config.float("w", 0.0), 5.0)
        self.assertEqual(config.float("n", 0.0), 7.0)
        self.assertEqual(config.int("n", 0), 7)
        self.assertIs(config.bool("on", True), False)
        self.assertEqual(config.string("t", "b"), "a")
        self.assertIn("x", config)
        self.assertEqual(list(config.keys()), ["x", "y", "z", "n", "on", "t", "w"])

    def test_the_last_of_a_repeated_key_wins(self):
        self.assertEqual(Config([("x", "1"), ("x", "2")]).float("x", 0.0), 2.0)

    def test_a_bad_number_names_the_key_and_the_value(self):
        for text in ["fast", "", " ", ".", "1e", "inf", "-Infinity", "NaN", "1e999", "0x10", "1_000", "1,5", "1.5 km/h", "--1"]:
            with self.assertRaises(ConfigError) as raised:
                Config([("max_speed_kmh", text)]).float("max_speed_kmh", default=90.0)
            self.assertEqual(str(raised.exception), "max_speed_kmh: not a number: %s" % quote(text))

    def test_white_space_is_what_rust_trims(self):
        self.assertEqual(Config([("x", "\u3000 80\xa0\t")]).float("x", 0.0), 80.0)
        with self.assertRaises(ConfigError):
            Config([("x", "\x1f80")]).float("x", 0.0)  # not white space to Rust

    def test_values_are_quoted_as_rust_debug(self):
        self.assertEqual(quote('say "hi"\n'), '"say \\"hi\\"\\n"')
        self.assertEqual(quote("a\\b\r\t\x00\x01\x1b\x7f'é"), '"a\\\\b\\r\\t\\0\\u{1}\\u{1b}\\u{7f}\'é"')
        with self.assertRaises(ConfigError) as raised:
            Config([("x", "9\x01")]).float("x", 0.0)
        self.assertEqual(str(raised.exception), 'x: not a number: "9\\u{1}"')

    def test_other_bad_values(self):
        config = Config([("n", "1.5"), ("on", "yes"), ("low", "0"), ("topic", "  ")])
        with self.assertRaisesRegex(ConfigError, '^n: not an integer: "1.5"$'):
            config.int("n", 1)
        with self.assertRaisesRegex(ConfigError, '^on: not true or false: "yes"$'):
            config.bool("on", False)
        with self.assertRaisesRegex(ConfigError, '^low: must be at least 1: "0"$'):
            config.int("low", 5, minimum=1)
        with self.assertRaisesRegex(ConfigError, '^low: must be at least 0.5: "0"$'):
            config.float("low", 5.0, minimum=0.5)
        with self.assertRaisesRegex(ConfigError, "^topic: must not be empty$"):
            config.non_empty("topic", "t")
        self.assertEqual(config.non_empty("other", "t"), "t")

    def test_unknown_keys_are_refused(self):
        known = ("max_speed_kmh", "alerts_topic")
        Config([("alerts_topic", "a")], known=known)
        with self.assertRaises(ConfigError) as raised:
            Config([("alerts_topic", "a"), ("max_speed", "80"), ("zz", "1")], known=known)
        self.assertEqual(str(raised.exception), 'unknown config key "max_speed"')

    def test_with_kinds_the_first_bad_pair_in_order_is_the_error(self):
        kinds = {"max_speed_kmh": float, "alerts_topic": str, "n": int, "on": bool}
        with self.assertRaisesRegex(ConfigError, '^max_speed_kmh: not a number: "x"$'):
            Config([("max_speed_kmh", "x"), ("zzz", "1")], known=kinds)
        with self.assertRaisesRegex(ConfigError, '^unknown config key "aaa"$'):
            Config([("aaa", "1"), ("max_speed_kmh", "x")], known=kinds)
        with self.assertRaisesRegex(ConfigError, '^n: not an integer: "1.5"$'):
            Config([("n", "1.5")], known=kinds)
        with self.assertRaisesRegex(ConfigError, '^on: not true or false: "1"$'):
            Config([("on", "1")], known=kinds)
        # A bad value given first and then a good one is still an error, as
        # in a loop over the pairs.
        with self.assertRaises(ConfigError):
            Config([("max_speed_kmh", "x"), ("max_speed_kmh", "80")], known=kinds)
        config = Config([("max_speed_kmh", " 80 "), ("alerts_topic", "t")], known=kinds)
        self.assertEqual(config.float("max_speed_kmh", 90.0), 80.0)
        with self.assertRaisesRegex(TypeError, "kind"):
            Config([], known={"x": list})


if __name__ == "__main__":
    unittest.main()
