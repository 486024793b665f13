"""Shared by the whole suite: a quiet, isolated environment and the store/cli fixtures."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Before anything imports Qt: no test may need (or open) a real window.
os.environ["QT_QPA_PLATFORM"] = "offscreen"

import keyring
import pytest

from mlops_desk.core.store import Store
from tests.support.memory_keyring import MemoryKeyring

THREAD_GRACE_S = 1.0


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Logs go to a session tmp dir; no test can reach the user's real database."""
    base = tmp_path_factory.mktemp("session")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLOPS_DESK_LOG_DIR", str(base / "logs"))
        mp.setenv("XDG_DATA_HOME", str(base / "data"))
        # Audit keys and checkpoints: in files here, so child processes (runs) find them too.
        mp.setenv("MLOPS_DESK_CONFIG_DIR", str(base / "config"))
        mp.setenv("MLOPS_DESK_AUDIT_KEY_STORE", "file")
        mp.delenv("MLOPS_DESK_DB", raising=False)
        yield base / "logs"
    # The app attaches its file handler once per process; close it with the session.
    logger = logging.getLogger("mlops_desk")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()


@pytest.fixture
def log_dir(isolated_environment: Path) -> Path:
    return isolated_environment


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """A fresh in-memory keyring per test (set ``keyring.set_keyring`` to test others)."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def no_thread_leaks() -> Iterator[None]:
    """Fail a test that leaves a new non-daemon thread running (napari's conftest idea)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + THREAD_GRACE_S
    while True:
        leaked = [t for t in threading.enumerate()
                  if t not in before and t.is_alive() and not t.daemon]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    if leaked:
        pytest.fail(f"test left thread(s) running: {', '.join(t.name for t in leaked)}")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "registry.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    store = Store(db_path)
    yield store
    store.close()


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.strip().splitlines()


class Cli:
    """Runs ``mlops_desk.cli.main`` in-process (much faster than a subprocess)."""

    def __init__(self, db_path: Path):
        self.db_path = db_path

    def __call__(self, *args: str, stdin: str = "", db: Path | None = None) -> CliResult:
        from mlops_desk.cli import main

        argv = ["--db", str(db or self.db_path), *map(str, args)]
        out, err = io.StringIO(), io.StringIO()
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("sys.stdin", io.StringIO(stdin))
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(argv)
                except SystemExit as exc:  # argparse: --version, --help, usage errors
                    code = exc.code if isinstance(exc.code, int) else 0
        result = CliResult(code, out.getvalue(), err.getvalue())
        assert "Traceback" not in result.err
        return result

    def ok(self, *args: str, stdin: str = "") -> CliResult:
        """Run a command that must succeed."""
        result = self(*args, stdin=stdin)
        assert result.code == 0, result.err
        return result


@pytest.fixture
def cli(db_path: Path) -> Cli:
    return Cli(db_path)
