"""dev.sh installs the system libraries of each Qt platform plugin it may load.

Checked against the plugins themselves: every library that PySide6's offscreen, xcb and
wayland plugins (and the xcb GL and wayland client integrations) name as NEEDED, beyond the
C/C++ runtime and Qt's own, must be in dev.sh's list for that platform.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packaging"))
import linux  # noqa: E402  (packaging/linux.py)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not shutil.which("objdump"),
    reason="ELF plugins and objdump: Linux only")

RUNTIME = {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libpthread.so.0",
           "libdl.so.2"}
PLUGINS = {
    "offscreen": ["platforms/libqoffscreen.so"],
    "xcb": ["platforms/libqxcb.so", "xcbglintegrations/*.so"],
    "wayland": ["platforms/libqwayland.so", "wayland-graphics-integration-client/*.so",
                "wayland-shell-integration/*.so", "wayland-decoration-client/*.so"],
}


def dev_sh_libraries(platform: str) -> dict[str, str]:
    """dev.sh's ``soname -> package`` list for ``platform`` (offscreen comes with each)."""
    text = (ROOT / "dev.sh").read_text()
    found = {}
    for name in {"offscreen", platform}:
        body = re.search(rf"^{name.upper()}_LIBS=\((.*?)^\)", text, re.S | re.M)
        assert body, f"no {name.upper()}_LIBS in dev.sh"
        for soname, package in re.findall(r'"([^":]+):([^"]+)"', body.group(1)):
            found[soname] = package
    return found


@pytest.mark.parametrize("platform", sorted(PLUGINS))
def test_dev_sh_lists_every_library_the_platform_plugin_needs(platform: str) -> None:
    from PySide6 import QtCore

    plugins = Path(QtCore.QLibraryInfo.path(QtCore.QLibraryInfo.LibraryPath.PluginsPath))
    files = [path for pattern in PLUGINS[platform] for path in sorted(plugins.glob(pattern))]
    assert files, f"no {platform} plugin under {plugins}"
    needed = {soname for path in files for soname in linux.needed(path)
              if soname not in RUNTIME and not soname.startswith("libQt6")}
    listed = dev_sh_libraries(platform)
    assert needed - set(listed) == set(), f"add these to dev.sh's {platform.upper()}_LIBS"
    assert "libxcb-cursor.so.0" in dev_sh_libraries("xcb")  # the one Qt's message names


def test_ldd_output_is_parsed_into_resolved_and_missing_libraries() -> None:
    text = ("\tlinux-vdso.so.1 (0x00007ffd)\n"
            "\tlibGL.so.1 => /lib/x86_64-linux-gnu/libGL.so.1 (0x00007f33)\n"
            "\tlibxcb-icccm.so.4 => not found\n")
    assert linux.parse_ldd(text) == {"libGL.so.1": "/lib/x86_64-linux-gnu/libGL.so.1",
                                     "libxcb-icccm.so.4": "not found"}


@pytest.mark.parametrize(("command", "env", "expected"), [
    ("test", {"DISPLAY": ":0"}, "offscreen"),
    ("app", {}, "offscreen"),
    ("app", {"DISPLAY": ":0"}, "offscreen xcb"),
    ("app", {"WAYLAND_DISPLAY": "wayland-0"}, "offscreen wayland"),
    ("app", {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "offscreen wayland xcb"),
    ("app", {"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "offscreen"),
    ("app", {"WAYLAND_DISPLAY": "w", "QT_QPA_PLATFORM": "xcb"}, "offscreen xcb"),
    ("package", {}, "offscreen xcb wayland"),
])
def test_dev_sh_picks_the_libraries_of_the_platform_qt_will_use(command, env, expected) -> None:
    import subprocess

    script = (ROOT / "dev.sh").read_text()
    function = re.search(r"^platforms_for\(\) \{.*?^\}", script, re.S | re.M).group(0)
    clean = {"PATH": "/usr/bin:/bin", **env}
    out = subprocess.run(["bash", "-c", f"{function}\nplatforms_for {command}"], env=clean,
                         capture_output=True, text=True, check=True).stdout
    assert out.split() == expected.split()
