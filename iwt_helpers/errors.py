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


class UsageError(IwtError, ValueError):
    """A command-line option or a parameter outside what it accepts (the option, the value and what was expected)."""


class NotFoundError(IwtError, FileNotFoundError):
    """A file or folder the user named that is not there."""


class RefusedFolderError(IwtError, ValueError):
    """An output folder a command will not write into: a protected folder, one holding files iwt did not make,
    one it cannot write, or one with too little free space (the message says which, and what to do)."""


class WriteError(IwtError, OSError):
    """An output that could not be written (the file and the system's reason named); the command stopped.
    ``WriteError(message)``, or ``WriteError(errno, reason, file)`` from the system's error."""

    def __str__(self) -> str:
        if self.filename is not None and self.strerror:
            return f"{self.filename}: could not be written ({self.strerror})"
        return super().__str__()


class MissingDataError(IwtError, ValueError):
    """Data that do not cover what a figure needs: the table, the years or the ICBs are named."""
