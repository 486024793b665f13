"""Fixtures for deploy, gate and monitoring tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_desk.core.store import Store
from tests.deploy.world import World, build_world


@pytest.fixture
def world(store: Store, tmp_path: Path) -> World:
    return build_world(store, tmp_path)
