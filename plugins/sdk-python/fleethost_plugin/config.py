"""Typed access to the string map a plugin receives at ``init``.

Every getter takes the key's default and raises ``ConfigError`` with a
message naming the key and the value, so a plugin refuses a bad config at
``init`` (the host then refuses that plugin version) instead of misbehaving
on the first batch:

>>> config = Config([("max_speed_kmh", "fast")])
>>> config.float("max_speed_kmh", default=90.0)
Traceback (most recent call last):
...
fleethost_plugin.errors.ConfigError: max_speed_kmh: not a number: "fast"

With ``known``, the keys a plugin knows, the whole config is checked at
once, pair by pair in the order ``init`` got them (as a Rust plugin's
``match`` over the pairs does): the first unknown key or, for keys given a
kind (``{"max_speed_kmh": float, "alerts_topic": str}``), the first value
that is not of its kind, is the error:

>>> Config([("max_speed", "80")], known={"max_speed_kmh": float})
Traceback (most recent call last):
...
fleethost_plugin.errors.ConfigError: unknown config key "max_speed"

A number is decimal text as Rust's ``f64::from_str`` reads it (``90``,
``-2.5``, ``.5``, ``5.``, ``1e3``, a leading ``+``), with white space around
it ignored, whose value is finite: no ``inf`` or ``nan``, nor the
hexadecimal or ``_`` separators Python's ``float()`` would take. Values in
messages are quoted as Rust's ``{:?}`` quotes them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Iterable, Optional, Tuple, Union

from .errors import ConfigError

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
# What Rust's str::trim removes (Unicode White_Space); Python's str.strip()
# would also remove \x1c-\x1f.
_WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_QUOTED = re.compile(r'["\\\x00-\x1f\x7f]')
_QUOTED_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\x00": "\\0"}

Known = Union[Iterable[str], Mapping[str, type]]


def quote(text: str) -> str:
    """``text`` in double quotes as Rust's ``{:?}`` writes it: ``"``, ``\\``,
    ``\\n``, ``\\r``, ``\\t``, ``\\0`` and other ASCII control characters
    (``\\u{1b}``) escaped. (Rust also escapes non-ASCII characters it deems
    unprintable, such as U+200B; they are written here as they are.)"""
    return '"' + _QUOTED.sub(_quote_char, text) + '"'


def _quote_char(match) -> str:
    char = match.group(0)
    return _QUOTED_SHORT.get(char) or "\\u{%x}" % ord(char)


class Config:
    """The plugin's config map from the host's config file.

    ``pairs`` is what ``init`` receives (a list of key, value pairs; a key
    given twice keeps its last value). ``known``: the keys the plugin knows,
    a list, or a dict of key to kind (``str``, ``float``, ``int`` or
    ``bool``) whose values are then checked at once too.
    """

    def __init__(self, pairs: Iterable[Tuple[str, str]], known: Optional[Known] = None):
        self._values = {}
        kinds = known if isinstance(known, Mapping) else {}
        for key, kind in kinds.items():
            if kind is not str and kind not in _PARSERS:
                raise TypeError("config key %s: kind %r is not str, float, int or bool" % (key, kind))
        known = None if known is None else frozenset(known)
        for key, value in pairs:
            if known is not None and key not in known:
                raise ConfigError("unknown config key " + quote(key))
            kind = kinds.get(key, str)
            if kind is not str:
                _PARSERS[kind](key, value)
            self._values[key] = value

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def keys(self):
        """The configured keys, in the order first given."""
        return self._values.keys()

    def string(self, key: str, default: str) -> str:
        """The value of ``key``, or ``default`` when absent."""
        return self._values.get(key, default)

    def non_empty(self, key: str, default: str) -> str:
        """The value of ``key`` (``default`` when absent), which must hold more
        than white space: for topic and key names, where an empty one would
        only fail later, at the first call."""
        value = self.string(key, default)
        if not value.strip(_WHITE_SPACE):
            raise ConfigError("%s: must not be empty" % key)
        return value

    def float(self, key: str, default: float, minimum: Optional[float] = None) -> float:
        """The number at ``key`` (``default`` when absent); with ``minimum``,
        at least that."""
        if key not in self._values:
            return default
        value = _number(key, self._values[key])
        if minimum is not None and value < minimum:
            raise ConfigError("%s: must be at least %s: %s" % (key, minimum, quote(self._values[key])))
        return value

    def int(self, key: str, default: int, minimum: Optional[int] = None) -> int:
        """The whole number at ``key`` (``default`` when absent); with
        ``minimum``, at least that."""
        if key not in self._values:
            return default
        value = _integer(key, self._values[key])
        if minimum is not None and value < minimum:
            raise ConfigError("%s: must be at least %s: %s" % (key, minimum, quote(self._values[key])))
        return value

    def bool(self, key: str, default: bool) -> bool:
        """``true`` or ``false`` at ``key`` (``default`` when absent)."""
        if key not in self._values:
            return default
        return _boolean(key, self._values[key])


def _number(key: str, text: str) -> float:
    stripped = text.strip(_WHITE_SPACE)
    value = float(stripped) if _DECIMAL.fullmatch(stripped) else math.nan
    if not math.isfinite(value):
        raise ConfigError("%s: not a number: %s" % (key, quote(text)))
    return value


def _integer(key: str, text: str) -> int:
    stripped = text.strip(_WHITE_SPACE)
    if not _INTEGER.fullmatch(stripped):
        raise ConfigError("%s: not an integer: %s" % (key, quote(text)))
    return int(stripped)


def _boolean(key: str, text: str) -> bool:
    stripped = text.strip(_WHITE_SPACE)
    if stripped in ("true", "false"):
        return stripped == "true"
    raise ConfigError("%s: not true or false: %s" % (key, quote(text)))


_PARSERS = {float: _number, int: _integer, bool: _boolean}
