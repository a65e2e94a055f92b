"""The package's layers import one way only, and no module imports itself round a cycle."""

import ast
from pathlib import Path

import pytest

from iwt_helpers import paths
from tests import source_trees

pytestmark = pytest.mark.unit

PKG = paths.ROOT / "iwt_helpers"
BASE = {"iwt_helpers", "iwt_helpers.paths", "iwt_helpers.atomic", "iwt_helpers.vocab", "iwt_helpers.errors"}
# layer -> the layers its modules may import (besides the base modules). No layer imports themes:
# a theme module is one notebook's wording and layout, imported by its notebook only; what the
# themes, the runner, the app and the CLI share (the model's inputs, the report parameters,
# provenance, the readiness rounds and form) lives in analysis or present.
ALLOWED = {
    "base": set(),
    "data": {"data"},
    "analysis": {"data", "analysis"},
    "present": {"data", "present"},
    "themes": {"data", "analysis", "present"},
    "report": {"data", "analysis", "present", "report"},
    "app": {"data", "analysis", "present", "app"},
    "cli": {"data", "analysis", "present", "report", "app"},
}
# The one exception: the wording the themes share (ICB names, labels of codes, caveat texts), which
# a theme, the runner, the app and the CLI may import by name.
SHARED_THEME_MODULES = {"iwt_helpers.themes.wording"}
SHARED_FROM = {"themes", "report", "app", "cli"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(paths.ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    if module in BASE or module.startswith("iwt_helpers.config"):   # the config package is base too
        return "base"
    if module == "iwt_helpers.cli":
        return "cli"
    return module.split(".")[1]


def imports(path: Path) -> set[str]:
    """iwt modules imported by a file (module level and inside functions), relative ones resolved."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.walk(source_trees.tree(path)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("iwt_helpers"):
                continue
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                is_mod = (PKG.parent / Path(*sub.split("."))).with_suffix(".py").exists() or (
                    PKG.parent / Path(*sub.split(".")) / "__init__.py").exists()
                found.add(sub if is_mod else mod)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("iwt_helpers")}
    return found - {me}


MODULES = {module_name(p): p for p in PKG.rglob("*.py")}


def allowed(mine: str, module: str) -> bool:
    """May a module of layer ``mine`` import ``module``?"""
    theirs = layer(module)
    if theirs == "themes":
        return module in SHARED_THEME_MODULES and mine in SHARED_FROM
    return theirs == "base" or theirs in ALLOWED[mine]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers_only(module):
    mine = layer(module)
    wrong = sorted(m for m in imports(MODULES[module]) if not allowed(mine, m))
    shared = f" and {sorted(SHARED_THEME_MODULES)}" if mine in SHARED_FROM else ""
    assert not wrong, f"{module} ({mine} layer) imports {wrong}; allowed: base, {sorted(ALLOWED[mine])}{shared}"


def test_no_theme_is_imported_by_the_cli_analysis_app_runner_or_another_theme():
    """Checked on the modules that did import one (the data theme's context was the scenario command's
    and two other themes' way in), so a rule that stopped matching them would fail here."""
    for importer, theme in (("iwt_helpers.cli", "iwt_helpers.themes.data"),
                            ("iwt_helpers.themes.scenarios", "iwt_helpers.themes.data"),
                            ("iwt_helpers.themes.case_studies", "iwt_helpers.themes.readiness"),
                            ("iwt_helpers.app.readiness_app", "iwt_helpers.themes.readiness"),
                            ("iwt_helpers.report.runner", "iwt_helpers.themes.params"),
                            ("iwt_helpers.analysis.system_data", "iwt_helpers.themes.wording")):
        assert not allowed(layer(importer), theme), (importer, theme)
        assert theme not in imports(MODULES[importer]), (importer, theme)
    assert allowed("themes", "iwt_helpers.themes.wording") and allowed("cli", "iwt_helpers.themes.wording")


def test_no_import_cycles_between_modules():
    graph = {m: {i for i in imports(p) if i in MODULES and not MODULES[i].name == "__init__.py"} for m, p in MODULES.items()}
    state: dict[str, int] = {}

    def visit(m, trail):
        state[m] = 1
        for n in graph.get(m, ()):
            if state.get(n) == 1:
                raise AssertionError(f"import cycle: {' -> '.join(trail + [m, n])}")
            if not state.get(n):
                visit(n, trail + [m])
        state[m] = 2

    for m in sorted(graph):
        if not state.get(m):
            visit(m, [])
