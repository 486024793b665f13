"""The installed `mlops-desk` command, run for real in a subprocess (the rest run in-process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_desk import __version__


def mlops_desk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    script = shutil.which("mlops-desk", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "mlops_desk"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60,
                          env=env, stdin=subprocess.DEVNULL)


def test_version_and_a_failing_command(tmp_path: Path) -> None:
    version = mlops_desk("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"mlops-desk {__version__}")
    bad = tmp_path / "notes.db"
    bad.write_text("not a database, just notes\n" * 100)
    failed = mlops_desk("--db", str(bad), "model", "list")
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1, failed.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland check is Linux's")
def test_no_display_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = mlops_desk("--db", str(tmp_path / "registry.db"), env=env)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "no display" in result.stderr and "QT_QPA_PLATFORM=offscreen" in result.stderr
