"""The governance metrics report for three ICBs, produced by the report command."""

import nbformat
import pandas as pd
import pytest

from iwt_helpers.analysis import kpis
from iwt_helpers.report import outputs, run_reports

pytestmark = pytest.mark.e2e
ICBS = ("QOP", "QK1", "QOC")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = tmp_path_factory.mktemp("gov")
    s = run_reports(icb=",".join(ICBS), theme_spec="governance_metrics", out_dir=out, jobs=2, progress=False)
    assert s.exit_code == 0, s.failed
    return out


@pytest.mark.parametrize("icb", ICBS)
def test_matrix_charts_and_signals_are_present(reports, icb):
    html = (reports / icb / "governance_metrics.html").read_text()
    assert "Summary matrix" in html and "XmR charts" in html and "Special causes in the last 12 months" in html
    n_kpis = len(kpis.definitions())                     # however many KPIs kpis.yaml defines
    nb = nbformat.read(reports / icb / "governance_metrics.ipynb", as_version=4)
    summary = next(t for t in outputs.collect(nb)["tables"] if t["name"] == "kpi_summary")
    df = pd.DataFrame(summary["table"]["data"], columns=summary["table"]["columns"])
    assert len(df) == n_kpis and df["Variation"].notna().all() and df["Assurance"].notna().all()
    judged = int((df["Points"] >= kpis.min_points()).sum())      # the annual staff survey has too few points
    assert 0 < judged < n_kpis
    assert html.count('<svg width="26"') == 2 * judged   # a variation and an assurance icon per KPI with enough points
    assert set(df["Assurance"]) <= set(kpis.ASSURANCE_TEXT.values())          # icons in words, headers readable


def test_icb_target_override_is_used(reports):
    nb = nbformat.read(reports / "QK1" / "governance_metrics.ipynb", as_version=4)
    summary = next(t for t in outputs.collect(nb)["tables"] if t["name"] == "kpi_summary")
    df = pd.DataFrame(summary["table"]["data"], columns=summary["table"]["columns"]).set_index("KPI id")
    assert df.at["virtual_ward_capacity_pct", "Target"] == 100
