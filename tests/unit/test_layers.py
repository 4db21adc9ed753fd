"""The house rules of the feature folders, checked on the source: the core imports no feature,
no feature imports another feature's pages, and queries import no rules or pages."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "gathering"
TOP = {"app", "cli", "demo", "demo_data", "housekeeping", "__main__"}
# What people reach over HTTP: only app.py puts these together.
WEB_MODULES = ("pages", "api", "feeds", "export_pages", "offline_api")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("gathering.")}


def _modules() -> list[tuple[str, str, Path]]:
    """(feature or top-level name, module name, path) of every module outside migrations."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if "migrations" in parts:
            continue
        found.append((parts[0], parts[-1], path))
    return found


def _is_web(name: str) -> bool:
    leaf = name.rsplit(".", 1)[-1]
    return leaf in WEB_MODULES or leaf.endswith("_pages")


def test_layers_core_imports_no_feature() -> None:
    wrong = [
        f"{path.relative_to(REPO)} imports {name}"
        for feature, _, path in _modules()
        if feature == "core"
        for name in _imports(path)
        if name.split(".")[1] not in ("core", "__version__")
    ]
    assert wrong == []


def test_layers_no_feature_imports_another_features_pages() -> None:
    wrong = [
        f"{path.relative_to(REPO)} imports {name}"
        for feature, _, path in _modules()
        if feature not in TOP
        for name in _imports(path)
        if len(name.split(".")) > 2
        and name.split(".")[1] not in (feature, "core")
        and _is_web(name)
    ]
    assert wrong == []


def test_layers_queries_import_no_rules_or_pages() -> None:
    wrong = [
        f"{path.relative_to(REPO)} imports {name}"
        for feature, module, path in _modules()
        if module.endswith("queries")
        for name in _imports(path)
        if _is_web(name) or name.rsplit(".", 1)[-1] == "rules"
    ]
    assert wrong == []
