"""How much the gateway lets clients take: connections, time to send a request, its size.

Every open connection costs a file descriptor, and so does each upstream connection, so
the connection cap comes from the process's open-file limit: when the process runs out,
it can no longer accept anyone, which is how a crowd of half-sent requests used to starve
real clients. At most half of the connections may still be sending their request; when
more arrive, the one that has been sending for the longest is dropped, so a slow crowd
cannot hold every slot while clients that send a whole request at once are served.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass

FD_RESERVE = 64  # the interpreter, SQLite files, the log file, listening sockets
MAX_UPSTREAM_CONNECTIONS = 256
RAISED_FD_LIMIT = 65536


@dataclass(frozen=True)
class Limits:
    """Zero for ``max_connections`` / ``max_incomplete``: derive them (``resolved``)."""

    max_connections: int = 0
    max_incomplete: int = 0  # connections whose request has not fully arrived
    header_timeout_s: float = 10.0  # from connecting (or a kept-alive request's first byte)
    body_timeout_s: float = 30.0  # from the end of the headers to the end of the body
    max_header_bytes: int = 64 * 1024
    max_body_bytes: int = 32 * 1024 * 1024  # generous for images in messages

    def resolved(self) -> Limits:
        connections = self.max_connections or connection_budget(open_file_limit())
        incomplete = self.max_incomplete or max(1, connections // 2)
        return dataclasses.replace(self, max_connections=connections,
                                   max_incomplete=min(incomplete, connections))

    @property
    def upstream_connections(self) -> int:
        """Pooled upstream connections: never more than client connections can use."""
        return max(1, min(MAX_UPSTREAM_CONNECTIONS, self.max_connections))


def connection_budget(fd_limit: int) -> int:
    """Client connections that fit ``fd_limit`` with one upstream connection each (up to
    the upstream pool's size) and a reserve for everything else."""
    usable = max(2, fd_limit - FD_RESERVE)
    if usable >= 2 * MAX_UPSTREAM_CONNECTIONS:
        return usable - MAX_UPSTREAM_CONNECTIONS
    return usable // 2


def open_file_limit() -> int:
    try:
        import resource
    except ImportError:  # Windows: no per-process descriptor limit of this kind
        return 8192
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else RAISED_FD_LIMIT


def raise_open_file_limit() -> None:
    """Lift the soft limit towards the hard one (the common default soft limit, 1,024, is
    tight for a server); for a process that is the gateway, not for one that embeds it."""
    try:
        import resource
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = RAISED_FD_LIMIT if hard == resource.RLIM_INFINITY else min(hard, RAISED_FD_LIMIT)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):  # macOS caps below its hard limit
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
