"""The readiness item bank and responses files: saving rounds, reading them back, refusing bad input
with the file untouched, and the Excel template round trip."""

from __future__ import annotations

import re
from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest
import yaml

from iwt_helpers import paths
from iwt_helpers.data import readiness_store as store

pytestmark = pytest.mark.unit

ICB = "QOP"
BANK = store.item_bank()


def answers(scores: dict[str, int | None], **extra) -> list[dict]:
    return [{"item_id": i, "score": s, **{k: v.format(i=i) if isinstance(v, str) else v for k, v in extra.items()}}
            for i, s in scores.items()]


# --------------------------------------------------------------------------- the item bank


def test_item_bank_covers_checklist_every_top_tip_and_the_six_ways():
    raw = yaml.safe_load(paths.reference("readiness_items.yaml").read_text())
    sections = [it["section"] for it in raw["items"]]
    # The guide's top tips: governance 7, changing cultures 4, communication 2, data 4; six ways.
    for prefix, n in (("Top tips: governance, tip", 7), ("Top tips: changing cultures, tip", 4),
                      ("Top tips: communication, tip", 2), ("Top tips: data, tip", 4),
                      ("Six ways to create a culture for integration, way", 6)):
        numbers = sorted(int(s.rsplit(" ", 1)[1]) for s in sections if s.startswith(prefix))
        assert numbers == list(range(1, n + 1)), prefix
    for part in ("vision", "who needs to be involved", "developing the plan"):
        assert sum(s.startswith(f"Checklist of readiness: {part}") for s in sections) >= 2, part
    assert set(BANK.items["domain_label"]) == {"Vision", "People involved", "The plan", "Governance", "Culture",
                                                "Communication", "Data"}


def test_every_item_has_a_descriptor_per_level_a_weight_and_what_helps():
    assert BANK.levels == [0, 1, 2, 3, 4]
    for it in BANK.items.itertuples(index=False):
        assert all(getattr(it, f"level_{lv}").strip() for lv in BANK.levels), it.id
        assert it.weight > 0 and it.helps.strip() and it.text.strip()
    assert BANK.items["id"].is_unique


def test_item_bank_has_no_email_addresses():
    text = paths.reference("readiness_items.yaml").read_text()
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text)


# --------------------------------------------------------------------------- saving and reading rounds


def test_two_rounds_for_two_partners_round_trip(tmp_path):
    ids = BANK.ids
    plan = {("ICB", "2024-03-31"): {i: k % 5 for k, i in enumerate(ids)},
            ("Local authority", "2024-03-31"): {i: (k + 2) % 5 for k, i in enumerate(ids)},
            ("ICB", "2025-03-31"): {i: min(4, k % 5 + 1) for k, i in enumerate(ids)},
            ("Local authority", "2025-03-31"): {i: (None if k == 3 else (k + 3) % 5) for k, i in enumerate(ids)}}
    for (partner, when), scores in plan.items():
        store.save_round(ICB, partner, when, answers(scores, evidence="Evidence for {i}, with a comma", owner="Lead",
                                                     due_date="2025-09-30"), tmp_path)
    back = store.read_responses(ICB, tmp_path)
    assert len(back) == len(plan) * len(ids)
    for (partner, when), scores in plan.items():
        got = back[(back["partner"] == partner) & (back["assessment_date"] == pd.Timestamp(when))].set_index("item_id")
        assert got.index.tolist() == ids
        assert [None if pd.isna(x) else int(x) for x in got["score"]] == [scores[i] for i in ids]
        assert (got["evidence"] == [f"Evidence for {i}, with a comma" for i in ids]).all()
        assert (got["due_date"] == pd.Timestamp("2025-09-30")).all()
    assert list(store.read_file(store.responses_path(ICB, tmp_path)).columns[:8]) == [
        "icb_code", "assessment_date", "partner", "item_id", "score", "evidence", "owner", "due_date"]


def test_saving_appends_and_never_rewrites_earlier_rounds(tmp_path):
    path = store.save_round(ICB, "ICB", "2024-03-31", answers({"V1": 1}), tmp_path)
    first = path.read_bytes()
    store.save_round(ICB, "ICB", "2024-03-31", answers({"V1": 3}), tmp_path)
    second = path.read_bytes()
    assert second.startswith(first) and len(second) > len(first)
    latest = store.latest_answers(ICB, "icb", tmp_path).set_index("item_id")
    assert latest.at["V1", "score"] == 3                 # the later save counts
    assert pd.isna(latest.at["V2", "score"])             # items not answered are saved as not assessed
    assert len(store.read_responses(ICB, tmp_path)) == 2 * len(BANK.ids)


