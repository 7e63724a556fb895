"""The ``sql`` capability's calls, raising ``PluginError`` (``sql: <text>``,
retryable when the database was ``unavailable``). The table, column and
conflict records are the generated ones: ``from wit_world.imports import sql``.
"""

from __future__ import annotations

from typing import List

from componentize_py_types import Err
from wit_world.imports import sql as _wit

from .errors import capability_error


def ensure_table(table) -> None:
    """Creates the table (a ``TableDef``) and its indexes when missing."""
    try:
        _wit.ensure_table(table)
    except Err as error:
        raise capability_error("sql", error.value) from None


def insert(ops: List) -> List[int]:
    """Inserts the rows of every ``InsertOp`` in one transaction; the rows
    written per op."""
    try:
        return _wit.insert(ops)
    except Err as error:
        raise capability_error("sql", error.value) from None


def select(query) -> List[List]:
    """The rows a ``SelectOp`` finds, each its columns' values in order."""
    try:
        return _wit.select(query)
    except Err as error:
        raise capability_error("sql", error.value) from None
