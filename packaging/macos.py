"""macOS: the ``.app`` bundle (made by the spec's BUNDLE step) into a ``.dmg`` (on macOS only).

Signing and notarisation need an Apple Developer ID and run only when
``MLOPS_DESK_SIGN_IDENTITY`` (and, for notarisation, ``MLOPS_DESK_NOTARY_PROFILE``) are set;
packaging/README.md lists the steps.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
from pathlib import Path

APP_NAME = "MLOps Desk.app"


def bundle_version(app: Path) -> str:
    with (app / "Contents" / "Info.plist").open("rb") as handle:
        return plistlib.load(handle)["CFBundleShortVersionString"]


def sign(app: Path, identity: str, entitlements: Path | None = None) -> None:
    args = ["codesign", "--force", "--deep", "--timestamp", "--options", "runtime",
            "--sign", identity]
    if entitlements is not None:
        args += ["--entitlements", str(entitlements)]
    subprocess.run([*args, str(app)], check=True)
    subprocess.run(["codesign", "--verify", "--strict", "--verbose=2", str(app)], check=True)


def build_dmg(app: Path, version: str, out_dir: Path, work: Path) -> Path:
    identity = os.environ.get("MLOPS_DESK_SIGN_IDENTITY")
    if identity:
        sign(app, identity, Path(__file__).parent / "macos" / "entitlements.plist")
    staging = work / "dmg"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copytree(app, staging / APP_NAME, symlinks=True)
    (staging / "Applications").symlink_to("/Applications")
    out_dir.mkdir(parents=True, exist_ok=True)
    dmg = out_dir / f"mlops-desk-{version}-macos.dmg"
    dmg.unlink(missing_ok=True)
    subprocess.run(["hdiutil", "create", "-volname", f"MLOps Desk {version}", "-srcfolder",
                    str(staging), "-ov", "-format", "UDZO", str(dmg)], check=True)
    profile = os.environ.get("MLOPS_DESK_NOTARY_PROFILE")
    if identity and profile:
        subprocess.run(["codesign", "--sign", identity, "--timestamp", str(dmg)], check=True)
        subprocess.run(["xcrun", "notarytool", "submit", str(dmg), "--keychain-profile",
                        profile, "--wait"], check=True)
        subprocess.run(["xcrun", "stapler", "staple", str(dmg)], check=True)
    return dmg
