"""Lines in the host's log, tagged by the host with the plugin's name,
version and pipeline. One call per line: log a batch's summary, not each
event."""

from __future__ import annotations

from wit_world.imports import log as _wit

Level = _wit.Level


def trace(message: str) -> None:
    _wit.log(Level.TRACE, message)


def debug(message: str) -> None:
    _wit.log(Level.DEBUG, message)


def info(message: str) -> None:
    _wit.log(Level.INFO, message)


def warn(message: str) -> None:
    _wit.log(Level.WARN, message)


def error(message: str) -> None:
    _wit.log(Level.ERROR, message)
