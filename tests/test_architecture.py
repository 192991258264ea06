"""The import arrows of the README's architecture section, checked on the source."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.helpers import REPO, run_python, subprocess_env

PACKAGE = REPO / "aezoo"

# Which aezoo modules each layer may import (itself always allowed).
ALLOWED = {
    "models": {"aezoo.models"},
    "datasets": {"aezoo.datasets", "aezoo.errors"},
    "callbacks": {"aezoo.callbacks", "aezoo.files", "aezoo.interrupts", "aezoo.plotting", "aezoo.models.capabilities"},
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


def library_modules() -> list[Path]:
    """aezoo's library code: everything but the command line (commands/ and __main__ modules)."""
    return sorted(path for path in PACKAGE.rglob("*.py")
                  if path.parent.name != "commands" and path.name != "__main__.py")


@pytest.mark.parametrize("path", library_modules(), ids=lambda path: str(path.relative_to(PACKAGE.parent)))
def test_library_code_does_not_print(path):
    # Library functions return or log what they have to say; only the commands write to the console.
    calls = [node.lineno for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"]
    assert not calls, f"{path.relative_to(PACKAGE.parent)} calls print() on line(s) {calls}"


def calls_at_import(tree: ast.Module) -> list[ast.Call]:
    """The calls a module makes when imported: everything outside function bodies."""
    found: list[ast.Call] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            pending.extend(node.decorator_list if not isinstance(node, ast.Lambda) else [])
            continue
        if isinstance(node, ast.Call):
            found.append(node)
        pending.extend(ast.iter_child_nodes(node))
    return found


@pytest.mark.parametrize("forbidden", ["matplotlib.use", "os.umask"])
def test_no_process_wide_settings_at_import(forbidden):
    # Importing aezoo in a notebook must not change that notebook's plotting backend or file modes.
    for path in PACKAGE.rglob("*.py"):
        for call in calls_at_import(ast.parse(path.read_text())):
            assert ast.unparse(call.func) != forbidden, f"{path.relative_to(PACKAGE.parent)}:{call.lineno} calls {forbidden}"


def test_importing_the_library_leaves_the_backend_and_the_umask_alone():
    code = "\n".join([
        "import os, matplotlib",
        "matplotlib.use('pdf')",
        "umask_calls = []; real_umask = os.umask",
        "os.umask = lambda mask: umask_calls.append(mask) or real_umask(mask)",
        "import aezoo.training, aezoo.analysis, aezoo.tuning, aezoo.callbacks",
        "print(matplotlib.get_backend(), umask_calls)",
    ])
    result = run_python("-c", [code], env=subprocess_env(TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-1] == "pdf []"


# ----------------------------------------------------------------------------- the report


def module_file(name: str) -> Path | None:
    """The source file of aezoo module ``name`` (a module or a package), or None if it is not one."""
    path = PACKAGE.parent.joinpath(*name.split("."))
    return next((p for p in (path.with_suffix(".py"), path / "__init__.py") if p.is_file()), None)


def imported_modules(path: Path) -> set[str]:
    """Every aezoo module ``path`` imports, at import or in a function: ``from a import b`` counts ``a.b`` when it is a module."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("aezoo"):
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names
                         if module_file(f"{node.module}.{alias.name}"))
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("aezoo"))
    # Importing a.b.c runs a/__init__.py and a/b/__init__.py first.
    return {".".join(name.split(".")[:n]) for name in names for n in range(2, name.count(".") + 2)}


def import_closure(module: str) -> set[str]:
    seen: set[str] = set()
    pending = [module]
    while pending:
        name = pending.pop()
        path = module_file(name)
        if name in seen or path is None:
            continue
        seen.add(name)
        pending.extend(imported_modules(path))
    return seen


def test_training_imports_no_report_code():
    # The report is written by the analysis after training; training stays free of its HTML and words.
    reached = import_closure("aezoo.training")
    assert "aezoo.families" in reached  # the closure does follow imports
    assert not {name for name in reached if name.startswith(("aezoo.report", "aezoo.analysis"))}


def strings_shown(path: Path) -> list[tuple[int, str]]:
    """The string constants of ``path`` that are not docstrings: what it can write into a page or a card."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


# Words that name a quantity after a paper's model, not one of the zoo's families.
QUANTITIES = ("IWAE bound",)


def family_name_pattern() -> re.Pattern[str]:
    from aezoo.families import MODELS

    # Hyphens and underscores dropped on both sides: "VQ-VAE", "beta_vae" and "U-Net" are all names.
    return re.compile(r"\b(" + "|".join(re.escape(name.replace("_", "")) for name in MODELS) + r")\b", re.I)


@pytest.mark.parametrize("path", [*sorted((PACKAGE / "report").rglob("*.py")), PACKAGE / "model_card.py"],
                         ids=lambda path: str(path.relative_to(PACKAGE.parent)))
def test_the_report_and_the_model_card_name_no_family(path):
    # A family's own words come from its folder (summary, loss in words, analysis.py's measures).
    pattern = family_name_pattern()
    for line, text in strings_shown(path):
        for quantity in QUANTITIES:
            text = text.replace(quantity, "")
        found = pattern.search(text.replace("-", "").replace("_", ""))
        assert found is None, f"{path.relative_to(PACKAGE.parent)}:{line} names the family {found.group(0)!r}"


# ---------------------------------------------------------------------------------------------
# The family-folder layout: what a family is and can do is asked one way, outside its folder.

FAMILIES_FOLDER = PACKAGE / "families"
# The one module that reads a model's declared capabilities (everyone else asks it).
CAPABILITY_READER = PACKAGE / "models" / "capabilities.py"
# The one data table outside the family folders that names models: the leaderboard's claims.
TARGETS_TABLE = PACKAGE / "bench" / "targets.py"
# Keras's attribute a callback sets to end fit(): its public API, not an aezoo model's state.
KERAS_SETTABLE = {"stop_training"}


def _relative(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def modules_outside(*allowed: Path) -> list[Path]:
    """aezoo's modules outside the family folders and ``allowed`` folders or files."""
    return sorted(path for path in PACKAGE.rglob("*.py")
                  if not path.is_relative_to(FAMILIES_FOLDER) and not any(
                      path == place or path.is_relative_to(place) for place in allowed))


def _is_model(node: ast.AST) -> bool:
    """Whether an expression names a model: ``model``, ``self.model``, ``entry.model``, ``trained_model``,
    ``models[kind]``."""
    while isinstance(node, ast.Subscript):
        node = node.value
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    return name in ("model", "models") or name.endswith("_model")


def _model_probes(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args):
            continue
        probe = node.func.id == "hasattr" or (node.func.id == "getattr" and len(node.args) == 3)
        if probe and _is_model(node.args[0]):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("path", modules_outside(CAPABILITY_READER), ids=_relative)
def test_no_module_probes_a_model_for_what_it_can_do(path):
    # hasattr(model, "prior") or getattr(model, "codebook", None) outside its folder decides what a
    # family can do behind its back; a class declares capabilities and everyone asks has(model, ...).
    probes = _model_probes(ast.parse(path.read_text()))
    assert not probes, f"{_relative(path)} probes a model (ask aezoo.models.capabilities.has): {probes}"


def _model_names() -> set[str]:
    from aezoo.families import MODELS

    return set(MODELS)


def _docstrings(tree: ast.AST) -> set[int]:
    return {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}


def _family_names_in(tree: ast.AST, names: set[str]) -> list[str]:
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            words = {part.strip() for part in node.value.split(",")}
            if words & names and all(word in names for word in words):  # "vae" or "ae,vae"
                found.append(f"{node.lineno}: {node.value!r}")
    return found


@pytest.mark.parametrize("path", modules_outside(TARGETS_TABLE), ids=_relative)
def test_no_module_names_a_family_outside_its_folder_and_the_list(path):
    # A family named in a branch ("if kind == 'vae'") is a place the next family must be added by
    # hand; families are told apart by what they declare. The family list and the family folders
    # name them, and the leaderboard's claims are a data table (aezoo/bench/targets.py).
    found = _family_names_in(ast.parse(path.read_text()), _model_names())
    assert not found, f"{_relative(path)} names a model family: {found}"


def _model_mutations(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Attribute) and _is_model(part.value) and part.attr not in KERAS_SETTABLE:
                    found.append(f"{node.lineno}: {ast.unparse(target)} = ...")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr"
                and node.args and _is_model(node.args[0])):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("path", modules_outside(PACKAGE / "models"), ids=_relative)
def test_no_module_sets_attributes_on_a_model_from_outside_its_class(path):
    # A VQ-VAE given a `sample` method after construction is generative in memory and not once
    # loaded: what a model is comes from its class alone.
    found = _model_mutations(ast.parse(path.read_text()))
    assert not found, f"{_relative(path)} sets attributes on a model instance: {found}"


@pytest.mark.parametrize("check, source", [
    (_model_probes, "if hasattr(model, 'prior'): pass"),
    (_model_probes, "codebook = getattr(entry.model, 'codebook', None)"),
    (_model_mutations, "model.is_generative = True"),
    (_model_mutations, "setattr(trained_model, 'sample', draw)"),
    (_model_mutations, "models[kind].sampler = sampler"),
])
def test_the_layout_checks_see_what_they_forbid(check, source):
    assert check(ast.parse(source))


def test_the_family_name_check_sees_names_and_lists_but_not_prose():
    names = {"ae", "vae", "beta_vae"}
    assert _family_names_in(ast.parse("x = 'vae'\ny = ('ae,vae')"), names) == ["1: 'vae'", "2: 'ae,vae'"]
    assert not _family_names_in(ast.parse('"""the vae"""\nx = "a vae"\ny = "aes"'), names)
