"""Windows: the executables' version resource and the Inno Setup installer (on Windows only).

``version_file`` writes the VSVersionInfo text PyInstaller embeds in ``mlops-desk.exe`` (so
Explorer's Properties show the version); ``build_installer`` runs Inno Setup's ``iscc`` on
``windows/mlops-desk.iss`` with the version passed in, so the script never repeats it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
ISS = HERE / "windows" / "mlops-desk.iss"


def version_tuple(version: str) -> tuple[int, int, int, int]:
    """``0.1.0`` -> (0, 1, 0, 0); a suffix like ``rc1`` is dropped (Windows wants numbers)."""
    parts = []
    for piece in version.split(".")[:4]:
        digits = re.match(r"\d*", piece).group()
        parts.append(int(digits or 0))
    return tuple([*parts, 0, 0, 0, 0][:4])  # type: ignore[return-value]


def version_file(version: str, path: Path) -> Path:
    numbers = version_tuple(version)
    strings = {
        "CompanyName": "MLOps Desk maintainers", "FileDescription": "MLOps Desk",
        "FileVersion": version, "InternalName": "mlops-desk", "OriginalFilename": "mlops-desk.exe",
        "ProductName": "MLOps Desk", "ProductVersion": version,
    }
    entries = ",\n            ".join(f"StringStruct({k!r}, {v!r})" for k, v in strings.items())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""VSVersionInfo(
  ffi=FixedFileInfo(filevers={numbers}, prodvers={numbers}, mask=0x3f, flags=0x0, OS=0x40004,
                    fileType=0x1, subtype=0x0, date=(0, 0)),
  kids=[
    StringFileInfo([StringTable('040904B0', [
            {entries}])]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
""", encoding="utf-8")
    return path


def find_iscc() -> str:
    found = shutil.which("iscc")
    if found:
        return found
    for base in (os.environ.get("PROGRAMFILES(X86)"), os.environ.get("PROGRAMFILES"),
                 os.environ.get("LOCALAPPDATA", "") + r"\Programs"):
        candidate = Path(base or "") / "Inno Setup 6" / "ISCC.exe"
        if base and candidate.exists():
            return str(candidate)
    raise RuntimeError("Inno Setup 6 is not installed (winget install JRSoftware.InnoSetup)")


def build_installer(version: str, bundle: Path, icon: Path, out_dir: Path) -> Path:
    subprocess.run([find_iscc(), f"/DAppVersion={version}", f"/DBundleDir={bundle}",
                    f"/DIconFile={icon}", f"/DOutputDir={out_dir}", str(ISS)], check=True)
    return out_dir / f"mlops-desk-{version}-windows-setup.exe"
