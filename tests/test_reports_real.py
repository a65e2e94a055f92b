"""Reports written by the report command on data built from the shared real files."""

import pandas as pd
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.realdata]


@pytest.fixture(scope="module")
def built(built_real):
    return built_real


def test_governance_and_data_reports_run_on_the_built_data(built, tmp_path):
    import nbformat

    from iwt_helpers.report import outputs, run_reports
    out, _, _ = built
    s = run_reports(icb="QOP", theme_spec="all", data_dir=str(out), out_dir=tmp_path, jobs=2, progress=False)
    assert s.exit_code == 0, s.failed
    nb = nbformat.read(tmp_path / "QOP" / "governance_metrics.ipynb", as_version=4)
    summary = next(t for t in outputs.collect(nb)["tables"] if t["name"] == "kpi_summary")
    df = pd.DataFrame(summary["table"]["data"], columns=summary["table"]["columns"]).set_index("kpi_id")
    assert not df.at["sickness_absence_nhs", "synthetic"] and df.at["sickness_absence_nhs", "points"] == 12
    assert df.at["time_to_fill_days", "synthetic"]            # not in the published files: demo, labelled
    html = (tmp_path / "QOP" / "data.html").read_text()
    assert "synthetic demonstration figures" in html and "vacancies" in html