def test_icb_given_as_e54_code_uses_the_same_file(tmp_path):
    store.save_round("e54000057", "ICB", "2024-03-31", answers({"V1": 2}), tmp_path)
    assert store.responses_path(ICB, tmp_path).exists()
    assert store.responses_path(ICB, None) == paths.READINESS / "QOP.csv"
    assert store.responses_path(ICB, tmp_path) == tmp_path / "readiness" / "QOP.csv"


@pytest.mark.parametrize("bad, field, says", [
    ({"item_id": "V1", "score": 7}, "score", "not a score on the scale"),
    ({"item_id": "V1", "score": -1}, "score", "not a score on the scale"),
    ({"item_id": "Z9", "score": 2}, "item_id", "not an item"),
    ({"item_id": "V1", "score": 2, "due_date": "next Tuesday"}, "due_date", "not a date"),
])
def test_bad_answers_are_refused_and_the_file_is_untouched(tmp_path, bad, field, says):
    path = store.save_round(ICB, "ICB", "2024-03-31", answers({"V1": 1}), tmp_path)
    before = path.read_bytes()
    with pytest.raises(store.ResponsesError, match=f"answer 2, field {field}: .*{says}"):
        store.save_round(ICB, "NHS trust", "2025-03-31", [{"item_id": "V2", "score": 1}, bad], tmp_path)
    assert path.read_bytes() == before


def test_unknown_icb_and_unreadable_assessment_date_are_refused(tmp_path):
    path = store.save_round(ICB, "ICB", "2024-03-31", answers({"V1": 1}), tmp_path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="Unknown ICB code 'XYZ'"):
        store.save_round("XYZ", "ICB", "2024-03-31", answers({"V1": 1}), tmp_path)
    with pytest.raises(store.ResponsesError, match="field assessment_date: '31/13/2024' is not a date"):
        store.save_round(ICB, "ICB", "31/13/2024", answers({"V1": 1}), tmp_path)
    assert path.read_bytes() == before
    assert list((tmp_path / "readiness").glob("*.csv")) == [path]


HEADER = ",".join(store.COLUMNS)
GOOD = "QOP,2024-03-31,ICB,V1,2,ok,Lead,2024-09-30,"


