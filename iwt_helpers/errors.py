"""The one base for errors a user can fix: bad input, a bad parameter, a missing or refused file.

`iwt` (the CLI) prints an `IwtError` as a one-line message and exits 2; any other exception is a bug and
is left to raise with its traceback. Subclasses keep `ValueError` (or `LookupError`, `OSError`) as a
second base where callers already catch those, so nothing that caught them before stops catching them.
"""

from __future__ import annotations


class IwtError(Exception):
    """A problem with the user's input, parameters or files, told in words the user can act on."""


class ConfigError(IwtError, ValueError):
    """A committed or user-supplied YAML file that does not match its model (file, key and value named)."""
