"""Datasets as immutable snapshots: rows stored once, hashed, with a validation report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_desk.core import audit, work
from mlops_desk.core.dataset_io import content_sha256, read_table, select_columns, validate
from mlops_desk.core.errors import BadInput, Conflict, NotFound
from mlops_desk.core.names import check_name, check_name_free
from mlops_desk.core.store import Store, utcnow

INSERT_BATCH = 2_000


@dataclass(frozen=True)
class Dataset:
    id: int
    name: str
    sha256: str
    n_rows: int
    columns: list[str]
    input_cols: list[str]
    expected_col: str | None
    validation: dict[str, Any]
    source_name: str
    created_at: str
    created_by: str
    archived: bool = False  # hidden from lists; runs and gates still read it

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "n_rows": self.n_rows, "sha256": self.sha256,
            "columns": self.columns, "input_cols": self.input_cols,
            "expected_col": self.expected_col, "validation": self.validation,
            "source_name": self.source_name, "created_at": self.created_at,
            "created_by": self.created_by, "archived": self.archived,
        }


def _dataset(row: dict) -> Dataset:
    return Dataset(
        id=row["id"], name=row["name"], sha256=row["sha256"], n_rows=row["n_rows"],
        columns=json.loads(row["columns"]), input_cols=json.loads(row["input_cols"]),
        expected_col=row["expected_col"], validation=json.loads(row["validation"]),
        source_name=row["source_name"], created_at=row["created_at"],
        created_by=row["created_by"], archived=bool(row.get("archived")),
    )


def import_dataset(
    store: Store, path: str | Path, name: str, *, input_cols: list[str] | None = None,
    expected_col: str | None = None, on_progress: work.OnProgress | None = None,
    encoding: str | None = None, cancel: work.CancelToken | None = None,
) -> tuple[Dataset, bool]:
    """Read, validate and snapshot a file. Identical content returns the existing snapshot.

    Returns (dataset, created). Nothing is written unless the whole file is good. ``encoding``
    is for text files that are not UTF-8 (see ``read_table``); the snapshot's sha256 depends
    on the cells only, so the same table in UTF-8 and in cp1252 is one snapshot. Long work
    per ``core.work``: a ``Progress`` per batch of rows stored; a cancel keeps nothing.
    """
    check_name(name, "dataset")
    table = read_table(path, encoding)
    inputs, expected = select_columns(table, input_cols, expected_col)
    report = validate(table, inputs, expected)
    if not report.get("ok", True):
        problems = report.get("errors") or report.get("warnings") or ["not usable"]
        raise BadInput(f"{Path(path).name}: {'; '.join(problems[:2])}")
    digest = content_sha256(table, inputs, expected)
    columns = [*inputs, *([expected] if expected else [])]

    with store.transaction() as db:
        same = list(db.query("SELECT * FROM datasets WHERE sha256 = ?", [digest]))
        if same:
            return _dataset(same[0]), False
        if db.execute("SELECT 1 FROM datasets WHERE name = ?", [name]).fetchone():
            raise Conflict(
                f"dataset {name} already exists with different content; snapshots never "
                "change, so import this file under another name", hint="--name NEW_NAME"
            )
        check_name_free(db.conn, name, "dataset")
        dataset_id = db["datasets"].insert({
            "name": name, "sha256": digest, "n_rows": len(table.rows),
            "columns": json.dumps(columns), "input_cols": json.dumps(inputs),
            "expected_col": expected, "validation": json.dumps(report),
            "source_name": Path(path).name, "created_at": utcnow(),
            "created_by": audit.os_user(),
        }).last_pk
        total = len(table.rows)
        for start in range(0, total, INSERT_BATCH):
            batch = table.rows[start:start + INSERT_BATCH]
            db.conn.executemany(
                "INSERT INTO dataset_rows (dataset_id, idx, data) VALUES (?, ?, ?)",
                [(dataset_id, start + i, json.dumps({c: row.get(c) for c in columns},
                                                   ensure_ascii=False))
                 for i, row in enumerate(batch)],
            )
            if work.is_cancelled(cancel):  # raised inside the transaction: nothing is kept
                raise work.Cancelled(f"import of dataset {name} cancelled; nothing was imported")
            work.report(on_progress, min(start + INSERT_BATCH, total), total, "rows stored")
        audit.append(store, "dataset.import", f"dataset:{name}",
                     {"sha256": digest, "n_rows": total, "source": Path(path).name,
                      "input_cols": inputs, "expected_col": expected})
        dataset = get_dataset(store, name)
    return dataset, True


def get_dataset(store: Store, name: str) -> Dataset:
    rows = list(store.db.query("SELECT * FROM datasets WHERE name = ?", [name]))
    if not rows:
        raise NotFound(f"no dataset named {name!r}", hint="see 'dataset list'")
    return _dataset(rows[0])


def get_dataset_by_id(store: Store, dataset_id: int) -> Dataset:
    return _dataset(next(store.db.query("SELECT * FROM datasets WHERE id = ?", [dataset_id])))


def list_datasets(store: Store, *, include_archived: bool = True) -> list[Dataset]:
    where = "" if include_archived else "WHERE archived = 0 "
    return [_dataset(r) for r in store.db.query(f"SELECT * FROM datasets {where}ORDER BY name")]


def iter_rows(store: Store, dataset_id: int, *, start: int = 0,
              limit: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, row) pairs in order; streams, so 100k-row datasets stay small in memory."""
    sql = "SELECT idx, data FROM dataset_rows WHERE dataset_id = ? AND idx >= ? ORDER BY idx"
    params: list[Any] = [dataset_id, start]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    for idx, data in store.db.execute(sql, params):
        yield idx, json.loads(data)


def input_texts(store: Store, dataset_id: int, indexes: list[int]) -> dict[int, str]:
    """Row index -> the row's input columns as one line of text (for result tables)."""
    texts: dict[int, str] = {}
    if not indexes:
        return texts
    row = store.db.execute("SELECT input_cols FROM datasets WHERE id = ?", [dataset_id]).fetchone()
    columns = json.loads(row[0]) if row else []
    for start in range(0, len(indexes), 500):
        part = indexes[start:start + 500]
        marks = ", ".join("?" * len(part))
        for idx, data in store.db.execute(
                f"SELECT idx, data FROM dataset_rows WHERE dataset_id = ? AND idx IN ({marks})",
                [dataset_id, *part]):
            values = json.loads(data)
            if len(columns) == 1:
                texts[idx] = str(values.get(columns[0]) or "")
            else:
                texts[idx] = " · ".join(f"{c}: {values.get(c)}" for c in columns)
    return texts
