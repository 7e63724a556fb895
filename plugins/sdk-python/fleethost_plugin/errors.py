"""The two exceptions a plugin raises, and a capability's error turned into one.

``ConfigError`` refuses a config at ``init``; ``PluginError`` fails a batch
as a whole (the WIT ``plugin-error``). The ``export`` decorators turn them
into the results the host reads.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A config the plugin cannot run with; ``init`` fails with its text."""


class PluginError(Exception):
    """A batch the plugin could not process as a whole.

    ``retryable``: whether the same batch may succeed later (a backend was
    unreachable); the pipeline's failure policy decides what happens next.
    """

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.retryable = retryable

    def __repr__(self) -> str:
        return "PluginError(%r, retryable=%r)" % (self.message, self.retryable)


def capability_error(capability: str, error) -> PluginError:
    """The ``PluginError`` for a capability call that failed with ``error``.

    ``error`` is the generated variant case (``KvError_Unavailable(value=…)``,
    ``ProduceError_Denied(value=…)``, ``SqlError_Invalid(value=…)``): the
    message is ``"{capability}: {its text}"``, retryable only for
    ``unavailable`` (denied and invalid never succeed on a retry).
    """
    text = getattr(error, "value", error)
    retryable = type(error).__name__.endswith("_Unavailable")
    return PluginError("%s: %s" % (capability, text), retryable=retryable)
