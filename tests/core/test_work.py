"""One long-work protocol: dataset import reports Progress values and a cancel keeps nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_desk.core import audit, datasets, runner, work
from mlops_desk.core.errors import NotFound
from mlops_desk.core.store import Store


def rows_csv(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "rows.csv"
    path.write_text("text,label\n" + "".join(f"row {i},a\n" for i in range(n)), encoding="utf-8")
    return path


def test_import_reports_progress_values(store: Store, tmp_path: Path) -> None:
    seen: list[work.Progress] = []
    dataset, _ = datasets.import_dataset(store, rows_csv(tmp_path, 4_500), "big",
                                         expected_col="label", on_progress=seen.append)
    assert [(p.done, p.total) for p in seen] == [(2_000, 4_500), (4_000, 4_500), (4_500, 4_500)]
    assert dataset.n_rows == 4_500


def test_a_cancelled_import_keeps_nothing(store: Store, tmp_path: Path) -> None:
    token = work.CancelToken()
    events = len(audit.list_events(store))

    def cancel_after_first_batch(p: work.Progress) -> None:
        token.cancel()

    with pytest.raises(work.Cancelled, match="nothing was imported") as caught:
        datasets.import_dataset(store, rows_csv(tmp_path, 4_500), "big", expected_col="label",
                                on_progress=cancel_after_first_batch, cancel=token)
    assert caught.value.exit_code == 130 and "\n" not in str(caught.value)
    with pytest.raises(NotFound):
        datasets.get_dataset(store, "big")
    assert len(audit.list_events(store)) == events


def test_the_runner_speaks_the_same_protocol() -> None:
    assert runner.CancelToken is work.CancelToken
    assert issubclass(runner.Progress, work.Progress)
