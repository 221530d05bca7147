"""environment.yml and pyproject.toml ask for the same packages with the same lower bounds."""

from __future__ import annotations

import re
import tomllib

import yaml

from conftest import ROOT

# conda-forge names that differ from the PyPI requirement they stand for
CONDA_NAMES = {
    "uvicorn[standard]": "uvicorn-standard",
    "psycopg[binary]": "psycopg",
    "sqlalchemy[asyncio]": "sqlalchemy",
}


def requirement(spec: str) -> tuple[str, str]:
    spec = spec.split(";")[0].strip()
    name, bound = re.match(r"([A-Za-z0-9_.\-\[\]]+)\s*(.*)", spec).groups()
    return CONDA_NAMES.get(name.lower(), name.lower()), bound.replace(" ", "")


def test_environment_yml_agrees_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = dict(requirement(s) for s in project["dependencies"] + extras["test"] + extras["site"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed: dict[str, str] = {}
    for item in env["dependencies"]:
        if isinstance(item, dict):
            listed.update(requirement(s) for s in item["pip"] if not s.startswith("-e"))
        elif not item.startswith(("python", "pip")) or item.startswith("python-"):
            listed.update([requirement(item)])
    assert listed == wanted
    assert "-e ." in next(i for i in env["dependencies"] if isinstance(i, dict))["pip"]
