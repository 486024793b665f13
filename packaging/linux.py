"""Linux packages from the one-folder build: a ``.deb`` and a portable ``.tar.gz``.

The ``.deb`` puts the app under ``/opt/mlops-desk``, links ``/usr/bin/mlops-desk`` to it,
and adds a ``.desktop`` entry and hicolor icons. Its ``Depends`` is computed, not typed:
every shared library that a bundled ELF file (the Qt plugins and libraries, the Python
extension modules) needs directly (``objdump -p``) from outside the bundle is located with
``ldd`` and mapped to its Debian package with ``dpkg -S``. A library ``ldd`` cannot find on
the build machine stops the build, because the package would then miss a dependency.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Iterable
from pathlib import Path

import icons

PACKAGE = "mlops-desk"
INSTALL_DIR = Path("opt") / PACKAGE
MAINTAINER = "MLOps Desk maintainers <mlops-desk@users.noreply.github.com>"
DESCRIPTION = ("desktop control panel for the models a team runs in production\n"
               " A registry of model versions, repeatable test batches, charts, gated deploys\n"
               " and a local OpenAI-compatible gateway, in one SQLite file.")
# The C library and the loader come with every system; naming them adds nothing.
BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}
LOADER = "ld-linux"  # the dynamic loader (libc6): ldd shows it without "=>"
_LDD_LINE = re.compile(r"^\s*(\S+)\s+=>\s+(not found|\S+)")
ELF_MAGIC = b"\x7fELF"

DESKTOP_ENTRY = """[Desktop Entry]
Type=Application
Name=MLOps Desk
GenericName=Model registry and deploys
Comment=Registry, test runs, charts and deploys for the models a team runs in production
Exec=mlops-desk
Icon=mlops-desk
Terminal=false
Categories=Development;
StartupWMClass=mlops-desk
"""


class MissingLibraries(RuntimeError):
    pass


def elf_files(bundle: Path) -> list[Path]:
    files = []
    for path in sorted(bundle.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                if handle.read(4) == ELF_MAGIC:
                    files.append(path)
    return files


def parse_ldd(text: str) -> dict[str, str]:
    """``soname -> resolved path`` (or ``"not found"``) from ``ldd`` output."""
    found = {}
    for line in text.splitlines():
        match = _LDD_LINE.match(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def needed(path: Path) -> list[str]:
    """The sonames ``path`` names as NEEDED (its direct dependencies)."""
    proc = subprocess.run(["objdump", "-p", str(path)], capture_output=True, text=True)
    return [line.split()[1] for line in proc.stdout.splitlines()
            if line.strip().startswith("NEEDED")]


def outside_libraries(bundle: Path, files: Iterable[Path]) -> dict[str, str]:
    """Libraries that files of the bundle load directly from the system: ``soname -> path``.

    Only direct (NEEDED) dependencies count: what those load in turn is their packages'
    business. A soname the bundle holds itself anywhere is not a system dependency.
    """
    bundled = {path.name for path in bundle.rglob("*.so*")}
    result: dict[str, str] = {}
    missing: dict[str, str] = {}
    for path in files:
        direct = [soname for soname in needed(path)
                  if soname not in bundled and not soname.startswith(LOADER)]
        if not direct:
            continue
        proc = subprocess.run(["ldd", str(path)], capture_output=True, text=True)
        resolved = parse_ldd(proc.stdout)
        for soname in direct:
            target = resolved.get(soname, "not found")
            if target.startswith(str(bundle)):
                continue
            if target == "not found":
                missing.setdefault(soname, path.name)
            else:
                result[soname] = target
    if missing:
        raise MissingLibraries(
            "these libraries are not installed on the build machine, so the package's "
            "dependencies cannot be computed: "
            f"{', '.join(f'{lib} (for {user})' for lib, user in sorted(missing.items()))} "
            "(install them, e.g. with './dev.sh package')")
    return result


def _twins(path: str) -> list[str]:
    """``path``, its real path, and their /usr-merged twins (dpkg knows only one of them)."""
    found = [path, os.path.realpath(path)]
    for candidate in list(found):
        if candidate.startswith("/usr/lib/"):
            found.append(candidate[len("/usr"):])
        elif candidate.startswith("/lib/"):
            found.append("/usr" + candidate)
    return list(dict.fromkeys(found))


def owning_packages(paths: Iterable[str], *, strict: bool = True) -> dict[str, str]:
    """``path -> Debian package`` for each of ``paths``, with one ``dpkg -S`` call (each
    call reads the whole package database, about a second). ``strict=False`` leaves out
    paths no package owns instead of failing."""
    paths = list(paths)
    candidates = sorted({twin for path in paths for twin in _twins(path)})
    proc = subprocess.run(["dpkg", "-S", *candidates], capture_output=True, text=True)
    owner = {}
    for line in proc.stdout.splitlines():  # "libgl1:amd64: /usr/lib/x86_64-linux-gnu/libGL.so.1"
        packages, _, owned = line.rpartition(": ")
        owner[owned.strip()] = packages.split(",")[0].split(":")[0].strip()
    result = {}
    for path in paths:
        package = next((owner[twin] for twin in _twins(path) if twin in owner), None)
        if package is not None:
            result[path] = package
        elif strict:
            raise MissingLibraries(f"no Debian package owns {path}")
    return result


def depends(bundle: Path) -> list[str]:
    libraries = outside_libraries(bundle, elf_files(bundle))
    packages = set(owning_packages(libraries.values()).values())
    return sorted(packages - BASE_PACKAGES)


def control_file(version: str, depends_on: list[str], installed_kib: int) -> str:
    return (f"Package: {PACKAGE}\nVersion: {version}\nSection: devel\nPriority: optional\n"
            f"Architecture: {_arch()}\nMaintainer: {MAINTAINER}\n"
            f"Installed-Size: {installed_kib}\nDepends: {', '.join(depends_on)}\n"
            f"Homepage: https://github.com/mlops-desk/mlops-desk\n"
            f"Description: {DESCRIPTION}\n")


def _tree_kib(root: Path) -> int:
    # Symlinks (PyInstaller links duplicate libraries) take no room of their own.
    return sum(p.stat().st_size for p in root.rglob("*")
               if p.is_file() and not p.is_symlink()) // 1024 + 1


def build_deb(bundle: Path, version: str, out_dir: Path, work: Path) -> Path:
    root = work / "deb-root"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(bundle, root / INSTALL_DIR, symlinks=True)
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / PACKAGE).symlink_to(f"/{INSTALL_DIR}/{PACKAGE}")
    share = root / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    (share / "applications" / f"{PACKAGE}.desktop").write_text(DESKTOP_ENTRY)
    icons.hicolor_tree(share)
    depends_on = depends(bundle)
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN" / "control").write_text(
        control_file(version, depends_on, _tree_kib(root)))
    for path in root.rglob("*"):  # dpkg-deb refuses group/world-writable control dirs
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
    out_dir.mkdir(parents=True, exist_ok=True)
    deb = out_dir / f"{PACKAGE}_{version}_{_arch()}.deb"
    # zstd -10: a third smaller than gzip -9 and several times faster to build and unpack
    # (dpkg reads zstd since Debian 12 / Ubuntu 21.10).
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zzstd", "-z10", "--threads-max=2",
                    "--build", str(root), str(deb)], check=True, stdout=subprocess.DEVNULL)
    return deb


def _arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()


def build_tar(bundle: Path, version: str, out_dir: Path) -> Path:
    """``mlops-desk-VERSION-linux-ARCH.tar.gz`` holding ``mlops-desk-VERSION/``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    machine = os.uname().machine
    archive = out_dir / f"{PACKAGE}-{version}-linux-{machine}.tar.gz"
    top = f"{PACKAGE}-{version}"

    def owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    entry = DESKTOP_ENTRY.encode()
    info = owned_by_root(tarfile.TarInfo(f"{top}/{PACKAGE}.desktop"))
    info.size, info.mode = len(entry), 0o644
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=top, filter=owned_by_root)
        tar.addfile(info, io.BytesIO(entry))
        tar.add(icons.APP_SVG, arcname=f"{top}/{PACKAGE}.svg", filter=owned_by_root)
    return archive
