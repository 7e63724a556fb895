"""The ``produce`` capability: records built in one line, and ``send``, which
raises ``PluginError`` (``produce: <text>``, retryable when the broker was
``unavailable``).

Send all of a batch's records in one call; it returns once the broker has
acknowledged every one::

    produce.send([produce.message("alerts", payload, key=driver_id)])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Iterable, List, Optional, Tuple, Union

from componentize_py_types import Err
from wit_world.imports import produce as _wit

from .errors import capability_error

Payload = Union[str, bytes]
Headers = Union[Mapping[str, Payload], Iterable[Tuple[str, Payload]]]


def _bytes(value: Payload) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def message(topic: str, payload: Payload, key: Optional[str] = None, headers: Headers = ()):
    """One record: ``payload`` as bytes or text (sent as UTF-8), partitioned
    by ``key`` (None spreads records), with ``headers`` (a dict or pairs;
    values as bytes or text)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return _wit.Message(
        topic=topic,
        key=key,
        payload=_bytes(payload),
        headers=[_wit.Header(key=name, value=_bytes(value)) for name, value in pairs],
    )


def send(messages: List) -> None:
    """Publishes the records (in order per key) and waits until the broker has
    acknowledged all of them. An empty list makes no host call."""
    if not messages:
        return
    try:
        _wit.send(messages)
    except Err as error:
        raise capability_error("produce", error.value) from None
