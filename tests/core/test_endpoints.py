"""Endpoints: validation of URLs, targets, prices and names; keys stay out of SQLite."""

from __future__ import annotations

import pytest

from mlops_desk.core import registry, secrets
from mlops_desk.core.errors import BadInput, Conflict, NotFound
from mlops_desk.core.store import Store


@pytest.mark.parametrize("url", ["", "localhost:8080", "ftp://host/v1", "http://", "//host/v1",
                                 "127.0.0.1:11434/v1"])
def test_bad_base_url(store: Store, url: str) -> None:
    with pytest.raises(BadInput, match="base-url"):
        registry.add_endpoint(store, "e", base_url=url)


@pytest.mark.parametrize("target", ["", "module", "module:", ":func", "a b:c", "mod:func()",
                                    "1mod:f"])
def test_bad_python_target(store: Store, target: str) -> None:
    with pytest.raises(BadInput, match="module:function"):
        registry.add_endpoint(store, "e", kind="python", target=target)


@pytest.mark.parametrize("spec", ["gpt-4o", "gpt-4o=", "gpt-4o=1", "gpt-4o=1,2,3", "=1,2",
                                  "gpt-4o=a,b", "gpt-4o=-1,2", "gpt-4o=1;2"])
def test_bad_price_spec(spec: str) -> None:
    with pytest.raises(BadInput, match="--price"):
        registry.parse_price(spec)


def test_prices_per_model_with_a_default(store: Store) -> None:
    prices = dict(registry.parse_price(s) for s in ["gpt-4o=2.5,10", "*=0.15,0.6"])
    endpoint = registry.add_endpoint(store, "openai", base_url="https://api.openai.com/v1",
                                     prices=prices)
    assert endpoint.price_for("gpt-4o") == (2.5, 10.0)
    assert endpoint.price_for("other") == (0.15, 0.6)


@pytest.mark.parametrize(("field", "value"), [("timeout_s", 0), ("timeout_s", 7200),
                                              ("max_concurrency", 0)])
def test_bad_limits(store: Store, field: str, value: float) -> None:
    with pytest.raises(BadInput):
        registry.add_endpoint(store, "e", base_url="http://h/v1", **{field: value})


@pytest.mark.parametrize("name", ["", "-x", "a b", "a/b", "x" * 65, "é"])
def test_bad_names(store: Store, name: str) -> None:
    with pytest.raises(BadInput, match="invalid endpoint name"):
        registry.add_endpoint(store, name, base_url="http://h/v1")


def test_duplicate_name(store: Store) -> None:
    registry.add_endpoint(store, "local", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(Conflict, match="already exists"):
        registry.add_endpoint(store, "local", kind="python", target="m:f")


def test_python_endpoint_and_edit(store: Store) -> None:
    endpoint = registry.add_endpoint(store, "py", kind="python", target="pkg.mod:predict")
    assert (endpoint.base_url, endpoint.target) == (None, "pkg.mod:predict")
    edited = registry.update_endpoint(store, "py", target="pkg.mod:other", timeout_s=5)
    assert (edited.target, edited.timeout_s) == ("pkg.mod:other", 5)
    with pytest.raises(BadInput, match="module:function"):
        registry.update_endpoint(store, "py", target="nope")
    with pytest.raises(NotFound):
        registry.update_endpoint(store, "ghost", timeout_s=5)


def test_only_a_reference_to_the_key_is_stored(store: Store, monkeypatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-secret-value-123456")
    endpoint = registry.add_endpoint(store, "e", base_url="http://h/v1",
                                     api_key_ref=secrets.env_ref("MY_KEY"))
    assert endpoint.api_key_ref == "env:MY_KEY"
    assert endpoint.public_dict()["api_key"] == "$MY_KEY"
    assert "api_key_ref" not in endpoint.public_dict()
    assert secrets.resolve("e", endpoint.api_key_ref) == "sk-secret-value-123456"
    assert secrets.redact("key sk-secret-value-123456!") == "key ***!"


@pytest.mark.parametrize("var", ["", "1ABC", "MY-KEY", "A B", "$KEY"])
def test_bad_environment_variable_names(var: str) -> None:
    with pytest.raises(BadInput, match="environment variable"):
        secrets.env_ref(var)


def test_an_unset_variable_is_one_clear_line(monkeypatch) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(BadInput, match=r"\$NOT_SET_ANYWHERE, which is not set"):
        secrets.resolve("e", "env:NOT_SET_ANYWHERE")
