"""Readiness rounds (issue 30): a round is one partner's assessment on one date. Several partners
and dates in a month make an ordinary report; each partner's latest assessment is compared with
its previous one; the ICB view is grouped by a period (a setting, default a quarter) that says
which dates it holds. An assessment date after today is refused. The rounds a report reads are
part of the report runner's cache key."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from iwt_helpers import paths
from iwt_helpers.analysis import readiness as ra
from iwt_helpers.data import readiness_store as store
from iwt_helpers.data.datastore import open_dataset
from iwt_helpers.present.items import Figure, Table
from iwt_helpers.themes import readiness as theme
from iwt_helpers.themes.params import ReportParams

pytestmark = pytest.mark.unit

BANK = store.item_bank()
SECTIONS = (theme.summary_section, theme.heatmap_section, theme.disagreement_section, theme.action_plan_section,
            theme.answers_section)


def answers(score_of) -> list[dict]:
    return [{"item_id": i, "score": score_of(i)} for i in BANK.ids]


@pytest.fixture
def same_month(tmp_path, mark_data_folder):
    """QOP: the council assessed in December 2024 and again on 3 March 2025; the trusts on 17 March 2025."""
    d = mark_data_folder(tmp_path)
    store.save_round("QOP", "Council", "2024-12-10", answers(lambda i: 1), d)
    store.save_round("QOP", "Council", "2025-03-03", answers(lambda i: 2), d)
    store.save_round("QOP", "NHS trusts", "2025-03-17", answers(lambda i: 4 if i == "V1" else 3), d)
    return d


def context(d):
    params = ReportParams.parse(icb_code="QOP", data_dir=str(d))
    return theme.ReadinessContext.load(open_dataset(params.data_dir), params)


# --------------------------------------------------------------------------- (a) several rounds in a month


def test_two_partners_saving_on_different_days_of_one_month_give_a_whole_report(same_month):
    ctx = context(same_month)
    items = [it for s in SECTIONS for it in s(ctx)("QOP")]
    assert any(isinstance(i, Figure) for i in items) and any(isinstance(i, Table) for i in items)
    text = " ".join(getattr(i, "caption", "") or getattr(i, "name", "") or getattr(i, "markdown", "") for i in items)
    assert "3 and 17 March 2025" in text                       # the period says which dates it holds


def test_the_latest_period_holds_every_partners_latest_assessment_in_it(same_month):
    df = store.read_responses("QOP", same_month)
    latest, previous = ra.latest_and_previous(df, BANK)
    assert latest == pd.Period("2025Q1") and previous == pd.Period("2024Q4")
    st = ra.item_status(df, BANK).set_index("item_id")
    assert st.at["V1", "partners_scored"] == 2 and st.at["V1", "score"] == pytest.approx((2 + 4) / 2)
    assert st.at["V2", "previous_score"] == pytest.approx(1.0) and st.at["V2", "change"] == pytest.approx(1.5)
    assert ra.period_dates(df, latest) == [pd.Timestamp("2025-03-03"), pd.Timestamp("2025-03-17")]
    assert ra.heatmap(df, BANK).index.tolist() == ["Council", "NHS trusts"]


def test_each_partner_is_compared_with_its_own_previous_assessment(same_month):
    df = store.read_responses("QOP", same_month)
    p = ra.partner_changes(df, BANK).set_index("partner")
    assert p.at["Council", "latest_date"] == pd.Timestamp("2025-03-03")
    assert p.at["Council", "previous_date"] == pd.Timestamp("2024-12-10")
    assert p.at["Council", "score"] == pytest.approx(2.0) and p.at["Council", "change"] == pytest.approx(1.0)
    assert p.at["NHS trusts", "latest_date"] == pd.Timestamp("2025-03-17")
    assert pd.isna(p.at["NHS trusts", "previous_date"]) and pd.isna(p.at["NHS trusts", "change"])


def test_a_partner_assessing_twice_in_a_period_counts_once_with_its_later_assessment(same_month):
    store.save_round("QOP", "NHS trusts", "2025-01-20", answers(lambda i: 0), same_month)     # saved later, dated earlier
    df = store.read_responses("QOP", same_month)
    st = ra.item_status(df, BANK).set_index("item_id")
    assert st.at["V2", "partners_scored"] == 2 and st.at["V2", "score"] == pytest.approx((2 + 3) / 2)
    assert ra.period_dates(df, pd.Period("2025Q1")) == [pd.Timestamp(d) for d in ("2025-01-20", "2025-03-03", "2025-03-17")]
    assert ra.partner_changes(df, BANK).set_index("partner").at["NHS trusts", "previous_date"] == pd.Timestamp("2025-01-20")


def test_the_period_is_a_setting_of_the_item_bank_defaulting_to_a_quarter(same_month):
    assert BANK.period == "quarter"
    df = store.read_responses("QOP", same_month)
    by_month = dataclasses.replace(BANK, period="month")
    assert ra.latest_and_previous(df, by_month) == (pd.Period("2025-03", "M"), pd.Period("2024-12", "M"))
    by_year = dataclasses.replace(BANK, period="year")
    latest, previous = ra.latest_and_previous(df, by_year)
    assert latest == pd.Period("2025", "Y") and previous == pd.Period("2024", "Y")
    assert ra.period_label(pd.Period("2025Q1"), BANK) == "January-March 2025"
    with pytest.raises(ValueError, match="period"):
        _ = dataclasses.replace(BANK, period="fortnight").freq


def test_the_period_table_says_which_dates_and_partners_each_period_holds(same_month):
    df = store.read_responses("QOP", same_month)
    t = ra.period_table(df, BANK)
    assert t["period"].tolist() == ["October-December 2024", "January-March 2025"]
    assert t["dates"].tolist() == ["10 December 2024", "3 and 17 March 2025"]
    assert t["partners"].tolist() == [1, 2]


# --------------------------------------------------------------------------- (b) no assessment dates after today


def test_a_round_dated_after_today_is_refused_and_nothing_is_written(tmp_path, mark_data_folder):
    d = mark_data_folder(tmp_path)
    store.save_round("QOP", "Council", date.today(), answers(lambda i: 2), d)      # today is fine
    before = store.responses_path("QOP", d).read_bytes()
    for when in ("9999-12-31", (date.today() + timedelta(days=2)).isoformat()):
        with pytest.raises(store.ResponsesError, match=r"assessment_date: .* is after today"):
            store.save_round("QOP", "Council", when, answers(lambda i: 3), d)
    assert store.responses_path("QOP", d).read_bytes() == before


def test_an_imported_workbook_dated_after_today_is_refused_naming_the_cell(tmp_path, mark_data_folder):
    import openpyxl
    d = mark_data_folder(tmp_path)
    book = store.write_template("QOP", "Council", d, tmp_path / "council.xlsx")
    wb = openpyxl.load_workbook(book)
    ws = wb[store.SHEET]
    ws["B4"] = datetime(9999, 12, 31)
    for r in range(8, 8 + len(BANK.ids)):
        ws.cell(r, 10, 2)                                     # the Score column
    wb.save(book)
    with pytest.raises(store.ResponsesError, match=r"cell B4, field assessment_date: 9999-12-31 is after today"):
        store.import_workbook(book, d)
    assert not store.responses_path("QOP", d).exists()


# --------------------------------------------------------------------------- (c) the cache key covers the rounds


def test_rounds_saved_in_the_default_readiness_folder_change_the_report_cache_key(tmp_path, monkeypatch):
    from iwt_helpers.report import runner
    monkeypatch.setattr(paths, "READINESS", tmp_path / "readiness")
    before = runner.input_files(None)
    store.save_round("QOP", "Council", "2025-03-03", answers(lambda i: 2), None)
    after = runner.input_files(None)
    added = set(after) - set(before)
    assert added == {str(tmp_path / "readiness" / "QOP.csv")}
    store.save_round("QOP", "NHS trusts", "2025-03-17", answers(lambda i: 3), None)
    assert runner.input_files(None)[str(tmp_path / "readiness" / "QOP.csv")] != after[str(tmp_path / "readiness" / "QOP.csv")]


def test_rounds_in_a_data_folder_are_hashed_once(same_month):
    from iwt_helpers.report import runner
    files = runner.input_files(same_month)
    assert list(files).count(str(same_month / "readiness" / "QOP.csv")) == 1


def test_the_saved_at_stamp_is_utc_so_today_allows_for_time_zones():
    assert datetime.now(UTC).date() <= store.latest_allowed_date()
