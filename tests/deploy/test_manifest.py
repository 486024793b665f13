"""The deployment manifest: complete, written atomically, and never holding a key."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlops_desk.core import deploy, registry, secrets
from tests.deploy.world import World

KEY = "sk-test-manifest-0123456789abcdef"


def test_manifest_has_the_deployed_config_and_no_key(world: World, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_KEY", KEY)
    registry.update_endpoint(world.store, "fake", api_key_ref=secrets.env_ref("TRIAGE_KEY"),
                             base_url="https://api.example.com/v1?api-key=abc")
    with world.store.transaction() as db:  # a password in the URL, stored by an older version
        db.execute("UPDATE endpoints SET base_url = "
                   "'https://user:hunter2@api.example.com/v1?api-key=abc' WHERE name = 'fake'")
    secrets.resolve("fake", "env:TRIAGE_KEY")  # the key is loaded, as it would be when serving
    out = tmp_path / "manifests"
    result = deploy.deploy(world.store, "triage", 2, "production", reason="r",
                           manifest_dir=out)
    assert result.manifest == out / "triage.production.json"
    text = result.manifest.read_text(encoding="utf-8")
    data = json.loads(text)
    version = world.version(2)
    assert {k: data[k] for k in ("model", "environment", "version", "fingerprint", "model_id",
                                 "system_prompt", "template", "params", "parser")} == {
        "model": "triage", "environment": "production", "version": 2,
        "fingerprint": version.fingerprint, "model_id": "fake-model",
        "system_prompt": "You are version 2.", "template": "Ticket: {text}",
        "params": {"temperature": 0}, "parser": "label"}
    assert data["endpoint"]["base_url"] == "https://api.example.com/v1"
    assert data["deployed_by"] and data["deployed_at"] == result.move.ts
    for secret in (KEY, "hunter2", "api-key=abc", "TRIAGE_KEY"):
        assert secret not in text
    assert [p.name for p in out.iterdir()] == ["triage.production.json"]  # no temp file left
    assert oct(os.stat(result.manifest).st_mode & 0o777) == "0o644"


def test_a_new_deploy_replaces_the_manifest(world: World, tmp_path: Path) -> None:
    deploy.deploy(world.store, "triage", 1, "production", manifest_dir=tmp_path)
    deploy.deploy(world.store, "triage", 3, "production", manifest_dir=tmp_path)
    data = json.loads((tmp_path / "triage.production.json").read_text())
    assert data["version"] == 3
    # Re-deploying the same version still (re)writes its manifest, with its original move.
    deploy.deploy(world.store, "triage", 3, "production", manifest_dir=tmp_path / "again")
    again = json.loads((tmp_path / "again" / "triage.production.json").read_text())
    assert again["deployment_id"] == data["deployment_id"]


def test_public_url_drops_credentials_and_query() -> None:
    assert deploy.public_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    assert deploy.public_url("https://u:p@h.example/v1?key=x#f") == "https://h.example/v1"
    assert deploy.public_url(None) is None
