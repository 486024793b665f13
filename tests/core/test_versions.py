"""Models and versions: numbering, identity by fingerprint, parent links, immutability."""

from __future__ import annotations

import sqlite3

import pytest

from mlops_desk.core import registry
from mlops_desk.core.errors import BadInput, Conflict, NotFound
from mlops_desk.core.store import Store


@pytest.fixture
def triage(store: Store) -> Store:
    registry.add_endpoint(store, "local", base_url="http://127.0.0.1:9/v1")
    registry.create_model(store, "triage", labels=["bug", "question"])
    return store


def config(**changes):
    return registry.make_config(**{"endpoint": "local", "model_id": "m1",
                                   "template": "{text}", "parser": "label", **changes})


def test_versions_are_numbered_and_linked_to_their_parent(triage: Store) -> None:
    v1, c1 = registry.register_version(triage, "triage", config())
    v2, c2 = registry.register_version(triage, "triage", config(params={"temperature": 0}))
    v3, c3 = registry.register_version(triage, "triage", config(model_id="m2"))
    assert [v.number for v in (v1, v2, v3)] == [1, 2, 3]
    assert (c1, c2, c3) == (True, True, True)
    assert [v1.parent_number, v2.parent_number, v3.parent_number] == [None, 1, 2]
    v4, _ = registry.register_version(triage, "triage", config(model_id="m3"), parent_number=1)
    assert v4.number == 4 and v4.parent_number == 1
    assert len({v.fingerprint for v in (v1, v2, v3, v4)}) == 4


def test_an_identical_config_returns_the_existing_version(triage: Store) -> None:
    first, created = registry.register_version(
        triage, "triage", config(params={"temperature": 0.7, "max_tokens": 64}))
    again, created_again = registry.register_version(
        triage, "triage", config(params={"max_tokens": 64.0, "temperature": 0.70}))
    assert created and not created_again
    assert (again.number, again.fingerprint) == (first.number, first.fingerprint)
    assert len(registry.list_versions(triage, "triage")) == 1


def test_versions_are_numbered_per_model(triage: Store) -> None:
    registry.create_model(triage, "summary", kind="generation")
    registry.register_version(triage, "triage", config())
    other, created = registry.register_version(triage, "summary", config())
    assert created and other.number == 1


def test_register_refuses_unknown_model_endpoint_or_parent(triage: Store) -> None:
    with pytest.raises(NotFound, match="no model named"):
        registry.register_version(triage, "nope", config())
    with pytest.raises(NotFound, match="no endpoint named"):
        registry.register_version(triage, "triage", config(endpoint="nope"))
    with pytest.raises(NotFound, match="no version 7"):
        registry.register_version(triage, "triage", config(), parent_number=7)


@pytest.mark.parametrize("sql", [
    "UPDATE versions SET config = '{}'",
    "UPDATE versions SET fingerprint = 'x'",
    "UPDATE versions SET number = 9",
    "UPDATE versions SET parent_id = NULL",
    "DELETE FROM versions",
])
def test_the_database_refuses_to_edit_or_delete_a_version(triage: Store, db_path, sql) -> None:
    registry.register_version(triage, "triage", config())
    raw = sqlite3.connect(db_path)  # not our code path: a stray script
    try:
        with pytest.raises(sqlite3.IntegrityError, match=r"cannot be (edited|deleted)"):
            raw.execute(sql)
    finally:
        raw.close()
    assert registry.get_version(triage, "triage", 1).config == config()


def test_notes_tags_and_archiving_stay_editable(triage: Store) -> None:
    registry.register_version(triage, "triage", config())
    registry.register_version(triage, "triage", config(model_id="m2"))
    edited = registry.set_version_meta(triage, "triage", 1, note="baseline", tags=["old", "ci"],
                                       archived=True)
    assert (edited.note, edited.tags, edited.archived) == ("baseline", ["old", "ci"], True)
    assert edited.fingerprint == registry.get_version(triage, "triage", 1).fingerprint
    assert [v.number for v in registry.list_versions(triage, "triage",
                                                     include_archived=False)] == [2]
    assert not registry.set_version_meta(triage, "triage", 1, archived=False).archived


def test_template_naming_a_missing_column_is_caught(triage: Store) -> None:
    template = "Ticket: {subject}\n{body}\nAnswer with one of {{bug, question}}."
    assert registry.template_columns(template) == ["subject", "body"]
    registry.check_template_columns(template, ["subject", "body", "label"], "tickets")
    with pytest.raises(BadInput, match="body") as err:
        registry.check_template_columns(template, ["subject", "label"], "tickets")
    assert "tickets" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("template", ["{", "{text", "}", "{0}x{}", "{a.b}", "{a[0]}", "{x!r}",
                                      "{x:d}", "{x:>{w}}"])
def test_malformed_templates_are_refused(template: str) -> None:
    with pytest.raises(BadInput, match="template"):
        registry.make_config(endpoint="local", model_id="m1", template=template)


@pytest.mark.parametrize("parser", ["regex:(", "json:", "json:a..b", "labels", "text:x"])
def test_bad_parser_specs_are_refused(parser: str) -> None:
    with pytest.raises(BadInput):
        registry.make_config(endpoint="local", model_id="m1", parser=parser)


def test_models_have_unique_names_and_known_kinds(store: Store) -> None:
    registry.create_model(store, "triage")
    with pytest.raises(Conflict, match="already exists"):
        registry.create_model(store, "triage")
    with pytest.raises(BadInput, match="unknown model kind"):
        registry.create_model(store, "other", kind="ranking")
    with pytest.raises(BadInput, match="duplicate labels"):
        registry.parse_labels("a,b,a")


def test_diff_lists_changed_fields_and_params(triage: Store) -> None:
    a = config(params={"temperature": 0.2, "seed": 1})
    b = config(model_id="m2", params={"temperature": 0.2, "top_p": 0.9})
    assert registry.diff_configs(a, b) == [
        ("model_id", "m1", "m2"), ("params.seed", 1, None), ("params.top_p", None, 0.9)]


@pytest.mark.parametrize(("ref", "parsed"), [("triage:3", ("triage", 3)),
                                             ("a:b:12", ("a:b", 12))])
def test_version_refs(ref, parsed) -> None:
    assert registry.parse_version_ref(ref) == parsed


@pytest.mark.parametrize("ref", ["triage", "triage:", ":3", "triage:x", "triage:-1"])
def test_bad_version_refs(ref) -> None:
    with pytest.raises(BadInput, match="MODEL:N"):
        registry.parse_version_ref(ref)
