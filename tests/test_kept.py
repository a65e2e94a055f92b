"""A warm kernel writes report after report: what every report works out from the tables alone is kept
for the next over the same data and parameters but the ICB (issue #29), and each report still lists the
tables it stands on, whether it worked them out or found them kept."""

from __future__ import annotations

import json
import os

import pytest

from iwt_helpers.analysis import kept, system_data
from iwt_helpers.analysis.params import ReportParams
from iwt_helpers.analysis.system_data import SystemData
from iwt_helpers.data import datastore


def _load(icb: str = "QOP", data_dir: str = "", **params) -> SystemData:
    return SystemData.load(datastore.open_dataset(data_dir or None),
                           ReportParams.parse(icb_code=icb, data_dir=str(data_dir), **params))


def _work(data: SystemData, icb: str) -> list:
    """Some of what a data report works out: all ICBs' (snapshot, funnels, NHS trusts attributed) and the ICB's."""
    return [data.snapshot, data.funnels, data.nhs_attribution, data.place_frame(icb),
            data.measure("nhs_vacancy_rate", icb), *data.latest_pressure_rows(icb)]


@pytest.mark.integration
def test_a_later_report_over_the_same_data_finds_the_work_kept_and_lists_the_same_tables():
    system_data._KEPT.clear()
    first = _load("QOP")
    done = _work(first, "QE1")
    later = _load("QE1")                                   # another report: another ICB, a new data set
    assert later.t is first.t
    assert later.memo(("property", "snapshot"), lambda: pytest.fail("worked out again")) is first.snapshot
    again = _work(later, "QE1")
    assert all(a is b for a, b in zip(done, again))        # the same objects: nothing worked out again
    # what a report lists as read is what it lists when it works everything out itself
    system_data._KEPT.clear()
    fresh = _load("QE1")
    _work(fresh, "QE1")
    assert fresh.snapshot is not first.snapshot
    assert later.ds.provenance().equals(fresh.ds.provenance())
    assert list(later.ds.provenance()["table"]) == list(fresh.ds.provenance()["table"])
    assert {"deprivation", "rurality"} <= set(later.ds.provenance()["table"])        # read by place_frame, kept


@pytest.mark.integration
def test_other_parameters_or_another_version_of_a_file_are_not_served_kept_work(tmp_path):
    system_data._KEPT.clear()
    a = _load("QOP")
    assert _load("QHG").snapshot is a.snapshot
    other_rule = _load("QOP", regional_trusts="exclude")
    assert other_rule.nhs_attribution is not a.nhs_attribution
    assert other_rule.nhs_attribution.rule != a.nhs_attribution.rule
    (tmp_path / "datasets.json").write_text(json.dumps({"dataset": datastore.PROCESSED_MARK, "tables": {}}))
    folder = _load("QOP", tmp_path)                                     # another data folder (every table from the demo)
    assert folder.snapshot is not a.snapshot and folder.snapshot.equals(a.snapshot)
    assert len(system_data._KEPT) <= kept.KEPT
    note = tmp_path / "build_report.json"                                # a file of the folder written again
    note.write_text("{}")
    before = _load("QOP", tmp_path)
    os.utime(note, ns=(note.stat().st_atime_ns, note.stat().st_mtime_ns + 1_000_000))
    assert _load("QOP", tmp_path).snapshot is not before.snapshot


@pytest.mark.unit
def test_work_is_kept_once_with_the_tables_it_read_and_an_error_keeps_nothing():
    ds = datastore.open_dataset(None)
    store: dict = {}
    calls = []

    def compute():
        calls.append(1)
        ds.table("pay")
        ds.table("flows")
        ds.table("pay")                                    # read twice: listed once, where first read
        return "figures"
    assert kept.once(ds, store, "k", compute) == "figures"
    assert [name for name, _ in store["k"][1]] == ["pay", "flows"]
    other = datastore.open_dataset(None)
    assert kept.once(other, store, "k", compute) == "figures" and calls == [1]
    assert list(other.provenance()["table"]) == ["pay", "flows"]
    with pytest.raises(ZeroDivisionError):
        kept.once(ds, store, "bad", lambda: 1 / 0)
    assert "bad" not in store
    with ds.recording() as outer:                        # nested: the outer block sees what the inner read
        with ds.recording() as inner:
            ds.table("vacancies")
        kept.once(ds, store, "k", compute)               # kept work read nothing now, but its tables count
    assert [n for n, _ in inner] == ["vacancies"] and [n for n, _ in outer] == ["vacancies", "pay", "flows"]


@pytest.mark.unit
def test_only_the_last_keys_are_kept():
    k = kept.Kept(2)
    a = k.store("a")
    k.store("b")
    assert k.store("a") is a                              # used again: now the last used
    k.store("c")
    assert list(k) == ["a", "c"]


@pytest.mark.integration
def test_a_later_case_studies_report_takes_each_areas_figures_as_kept(monkeypatch):
    from iwt_helpers.analysis import carers
    from iwt_helpers.themes import case_studies as theme

    def comparison(icb: str) -> list:
        ctx = theme.CaseStudyContext.load(datastore.open_dataset(None), ReportParams.parse(icb_code=icb))
        return theme.comparison_section(ctx)(icb)
    system_data._KEPT.clear()
    first = comparison("QOP")
    monkeypatch.setattr(carers, "carers_per_100", lambda *a: pytest.fail("worked out again"))
    again = comparison("QOP")                              # the next report: the same areas, nothing worked out again
    assert again[1].df.equals(first[1].df) and again[1].caption == first[1].caption


@pytest.mark.integration
def test_the_caveat_naming_tables_that_fell_back_to_the_demo_set_is_each_reports_own(tmp_path):
    from iwt_helpers.themes import data as theme
    (tmp_path / "datasets.json").write_text(json.dumps({"dataset": datastore.PROCESSED_MARK, "tables": {}}))
    params = ReportParams.parse(icb_code="QOP", data_dir=str(tmp_path))
    system_data._KEPT.clear()
    first = theme.caveats(theme.DataContext.load(datastore.open_dataset(tmp_path), params))
    later = theme.DataContext.load(datastore.open_dataset(tmp_path), params)
    later.ds.table("readiness_responses")                  # this report reads one more table from the demo set
    said = theme.caveats(later)
    assert said[:-1] == first[:-1]                         # the rest are kept
    assert "readiness_responses" in said[-1] and "readiness_responses" not in first[-1]
