"""One version, one set of file names: the spec, the Inno Setup script, the macOS bundle and
the .deb all take the version from mlops_desk/__init__.py and agree on what they ship."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from mlops_desk import __version__

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
sys.path.insert(0, str(PACKAGING))
import build  # noqa: E402  (packaging/build.py)
import linux  # noqa: E402
import windows  # noqa: E402

SPEC = (PACKAGING / "mlops-desk.spec").read_text()
ISS = (PACKAGING / "windows" / "mlops-desk.iss").read_text()
VERSION_LITERAL = re.compile(r"\b\d+\.\d+\.\d+\b")


def iss_define(name: str) -> str:
    match = re.search(rf'^\s*#define {name} "([^"]*)"', ISS, re.M)
    assert match, f"no #define {name} in the .iss"
    return match.group(1)


def test_the_version_is_written_once() -> None:
    assert build.read_version() == __version__
    assert "from mlops_desk import __version__" in SPEC
    for key in ("CFBundleShortVersionString", "CFBundleVersion"):
        assert f'"{key}": __version__' in SPEC  # the macOS Info.plist
    assert "AppVersion={#AppVersion}" in ISS and "VersionInfoVersion={#AppVersion}" in ISS
    assert "/DAppVersion={version}" in (PACKAGING / "windows.py").read_text()
    for name, text in (("spec", SPEC), ("iss", ISS)):
        assert not VERSION_LITERAL.search(text), f"the {name} repeats a version number"


def test_the_cli_reports_the_version(cli) -> None:
    result = cli("--version")
    assert result.out.strip() == f"mlops-desk {__version__}"


def test_the_installers_name_the_files_the_spec_builds() -> None:
    app_name = re.search(r'^APP_NAME = "([^"]+)"', SPEC, re.M).group(1)
    assert app_name == "mlops-desk"
    assert iss_define("AppExe") == f"{app_name}.exe"
    assert iss_define("AppGuiExe") == f"{app_name}-gui.exe"
    assert 'name=f"{APP_NAME}-gui"' in SPEC and "console=False" in SPEC
    assert iss_define("BundleDir").endswith(f"dist\\{app_name}")
    assert build.executable(build.DIST / app_name).name.startswith(app_name)
    # build.py expects the installer under the name the script gives it.
    assert "OutputBaseFilename=mlops-desk-{#AppVersion}-windows-setup" in ISS
    installer = windows.build_installer.__code__.co_consts
    assert any("-windows-setup.exe" in str(const) for const in installer)
    assert f"Exec={app_name}" in linux.DESKTOP_ENTRY and app_name == linux.PACKAGE


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="dpkg: Debian only")
def test_the_deb_control_file_carries_the_version() -> None:
    control = linux.control_file(__version__, ["libxcb-cursor0", "libegl1"], 1234)
    fields = dict(line.split(": ", 1) for line in control.splitlines() if ": " in line)
    assert fields["Version"] == __version__ and fields["Package"] == "mlops-desk"
    assert fields["Depends"] == "libxcb-cursor0, libegl1"


@pytest.mark.parametrize(("version", "numbers"), [
    ("0.1.0", (0, 1, 0, 0)), ("1.2", (1, 2, 0, 0)), ("2.0.1rc1", (2, 0, 1, 0)),
    ("1.2.3.4.5", (1, 2, 3, 4)),
])
def test_windows_version_numbers(version: str, numbers: tuple, tmp_path: Path) -> None:
    assert windows.version_tuple(version) == numbers
    text = windows.version_file(version, tmp_path / "version.txt").read_text()
    assert f"filevers={numbers}" in text and f"StringStruct('ProductVersion', '{version}')" in text
