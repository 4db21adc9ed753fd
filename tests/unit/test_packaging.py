"""The built wheel carries everything the service needs: every module, the migrations, and the
top-level templates/ and static/ folders (placed inside the package), so a plain
``pip install gathering-*.whl`` serves pages without a checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _source_packages() -> set[str]:
    folders = {p.parent for p in (REPO / "gathering").rglob("*.py")}
    return {".".join(f.relative_to(REPO).parts) for f in folders if "__pycache__" not in f.parts}


def test_packaging_lists_every_package_with_modules() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    data = {"gathering.templates", "gathering.static", "gathering.data"}  # files, no modules
    assert _source_packages() | data == listed


def test_packaging_wheel_carries_modules_templates_and_static(tmp_path: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.split()
    source = tmp_path / "source"
    for name in tracked:  # a copy, so the build writes nothing into the checkout
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    build = ["wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(source)]
    subprocess.run(
        [sys.executable, "-m", "pip", *build],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("gathering-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    expected = {
        name if name.startswith("gathering/") else f"gathering/{name}"
        for name in tracked
        if name.split("/", 1)[0] in {"gathering", "templates", "static"}
    }
    assert expected - names == set()
    assert "gathering/core/migrations/script.py.mako" in names
    assert "gathering/templates/base.html" in names
