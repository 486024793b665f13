"""The one line every failure prints on stderr, ``mlops-desk: error: ...``, secrets masked.

Here rather than in the CLI so the GUI's launcher (which starts before any window exists)
prints the same line without importing the CLI.
"""

from __future__ import annotations

import sys

from mlops_desk.core.secrets import redact


def error_line(message: object) -> str:
    return "mlops-desk: error: " + " ".join(redact(str(message)).split())


def print_error(message: object) -> None:
    print(error_line(message), file=sys.stderr)
