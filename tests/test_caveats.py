"""The caveats the reports show come from data/reference/caveats.yaml, and docs/assumptions.md lists the
same ones: the doc's generated section matches the file, every caveat names an assumption the doc's
table has, and every caveat each theme's report shows on the demo data is an entry of the file for that
theme (so a caveat written into a theme's code, or a file entry edited without its doc, fails here)."""

from __future__ import annotations

import importlib.util
import re

import pytest

from iwt_helpers import config, paths
from iwt_helpers.analysis import carers, primary_care, trust_catchment
from iwt_helpers.errors import ConfigError
from iwt_helpers.present import caveats
from iwt_helpers.themes import wording

pytestmark = pytest.mark.unit

DOC = paths.DOCS / "assumptions.md"
ICB = "QOP"


def _tool():
    spec = importlib.util.spec_from_file_location("write_assumptions_doc", paths.ROOT / "tools" / "write_assumptions_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _doc_table_ids() -> set[str]:
    """The assumption ids of the doc's hand-written table (the rows above the generated section)."""
    hand = DOC.read_text(encoding="utf-8").split(caveats.DOC_START)[0]
    return set(re.findall(r"^\| (A\d+) \|", hand, re.M))


# --------------------------------------------------------------------------- the file and the doc


def test_the_docs_caveats_section_is_the_one_the_file_gives():
    doc = DOC.read_text(encoding="utf-8")
    assert doc.count(caveats.DOC_START) == 1 and doc.count(caveats.DOC_END) == 1
    shown = doc[doc.index(caveats.DOC_START): doc.index(caveats.DOC_END) + len(caveats.DOC_END)]
    assert shown == caveats.doc_section(), "docs/assumptions.md is out of date: run tools/write_assumptions_doc.py"


def test_every_caveat_names_assumptions_the_docs_table_lists():
    listed = _doc_table_ids()
    named = {a for cid in caveats.entries() for a in caveats.refs(cid)}
    assert named and named <= listed, f"not in the assumptions table: {sorted(named - listed)}"


def test_the_doc_tool_rewrites_only_its_section():
    tool = _tool()
    section = caveats.doc_section()
    doc = f"# Title\n\nhand text\n\n{caveats.DOC_START}\nold\n{caveats.DOC_END}\n\nafter\n"
    assert tool.with_section(doc, section) == f"# Title\n\nhand text\n\n{section}\n\nafter\n"
    assert tool.with_section("# Title\n", section) == f"# Title\n\n{section}\n"          # no markers yet: added at the end
    with pytest.raises(SystemExit):
        tool.with_section(f"{caveats.DOC_END}\n{caveats.DOC_START}\n", section)


# --------------------------------------------------------------------------- the file's rules


def _one(**entry) -> dict:
    return {"caveats": {"A1": {"themes": ["data"], "text": "Plain words.", **entry}}}


@pytest.mark.parametrize("entry, problem", [
    ({"themes": ["dashboard"]}, "themes must be some of"),
    ({"text": "Rule {rule}."}, "fills must describe exactly"),
    ({"fills": {"rule": "a name the text does not have"}}, "fills must describe exactly"),
    ({"also": ["3"]}, "also lists assumption ids"),
    ({"colour": "red"}, "Extra inputs"),
])
def test_a_caveat_entry_that_breaks_the_files_rules_is_refused_naming_the_key(entry, problem):
    with pytest.raises(ConfigError, match=problem) as err:
        config.validate(_one(**entry), caveats.CaveatFile, "caveats.yaml")
    assert "caveats.A1" in str(err.value)


def test_a_key_that_is_not_an_assumption_id_is_refused():
    with pytest.raises(ConfigError, match="keys are assumption ids"):
        config.validate({"caveats": {"funnel": {"themes": ["data"], "text": "x"}}}, caveats.CaveatFile, "caveats.yaml")


def test_a_caveat_is_its_text_filled_and_ending_with_the_assumptions_it_states():
    e = caveats.entries()["A2"]
    got = wording.caveat("A2", base_year=2024, basis="ONS projection for 2024")
    assert got == e.text.format(base_year=2024, basis="ONS projection for 2024")[:-1] + f" ({', '.join(['A2', *e.also])})."
    assert caveats.identify(got) == "A2"


def test_a_caveat_must_be_given_every_name_of_its_text_and_no_other():
    with pytest.raises(TypeError, match="missing rule"):
        wording.caveat("A31")
    with pytest.raises(TypeError, match="not in the text: colour"):
        wording.caveat("A31", rule="host", colour="red")
    with pytest.raises(KeyError, match="not in data/reference/caveats.yaml"):
        wording.caveat("A99")


def test_a_note_in_no_entry_or_with_its_words_changed_is_not_identified():
    assert caveats.identify("Funnel limits are plain binomial.") is None
    changed = wording.caveat("A18").replace("latest period", "newest period")
    assert caveats.identify(changed) is None
    assert caveats.identify(wording.caveat("A18").replace("(A18)", "(A4)")) is None


# --------------------------------------------------------------------------- labels of the codes analysis returns


def test_the_labels_cover_every_code_analysis_returns():
    assert set(wording.CARER_HOURS) == {*carers.HOURS_BANDS, "all"}
    assert set(wording.GP_ROLE) == set(primary_care.ROLES)
    assert set(wording.TRUST_KIND) == set(trust_catchment.KINDS)
    assert set(wording.REGIONAL_TRUST_RULE) == set(trust_catchment.RULES)


def test_sector_words_name_adult_social_care_once_in_order():
    assert wording.sector_words(["asc_independent", "nhs_trust", "asc_local_authority", "other"]) == "adult social care, NHS trusts, other"
