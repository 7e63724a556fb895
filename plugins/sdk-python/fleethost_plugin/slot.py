"""Where a plugin keeps what ``init`` set up (its settings), for every batch.

componentize-py makes a new ``WitWorld`` object for every call into the
component, so an attribute ``init`` sets on ``self`` is gone by the first
``process_batch``. The instance's module globals do last (one Python
interpreter per instance), and a ``Slot`` is such a global, with a clear
error when it is read before ``init`` filled it::

    SETTINGS = Slot("settings")

    @export.init
    def init(self, config):
        SETTINGS.set(Settings(Config(config, known=KEYS)))

    @export.process_batch
    def process_batch(self, batch):
        settings = SETTINGS.get()
"""

from __future__ import annotations

from .errors import PluginError

_EMPTY = object()


class Slot:
    """One value ``init`` stores, empty until then."""

    __slots__ = ("name", "_value")

    def __init__(self, name: str = "settings"):
        self.name = name
        self._value = _EMPTY

    def set(self, value) -> None:
        """Stores ``value``, replacing any earlier one."""
        self._value = value

    def get(self):
        """The stored value. Before ``init``, a ``PluginError`` (not retryable:
        a batch before ``init`` is a host bug no retry fixes)."""
        value = self._value
        if value is _EMPTY:
            raise PluginError("%s: read before init stored them" % self.name)
        return value

    def is_set(self) -> bool:
        return self._value is not _EMPTY
