"""The .deb layout and its computed Depends, on a small bundle holding Qt's real xcb plugin.

The bundle stands in for PyInstaller's output: the venv's ``libqxcb.so`` plus files named
like the Qt libraries it needs (PyInstaller bundles those, so they are not dependencies).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_desk import __version__

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packaging"))
import linux  # noqa: E402  (packaging/linux.py)

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("dpkg-deb", "objdump", "ldd")),
    reason="Debian packaging tools")


@pytest.fixture
def bundle(tmp_path: Path, qapp) -> Path:
    from PySide6 import QtCore

    plugins = Path(QtCore.QLibraryInfo.path(QtCore.QLibraryInfo.LibraryPath.PluginsPath))
    root = tmp_path / "mlops-desk"
    platforms = root / "_internal" / "PySide6" / "Qt" / "plugins" / "platforms"
    platforms.mkdir(parents=True)
    shutil.copy2(plugins / "platforms" / "libqxcb.so", platforms)
    for soname in linux.needed(platforms / "libqxcb.so"):
        if soname.startswith("libQt6"):
            (root / "_internal" / soname).write_bytes(b"bundled by PyInstaller")
    (root / "mlops-desk").write_text("#!/bin/sh\n")
    (root / "mlops-desk").chmod(0o755)
    return root


def test_depends_names_the_packages_of_the_xcb_plugins_libraries(bundle: Path) -> None:
    depends = linux.depends(bundle)
    for package in ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libx11-xcb1",
                    "libxkbcommon-x11-0", "libgl1"):
        assert package in depends
    assert not {"libc6", "libstdc++6"} & set(depends)
    assert not any(name.startswith("libqt6") for name in depends)


def test_the_deb_installs_under_opt_with_a_command_menu_entry_and_icons(
        bundle: Path, tmp_path: Path) -> None:
    deb = linux.build_deb(bundle, __version__, tmp_path / "out", tmp_path / "work")
    assert deb.name.startswith(f"mlops-desk_{__version__}_")
    field = lambda name: subprocess.run(  # noqa: E731
        ["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True,
        check=True).stdout.strip()
    assert field("Version") == __version__ and field("Package") == "mlops-desk"
    assert "libxcb-cursor0" in field("Depends").split(", ")
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                             check=True).stdout
    entries = {line.split()[5]: line for line in listing.splitlines()}
    assert "./opt/mlops-desk/mlops-desk" in entries
    assert entries["./usr/bin/mlops-desk"].rstrip().endswith("-> /opt/mlops-desk/mlops-desk")
    assert "./usr/share/applications/mlops-desk.desktop" in entries
    for size in (16, 48, 256):
        assert f"./usr/share/icons/hicolor/{size}x{size}/apps/mlops-desk.png" in entries
    assert "./usr/share/icons/hicolor/scalable/apps/mlops-desk.svg" in entries
    assert all(" root/root " in line for line in listing.splitlines())
    assert entries["./opt/mlops-desk/mlops-desk"].startswith("-rwxr-xr-x")
    compression = subprocess.run(["ar", "t", str(deb)], capture_output=True, text=True,
                                 check=True).stdout.split()
    assert "data.tar.zst" in compression  # zstd, not xz


def test_the_portable_tar_holds_the_bundle_and_its_desktop_entry(
        bundle: Path, tmp_path: Path) -> None:
    import tarfile

    archive = linux.build_tar(bundle, __version__, tmp_path / "out")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        owners = {(member.uid, member.gid) for member in tar.getmembers()}
    top = f"mlops-desk-{__version__}"
    assert {f"{top}/mlops-desk", f"{top}/mlops-desk.desktop", f"{top}/mlops-desk.svg"} <= names
    assert owners == {(0, 0)}
