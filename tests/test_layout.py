"""The house's layout: blueprints stand on services and shared modules, never on each other, and
services never reach up into a blueprint."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "petition"
BLUEPRINTS = sorted(
    path.parent.name
    for path in PACKAGE.glob("*/__init__.py")
    if "Blueprint(" in path.read_text(encoding="utf-8")
)


# Instrumentation every layer records into; it lives beside the operators' pages but is not one.
INSTRUMENTS = {"petition.ops.metrics", "petition.ops.logs", "petition.ops.error_reports"}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "petition" else None


def crossings(folder: Path, allowed: set[str]) -> list[str]:
    """Names imported by `folder`'s modules into blueprints other than those `allowed`."""
    return sorted(
        f"{path.relative_to(folder)} imports {module}"
        for path in folder.rglob("*.py")
        for module in _imports(path)
        if _package_of(module) in set(BLUEPRINTS) - allowed and module not in INSTRUMENTS
    )


def test_the_blueprints_are_found():
    assert {"admin", "api", "public", "widget", "osdi"} <= set(BLUEPRINTS)


def test_no_blueprint_imports_another():
    for blueprint in BLUEPRINTS:
        assert crossings(PACKAGE / blueprint, {blueprint}) == []


def test_services_and_mail_import_no_blueprint():
    assert crossings(PACKAGE / "services", set()) == []
    assert crossings(PACKAGE / "mail", set()) == []


def test_only_i18n_changes_the_language_spoken():
    """The language is remembered per context; `i18n.speaking` changes it for Flask-Babel and
    for that memory together. Flask-Babel's force_locale alone would leave the two apart."""
    forcing = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "flask_babel.force_locale" in _imports(path)
    )
    assert forcing == ["i18n.py"]


def test_the_check_sees_a_crossing(tmp_path):
    """Positive control: a module importing another blueprint's views is reported."""
    (tmp_path / "views.py").write_text("from petition.api.views import public_json\n")
    (tmp_path / "fine.py").write_text("from petition.json_responses import public_json\n")
    assert crossings(tmp_path, {"widget"}) == ["views.py imports petition.api.views.public_json"]
    assert crossings(tmp_path, {"widget", "api"}) == []
