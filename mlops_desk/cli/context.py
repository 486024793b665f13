"""What every CLI handler gets: parsed args, a lazily opened store, the output mode."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlops_desk.core.logs import get_logger, setup_logging
from mlops_desk.core.store import Store, default_db_path


class Context:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.json: bool = bool(getattr(args, "json", False))
        db = getattr(args, "db", None)
        self.db_path: Path = Path(db) if db else default_db_path()
        self._store: Store | None = None
        self.log = get_logger("cli")

    @property
    def store(self) -> Store:
        if self._store is None:
            setup_logging()
            self._store = Store(self.db_path)
            # A run left 'running' by a killed process is marked interrupted on the next start.
            from mlops_desk.core.runs import recover_interrupted

            recover_interrupted(self._store)
            self.log.info("command %s on %s", self.args.command, self.db_path)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
