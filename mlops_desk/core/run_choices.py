"""What a new run can be made of: every version (with its endpoint), dataset and endpoint
concurrency, read in three queries for the start-run dialog."""

from __future__ import annotations

from dataclasses import dataclass

from mlops_desk.core.store import Store


@dataclass(frozen=True)
class VersionChoice:
    number: int
    note: str
    archived: bool
    endpoint: str


@dataclass(frozen=True)
class RunChoices:
    versions: dict[str, list[VersionChoice]]  # model -> versions, newest first
    datasets: list[tuple[str, int]]  # (name, rows)
    concurrency: dict[str, int]  # endpoint -> its max concurrency


def load_run_choices(store: Store) -> RunChoices:
    versions: dict[str, list[VersionChoice]] = {}
    for name, number, note, archived, endpoint in store.db.execute(
            "SELECT m.name, v.number, v.note, v.archived, json_extract(v.config, '$.endpoint') "
            "FROM versions v JOIN models m ON m.id = v.model_id "
            "ORDER BY m.name, v.number DESC"):
        versions.setdefault(name, []).append(
            VersionChoice(number, note or "", bool(archived), endpoint or ""))
    datasets = [(r[0], r[1]) for r in store.db.execute(
        "SELECT name, n_rows FROM datasets ORDER BY name")]
    concurrency = {r[0]: r[1] for r in store.db.execute(
        "SELECT name, max_concurrency FROM endpoints")}
    return RunChoices(versions, datasets, concurrency)
