"""Every caveat each theme's report shows, on the demo data and on a folder that falls back to it, is an
entry of data/reference/caveats.yaml for that theme; the scenario inputs' notes are entries of the file.
Integration: each theme's inputs are loaded from a data set as the reports load them (the unit tests of
the file, the doc and the wording are in test_caveats.py)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from iwt_helpers.analysis.scenarios import config as sc_config
from iwt_helpers.analysis.scenarios import inputs as sc_inputs
from iwt_helpers.data import readiness_store
from iwt_helpers.data.datastore import open_dataset
from iwt_helpers.present import caveats
from iwt_helpers.present import notebook as nb
from iwt_helpers.themes import wording
from iwt_helpers.themes.params import ReportParams

pytestmark = pytest.mark.integration

ICB = "QOP"


# --------------------------------------------------------------------------- every report's caveats are the file's


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A data folder with no tables (every table falls back to the demo set) and one readiness round
    saved for the ICB: the caveats shown only on such data."""
    data = tmp_path_factory.mktemp("data")
    (data / "datasets.json").write_text(json.dumps({"dataset": "iwt processed data", "tables": {}}))
    readiness_store.save_round(ICB, "ICB", "2025-03-31", [{"item_id": i, "score": 2} for i in readiness_store.item_bank().ids], data)
    return data


def _theme_notes(data_dir) -> dict[str, list[str]]:
    """Each theme's caveat list for the ICB, with those every report adds, as the notebooks call them."""
    from iwt_helpers.themes import case_studies, governance_metrics, readiness, scenarios
    from iwt_helpers.themes import data as data_theme

    ds = open_dataset(data_dir)
    params = ReportParams.parse(icb_code=ICB, data_dir=str(data_dir or ""), n_runs=10)
    notes = {
        "data": data_theme.caveats(data_theme.DataContext.load(ds, params)),
        "readiness": readiness.caveats(readiness.ReadinessContext.load(ds, params), ICB),
        "governance_metrics": governance_metrics.caveats(),
        "case_studies": case_studies.caveats(case_studies.CaseStudyContext.load(ds, params), ICB),
        "scenarios": scenarios.caveats(scenarios.ScenarioContext.load(ds, params), ICB),
    }
    return {theme: nb.caveat_notes(ds, n) for theme, n in notes.items()}


@pytest.mark.parametrize("data_dir", ["demo", "folder"])
def test_every_caveat_a_report_shows_is_an_entry_of_the_file_for_its_theme(data_dir, folder):
    shown = _theme_notes(None if data_dir == "demo" else folder)
    wrong = []
    for theme, notes in shown.items():
        assert notes, theme
        for note in notes:
            cid = caveats.identify(note)
            if cid is None or theme not in caveats.entries()[cid].themes:
                wrong.append(f"{theme}: {note[:90]} ({cid or 'not in the file'})")
    assert not wrong, "\n".join(wrong)
    ids = {theme: [caveats.identify(n) for n in notes] for theme, notes in shown.items()}
    assert ids["readiness"][1] == ids["case_studies"][-2] == ("A35.demo" if data_dir == "demo" else "A35.saved")
    assert ("A8.fell_back" in ids["data"]) == (data_dir == "folder")
    assert all(i[0] == "A8" for i in ids.values())            # the demo's synthetic tables, said first


def test_the_scenario_inputs_notes_are_caveats_of_the_file():
    """A horizon past the population projections and leaving by age from an extract: the two notes the
    scenario inputs return, as ids and the names their texts fill."""
    from iwt_helpers.themes import data as data_theme
    ctx = data_theme.DataContext.load(open_dataset(None), ReportParams.parse(icb_code=ICB))
    lr = pd.DataFrame([{"year": 2025, "icb_code": ICB, "sector": "nhs_trust", "staff_group": "support_to_clinical", "age_band": b,
                        "staff_in_post": 100.0, "leavers": 10.0, "months": 12, "source": "extract"} for b in sc_config.AGE_BANDS])
    inp = sc_inputs.build(ctx.t, ctx.snapshot, 60, [ICB], leaving_rates=lr)
    assert [cid for cid, _ in inp.notes] == ["A2.horizon", "A24.extract"]
    for cid, values in inp.notes:
        assert caveats.identify(wording.caveat(cid, **values)) == cid and "scenarios" in caveats.entries()[cid].themes


