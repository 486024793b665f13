"""pyproject lists packages explicitly (resources/ installs as mlops_desk.resources),
so a new subpackage left out of the list would be missing from wheels and installers."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "mlops_desk").rglob("__init__.py")
    }
    found.add("mlops_desk.resources")
    assert found - listed == set(), "add these packages to [tool.setuptools] packages"
    assert config["package-dir"] == {"mlops_desk.resources": "resources"}
    assert (ROOT / "resources" / "__init__.py").exists()
