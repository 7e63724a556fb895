"""Flat JSON objects for the messages plugins publish, byte for byte as the
Rust SDK's ``json::JsonObject`` writes them.

Fields keep the order they are added in; no spaces. Strings escape ``"``,
``\\``, ``\\n``, ``\\r``, ``\\t`` and every other control character as
``\\u00XX`` (lowercase hex, so backspace and form feed too); everything else,
non-ASCII included, is written as it is (UTF-8 once encoded).
"""

from __future__ import annotations

import math
import re

_ESCAPED = re.compile(r'["\\\x00-\x1f]')
_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match) -> str:
    char = match.group(0)
    return _SHORT.get(char) or "\\u%04x" % ord(char)


def json_string(value: str) -> str:
    """``value`` as a JSON string literal, quotes included."""
    return '"' + _ESCAPED.sub(_escape, value) + '"'


class JsonObject:
    """A flat JSON object being written field by field.

    >>> JsonObject().string("id", "d-1").fixed("kmh", 97.25, 1).integer("ts", 7).finish()
    '{"id":"d-1","kmh":97.2,"ts":7}'
    """

    __slots__ = ("_parts",)

    def __init__(self):
        self._parts = []

    def _add(self, key: str, text: str) -> "JsonObject":
        self._parts.append(json_string(key) + ":" + text)
        return self

    def string(self, key: str, value: str) -> "JsonObject":
        """Adds a string field."""
        return self._add(key, json_string(value))

    def integer(self, key: str, value: int) -> "JsonObject":
        """Adds an integer field, written exactly."""
        return self._add(key, str(int(value)))

    def fixed(self, key: str, value: float, decimals: int) -> "JsonObject":
        """Adds a number with exactly ``decimals`` digits after the point,
        correctly rounded (an exact tie to even, as Rust's ``{:.N}``);
        ``null`` when not finite, as JSON has no NaN or infinity."""
        if not math.isfinite(value):
            return self._add(key, "null")
        return self._add(key, format(value, ".%df" % decimals))

    def number(self, key: str, value: float) -> "JsonObject":
        """Adds a number in its shortest form that reads back the same, never
        with an exponent (``1.5``, ``3``, ``1000000000000000000000``);
        ``null`` when not finite."""
        if not math.isfinite(value):
            return self._add(key, "null")
        return self._add(key, _shortest_decimal(float(value)))

    def boolean(self, key: str, value: bool) -> "JsonObject":
        """Adds ``true`` or ``false``."""
        return self._add(key, "true" if value else "false")

    def finish(self) -> str:
        """The object's text."""
        return "{" + ",".join(self._parts) + "}"


def _shortest_decimal(value: float) -> str:
    """The shortest digits that read back as ``value`` (``repr``), in plain
    decimal notation as Rust's ``Display`` of an ``f64`` writes it."""
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    text = repr(value)
    if "e" not in text and "E" not in text:
        return text[:-2] if text.endswith(".0") else text
    mantissa, exponent = text.split("e")
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "")
    point = mantissa.lstrip("-").find(".")
    point = (len(mantissa.lstrip("-")) if point < 0 else point) + int(exponent)
    if point <= 0:
        return sign + "0." + "0" * (-point) + digits
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return sign + digits[:point] + "." + digits[point:]
