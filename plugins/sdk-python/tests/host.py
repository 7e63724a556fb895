"""A host for the tests: records every import call the SDK makes, in order,
and answers as told."""

import unittest.mock

from wit_world.imports import kv, log, produce


class RecordingHost:
    """Replaces kv.write, produce.send and log.log while in a ``with``.

    ``calls``: ``(name, argument)`` per call. ``fail``: call name to the error
    value to raise as ``Err`` (e.g. ``{"kv.write": kv.KvError_Unavailable("down")}``).
    """

    def __init__(self, fail=None):
        self.calls = []
        self.fail = dict(fail or {})
        self._patches = []

    def _import(self, name, answer):
        from componentize_py_types import Err

        def call(*args):
            self.calls.append((name, args[0] if len(args) == 1 else args))
            if name in self.fail:
                raise Err(self.fail[name])
            return answer(*args)

        return call

    def __enter__(self):
        targets = [
            (kv, "write", self._import("kv.write", lambda ops: [kv.WriteResult_Counter(1) for _ in ops])),
            (produce, "send", self._import("produce.send", lambda messages: None)),
            (log, "log", self._import("log.log", lambda level, message: None)),
        ]
        for module, attribute, replacement in targets:
            patch = unittest.mock.patch.object(module, attribute, replacement)
            patch.start()
            self._patches.append(patch)
        return self

    def __exit__(self, *exc):
        for patch in reversed(self._patches):
            patch.stop()
        return False
