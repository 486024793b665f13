"""The audit checkpoint: the log's head kept outside the database.

One small JSON file per registry (next to the key file) with the event count, the head
hash and the first HMAC-chained event. Someone who can write only the database file can
recompute nothing without the key, but could still delete the newest events or empty the
table; the checkpoint is what catches that. It is written after the change commits (a
rolled-back change leaves it alone), so it is never ahead of the log; a process killed
between the commit and the write leaves it behind by those events, which stay
HMAC-protected, and the next change brings it up to date.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from mlops_desk.core.errors import StoreError
from mlops_desk.core.secrets import audit_file, private_dir


@dataclass(frozen=True)
class Checkpoint:
    registry_id: str
    count: int
    head: str
    hmac_from: int
    db: str = ""  # the file that wrote it last: a hint when a copy or a backup is checked


class DamagedCheckpoint(StoreError):
    """The checkpoint file exists but cannot be read as one."""


def location(registry_id: str) -> str:
    return str(audit_file(registry_id, ".head"))


def load(registry_id: str) -> Checkpoint | None:
    path = audit_file(registry_id, ".head")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DamagedCheckpoint(f"cannot read the audit checkpoint {path}: "
                                f"{exc.strerror or exc}") from None
    try:
        data = json.loads(text)
        checkpoint = Checkpoint(str(data["registry_id"]), int(data["count"]),
                                str(data["head"]), int(data["hmac_from"]), str(data["db"]))
    except (ValueError, KeyError, TypeError):
        raise DamagedCheckpoint(f"the audit checkpoint {path} is damaged") from None
    if checkpoint.registry_id != registry_id:
        raise DamagedCheckpoint(f"the audit checkpoint {path} belongs to another registry")
    return checkpoint


def save(checkpoint: Checkpoint) -> None:
    """Replace the checkpoint atomically (a crash leaves the old one or the new one)."""
    path = audit_file(checkpoint.registry_id, ".head")
    private_dir(path.parent)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(checkpoint), handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
