"""Fixtures for report tests: a registry with real runs (see world.py), built once.

Running the engine costs seconds, so the session builds the registry once and every test
gets its own copy of the database file (tests export, and so append audit events). The
copies share the registry's audit key and checkpoint (kept outside the database): each test
puts the checkpoint back as the template left it, or the previous test's exports would make
its copy look like a registry whose newest events were deleted.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from mlops_desk.core import audit_checkpoint
from mlops_desk.core.store import Store
from tests.reports.world import Reported, build_reported
from tests.support.fake_openai import FakeOpenAIServer
from tests.support.memory_keyring import MemoryKeyring


@pytest.fixture(scope="session")
def reported_template(tmp_path_factory: pytest.TempPathFactory
                      ) -> tuple[Path, Reported, Path, bytes]:
    directory = tmp_path_factory.mktemp("reported")
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    store = Store(directory / "registry.db")
    try:
        with FakeOpenAIServer() as server:
            world = build_reported(store, directory, server)
        registry_id = store.db.execute(
            "SELECT value FROM meta WHERE key = 'registry_id'").fetchone()[0]
    finally:
        store.close()  # checkpoints the WAL: the file alone holds everything
        keyring.set_keyring(previous)
    checkpoint = Path(audit_checkpoint.location(registry_id))
    return directory / "registry.db", world, checkpoint, checkpoint.read_bytes()


@pytest.fixture
def reported(reported_template: tuple[Path, Reported, Path, bytes],
             db_path: Path) -> Iterator[Reported]:
    """A private copy of the reported registry at ``db_path`` (where ``cli`` looks)."""
    template, world, checkpoint, checkpoint_bytes = reported_template
    shutil.copyfile(template, db_path)
    checkpoint.write_bytes(checkpoint_bytes)
    store = Store(db_path)
    yield dataclasses.replace(world, ws=dataclasses.replace(world.ws, store=store))
    store.close()
