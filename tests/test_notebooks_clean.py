"""Notebooks are committed clean and follow the parameters-then-validate pattern."""

import json

import pytest

from iwt_helpers import paths
from iwt_helpers.report import themes

pytestmark = pytest.mark.unit

NOTEBOOKS = sorted(paths.NOTEBOOKS.glob("*.ipynb"))


def test_there_is_at_least_one_theme_notebook():
    assert "data" in themes.discover()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs_or_execution_counts(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name}: strip outputs before committing"
            assert cell.get("execution_count") is None, f"{path.name}: strip execution counts"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_is_followed_by_validation(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    tagged = [i for i, c in enumerate(code) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: exactly one cell tagged 'parameters'"
    params_src = "".join(code[tagged[0]]["source"])
    assert "icb_code" in params_src and "data_dir" in params_src
    following = "".join(code[tagged[0] + 1]["source"])
    assert "ReportParams.parse(" in following, f"{path.name}: validate parameters straight after the parameters cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_cells_stay_thin(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            lines = [ln for ln in "".join(cell["source"]).splitlines() if ln.strip() and not ln.strip().startswith("#")]
            assert len(lines) <= 20, f"{path.name}: a {len(lines)}-line cell belongs in iwt_helpers"
            assert "def " not in "".join(cell["source"]), f"{path.name}: functions belong in iwt_helpers"
