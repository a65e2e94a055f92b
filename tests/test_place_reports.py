"""Place reports: ``iwt report --place`` writes a data report for each place of an ICB in its own
folder, linked from the ICB's index page; an ICB with one place gets none, and says so."""

import json

import pytest

from iwt_helpers.data import places
from iwt_helpers.report import runner


@pytest.mark.unit
def test_places_all_gives_every_place_of_an_icb_with_several_and_a_note_for_an_icb_with_one():
    selected = {"data": None}
    chosen, notes = runner.resolve_places(["QOP", "QHG"], "all", selected)
    assert chosen == {"QOP": places.places_of("QOP")["sicb_ods"].tolist()} and len(chosen["QOP"]) == 10
    assert len(notes) == 1 and "QHG" in notes[0] and "one sub-ICB location" in notes[0]


@pytest.mark.unit
def test_listed_places_are_placed_in_their_icb_by_ods_or_e38_code():
    chosen, _ = runner.resolve_places(["QOP", "QE1"], "00T, E38000080, 02G", {"data": None})
    assert chosen == {"QOP": ["00T", "01D"], "QE1": ["02G"]}


@pytest.mark.unit
def test_a_place_in_no_icb_of_the_run_is_refused_naming_both_codes_and_listing_places():
    with pytest.raises(places.UnknownPlaceError) as e:
        runner.resolve_places(["QOP"], "16C", {"data": None})
    msg = str(e.value)
    assert "'16C'" in msg and "QHM" in msg and "QOP" in msg and "00T (E38000016) Bolton" in msg
    with pytest.raises(ValueError, match="made by the data theme"):
        runner.resolve_places(["QOP"], "all", {"readiness": None})


@pytest.mark.e2e
def test_a_place_report_is_written_beside_the_icbs_and_linked_from_its_index(tmp_path):
    summary = runner.run_reports(icb="QOP,QHG", theme_spec="data", out_dir=tmp_path, place="00T", progress=False)
    assert summary.exit_code == 0 and len(summary.records) == 3
    folder = tmp_path / "QOP" / "places" / "00T"
    page = (folder / "data.html").read_text()
    assert "Bolton (00T): a place in Greater Manchester" in page and "Focus: Bolton (00T)" in page
    assert (folder / "index.html").is_file() and (folder / "tables.xlsx").is_file()
    assert 'href="places/00T/index.html"' in (tmp_path / "QOP" / "index.html").read_text()
    assert not (tmp_path / "QHG" / "places").exists()
    reports = json.loads((tmp_path / "manifest.json").read_text())["reports"]
    assert reports["QOP/places/00T/data"]["place"] == "00T"
    assert reports["QOP/places/00T/data"]["parameters"]["place"] == "00T"
