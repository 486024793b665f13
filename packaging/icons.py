"""The app icon (resources/icons/app.svg) rendered at the sizes each platform wants.

Rendered with QtSvg at build time, so the SVG stays the only icon source in the repository.
Linux wants hicolor PNGs, Windows an .ico (Qt's ico image plugin writes it), macOS an .icns
(iconutil, on macOS only).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_SVG = ROOT / "resources" / "icons" / "app.svg"
HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 128, 256, 512)


def _app():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    return QGuiApplication.instance() or QGuiApplication([])


def render(size: int):
    """The app icon as a ``QImage`` of ``size`` × ``size`` pixels."""
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app()
    renderer = QSvgRenderer(str(APP_SVG))
    if not renderer.isValid():
        raise RuntimeError(f"cannot read {APP_SVG}")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def write_png(size: int, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not render(size).save(str(path), "PNG"):
        raise RuntimeError(f"cannot write {path}")
    return path


def hicolor_tree(share: Path) -> list[Path]:
    """``share/icons/hicolor/NxN/apps/mlops-desk.png`` for each size, plus the SVG."""
    written = [write_png(size, share / "icons" / "hicolor" / f"{size}x{size}" / "apps"
                         / "mlops-desk.png") for size in HICOLOR_SIZES]
    scalable = share / "icons" / "hicolor" / "scalable" / "apps" / "mlops-desk.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(APP_SVG, scalable)
    return [*written, scalable]


def write_ico(path: Path) -> Path:
    """A 256 px .ico (Qt's ico plugin writes one image; Windows scales it down)."""
    from PySide6.QtGui import QImageWriter

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = QImageWriter(str(path), b"ico")
    if not writer.canWrite() or not writer.write(render(256)):
        raise RuntimeError(f"cannot write {path}: {writer.errorString()}")
    return path


def write_icns(path: Path, workdir: Path) -> Path:
    """An .icns through macOS's iconutil (only on macOS)."""
    iconset = workdir / "mlops-desk.iconset"
    iconset.mkdir(parents=True, exist_ok=True)
    for size in ICNS_SIZES:
        write_png(size, iconset / f"icon_{size}x{size}.png")
        write_png(size * 2, iconset / f"icon_{size}x{size}@2x.png")
    subprocess.run(["iconutil", "-c", "icns", str(iconset), "-o", str(path)], check=True)
    return path
