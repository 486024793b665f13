"""``mlops-desk --self-test``: every check runs for real and the exit code tells the truth."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from mlops_desk import __version__
from mlops_desk.self_test import SelfTest
from mlops_desk.ui.main_window import PAGES


@pytest.mark.slow  # the sample workspace, a batch, a gateway process and every page: ~10 s
def test_self_test_passes_with_one_line_per_check(cli, qapp) -> None:
    result = cli("--self-test")
    assert result.code == 0, result.out + result.err
    lines = result.out.strip().splitlines()
    assert lines[0].startswith(f"mlops-desk {__version__} self-test")
    checks = [line.split(":", 1)[0] for line in lines[1:-1]]
    pages = [f"PASS  page {title}" for title in _page_titles()]
    assert checks == ["PASS  registry", "PASS  dataset formats", "PASS  sample workspace",
                      "PASS  batch",
                      "PASS  gateway", "PASS  window", *pages]
    assert "answered 'positive'" in result.out  # the gateway served the sample model
    assert lines[-1].startswith(f"self-test passed: {len(checks)}/{len(checks)} checks")
    assert not cli.db_path.exists()  # a temporary registry, never the user's


def test_a_failing_check_is_one_fail_line_and_the_run_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the registry's folder should be")
    out = io.StringIO()
    assert SelfTest(blocker, out).run() is False
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 3, lines  # header, one line for the failed check, verdict
    assert lines[1].startswith("FAIL  registry: ") and lines[1].endswith(" s)")
    assert lines[2].startswith("self-test FAILED: 0/1 checks")


def _page_titles() -> list[str]:
    from mlops_desk.ui.main_window import page_class

    return [page_class(spec).title for spec in PAGES]


def test_a_build_without_pyarrow_refuses_parquet_in_one_line(tmp_path: Path,
                                                              monkeypatch) -> None:
    """The installers leave pyarrow out (size): Parquet import must say so, not crash."""
    import pandas as pd

    from mlops_desk.core.dataset_io import read_table
    from mlops_desk.core.errors import BadInput

    path = tmp_path / "reviews.parquet"
    pd.DataFrame({"text": ["fine"], "label": ["positive"]}).to_parquet(path)
    for name in ("pyarrow", "pyarrow.parquet"):
        monkeypatch.setitem(sys.modules, name, None)  # as in the frozen app: not importable
    with pytest.raises(BadInput, match=r"^reviews.parquet: Parquet files cannot be read by "
                                       r"this build of MLOps Desk \(no pyarrow\)"):
        read_table(path)
    test = SelfTest(tmp_path, io.StringIO())
    assert test.check("dataset formats", test.dataset_formats)
    assert "Parquet is not part of this build" in test.out.getvalue()
