import json
import unittest

from fleethost_plugin import JsonObject, json_string


class JsonStringTest(unittest.TestCase):
    def test_escapes_as_the_rust_sdk(self):
        # The Rust SDK's json.rs test: quote, backslash, newline, \u0001, é.
        self.assertEqual(json_string('a"b\\c\n\x01é'), '"a\\"b\\\\c\\n\\u0001é"')
        self.assertEqual(json_string("\r\t"), '"\\r\\t"')
        # Backspace and form feed as \u00XX, DEL and / as they are.
        self.assertEqual(json_string("\b\f\x1f\x7f/"), '"\\u0008\\u000c\\u001f\x7f/"')

    def test_reads_back_the_same(self):
        for text in ["", "d-1", '"', "\\", "\x00\x1f", "é\u2028😀", "a\"b\\c\nd\x01"]:
            self.assertEqual(json.loads(json_string(text)), text)


class JsonObjectTest(unittest.TestCase):
    def test_fields_in_order_without_spaces(self):
        text = JsonObject().string("id", "a\"b").integer("n", -3).boolean("ok", True).finish()
        self.assertEqual(text, '{"id":"a\\"b","n":-3,"ok":true}')
        self.assertEqual(JsonObject().finish(), "{}")

    def test_fixed_decimals_round_as_rust(self):
        # Values whose text Rust's {:.1} and {:.6} were checked to give.
        cases = [
            (0.25, 1, "0.2"),
            (100.25, 1, "100.2"),
            (0.05, 1, "0.1"),
            (97.19999999999999, 1, "97.2"),
            (12.0078125, 6, "12.007812"),
            (-12.0078125, 6, "-12.007812"),
            (-0.0, 6, "-0.000000"),
            (48.8566, 6, "48.856600"),
            (1e21, 1, "1000000000000000000000.0"),
        ]
        for value, decimals, expected in cases:
            self.assertEqual(JsonObject().fixed("v", value, decimals).finish(), '{"v":%s}' % expected)
        self.assertEqual(JsonObject().fixed("v", float("nan"), 1).finish(), '{"v":null}')

    def test_shortest_numbers_never_have_an_exponent(self):
        cases = [
            (1.5, "1.5"),
            (3.0, "3"),
            (1e21, "1000000000000000000000"),
            (1.5e-7, "0.00000015"),
            (-2.5e16, "-25000000000000000"),
            (12.971599, "12.971599"),
            (0.0, "0"),
            (-0.0, "-0"),
            (float("inf"), "null"),
        ]
        for value, expected in cases:
            self.assertEqual(JsonObject().number("v", value).finish(), '{"v":%s}' % expected)
        for value in [1.5e-7, 2.5e16, 1e21, 123.456e-10]:
            text = JsonObject().number("v", value).finish()
            self.assertEqual(json.loads(text)["v"], value)


if __name__ == "__main__":
    unittest.main()
