"""Endpoints: validation of URLs, targets, prices and names; keys stay out of SQLite."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_desk.core import registry, secrets
from mlops_desk.core.errors import BadInput, Conflict, NotFound
from mlops_desk.core.store import Store


@pytest.mark.parametrize("url", ["", "localhost:8080", "ftp://host/v1", "http://", "//host/v1",
                                 "127.0.0.1:11434/v1", "http://:8080/v1", "http://h:99999/v1",
                                 "http://h:port/v1", "http://[::1/v1"])
def test_bad_base_url(store: Store, url: str) -> None:
    with pytest.raises(BadInput, match="bad base URL"):
        registry.add_endpoint(store, "e", base_url=url)


# user:password@, user@, :password@, a password holding '@', ':' or '/'
CREDENTIAL_URLS = ["http://alice:hunter2pw@127.0.0.1:9/v1", "https://tok3n-in-user@api.x.org/v1",
                   "http://:hunter2pw@h/v1", "http://alice:hun@ter2pw@h/v1",
                   "http://alice:hunter2:pw@h/v1", "http://alice:hunter2/pw@h/v1",
                   "http://alice:12/hunter2@h/v1"]


@pytest.mark.parametrize("url", CREDENTIAL_URLS)
def test_a_base_url_with_credentials_is_refused_and_not_echoed(store: Store, url: str) -> None:
    with pytest.raises(registry.CredentialsInUrl) as refused:
        registry.add_endpoint(store, "e", base_url=url)
    message = str(refused.value)
    assert "user name or password" in message and "keyring or an environment variable" in message
    assert "hunter2" not in message and "tok3n" not in message
    assert "--" not in message  # core speaks plain words; the CLI adds its options
    assert registry.list_endpoints(store) == []


@pytest.mark.parametrize("url", CREDENTIAL_URLS)
def test_editing_in_a_url_with_credentials_is_refused(store: Store, url: str) -> None:
    registry.add_endpoint(store, "e", base_url="http://h/v1")
    with pytest.raises(registry.CredentialsInUrl):
        registry.update_endpoint(store, "e", base_url=url)
    assert registry.get_endpoint(store, "e").base_url == "http://h/v1"


def test_a_url_stored_with_a_password_before_is_shown_masked(store: Store) -> None:
    registry.add_endpoint(store, "old", base_url="http://h/v1")
    with store.transaction() as db:  # what an older MLOps Desk let through
        db.execute("UPDATE endpoints SET base_url = 'http://alice:hunter2pw@h/v1'")
    endpoint = registry.get_endpoint(store, "old")
    assert endpoint.base_url == "http://alice:hunter2pw@h/v1"  # still used to connect
    assert endpoint.display_url == "http://alice:***@h/v1"
    assert endpoint.public_dict()["base_url"] == "http://alice:***@h/v1"
    assert "hunter2pw" not in str(endpoint.public_dict())
    # Any further edit must take the password out of the URL first.
    with pytest.raises(registry.CredentialsInUrl, match="alice:\\*\\*\\*@h"):
        registry.update_endpoint(store, "old", timeout_s=5)
    assert registry.update_endpoint(store, "old", base_url="http://h/v1",
                                    timeout_s=5).base_url == "http://h/v1"


@pytest.mark.parametrize(("text", "expected"), [
    ("cannot connect to http://alice:pw1234@h:80/v1: refused",
     "cannot connect to http://alice:***@h:80/v1: refused"),
    ("https://tok3n@h/v1 and HTTP://a:b@c", "https://***@h/v1 and HTTP://a:***@c"),
    ("http://a:p@ss@h/v1?x=y@z", "http://a:***@h/v1?x=y@z"),
    ("mail me@example.org, see http://h/v1@2", "mail me@example.org, see http://h/v1@2"),
])
def test_redact_masks_url_credentials_in_any_text(text: str, expected: str) -> None:
    assert secrets.redact(text) == expected


@pytest.mark.parametrize(("url", "expected"), [
    ("http://h:8080/v1?a=b@c", "http://h:8080/v1?a=b@c"),
    ("http://alice:pa/ss@h/v1", "http://alice:***@h/v1"),  # '/' in the password
    ("http://alice:p@ss@h/v1", "http://alice:***@h/v1"),
    ("http://a/b@h/v1", "http://***@h/v1"),  # cannot tell: mask it all
    ("not a url@all", "not a url@all"),
])
def test_redact_url_masks_everything_before_the_last_at(url: str, expected: str) -> None:
    assert secrets.redact_url(url) == expected
    assert secrets.has_url_credentials(url) == (url != expected)
    assert secrets.has_url_credentials(expected) == (url != expected)  # masked still counts


@given(user=st.text(alphabet=string.ascii_lowercase, max_size=8),
       password=st.text(alphabet=string.ascii_letters + string.digits + "!$&'()*+,;=:@%-._~",
                        min_size=1, max_size=20),
       host=st.sampled_from(["h", "127.0.0.1:9", "api.example.org", "[::1]:8080"]),
       path=st.sampled_from(["", "/", "/v1", "/v1?k=v"]))
def test_no_url_password_survives_redaction(user: str, password: str, host: str,
                                            path: str) -> None:
    secret = f"PW{password}"  # upper-case marker: cannot occur in the rest of the text
    text = f"error: cannot reach http://{user}:{secret}@{host}{path} (refused)"
    redacted = secrets.redact(text)
    assert secret not in redacted and "PW" not in redacted
    assert redacted.endswith(f"@{host}{path} (refused)")


@pytest.mark.parametrize("target", ["", "module", "module:", ":func", "a b:c", "mod:func()",
                                    "1mod:f"])
def test_bad_python_target(store: Store, target: str) -> None:
    with pytest.raises(BadInput, match="module:function"):
        registry.add_endpoint(store, "e", kind="python", target=target)


@pytest.mark.parametrize("spec", ["gpt-4o", "gpt-4o=", "gpt-4o=1", "gpt-4o=1,2,3", "=1,2",
                                  "gpt-4o=a,b", "gpt-4o=-1,2", "gpt-4o=1;2"])
def test_bad_price_spec(spec: str) -> None:
    with pytest.raises(BadInput, match=r"^bad price .*expected MODEL_ID=IN,OUT"):
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
