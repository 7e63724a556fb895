"""The plugin's two exports, and its answer to a batch.

The generated ``WitWorld`` protocol wants ``init`` to raise
``Err(str)`` and ``process_batch`` to raise ``Err(PluginError record)``; these
decorators let the methods raise this SDK's ``ConfigError`` and
``PluginError`` instead (any ``Exception`` else is a bug: it traps, and the
host retries the batch on a fresh instance)::

    class WitWorld(wit_world.WitWorld):
        @export.init
        def init(self, config): ...

        @export.process_batch
        def process_batch(self, batch):
            return outcome([reject(3, "implausible speed")])
"""

from __future__ import annotations

import functools
from typing import Iterable

from componentize_py_types import Err
from wit_world.imports import types as _types

from .errors import ConfigError, PluginError


def init(method):
    """Wraps ``init``: a ``ConfigError`` or ``PluginError`` refuses the
    instance with its text."""

    @functools.wraps(method)
    def wrapper(self, config):
        try:
            method(self, config)
        except (ConfigError, PluginError) as error:
            raise Err(str(error)) from None

    return wrapper


def process_batch(method):
    """Wraps ``process_batch``: a ``PluginError`` fails the batch as a whole,
    retryable or not as it says."""

    @functools.wraps(method)
    def wrapper(self, batch):
        try:
            return method(self, batch)
        except PluginError as error:
            raise Err(_types.PluginError(message=error.message, retryable=error.retryable)) from None

    return wrapper


def reject(index: int, reason: str):
    """Refuses the event at ``index`` of ``batch.events`` (or ``batch.orders``):
    it goes to the dead-letter topic with ``reason``."""
    return _types.Rejection(index=index, reason=reason)


def outcome(rejected: Iterable = ()):
    """The answer to a batch: done, but for the ``rejected`` events."""
    return _types.BatchOutcome(rejected=list(rejected))
