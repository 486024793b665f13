"""Pytest fixtures for the fake OpenAI server.

Import into a test module with::

    from tests.support.fixtures import fake_openai_fixture  # noqa: F401

and take ``fake_openai`` as a test argument. The fixture is registered under that name while
the function has another, so ruff does not see each test argument as a redefinition (F811).
"""

from collections.abc import Iterator

import pytest

from tests.support.fake_openai import FakeOpenAIServer


@pytest.fixture(name="fake_openai")
def fake_openai_fixture() -> Iterator[FakeOpenAIServer]:
    """A fresh server per test: no latency, no faults, no API key, model "fake-model"."""
    with FakeOpenAIServer() as server:
        yield server


# Same fixture, for `from tests.support.fixtures import fake_openai` (needs F811 suppressed).
fake_openai = fake_openai_fixture
