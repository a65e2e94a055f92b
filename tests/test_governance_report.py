"""The governance metrics report for three ICBs, produced by the report command, and its figures on
the demo data."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from iwt_helpers.analysis import kpis  # noqa: E402
from iwt_helpers.data import datastore  # noqa: E402
from iwt_helpers.present import charts  # noqa: E402
from iwt_helpers.report import outputs, run_reports  # noqa: E402
from iwt_helpers.themes import governance_metrics as governance  # noqa: E402
from iwt_helpers.themes.params import ReportParams  # noqa: E402
from tests.test_governance_charts import assert_readable  # noqa: E402

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
    nb = outputs.read_notebook(reports / icb / "governance_metrics.ipynb")
    summary = next(t for t in outputs.collect(nb)["tables"] if t["name"] == "kpi_summary")
    df = pd.DataFrame(summary["table"]["data"], columns=summary["table"]["columns"])
    assert len(df) == n_kpis and df["Variation"].notna().all() and df["Assurance"].notna().all()
    defs = kpis.definitions().set_index("id")
    rolling = df["KPI id"].map(defs["rolling"]) > 0
    judged = int(((df["Points"] >= kpis.min_points()) & ~rolling & ~df["Synthetic"]).sum())
    assert judged == 1                                   # the demo's one real KPI: NHS trust staff month on month
    assert html.count('<svg width="26"') == 2 * judged   # a variation and an assurance icon per real KPI read with SPC
    assert set(df["Assurance"]) <= set(kpis.ASSURANCE_TEXT.values())          # icons in words, headers readable
    for name in ("recent_signals", "all_signals"):        # real KPIs' signals: sourced as theirs, not as every KPI's
        signals = next(t for t in outputs.collect(nb)["tables"] if t["name"] == name)
        assert signals["provenance"]["status"] == "real", (name, signals["provenance"])
        assert "SYNTHETIC" not in signals["provenance"]["source"]


@pytest.mark.parametrize("icb", ICBS)
def test_synthetic_kpis_sit_apart_with_no_reading_and_rolling_ones_are_run_charts(reports, icb):
    html = (reports / icb / "governance_metrics.html").read_text()
    nb = outputs.read_notebook(reports / icb / "governance_metrics.ipynb")
    summary = next(t for t in outputs.collect(nb)["tables"] if t["name"] == "kpi_summary")
    df = pd.DataFrame(summary["table"]["data"], columns=summary["table"]["columns"]).set_index("KPI id")
    synthetic = df[df["Synthetic"]]
    assert len(synthetic) and (synthetic["Variation"] == kpis.VARIATION_TEXT["synthetic"]).all()
    real_part, synthetic_part = html.split("Synthetic KPIs (demonstration data")
    assert '<svg width="26"' not in synthetic_part.split("</table>")[0]          # no icon in the synthetic table
    for name in synthetic["KPI"]:
        assert name not in real_part.split("Summary matrix")[-1].split("</table>")[0]
    for kpi in ("leaver_rate_nhs", "turnover_asc"):
        assert df.at[kpi, "Chart"] == kpis.CHART_TEXT["run"]
    assert df.at["nhs_trust_staff_mom_pct", "Chart"] == kpis.CHART_TEXT["xmr"]
    assert 'aria-label="Synthetic demonstration KPIs for' in html          # the synthetic figure states no finding
    assert "(synthetic)" not in real_part.split("Summary matrix")[-1].split("</table>")[0]


def test_icb_target_override_is_used(reports):
    nb = outputs.read_notebook(reports / "QK1" / "governance_metrics.ipynb")
    summary = next(t for t in outputs.collect(nb)["tables"] if t["name"] == "kpi_summary")
    df = pd.DataFrame(summary["table"]["data"], columns=summary["table"]["columns"]).set_index("KPI id")
    assert df.at["virtual_ward_capacity_pct", "Target"] == 100


@pytest.mark.parametrize("kpi", [governance.ALL, "nhs_trust_staff_mom_pct", "turnover_asc"])
def test_the_demo_report_figures_are_readable(kpi):
    ctx = governance.GovernanceContext.load(datastore.open_dataset(None), ReportParams.parse(icb_code="QOP"))
    with plt.rc_context():
        charts.use_style()                                     # the report's style (nb.setup)
        items = governance.charts_section(ctx, kpi=lambda: kpi)("QOP")
        assert items
        for item in items:
            assert_readable(item.fig)
            plt.close(item.fig)


def test_the_demo_report_draws_real_kpis_then_synthetic_ones_in_separate_figures():
    ctx = governance.GovernanceContext.load(datastore.open_dataset(None), ReportParams.parse(icb_code="QOP"))
    real, synthetic = governance.charts_section(ctx)("QOP")
    assert real.provenance.status == "real" and synthetic.provenance.status == "synthetic"
    assert "Synthetic demonstration KPIs" in synthetic.fig.get_suptitle()
    assert "read with SPC" in real.fig.get_suptitle()
    plt.close(real.fig)
    plt.close(synthetic.fig)


def test_the_matrix_says_which_way_is_better_and_who_set_each_target(reports):
    """A target means little without its direction and its origin: the matrix gives both (QK1 has set its own
    virtual ward target in kpi_targets.yaml; QOP has set none)."""
    qk1 = (reports / "QK1" / "governance_metrics.html").read_text()
    qop = (reports / "QOP" / "governance_metrics.html").read_text()
    matrix = qop.split("Summary matrix")[1].split("XmR charts")[0]
    assert "lower is better" in matrix and "higher is better" in matrix
    assert "Targets: iwt&#x27;s defaults (data/reference/kpis.yaml)" in qop and "has set none yet" in qop
    assert "has set its own for: Virtual ward capacity against ambition." in qk1
