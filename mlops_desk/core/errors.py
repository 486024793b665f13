"""Errors the user can act on, each carrying a one-line message and a CLI exit code.

Anything that is not an ``MlopsError`` is a bug and is allowed to crash loudly.

The message speaks plain words that fit every face (no command-line flags or commands);
``hint`` says the same in the CLI's terms (``--force needs --reason TEXT``). The CLI
appends it, the GUI ignores it and offers its own action instead.
"""


class MlopsError(Exception):
    """A known, user-facing failure. ``str(err)`` is one line."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str = ""):
        super().__init__(" ".join(str(message).split()))
        self.hint = " ".join(hint.split())


class BadInput(MlopsError):
    """The user gave us something we cannot use (file, flag, name)."""


class NotFound(BadInput):
    """A named object does not exist in the registry."""


class Conflict(BadInput):
    """The request contradicts what the registry holds (e.g. editing a version)."""


class StoreError(MlopsError):
    """The database cannot be used: locked, read-only, full, corrupt, too new."""


class CheckFailed(MlopsError):
    """A check ran and said no (audit verify, a CI threshold, a deploy gate)."""

    exit_code = 1


class RunAborted(MlopsError):
    """A run stopped for a reason that retrying cannot fix (401, quota)."""

    exit_code = 1


class RunInterrupted(MlopsError):
    """A run stopped before all its rows were stored; resuming it finishes it."""

    exit_code = 1
