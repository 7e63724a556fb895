"""The ``kv`` capability: write ops built in one line each, and calls that
raise ``PluginError`` (``kv: <text>``, retryable when the store was
``unavailable``).

Build every op of a batch first, then make one ``write`` call: one round trip
to the store, and one host call against the plugin's quota::

    kv.write([kv.incr("speeding:" + driver) for driver in speeders])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Dict, Iterable, List, Optional, Tuple, Union

from componentize_py_types import Err
from wit_world.imports import kv as _wit

from .errors import capability_error

Fields = Union[Mapping[str, str], Iterable[Tuple[str, str]]]


def _fields(fields: Fields) -> List:
    pairs = fields.items() if isinstance(fields, Mapping) else fields
    return [_wit.FieldValue(field=field, value=value) for field, value in pairs]


def set(key: str, value: str, ttl_ms: Optional[int] = None):
    """Sets ``key`` to ``value``, expiring after ``ttl_ms`` when given."""
    return _wit.WriteOp_Set(_wit.SetOp(key=key, value=value, ttl_ms=ttl_ms))


def hash_set(key: str, fields: Fields):
    """Sets fields of the hash at ``key`` (a dict, or ``(field, value)`` pairs
    in the order given)."""
    return _wit.WriteOp_HashSet(_wit.HashSetOp(key=key, fields=_fields(fields)))


def geo_member(key: str, member: str, latitude: float, longitude: float):
    """A member of the geo set at ``key``, for ``geo_add`` and ``upsert_newer``."""
    return _wit.GeoMember(key=key, member=member, longitude=longitude, latitude=latitude)


def upsert_newer(key: str, version_field: str, version: int, fields: Fields, geo=None):
    """Writes ``fields`` (and ``geo``, a ``geo_member``) only if ``version`` is
    greater than the one stored in ``version_field``, atomically."""
    op = _wit.UpsertNewerOp(key=key, version_field=version_field, version=version, fields=_fields(fields), geo=geo)
    return _wit.WriteOp_UpsertNewer(op)


def geo_add(key: str, member: str, latitude: float, longitude: float):
    """Adds or moves ``member`` in the geo set at ``key``."""
    return _wit.WriteOp_GeoAdd(geo_member(key, member, latitude, longitude))


def expire(key: str, ttl_ms: int):
    """Expires ``key`` after ``ttl_ms`` milliseconds."""
    return _wit.WriteOp_Expire((key, ttl_ms))


def delete(key: str):
    """Deletes ``key``."""
    return _wit.WriteOp_Delete(key)


def incr(key: str, by: int = 1, ttl_ms: Optional[int] = None):
    """Adds ``by`` to the integer at ``key`` (0 when absent), expiring it after
    ``ttl_ms`` when given; its result is the new value."""
    return _wit.WriteOp_Incr(_wit.IncrOp(key=key, by=by, ttl_ms=ttl_ms))


def publish(channel: str, message: str):
    """Publishes ``message`` on the pub/sub ``channel``."""
    return _wit.WriteOp_Publish(_wit.PublishOp(channel=channel, message=message))


def write(ops: List) -> List:
    """Applies the ops in order in one round trip; the result of each, in the
    same position: ``WriteResult_Done``, ``WriteResult_Applied(bool)`` for an
    upsert, ``WriteResult_Counter(int)`` for an incr (``counter`` reads it)."""
    try:
        return _wit.write(ops)
    except Err as error:
        raise capability_error("kv", error.value) from None


def counter(result) -> Optional[int]:
    """The new value an ``incr`` result holds (None for another result)."""
    return result.value if isinstance(result, _wit.WriteResult_Counter) else None


def get_many(keys: List[str]) -> List[Optional[str]]:
    """The string at each key, None where absent, in one round trip."""
    try:
        return _wit.get_many(keys)
    except Err as error:
        raise capability_error("kv", error.value) from None


def hash_get_all_many(keys: List[str]) -> List[Dict[str, str]]:
    """Each key's whole hash as a dict (empty when absent), in one round trip."""
    try:
        hashes = _wit.hash_get_all_many(keys)
    except Err as error:
        raise capability_error("kv", error.value) from None
    return [{pair.field: pair.value for pair in fields} for fields in hashes]
