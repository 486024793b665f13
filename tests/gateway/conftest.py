"""A registry served by the gateway (in a background thread) over the fake OpenAI server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest

from mlops_desk.core import deploy
from mlops_desk.core.store import Store
from mlops_desk.gateway.server import BackgroundGateway
from tests.deploy.world import World, build_world
from tests.support.fake_openai import FakeOpenAIServer
from tests.support.fixtures import fake_openai_fixture  # noqa: F401


@dataclass
class Served:
    world: World
    fake: FakeOpenAIServer
    gateway: BackgroundGateway

    @property
    def store(self) -> Store:
        return self.world.store

    def client(self, **options) -> openai.OpenAI:
        options = {"base_url": self.gateway.base_url, "api_key": "unused", "max_retries": 0,
                   "timeout": 10, **options}
        return openai.OpenAI(**options)

    def async_client(self, **options) -> openai.AsyncOpenAI:
        options = {"base_url": self.gateway.base_url, "api_key": "unused", "max_retries": 0,
                   "timeout": 10, **options}
        return openai.AsyncOpenAI(**options)

    def system_prompt_sent(self) -> str:
        return self.fake.requests[-1]["messages"][0]["content"]

    def logged(self, n: int, timeout_s: float = 5.0) -> list[dict]:
        """The request log once it holds ``n`` rows (it is written in the background)."""
        deadline = time.monotonic() + timeout_s
        while True:
            rows = list(self.store.db.query("SELECT * FROM gateway_requests ORDER BY id"))
            if len(rows) >= n or time.monotonic() > deadline:
                return rows
            time.sleep(0.02)


def gateway_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate()
            if t.name in ("mlops-desk-gateway", "gateway-request-log")
            or t.name.startswith("gateway-python")]


@pytest.fixture
def start_gateway(db_path: Path) -> Iterator:
    """Start gateways on db_path (port 0, loopback); every one is stopped and joined after."""
    started: list[BackgroundGateway] = []

    def start(**options) -> BackgroundGateway:
        gateway = BackgroundGateway(db_path, drift_check_s=0, log_flush_s=0.02, **options).start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()
    assert gateway_threads() == []


@pytest.fixture
def served(store: Store, tmp_path: Path, fake_openai: FakeOpenAIServer,
           start_gateway) -> Served:
    world = build_world(store, tmp_path, fake_openai.base_url)
    deploy.deploy(store, "triage", 1, "production")
    return Served(world, fake_openai, start_gateway())
