"""Unit tests of the SDK: ``python3 -m unittest discover plugins/sdk-python``.

The modules over the bindings run against the stand-ins of
``fake_bindings`` (or the generated bindings when they import)."""

from . import fake_bindings

BINDINGS = fake_bindings.install()
