"""The readiness report for three ICBs of different sizes, produced by the report command: one ICB
from saved rounds (real, with HTML and formula text in its answers), two from the demo rounds."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from iwt_helpers.data import readiness_store as store
from iwt_helpers.report import outputs, run_reports

pytestmark = pytest.mark.e2e
ICBS = ("QOP", "QK1", "QOC")          # large (Greater Manchester), middle (Leicester, Leicestershire and Rutland), small (Shropshire)
KEYS = {"readiness_domains", "readiness_items", "readiness_disagreements", "readiness_action_plan", "readiness_answers"}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    (data / "datasets.json").write_text('{"dataset": "iwt processed data", "tables": {}}')   # every table from the demo set
    ids = store.item_bank().ids
    store.save_round("QOP", "ICB", "2024-03-31", [{"item_id": i, "score": 1} for i in ids], data)
    store.save_round("QOP", "Local authority", "2025-03-31",
                     [{"item_id": i, "score": 3, "evidence": "<script>alert('x')</script><img src=x onerror=alert(1)>",
                       "owner": "=HYPERLINK(\"http://example.invalid\")", "due_date": "2025-12-31"} for i in ids], data)
    store.save_round("QOP", "ICB", "2025-03-31", [{"item_id": i, "score": 1 if i == "V1" else 2} for i in ids], data)
    out = tmp_path_factory.mktemp("readiness")
    s = run_reports(icb=",".join(ICBS), theme_spec="readiness", data_dir=data, out_dir=out, jobs=2, progress=False)
    assert s.exit_code == 0, s.failed
    return out


def _tables(reports, icb) -> dict[str, pd.DataFrame]:
    nb = outputs.read_notebook(reports / icb / "readiness.ipynb")
    return {t["name"]: pd.DataFrame(t["table"]["data"], columns=t["table"]["columns"]) for t in outputs.collect(nb)["tables"]}


@pytest.mark.parametrize("icb", ICBS)
def test_every_section_and_key_table_is_written(reports, icb):
    html = (reports / icb / "readiness.html").read_text()
    for heading in ("System readiness by domain", "Partner by item", "Where partners disagree", "Action plan"):
        assert heading in html
    assert KEYS - {"readiness_disagreements"} <= set(_tables(reports, icb))
    plan = _tables(reports, icb)["readiness_action_plan"]
    assert plan["Weighted gap"].is_monotonic_decreasing and plan["Tip or resource that helps"].notna().all()


def test_saved_rounds_are_reported_as_real_and_escaped(reports):
    html = (reports / "QOP" / "readiness.html").read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    dis = _tables(reports, "QOP")["readiness_disagreements"]
    assert dis["Item"].tolist()[0] == "V1"            # 1 against 3: the widest spread
    wb = openpyxl.load_workbook(reports / "QOP" / "tables.xlsx")
    formula = [c for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    assert formula and all(c.data_type == "s" for c in formula)
    status = {r[0]: r[5] for r in wb["contents"].iter_rows(min_row=2, values_only=True)}
    assert status["readiness_action_plan"].startswith("real")


@pytest.mark.parametrize("icb", ICBS[1:])
def test_icbs_without_saved_rounds_show_the_demo_rounds_labelled_synthetic(reports, icb):
    html = (reports / icb / "readiness.html").read_text()
    assert "SYNTHETIC" in html.upper() and "no rounds saved for this ICB" in html
