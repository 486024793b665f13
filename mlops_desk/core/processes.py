"""Which process owns a run: a PID plus that process's start time.

A PID alone is not an identity: after a crash and a reboot (or just enough process churn)
the PID of a dead run can belong to an unrelated live process, which would keep the run
``running`` for ever. The start time tells the two apart. Linux gives it in
``/proc/PID/stat`` (clock ticks since boot); elsewhere it is unknown (None) and the PID
check alone decides, as before.
"""

from __future__ import annotations

import functools
import os


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None where unknown."""
    try:
        with open(f"/proc/{int(pid)}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except (OSError, ValueError):
        return None
    # Field 2 (the command name) is in parentheses and may hold spaces or ')': split after
    # the last ')'. The start time is field 22, so the 20th field after the name.
    fields = stat.rpartition(")")[2].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


@functools.cache
def own_start_time() -> int | None:
    return start_time(os.getpid())


def is_self(pid: int | None, started: int | None) -> bool:
    """True when (pid, started) names this very process."""
    return pid == os.getpid() and (started is None or started == own_start_time())


def is_alive(pid: int | None, started: int | None) -> bool:
    """True when the process recorded as (pid, started) still runs.

    A live PID whose start time differs from the recorded one is another process that was
    given the same number: the recorded one is gone.
    """
    if not pid or not _pid_exists(pid):
        return False
    if started is None:
        return True  # recorded where start times are unknown: the PID is all we have
    now = start_time(pid)
    return now is None or now == started


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except (OSError, OverflowError, ValueError):
        return False
    return True
