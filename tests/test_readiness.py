"""Readiness analysis (domain scores, heat map, disagreements, RAG, change, action plan) and the
theme's sections: expected values computed here from the item bank, never pasted from output."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from iwt_helpers.analysis import readiness as ra
from iwt_helpers.data import readiness_store as store
from iwt_helpers.data.datastore import open_dataset
from iwt_helpers.present import notebook as nb
from iwt_helpers.present import xlsx
from iwt_helpers.present.items import Headline, Table
from iwt_helpers.themes import readiness as theme
from iwt_helpers.themes.params import ReportParams

pytestmark = pytest.mark.unit

BANK = store.item_bank()
R1, R2 = pd.Timestamp("2024-03-31"), pd.Timestamp("2025-03-31")


def frame(rows: list[tuple]) -> pd.DataFrame:
    """Rows (date, partner, item, score[, owner, due, evidence]) as a responses table."""
    out = []
    for r in rows:
        when, partner, item, score, *rest = r
        owner, due, evidence = (list(rest) + [None, None, None])[:3]
        out.append({"icb_code": "QOP", "assessment_date": pd.Timestamp(when), "partner": partner, "item_id": item,
                    "score": score, "evidence": evidence, "owner": owner, "due_date": pd.to_datetime(due), "saved_at": None})
    df = pd.DataFrame(out)
    df["score"] = df["score"].astype("Float64")
    return df


def full_round(when, partner, score_of) -> list[tuple]:
    return [(when, partner, i, score_of(i)) for i in BANK.ids]


def test_action_plan_is_ordered_by_weighted_gap_and_names_tip_owner_and_due_date():
    weights = BANK.items.set_index("id")["weight"]
    scores = {i: k % 5 for k, i in enumerate(BANK.ids)}
    rows = full_round(R2, "ICB", scores.get)
    rows = [r + (("Workforce lead", "2025-12-31") if r[2] == "V1" else ()) for r in rows]
    rows += [(R2, "Trust", "V1", scores["V1"], "Head of HR", "2025-06-30")]
    plan = ra.action_plan(frame(rows), BANK)
    expected = {i: weights[i] * (BANK.target - scores[i]) for i in BANK.ids if scores[i] < BANK.target}
    assert set(plan["item_id"]) == set(expected)
    assert plan["weighted_gap"].tolist() == sorted(expected.values(), reverse=True)
    assert plan["weighted_gap"].is_monotonic_decreasing
    assert plan["rank"].tolist() == list(range(1, len(plan) + 1))
    v1 = plan.set_index("item_id").loc["V1"]
    assert v1["helps"] == BANK.items.set_index("id").at["V1", "helps"]
    assert v1["owner"] == "Workforce lead (ICB); Head of HR (Trust)"
    assert v1["due_date"] == pd.Timestamp("2025-06-30")              # the earliest due date named
    assert plan.set_index("item_id").loc[BANK.ids[1], "owner"] == "not named"


def test_ties_in_weighted_gap_keep_the_item_bank_order():
    plan = ra.action_plan(frame(full_round(R2, "ICB", lambda i: 1)), BANK)
    w = BANK.items.set_index("id")["weight"]
    for _, g in plan.groupby("weighted_gap"):
        assert g["item_id"].tolist() == [i for i in BANK.ids if i in set(g["item_id"])]
    assert plan["weighted_gap"].tolist() == sorted((w * (BANK.target - 1)).tolist(), reverse=True)


def test_disagreement_of_two_levels_or_more_is_found_and_one_level_is_not():
    rows = full_round(R2, "ICB", lambda i: 2) + full_round(R2, "Trust", lambda i: 2) + full_round(R2, "Council", lambda i: 2)
    rows = [r for r in rows if not (r[1] == "Trust" and r[2] in ("V1", "G2", "A1"))]
    rows += [(R2, "Trust", "V1", 4, None, None, "<b>we have one</b>"), (R2, "Trust", "G2", 3), (R2, "Trust", "A1", 0)]
    rows += full_round(R1, "ICB", lambda i: 0) + full_round(R1, "Trust", lambda i: 4)     # older round: ignored
    dis = ra.disagreements(frame(rows), BANK)
    assert dis["item_id"].tolist() == ["V1", "A1"]                   # G2 is one level apart
    v1 = dis.set_index("item_id").loc["V1"]
    assert (v1["spread"], v1["lowest"], v1["highest"], v1["highest_partners"]) == (2, 2, 4, "Trust")
    assert v1["lowest_partners"] == "ICB; Council" and v1["highest_evidence"] == "<b>we have one</b>"
    assert ra.disagreements(frame(rows), BANK, levels=1)["item_id"].tolist() == ["V1", "A1", "G2"]   # widest first


def test_domain_scores_rag_and_change_against_the_previous_round():
    before = {i: 1 for i in BANK.ids}
    now = {i: (3 if BANK.items.set_index("id").at[i, "domain"] == "vision" else 1) for i in BANK.ids}
    rows = full_round(R1, "ICB", before.get) + full_round(R2, "ICB", now.get) + full_round(R2, "Trust", lambda i: 1)
    df = frame(rows)
    dom = ra.domain_scores(df, BANK).set_index("domain")
    assert dom.at["vision", "score"] == pytest.approx(2.0)           # (3 + 1) / 2 on every vision item
    assert dom.at["vision", "previous_score"] == pytest.approx(1.0)
    assert dom.at["vision", "change"] == pytest.approx(1.0)
    assert dom.at["data", "change"] == pytest.approx(0.0)
    st = ra.item_status(df, BANK).set_index("item_id")
    assert st.at["V1", "rag"] == ("red" if 2.0 < BANK.red_below else "green" if 2.0 >= BANK.green_from else "amber")
    assert st.at["A1", "rag"] == "red"
    assert ra.system_score(df, BANK, R1) == pytest.approx(1.0)
    assert ra.system_score(df, BANK, R2) == pytest.approx((2.0 + 6 * 1.0) / 7)


def test_latest_save_of_a_round_counts_and_unscored_items_are_not_assessed():
    rows = full_round(R2, "ICB", lambda i: 1) + [(R2, "ICB", "V1", 4)]
    rows = [r if r[2] != "A4" else (R2, "ICB", "A4", None) for r in rows]
    st = ra.item_status(frame(rows), BANK).set_index("item_id")
    assert st.at["V1", "score"] == 4
    assert st.at["A4", "rag"] == ra.NOT_ASSESSED and "A4" in ra.not_assessed(frame(rows), BANK)
    assert "A4" not in set(ra.action_plan(frame(rows), BANK)["item_id"])


def test_one_scoring_per_icb_gives_the_module_figures_and_keeps_them_unchanged(tmp_path):
    """A report's sections share one Scoring of the ICB's responses: the same figures as the module's
    functions, worked out once, and a plan or status a section builds on does not alter what it keeps."""
    rows = full_round(R1, "ICB", lambda i: 1) + full_round(R2, "ICB", lambda i: 2) + full_round(R2, "Trust", lambda i: 3)
    df = frame(rows)
    sc = ra.Scoring(df, BANK)
    pd.testing.assert_frame_equal(sc.item_status(), ra.item_status(df, BANK))
    pd.testing.assert_frame_equal(sc.domain_scores(), ra.domain_scores(df, BANK))
    pd.testing.assert_frame_equal(sc.action_plan(), ra.action_plan(df, BANK))
    assert sc.system_score(R1) == ra.system_score(df, BANK, R1) == pytest.approx(1.0)
    assert sc.item_status() is sc.item_status()                              # worked out once
    kept = sc.item_status().copy()
    plan = sc.action_plan()
    plan["score"] = -1.0
    pd.testing.assert_frame_equal(sc.item_status(), kept)                    # the plan is the caller's own
    ctx = theme.ReadinessContext.load(open_dataset(), ReportParams.parse(icb_code="QOP", data_dir=str(tmp_path)))
    resp = ctx.responses("QOP")
    assert resp.scoring(ctx.bank) is resp.scoring(ctx.bank)
    ctx.forget("QOP")                                                        # after a save: read and scored again
    assert ctx.responses("QOP").scoring(ctx.bank) is not resp.scoring(ctx.bank)


def test_heatmap_is_partner_by_item_in_bank_order():
    rows = full_round(R2, "ICB", lambda i: 3) + [(R2, "Trust", "V2", 1)]
    piv = ra.heatmap(frame(rows), BANK)
    assert piv.index.tolist() == ["ICB", "Trust"] and piv.columns.tolist() == BANK.ids
    assert piv.at["Trust", "V2"] == 1 and pd.isna(piv.at["Trust", "V1"]) and (piv.loc["ICB"] == 3).all()


# --------------------------------------------------------------------------- the theme's sections


@pytest.fixture
def saved(tmp_path):
    """A data folder whose QOP responses carry HTML and formula text in evidence and owner."""
    (tmp_path / "datasets.json").write_text('{"dataset": "iwt processed data", "tables": {}}')
    store.save_round("QOP", "ICB", "2024-03-31", [{"item_id": i, "score": 1} for i in BANK.ids], tmp_path)
    store.save_round("QOP", "<img src=x onerror=alert(1)>", "2025-03-31",
                     [{"item_id": i, "score": 4 if i == "V1" else 2, "evidence": "<script>alert('x')</script>",
                       "owner": "=HYPERLINK(\"http://example.invalid\")"} for i in BANK.ids], tmp_path)
    store.save_round("QOP", "ICB", "2025-03-31", [{"item_id": i, "score": 2} for i in BANK.ids], tmp_path)
    return tmp_path


def _items(ctx, icb="QOP"):
    out = []
    for section in (theme.summary_section, theme.heatmap_section, theme.disagreement_section,
                    theme.action_plan_section, theme.answers_section):
        out.extend(section(ctx)(icb))
    return out


def test_saved_rounds_are_real_and_html_in_evidence_is_escaped(saved):
    params = ReportParams.parse(icb_code="QOP", data_dir=str(saved))
    ctx = theme.ReadinessContext.load(open_dataset(params.data_dir), params)
    items = _items(ctx)
    tables = [i for i in items if isinstance(i, Table)]
    assert {t.key for t in tables} >= {"readiness_domains", "readiness_items", "readiness_disagreements",
                                       "readiness_action_plan", "readiness_answers"}
    assert all(i.provenance is not None and i.provenance.status == "real" for i in items if isinstance(i, Table | Headline))
    pages = "".join(nb.table_html(t.df, t.caption, t.columns, t.formats, t.suppress, t.provenance)[0] for t in tables)
    assert "<script>" not in pages and "<img" not in pages
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in pages and "&lt;img src=x onerror=alert(1)&gt;" in pages
    assert not ctx.synthetic("QOP") and theme.banner_parts(ctx, "QOP") == []


def test_without_saved_rounds_the_demo_rounds_are_shown_as_synthetic(tmp_path):
    params = ReportParams.parse(icb_code="QE1", data_dir="")
    ds = open_dataset(None)
    ctx = theme.ReadinessContext.load(ds, params)
    if store.responses_path("QE1").exists():
        pytest.skip("rounds have been saved for QE1 in data/readiness")
    items = _items(ctx, "QE1")
    assert all(i.provenance.status == "synthetic" for i in items if isinstance(i, Table | Headline))
    assert ctx.synthetic("QE1")
    used = ds.provenance().set_index("table")
    assert bool(used.at["readiness_responses", "synthetic"])


def test_key_tables_in_tables_xlsx_keep_formula_text_as_text(saved, tmp_path):
    params = ReportParams.parse(icb_code="QOP", data_dir=str(saved))
    ctx = theme.ReadinessContext.load(open_dataset(params.data_dir), params)
    found = []
    for t in (i for i in _items(ctx) if isinstance(i, Table) and i.key):
        _, shown = nb.table_html(t.df, t.caption, t.columns, t.formats, t.suppress, t.provenance)
        found.append({"name": t.key, "caption": t.caption, "provenance": t.provenance.as_dict(),
                      "table": {"columns": list(shown.columns), "data": shown.astype(object).where(shown.notna(), None).values.tolist()}})
    out = xlsx.write_tables(tmp_path / "tables.xlsx", "QOP", {"readiness": {"tables": found}})
    wb = openpyxl.load_workbook(out)
    formula_cells = [c for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    assert formula_cells and all(c.data_type == "s" for c in formula_cells)


def test_form_saves_a_round_and_reopening_shows_the_latest_answers(tmp_path):
    from datetime import date

    form = theme.ReadinessForm("QOP", tmp_path, interactive=True)
    form.build()
    form.partner.value, form.when.value = "NHS trusts", date(2025, 3, 31)
    form.rows["V1"]["score"].value, form.rows["V1"]["evidence"].value = 3, "<b>board paper</b>"
    form.rows["V1"]["owner"].value, form.rows["V1"]["due_date"].value = "Workforce lead", date(2025, 9, 30)
    form.save()
    assert "Saved" in form.status.value
    again = theme.ReadinessForm("QOP", tmp_path, interactive=True)
    again.build()
    again.partner.value = "NHS trusts"                  # choosing the partner loads its latest answers
    row = again.rows["V1"]
    assert (row["score"].value, row["evidence"].value, row["owner"].value, row["due_date"].value) == (
        3, "<b>board paper</b>", "Workforce lead", date(2025, 9, 30))
    assert again.rows["V2"]["score"].value is None
    form.rows["V1"]["score"].value = None              # nothing scored: refused, file untouched
    before = store.responses_path("QOP", tmp_path).read_bytes()
    form.save()
    assert "Not saved" in form.status.value and store.responses_path("QOP", tmp_path).read_bytes() == before


def test_form_is_not_shown_in_batch_runs(monkeypatch):
    monkeypatch.setenv("IWT_BATCH", "1")
    assert theme.ReadinessForm("QOP").interactive is False


def test_tables_xlsx_prints_long_text_wide_enough_and_rows_no_taller_than_their_text():
    """A column of long text (an assumption's reasoning) is widened rather than left a tall narrow
    strip, and its rows are as tall as its wrapped lines (the 23-row assumptions sheet printed to 12
    pages); a table too long to print wrapped (by_year) keeps one line a row."""
    reasoning = "Leaving rates are each cell's observed rate in the base year; one year is a noisy guide. " * 5
    widths, wrap = xlsx.column_widths(["Assumption", "Range", "Source or reasoning"], [["a", "0.9 to 1.1", reasoning]])
    assert wrap == (2,) and widths[2] > xlsx.WRAP_WIDTH
    lines = -(-len(reasoning) // xlsx._chars_a_line(widths[2]))
    wb = openpyxl.Workbook()
    ws = xlsx._add_sheet(wb, "s", ["Assumption", "Range", "Source or reasoning"], [["a", "0.9 to 1.1", reasoning]],
                         widths, "title", "foot", wrap_cols=wrap)
    assert ws.row_dimensions[2].height <= xlsx.LINE_PT * (lines + 1) + 3
    long_rows = [["baseline", 2025, "Scientific, therapeutic and technical staff (incl. NHS allied health professionals)"]] * 400
    _, long_wrap = xlsx.column_widths(["scenario", "year", "staff_group"], long_rows)
    assert long_wrap == ()


def test_tables_xlsx_footer_is_short_lines_clear_of_the_page_number():
    """The printed footer's status text is broken into at most two short lines, so it never runs into
    'Page N of M' at the right of the footer."""
    text = "Status: real and synthetic parts. Period: base year 2025. Source: " + "a publication; " * 40
    foot = xlsx.footer_lines(text)
    assert len(foot.split("\n")) <= xlsx.FOOTER_LINES
    assert all(len(line) <= xlsx.FOOTER_LINE for line in foot.split("\n"))
    assert foot.startswith("Status: real and synthetic parts") and foot.endswith("(in full on the contents sheet)")
