"""Fixtures for report tests: a registry with real runs (see world.py), built once.

Running the engine costs seconds, so the session builds the registry once and every test
gets its own copy of the database file (tests export, and so append audit events).
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from mlops_desk.core.store import Store
from tests.reports.world import Reported, build_reported
from tests.support.fake_openai import FakeOpenAIServer
from tests.support.memory_keyring import MemoryKeyring


@pytest.fixture(scope="session")
def reported_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Reported]:
    directory = tmp_path_factory.mktemp("reported")
    config = directory / "config"
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    mp = pytest.MonkeyPatch()
    mp.setenv("MLOPS_DESK_CONFIG_DIR", str(config))
    store = Store(directory / "registry.db")
    try:
        with FakeOpenAIServer() as server:
            world = build_reported(store, directory, server)
    finally:
        store.close()  # checkpoints the WAL: the file alone holds everything
        keyring.set_keyring(previous)
        mp.undo()
    return directory / "registry.db", world


@pytest.fixture
def reported(reported_template: tuple[Path, Reported], db_path: Path,
             monkeypatch: pytest.MonkeyPatch,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reported]:
    """A private copy of the reported registry at ``db_path`` (where ``cli`` looks)."""
    template, world = reported_template
    shutil.copyfile(template, db_path)
    config = tmp_path_factory.mktemp("config") / "config"  # not beside the files tests list
    shutil.copytree(template.parent / "config", config)
    monkeypatch.setenv("MLOPS_DESK_CONFIG_DIR", str(config))
    store = Store(db_path)
    yield dataclasses.replace(world, ws=dataclasses.replace(world.ws, store=store))
    store.close()
