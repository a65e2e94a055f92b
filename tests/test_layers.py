"""The package's layers import one way only, and no module imports itself round a cycle."""

import ast
from pathlib import Path

import pytest

from iwt_helpers import paths

pytestmark = pytest.mark.unit

PKG = paths.ROOT / "iwt_helpers"
BASE = {"iwt_helpers", "iwt_helpers.paths", "iwt_helpers.atomic", "iwt_helpers.vocab", "iwt_helpers.errors"}
# layer -> the layers its modules may import (besides the base modules and themselves)
ALLOWED = {
    "base": set(),
    "data": {"data"},
    "analysis": {"data", "analysis"},
    "present": {"data", "present"},
    "themes": {"data", "analysis", "present", "themes"},
    "report": {"data", "analysis", "present", "themes", "report"},
    "app": {"data", "analysis", "present", "themes", "app"},
    "cli": {"data", "analysis", "present", "themes", "report", "app"},
}


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
    for node in ast.walk(ast.parse(path.read_text())):
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


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers_only(module):
    mine = layer(module)
    wrong = sorted(m for m in imports(MODULES[module]) if layer(m) != "base" and layer(m) not in ALLOWED[mine])
    assert not wrong, f"{module} ({mine} layer) imports {wrong}; allowed: base and {sorted(ALLOWED[mine])}"


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
