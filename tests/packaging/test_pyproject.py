"""The install reads our pyproject.toml without deprecation warnings, on a setuptools without
the known advisories (issue 18: CVE-2022-40897 and later, fixed by 78.1.1)."""

import re
import tomllib
import warnings
from pathlib import Path

import setuptools
from setuptools.config.pyprojecttoml import apply_configuration
from setuptools.dist import Distribution

ROOT = Path(__file__).resolve().parents[2]
FLOOR = (78, 1, 1)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def test_project_metadata_applies_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dist = apply_configuration(Distribution(), ROOT / "pyproject.toml")
    assert dist.metadata.license_expression == "Apache-2.0"


def test_build_and_venv_require_a_setuptools_without_known_advisories() -> None:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    floor = next(r for r in requires if r.startswith("setuptools"))
    assert _version(floor.split(">=", 1)[1]) >= FLOOR
    makefile = (ROOT / "Makefile").read_text()
    assert "'setuptools>=78.1.1'" in makefile.split("venv $(VENV)", 1)[1].split("touch", 1)[0]
    assert _version(setuptools.__version__) >= FLOOR
