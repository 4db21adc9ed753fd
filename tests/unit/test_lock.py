"""The lock files pin every declared dependency, at a version the declaration allows, with hashes:
a build next month installs what was tested. `make lock` remakes them from pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?: ; (.+?))? \\$", re.M)


def _pins(name: str) -> dict[str, str]:
    """Name → the version pinned for this interpreter (a lock for several Pythons may pin a
    package twice, under markers)."""
    text = (REPO / "requirements" / name).read_text(encoding="utf-8")
    return {
        canonicalize_name(m[1]): m[2]
        for m in PIN.finditer(text)
        if m[3] is None or Marker(m[3]).evaluate()
    }


@pytest.mark.parametrize(
    ("lock", "declared"),
    [
        ("main.txt", PROJECT["dependencies"]),
        ("dev.txt", PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"]),
    ],
)
def test_lock_pins_every_declared_dependency(lock: str, declared: list[str]) -> None:
    pins = _pins(lock)
    for line in declared:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is declared but not in requirements/{lock}: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements/{lock} pins {name}=={pins[name]}, outside {requirement.specifier}"
        )


@pytest.mark.parametrize("lock", ["main.txt", "dev.txt"])
def test_lock_every_pin_has_a_hash(lock: str) -> None:
    blocks = re.split(r"\n(?=\S)", (REPO / "requirements" / lock).read_text(encoding="utf-8"))
    pinned = [b for b in blocks if PIN.match(b)]
    assert pinned
    assert all("--hash=sha256:" in block for block in pinned)
