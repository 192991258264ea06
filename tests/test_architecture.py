"""The import arrows of the README's architecture section, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "aezoo"

# Which aezoo modules each layer may import (itself always allowed).
ALLOWED = {
    "models": {"aezoo.models"},
    "datasets": {"aezoo.datasets", "aezoo.errors"},
    "callbacks": {"aezoo.callbacks", "aezoo.files", "aezoo.interrupts", "aezoo.plotting"},
}
FORBIDDEN_EVERYWHERE_BUT_TOP = ("aezoo.commands",)


def aezoo_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("aezoo"):
            names.add(node.module if node.module != "aezoo" else f"aezoo.{node.names[0].name}")
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("aezoo"))
    return names


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_lower_layers_import_only_what_they_may(layer):
    for path in (PACKAGE / layer).glob("*.py"):
        for name in aezoo_imports(path):
            assert any(name == allowed or name.startswith(allowed + ".") for allowed in ALLOWED[layer]), (
                f"{path.relative_to(PACKAGE.parent)} imports {name}")


def test_models_do_not_import_data_plotting_or_tuning_libraries():
    for path in (PACKAGE / "models").glob("*.py"):
        source = path.read_text()
        for library in ("matplotlib", "keras_tuner", "sklearn", "aezoo.datasets"):
            assert f"import {library}" not in source and f"from {library}" not in source, f"{path.name}: {library}"


def test_nothing_imports_the_entry_points():
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "commands" or path.name == "__main__.py":
            continue
        for name in aezoo_imports(path):
            assert not name.startswith(FORBIDDEN_EVERYWHERE_BUT_TOP), f"{path.relative_to(PACKAGE.parent)} imports {name}"


def test_no_private_keras_imports():
    for path in PACKAGE.rglob("*.py"):
        assert "keras.src" not in path.read_text(), path
