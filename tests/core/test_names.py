"""Names of endpoints, models and datasets: unique regardless of case, spaces refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_desk.core import datasets, registry
from mlops_desk.core.errors import BadInput, Conflict
from mlops_desk.core.names import NAME, check_name
from mlops_desk.core.store import Store


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def add(store: Store, what: str, name: str, tmp_path: Path, content: str = "a\n1\n"):
    """Create a ``what`` called ``name`` through its public core function."""
    if what == "endpoint":
        return registry.add_endpoint(store, name, base_url="http://127.0.0.1:9/v1")
    if what == "model":
        return registry.create_model(store, name)
    return datasets.import_dataset(store, write_csv(tmp_path / f"{len(content)}.csv", content),
                                   name)[0]


def audit_count(store: Store) -> int:
    return store.db.execute("SELECT count(*) FROM audit").fetchone()[0]


@pytest.mark.parametrize("what", ["endpoint", "model", "dataset"])
def test_a_name_differing_only_in_case_is_refused_naming_the_existing_one(
        store: Store, tmp_path: Path, what: str) -> None:
    add(store, what, "review-sentiment", tmp_path)
    before = audit_count(store)
    with pytest.raises(Conflict) as caught:
        add(store, what, "Review-Sentiment", tmp_path, content="a\n2\n")
    message = str(caught.value)
    assert f"{what} review-sentiment already exists" in message
    assert "'Review-Sentiment'" in message and "regardless of case" in message
    assert audit_count(store) == before  # nothing written


@pytest.mark.parametrize("what", ["endpoint", "model", "dataset"])
@pytest.mark.parametrize(("name", "fix"), [
    ("Review-Sentiment ", "remove the trailing space"),
    (" review", "remove the leading space"),
    ("\treview\n", "remove the leading and trailing spaces"),
])
def test_leading_or_trailing_spaces_are_refused_not_removed(
        store: Store, tmp_path: Path, what: str, name: str, fix: str) -> None:
    with pytest.raises(BadInput) as caught:
        add(store, what, name, tmp_path)
    assert str(caught.value) == f"invalid {what} name {name!r}: {fix}"
    assert audit_count(store) == 0


@pytest.mark.parametrize("name", ["", " ", "a b", "-lead", "x" * 65, "naïve"])
def test_other_bad_names_keep_the_general_message(name: str) -> None:
    with pytest.raises(BadInput, match="use letters, digits"):
        check_name(name, "model")


@given(st.from_regex(NAME, fullmatch=True), st.sampled_from(["", " ", "  ", "\t"]),
       st.sampled_from(["", " ", "\n"]))
def test_check_name_accepts_exactly_the_names_without_surrounding_space(name, lead, trail):
    padded = lead + name + trail
    if padded == name:
        assert check_name(padded, "model") == name
    else:
        with pytest.raises(BadInput, match="remove the"):
            check_name(padded, "model")


def test_existing_case_duplicates_keep_working_and_lookups_stay_exact(
        store: Store, tmp_path: Path) -> None:
    """A registry made before the rule may hold both; both stay usable, by exact name."""
    registry.create_model(store, "triage")
    now = "2026-01-01T00:00:00Z"
    with sqlite3.connect(store.path) as conn:  # as an older MLOps Desk could have written it
        conn.execute("INSERT INTO models (name, kind, labels, description, created_at) "
                     "VALUES ('Triage', 'classification', '[]', 'old', ?)", [now])
    conn.close()
    assert registry.get_model(store, "Triage").description == "old"
    assert registry.get_model(store, "triage").description == ""
    assert registry.update_model(store, "Triage", description="kept").description == "kept"
    with pytest.raises(Conflict, match="model triage already exists"):
        registry.create_model(store, "triage")
    with pytest.raises(Conflict, match="regardless of case"):
        registry.create_model(store, "TRIAGE")


def test_same_content_under_another_case_returns_the_existing_snapshot(
        store: Store, tmp_path: Path) -> None:
    """Identical content is one snapshot whatever name it is imported under."""
    path = write_csv(tmp_path / "d.csv", "a\n1\n")
    first, _ = datasets.import_dataset(store, path, "reviews")
    again, created = datasets.import_dataset(store, path, "Reviews")
    assert (again.name, created) == (first.name, False)
