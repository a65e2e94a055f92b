"""The case-study library, the ranking of its initiatives, and the case_studies report for three
ICBs (one of them a case-study system) produced by the report runner."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

from iwt_helpers import config, paths
from iwt_helpers.analysis import case_studies as cs
from iwt_helpers.analysis import peers
from iwt_helpers.data import geography
from iwt_helpers.data.readiness_store import item_bank
from iwt_helpers.errors import ConfigError
from iwt_helpers.report import outputs, run_reports

unit, e2e = pytest.mark.unit, pytest.mark.e2e
ICBS = ("QOP", "QT6", "QE1")     # Greater Manchester (a case study, large), Cornwall (small, rural), Lancashire (large)
KEYS = {"peer_neighbours", "peer_comparison", "peer_measures", "adoptable_initiatives", "case_study_library"}


@pytest.fixture(scope="module")
def library():
    return cs.load_library()


@unit
def test_every_initiative_carries_at_least_one_valid_readiness_tag(library):
    _, initiatives = library
    raw = yaml.safe_load(paths.reference("readiness_items.yaml").read_text())
    ids = {i["id"] for i in raw["items"]}
    assert len(initiatives) >= 8
    for r in initiatives.itertuples():
        assert r.readiness and set(r.readiness) <= ids, r.initiative_id
        assert r.themes


@unit
def test_the_four_systems_have_the_icb_codes_of_the_icb_list(library):
    systems, _ = library
    icbs = geography.icbs().set_index("icb_short_name")["icb_code"]
    assert dict(zip(systems["system_id"], systems["icb_code"])) == {
        "south_yorkshire": icbs["South Yorkshire"], "one_devon": icbs["Devon"],
        "greater_manchester": icbs["Greater Manchester"], "llr": icbs["Leicester, Leicestershire and Rutland"]}


@unit
def test_the_library_holds_no_contact_details():
    text = paths.reference(cs.LIBRARY_FILE).read_text()
    assert not re.search(r"@|https?://|\bcontact\b.*\b[A-Z][a-z]+ [A-Z][a-z]+", text.split("systems:", 1)[1])


@unit
@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["systems"][0]["initiatives"][0].update(readiness=["Z9"]), r"initiatives\[0\]\.readiness\[0\]: .*'Z9'"),
    (lambda d: d["systems"][0]["initiatives"][0].update(readiness=[]), r"initiatives\[0\]\.readiness: .*\[\]"),
    (lambda d: d["systems"][0].update(icb_code="QXX"), r"systems\[0\]\.icb_code: .*'QXX'"),
    (lambda d: d["systems"][0].update(summary="write to someone@example.org"), "e-mail.*someone@example.org"),
])
def test_a_bad_library_is_refused_naming_the_file_and_entry(tmp_path, change, message):
    d = yaml.safe_load(paths.reference(cs.LIBRARY_FILE).read_text())
    change(d)
    f = tmp_path / "lib.yaml"
    f.write_text(yaml.safe_dump(d))
    with pytest.raises(ConfigError, match=message) as err:
        config.load(f, config.CaseStudyLibrary)
    assert str(f) in str(err.value)


@unit
def test_initiatives_are_ranked_by_the_summed_weighted_gap_of_their_items(library):
    _, initiatives = library
    ids = item_bank().ids
    plan = pd.DataFrame({"item_id": ids, "weighted_gap": [float(i % 4) for i in range(len(ids))]})
    plan = plan[plan["weighted_gap"] > 0].sort_values("weighted_gap", ascending=False, kind="mergesort")
    ranked = cs.rank_initiatives(initiatives, plan, 5)
    gaps = dict(zip(plan["item_id"], plan["weighted_gap"]))
    expected = [sum(gaps.get(t, 0.0) for t in tags) for tags in ranked["readiness"]]
    assert ranked["score"].tolist() == pytest.approx(expected)
    assert ranked["score"].is_monotonic_decreasing and ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    weakest = set(plan["item_id"].head(5))
    assert all(set(w) == set(tags) & weakest for w, tags in zip(ranked["weak_items"], ranked["readiness"]))


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = tmp_path_factory.mktemp("case_studies")
    s = run_reports(icb=",".join(ICBS), theme_spec="case_studies", out_dir=out, jobs=2, progress=False)
    assert s.exit_code == 0, s.failed
    return out


def _collected(reports, icb) -> dict:
    return outputs.collect(outputs.read_notebook(reports / icb / "case_studies.ipynb"))


def _df(table: dict) -> pd.DataFrame:
    return pd.DataFrame(table["table"]["data"], columns=table["table"]["columns"])


@e2e
@pytest.mark.parametrize("icb", ICBS)
def test_the_report_has_every_section_key_table_and_provenance(reports, icb):
    html = (reports / icb / "case_studies.html").read_text()
    for heading in ("Nearest peers", "Like for like", "What could we adopt", "Where the ICB sits", "case-study library"):
        assert heading in html
    tables = {t["name"]: t for t in _collected(reports, icb)["tables"]}
    assert KEYS <= set(tables)
    assert all(t.get("provenance", {}).get("status") in ("real", "synthetic", "mixed") for n, t in tables.items() if n in KEYS)
    nb = _df(tables["peer_neighbours"])
    assert len(nb) == 5 and icb not in set(nb["ICB"]) and nb["Distance"].is_monotonic_increasing
    assert nb["ICB"].tolist() == peers.nearest_peers(icb, 5)["icb_code"].tolist()
    assert tables["peer_neighbours"]["provenance"]["status"] == "real"          # no synthetic indicator
    comp = _df(tables["peer_comparison"])
    assert comp["ICB"].iloc[0] == icb and comp["ICB"].iloc[-1] == "ENG" and comp["Role"].iloc[0].startswith("This ICB")
    assert {"QF7", "QJK", "QOP", "QK1"} <= set(comp["ICB"]) and set(nb["ICB"]) <= set(comp["ICB"])
    assert tables["peer_comparison"]["provenance"]["status"] == "mixed"          # demo workforce beside real population
    status = _df(tables["peer_measures"]).set_index("Measure")["Status"]
    assert "synthetic" in status["NHS sickness absence (%)"].lower()
    assert status["Residents aged 65+ (%) and their growth"].startswith("published projection")   # ONS projections
    assert status["Unpaid carers per 100 residents 5+"].startswith("real")
    adopt = tables["adoptable_initiatives"]
    assert adopt["provenance"]["status"] == "mixed"      # demo readiness rounds (synthetic) beside the guide (real)
    assert "SYNTHETIC" in html.upper()


@e2e
def test_a_case_study_system_is_marked_as_this_icb_and_a_case_study(reports):
    t = next(t for t in _collected(reports, "QOP")["tables"] if t["name"] == "peer_comparison")
    comp = _df(t)
    assert comp.loc[comp["ICB"] == "QOP", "Role"].item() == "This ICB; Case study"
    assert (comp["ICB"] == "QOP").sum() == 1


@pytest.mark.unit
def test_an_icb_is_never_told_to_adopt_its_own_initiatives():
    systems, initiatives = cs.load_library()
    mine = systems.iloc[0]["icb_code"]
    plan = pd.DataFrame({"item_id": [t for tags in initiatives["readiness"] for t in tags], "weighted_gap": 1.0}).drop_duplicates("item_id")
    ranked = cs.rank_initiatives(initiatives, plan, 5, icb_code=mine)
    assert len(ranked) == (initiatives["icb_code"] != mine).sum() and mine not in set(ranked["icb_code"])
    assert len(cs.rank_initiatives(initiatives, plan, 5)) == len(initiatives)
