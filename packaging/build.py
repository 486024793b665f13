"""Build MLOps Desk's installers: ``python packaging/build.py [--target deb|tar|windows|macos]``.

1. runs in the project's virtual environment (``.venv``, created if absent) and installs the
   build tools into it (PyInstaller);
2. stages the sources as they install (``resources/`` as ``mlops_desk.resources``) and
   renders the app icon for the platform;
3. freezes the app with ``packaging/mlops-desk.spec`` into ``dist/mlops-desk/`` (one folder);
4. smoke-tests the frozen executable: ``--version`` must name the version of
   ``mlops_desk/__init__.py`` and ``--self-test`` must pass;
5. packages it: ``.deb`` and ``.tar.gz`` (Linux), Inno Setup installer (Windows), ``.app``
   and ``.dmg`` (macOS), into ``dist/``, and prints each file's size.

Without ``--target`` it builds what the current system can: deb and tar on Linux, windows on
Windows, macos on macOS.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DIST = ROOT / "dist"
WORK = ROOT / "build" / "packaging"
SPEC = HERE / "mlops-desk.spec"
BUILD_TOOLS = ["pyinstaller>=6.10,<7"]
SELF_TEST_TIMEOUT_S = 300
TARGETS = ("deb", "tar", "windows", "macos")
DEB_LIMIT_MB = 100


def say(message: str) -> None:
    print(f"build.py: {message}", flush=True)


def read_version() -> str:
    """``__version__`` from mlops_desk/__init__.py, the one place the version is written."""
    text = (ROOT / "mlops_desk" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.MULTILINE)
    if match is None:
        raise SystemExit("build.py: no __version__ in mlops_desk/__init__.py")
    return match.group(1)


def default_targets() -> list[str]:
    if sys.platform == "win32":
        return ["windows"]
    if sys.platform == "darwin":
        return ["macos"]
    return ["deb", "tar"]


# -- 1. interpreter and tools ----------------------------------------------------------------
def venv_python() -> Path:
    if sys.platform == "win32":
        return ROOT / ".venv" / "Scripts" / "python.exe"
    return ROOT / ".venv" / "bin" / "python"


def ensure_venv() -> None:
    """Re-run this script inside ``.venv`` (creating it) unless already in a virtualenv."""
    if sys.prefix != sys.base_prefix:
        return
    python = venv_python()
    if not python.exists():
        say("creating .venv and installing MLOps Desk into it")
        subprocess.run([sys.executable, "-m", "venv", str(ROOT / ".venv")], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-e", str(ROOT)],
                       check=True)
    code = subprocess.run([str(python), str(Path(__file__).resolve()), *sys.argv[1:]]).returncode
    raise SystemExit(code)


def ensure_tools() -> None:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        say(f"installing build tools: {' '.join(BUILD_TOOLS)}")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", *BUILD_TOOLS], check=True)
    try:
        import PySide6  # noqa: F401
    except ImportError:
        say("installing MLOps Desk's dependencies")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", str(ROOT)],
                       check=True)


# -- 2. sources and icons ---------------------------------------------------------------------
def stage_sources(work: Path) -> Path:
    """``work/stage/mlops_desk`` laid out as installed (pyproject maps resources/ into it)."""
    stage = work / "stage"
    shutil.rmtree(stage, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "mlops_desk", stage / "mlops_desk", ignore=ignore)
    shutil.copytree(ROOT / "resources", stage / "mlops_desk" / "resources", ignore=ignore)
    return stage


def platform_icon(work: Path) -> Path | None:
    import icons

    if sys.platform == "win32":
        return icons.write_ico(work / "icons" / "mlops-desk.ico")
    if sys.platform == "darwin":
        return icons.write_icns(work / "icons" / "mlops-desk.icns", work / "icons")
    return None  # Linux desktops take the icon from the .desktop entry


# -- 3. freeze --------------------------------------------------------------------------------
def freeze(version: str, work: Path) -> Path:
    stage = stage_sources(work)
    icon = platform_icon(work)
    env = {**os.environ, "MLOPS_DESK_STAGE": str(stage), "MLOPS_DESK_ICON": str(icon or "")}
    if sys.platform == "win32":
        import windows

        env["MLOPS_DESK_VERSION_FILE"] = str(windows.version_file(version, work / "version.txt"))
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                    "--distpath", str(DIST), "--workpath", str(work / "pyinstaller"),
                    str(SPEC)], check=True, env=env, cwd=ROOT)
    return DIST / "mlops-desk"


def executable(bundle: Path) -> Path:
    return bundle / ("mlops-desk.exe" if sys.platform == "win32" else "mlops-desk")


# -- 4. smoke test ----------------------------------------------------------------------------
def smoke_test(program: Path, version: str) -> None:
    """``--version`` and ``--self-test`` of the frozen program, with a clean environment."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("MLOPS_DESK_", "PYTHON", "QT_"))}
    reported = subprocess.run([str(program), "--version"], capture_output=True, text=True,
                              env=env, timeout=60)
    if reported.stdout.strip() != f"mlops-desk {version}":
        raise SystemExit(f"build.py: {program} --version said {reported.stdout.strip()!r} "
                         f"{reported.stderr.strip()!r}, expected 'mlops-desk {version}'")
    say(f"{program.name} --version: {reported.stdout.strip()}")
    start = time.perf_counter()
    code = subprocess.run([str(program), "--self-test"], env=env,
                          timeout=SELF_TEST_TIMEOUT_S).returncode
    if code != 0:
        raise SystemExit(f"build.py: the frozen app failed its self-test (exit {code})")
    say(f"self-test of the frozen app passed in {time.perf_counter() - start:.1f} s")