@pytest.mark.parametrize("text, line, field", [
    (f"{HEADER}\n{GOOD}\nQOP,2024-03-31,ICB,V2,9,,,,\n", 3, "score"),
    (f"{HEADER}\n{GOOD}\nQOP,2024-03-31,ICB,ZZ1,2,,,,\n", 3, "item_id"),
    (f"{HEADER}\n{GOOD}\nQOP,31-03-2024,ICB,V2,2,,,,\n", 3, "assessment_date"),
    (f"{HEADER}\n{GOOD}\nQE1,2024-03-31,ICB,V2,2,,,,\n", 3, "icb_code"),
    (f"{HEADER}\n{GOOD}\nXXX,2024-03-31,ICB,V2,2,,,,\n", 3, "icb_code"),
    ("icb_code,assessment_date,partner,item_id,evidence\nQOP,2024-03-31,ICB,V1,x\n", 1, "score"),
])
def test_bad_files_are_refused_naming_file_line_and_field(tmp_path, text, line, field):
    path = tmp_path / "readiness" / "QOP.csv"
    path.parent.mkdir()
    path.write_text(text)
    with pytest.raises(store.ResponsesError, match=re.escape(f"{path}, line {line}, field {field}")):
        store.read_responses(ICB, tmp_path)
    before = path.read_bytes()
    with pytest.raises(store.ResponsesError, match=re.escape(str(path))):      # nothing is appended to a broken file
        store.save_round(ICB, "ICB", "2025-03-31", answers({"V1": 3}), tmp_path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("text, says", [
    (f"{HEADER}\n{GOOD}\nQOP,2024-03-31,ICB,V2,2,\"unclosed,,,,\n", "line 3: "),
    (f"{HEADER}\n{GOOD}\nQOP,2024-03-31,ICB,V2,2,,,\n", "line 3: 8 fields where the header has 9"),
    ("", "line 1: empty file"),
])
def test_malformed_files_are_refused(tmp_path, text, says):
    path = tmp_path / "readiness" / "QOP.csv"
    path.parent.mkdir()
    path.write_text(text)
    with pytest.raises(store.ResponsesError, match=re.escape(f"{path}, {says}")):
        store.read_responses(ICB, tmp_path)


def test_evidence_over_several_lines_keeps_line_numbers_right(tmp_path):
    path = tmp_path / "readiness" / "QOP.csv"
    path.parent.mkdir()
    path.write_text(f'{HEADER}\nQOP,2024-03-31,ICB,V1,2,"two\nlines",,,\nQOP,2024-03-31,ICB,V2,8,,,,\n')
    with pytest.raises(store.ResponsesError, match=re.escape(f"{path}, line 4, field score")):
        store.read_responses(ICB, tmp_path)


def test_formula_like_text_is_stored_as_given(tmp_path):
    store.save_round(ICB, "ICB", "2024-03-31", [{"item_id": "V1", "score": 1, "evidence": "=HYPERLINK(\"x\")",
                                                 "owner": "@lead"}], tmp_path)
    got = store.latest_answers(ICB, "ICB", tmp_path).set_index("item_id")
    assert got.at["V1", "evidence"] == '=HYPERLINK("x")' and got.at["V1", "owner"] == "@lead"


# --------------------------------------------------------------------------- Excel template and import


def _fill(path, values: dict[str, dict], meta: dict | None = None):
    wb = openpyxl.load_workbook(path)
    ws = wb[store.SHEET]
    head_row = next(r for r in range(1, 20) if ws.cell(r, 1).value == "Item id")
    cols = {ws.cell(head_row, c).value: c for c in range(1, ws.max_column + 1)}
    for r in range(head_row + 1, ws.max_row + 1):
        item = ws.cell(r, 1).value
        for name, value in values.get(item, {}).items():
            ws.cell(r, cols[name]).value = value
    for r in range(1, head_row):
        if (meta or {}).get(ws.cell(r, 1).value) is not None:
            ws.cell(r, 2).value = meta[ws.cell(r, 1).value]
    wb.save(path)
    return cols, head_row


def test_template_has_descriptors_and_a_score_drop_down(tmp_path):
    out = store.write_template(ICB, "NHS trust", tmp_path, tmp_path / "t.xlsx", assessment_date=date(2025, 3, 31))
    wb = openpyxl.load_workbook(out)
    ws = wb[store.SHEET]
    header = [c.value for c in ws[7]]
    for name in ("Item id", "Item", "0 Not started", "4 Embedded", "Score", "Evidence", "Owner", "Due date"):
        assert name in header
    score_col = openpyxl.utils.get_column_letter(header.index("Score") + 1)
    dvs = ws.data_validations.dataValidation
    assert any(dv.type == "list" and dv.formula1 == '"0,1,2,3,4"' and f"{score_col}8" in str(dv.sqref) for dv in dvs)
    assert [ws.cell(r, 1).value for r in range(8, 8 + len(BANK.ids))] == BANK.ids
    assert ws["B3"].value == "NHS trust"


def test_template_import_round_trip(tmp_path):
    out = store.write_template(ICB, "NHS trust", tmp_path, tmp_path / "t.xlsx", assessment_date=date(2025, 3, 31))
    filled = {i: {"Score": k % 5, "Evidence": f"evidence {i}", "Owner": "Workforce lead", "Due date": datetime(2025, 9, 30)}
              for k, i in enumerate(BANK.ids)}
    filled["V2"] = {"Score": None}
    _fill(out, filled)
    done = store.import_workbook(out, tmp_path)
    assert done == {"icb_code": ICB, "partner": "NHS trust", "assessment_date": "2025-03-31", "items": len(BANK.ids),
                    "scored": len(BANK.ids) - 1, "file": str(store.responses_path(ICB, tmp_path))}
    got = store.latest_answers(ICB, "NHS trust", tmp_path).set_index("item_id")
    for k, i in enumerate(BANK.ids):
        if i == "V2":
            assert pd.isna(got.at[i, "score"])
            continue
        assert got.at[i, "score"] == k % 5 and got.at[i, "evidence"] == f"evidence {i}"
        assert got.at[i, "due_date"] == pd.Timestamp("2025-09-30")
    # A new template for the partner starts from its latest answers.
    again = openpyxl.load_workbook(store.write_template(ICB, "NHS trust", tmp_path, tmp_path / "t2.xlsx"))[store.SHEET]
    header = [c.value for c in again[7]]
    assert again.cell(8, header.index("Evidence") + 1).value == f"evidence {BANK.ids[0]}"


def test_formula_strings_are_text_in_the_template_and_on_import(tmp_path):
    store.save_round(ICB, "NHS trust", "2024-03-31", [{"item_id": "V1", "score": 1, "evidence": "=cmd|' /C calc'!A0",
                                                       "owner": "+44 lead", "due_date": None}], tmp_path)
    out = store.write_template(ICB, "NHS trust", tmp_path, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(out)[store.SHEET]
    header = [c.value for c in ws[7]]
    ev, ow = ws.cell(8, header.index("Evidence") + 1), ws.cell(8, header.index("Owner") + 1)
    assert (ev.value, ev.data_type) == ("=cmd|' /C calc'!A0", "s")
    assert (ow.value, ow.data_type) == ("+44 lead", "s")
    for row in ws.iter_rows():
        assert all(c.data_type != "f" for c in row)
    # A real formula typed into the workbook is imported as its text, never evaluated.
    _fill(out, {"V2": {"Score": 2, "Evidence": "=1+1"}})
    store.import_workbook(out, tmp_path)
    got = store.latest_answers(ICB, "NHS trust", tmp_path).set_index("item_id")
    assert got.at["V2", "evidence"] == "=1+1"


@pytest.mark.parametrize("change, where", [
    ({"values": {"V3": {"Score": 7}}}, "cell {score}10, field score"),
    ({"values": {"V3": {"Score": "high"}}}, "cell {score}10, field score"),
    ({"values": {"V3": {"Due date": "soon"}}}, "cell {due}10, field due_date"),
    ({"meta": {"ICB": "NOPE"}}, "cell B2, field icb_code"),
    ({"meta": {"Assessment date": "yesterday"}}, "cell B4, field assessment_date"),
    ({"values": {"V3": {"Item id": "V99"}}}, "cell A10, field item_id"),
])
def test_bad_workbooks_are_refused_naming_sheet_cell_and_field(tmp_path, change, where):
    existing = store.save_round(ICB, "NHS trust", "2024-03-31", answers({"V1": 2}), tmp_path)
    before = existing.read_bytes()
    out = store.write_template(ICB, "NHS trust", tmp_path, tmp_path / "t.xlsx")
    cols, _ = _fill(out, change.get("values", {}), change.get("meta"))
    letter = {k: openpyxl.utils.get_column_letter(v) for k, v in cols.items()}
    expected = f"{out}, sheet {store.SHEET}, " + where.format(score=letter["Score"], due=letter["Due date"])
    with pytest.raises(store.ResponsesError, match=re.escape(expected)):
        store.import_workbook(out, tmp_path)
    assert existing.read_bytes() == before


def test_workbook_without_a_required_column_or_not_a_workbook_is_refused(tmp_path):
    existing = store.save_round(ICB, "NHS trust", "2024-03-31", answers({"V1": 2}), tmp_path)
    before = existing.read_bytes()
    out = store.write_template(ICB, "NHS trust", tmp_path, tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(out)
    ws = wb[store.SHEET]
    col = [c.value for c in ws[7]].index("Owner") + 1
    ws.cell(7, col).value = "Who"
    wb.save(out)
    with pytest.raises(store.ResponsesError, match=re.escape(f"{out}, sheet {store.SHEET}, row 7, field owner: missing "
                                                             "required column 'Owner'")):
        store.import_workbook(out, tmp_path)
    fake = tmp_path / "fake.xlsx"
    fake.write_text("icb_code,score\n")
    with pytest.raises(store.ResponsesError, match=re.escape(f"{fake}: not a readable .xlsx workbook")):
        store.import_workbook(fake, tmp_path)
    assert existing.read_bytes() == before


def test_a_round_with_no_score_at_all_is_refused(tmp_path):
    out = store.write_template(ICB, "NHS trust", tmp_path, tmp_path / "t.xlsx")
    with pytest.raises(store.ResponsesError, match=re.escape(f"{out}: no item has a score")):
        store.import_workbook(out, tmp_path)
    assert not store.responses_path(ICB, tmp_path).exists()
