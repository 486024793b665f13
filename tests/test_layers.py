"""Every SQL statement lives in mlops_desk/core: the faces (ui, cli, gateway) call core."""

from __future__ import annotations

import re
from pathlib import Path

import mlops_desk

# SQL as we write it (upper-case keywords); "Select a model" in a label is not SQL.
_SQL = re.compile(r"\bSELECT\b[^\n]*\bFROM\b|\bINSERT INTO\b|\bUPDATE \w+ SET\b|\bDELETE FROM\b"
                  r"|\bPRAGMA\b|\.execute\(|\.executemany\(|\.query\(")
ROOT = Path(mlops_desk.__file__).parent


def test_no_sql_outside_core() -> None:
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for face in ("ui", "cli", "gateway")
             for path in sorted((ROOT / face).rglob("*.py"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if _SQL.search(line)]
    assert found == []