# -- 5. packages ------------------------------------------------------------------------------
def package(target: str, bundle: Path, version: str, work: Path) -> Path:
    if target == "deb":
        import linux

        deb = linux.build_deb(bundle, version, DIST, work)
        if deb.stat().st_size > DEB_LIMIT_MB * 1_000_000:
            raise SystemExit(f"build.py: {deb.name} is over {DEB_LIMIT_MB} MB")
        return deb
    if target == "tar":
        import linux

        return linux.build_tar(bundle, version, DIST)
    if target == "windows":
        import windows

        return windows.build_installer(version, bundle, work / "icons" / "mlops-desk.ico", DIST)
    import macos

    app = DIST / macos.APP_NAME
    if macos.bundle_version(app) != version:
        raise SystemExit(f"build.py: {app} carries another version than {version}")
    return macos.build_dmg(app, version, DIST, work)


def check_target(target: str) -> None:
    needs = {"deb": "linux", "tar": "linux", "windows": "win32", "macos": "darwin"}[target]
    if not sys.platform.startswith(needs):
        raise SystemExit(f"build.py: --target {target} builds on {needs} only "
                         f"(this is {sys.platform})")
    if target == "deb" and not shutil.which("dpkg-deb"):
        raise SystemExit("build.py: --target deb needs dpkg-deb (Debian or Ubuntu)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="packaging/build.py", description=__doc__.split("\n")[0])
    parser.add_argument("--target", action="append", choices=TARGETS,
                        help="what to build (repeatable); default: all for this system")
    parser.add_argument("--reuse-build", action="store_true",
                        help="package the existing dist/mlops-desk instead of freezing again")
    args = parser.parse_args(argv)
    targets = args.target or default_targets()
    for target in targets:
        check_target(target)
    ensure_venv()
    ensure_tools()
    sys.path.insert(0, str(HERE))
    version = read_version()
    WORK.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    bundle = DIST / "mlops-desk"
    if not (args.reuse_build and bundle.is_dir()):
        say(f"freezing mlops-desk {version} with PyInstaller")
        bundle = freeze(version, WORK)
        say(f"frozen in {time.perf_counter() - start:.0f} s: {bundle} "
            f"({_tree_mb(bundle):.0f} MB)")
    smoke_test(executable(bundle), version)
    for target in targets:
        built = package(target, bundle, version, WORK)
        say(f"{target}: {built} ({built.stat().st_size / 1_000_000:.1f} MB)")
    say(f"done in {time.perf_counter() - start:.0f} s")
    return 0


def _tree_mb(root: Path) -> float:
    return sum(p.stat().st_size for p in root.rglob("*")
               if p.is_file() and not p.is_symlink()) / 1_000_000


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        sys.exit(f"build.py: error: {exc}")
