"""One truth per measure, real first (issue #25): every registered measure (analysis.measures) has one
figure per ICB and period wherever a report shows it, the published one where the data have it and
the synthetic one, said so, where they do not.

The end-to-end tests run the real-data report set for three ICBs and read each ICB's measures.csv,
pages and tables.xlsx; the unit tests hold the real-first rule on small tables built here."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from iwt_helpers.analysis import measures

ICBS = ("QOP", "QE1", "QHM")          # Greater Manchester, Lancashire and South Cumbria, North East and North Cumbria
THEMES = "data,governance_metrics,case_studies,scenarios"
REL = 1e-6                            # one figure: the same number, whichever way a section adds it up


# --------------------------------------------------------------------------- end to end, on the real data


@pytest.fixture(scope="module")
def report_set(built_real, tmp_path_factory):
    """The real-data report set of the four themes that show measures, for ICBS (the processed folder
    is conftest's ``built_real``, built once per session from ../shared/real-data)."""
    from iwt_helpers.report import run_reports
    processed, _, _ = built_real
    out = tmp_path_factory.mktemp("one-truth")
    s = run_reports(icb=",".join(ICBS), theme_spec=THEMES, data_dir=str(processed), out_dir=out, jobs=2, progress=False)
    assert s.exit_code == 0, s.failed
    shown = pd.concat([pd.read_csv(out / icb / "measures.csv", keep_default_na=False).assign(report=icb) for icb in ICBS],
                      ignore_index=True)
    shown["value"] = pd.to_numeric(shown["value"])
    return out, shown, processed


@pytest.mark.e2e
@pytest.mark.realdata
def test_each_measure_has_one_value_per_icb_and_period_across_every_output(report_set):
    _, shown, _ = report_set
    for (measure, icb, period), g in shown.groupby(["measure", "icb_code", "period"]):
        v = g["value"].to_numpy()
        assert np.allclose(v, v[0], rtol=REL, atol=0), (measure, icb, period, g[["theme", "shown_in", "value"]].to_dict("records"))
        canonical = {measures.REGISTRY[measure].fmt.format(x) for x in v}
        assert len(canonical) == 1, (measure, icb, period, canonical)


@pytest.mark.e2e
@pytest.mark.realdata
@pytest.mark.parametrize("icb", ICBS)
def test_the_conflicting_measures_are_shown_in_every_theme_that_shows_them(report_set, icb):
    _, shown, _ = report_set
    mine = shown[(shown["report"] == icb) & (shown["icb_code"] == icb)]
    themes = mine.groupby("measure")["theme"].agg(set)
    assert {"data", "scenarios"} <= themes["nhs_trust_fte"]
    assert {"data", "governance_metrics"} <= themes["nhs_trust_fte_monthly"]
    assert {"data", "scenarios"} <= themes["nhs_vacancy_rate"]
    assert {"data", "governance_metrics"} <= themes["nhs_leaver_rate"]
    assert {"data", "governance_metrics", "case_studies", "scenarios"} <= themes["asc_vacancy_rate"]
    assert {"data", "case_studies"} <= themes["nhs_sickness_rate_12m"]
    assert {"data", "governance_metrics"} <= themes["nhs_sickness_rate_month"]
    assert "data" in themes["nhs_trust_headcount"]
    gap = mine[mine["measure"] == "scenario_gap"]
    horizon = gap["period"].max()                     # "2040, Baseline scenario": the furthest year
    at = gap[gap["period"] == horizon]
    assert {"headline", "table", "figure"} <= set(at["item"])
    assert any("what moves the gap" in n for n in at["name"]), "the waterfall quotes the median"
    assert any("line: median of" in t or "median" in n.lower() for t, n in zip(at["text"], at["name"]))


@pytest.mark.e2e
@pytest.mark.realdata
@pytest.mark.parametrize("icb", ICBS)
def test_each_figure_is_on_the_page_where_it_is_said_to_be_shown(report_set, icb):
    out, shown, _ = report_set
    pages: dict[str, str] = {}
    in_table = 0
    for r in shown[shown["report"] == icb].itertuples():
        page = pages.setdefault(r.page, (out / icb / r.page).read_text(encoding="utf-8"))
        text = html.escape(str(r.text))
        caption = f"<caption>{html.escape(r.name)}</caption>"
        if r.item == "table" and caption in page:       # the cell in that table
            start = page.index(caption)
            assert f">{text}</td>" in page[start:page.index("</table>", start)], (r.shown_in, r.text)
            in_table += 1
        else:                                           # a headline card, a chart's text, the KPI matrix
            assert text in page, (r.shown_in, r.text)
    assert in_table >= 20


@pytest.mark.e2e
@pytest.mark.realdata
@pytest.mark.parametrize("icb", ICBS)
def test_each_table_figure_is_in_its_tables_xlsx_sheet_and_the_measures_sheet_lists_them(report_set, icb):
    from openpyxl import load_workbook
    out, shown, _ = report_set
    wb = load_workbook(out / icb / "tables.xlsx", read_only=True)
    mine = shown[shown["report"] == icb]
    for r in mine[mine["sheet"] != ""].itertuples():
        rows = list(wb[r.sheet].iter_rows(values_only=True))
        col = list(rows[0]).index(r.column)
        values = [x[col] for x in rows[1:] if isinstance(x[col], int | float)]
        assert any(np.isclose(x, r.value, rtol=REL) for x in values), (r.sheet, r.column, r.value)
    listed = list(wb["measures"].iter_rows(min_row=2, values_only=True))
    assert len(listed) == len(mine)
    assert "measures" not in {row[0] for row in wb["contents"].iter_rows(min_row=2, values_only=True)}
    wb.close()


@pytest.mark.e2e
@pytest.mark.realdata
@pytest.mark.parametrize("icb", ICBS)
def test_published_figures_come_first_and_headcounts_are_the_publishers_totals(report_set, icb):
    _, shown, processed = report_set
    mine = shown[(shown["report"] == icb) & (shown["icb_code"] == icb)].drop_duplicates("measure").set_index("measure")
    for m in ("nhs_trust_fte", "nhs_trust_headcount", "nhs_leaver_rate", "asc_vacancy_rate", "nhs_sickness_rate_12m",
              "nhs_sickness_rate_month", "nhs_trust_fte_monthly"):
        assert mine.at[m, "status"] == "real", m
    assert mine.at["nhs_vacancy_rate", "status"] == "synthetic"        # no NHS vacancies by ICB in the public files
    kpi = pd.read_parquet(processed / "kpi_observations.parquet")
    sfc = kpi[(kpi["kpi_id"] == "vacancy_rate_asc") & (kpi["icb_code"] == icb)].sort_values("period").iloc[-1]
    assert mine.at["asc_vacancy_rate", "value"] == pytest.approx(sfc["value"])
    wf = pd.read_parquet(processed / "workforce.parquet")
    nhs = wf[(wf["icb_code"] == icb) & (wf["sector"] == "nhs_trust")]
    nhs = nhs[nhs["period"] == nhs["period"].max()]
    assert mine.at["nhs_trust_headcount", "value"] == nhs["headcount_total"].iloc[0]
    assert mine.at["nhs_trust_headcount", "value"] < nhs["headcount"].sum()     # a person in two groups counted once
    assert mine.at["nhs_trust_fte", "value"] == pytest.approx(nhs["fte"].sum())


@pytest.mark.e2e
@pytest.mark.realdata
def test_the_data_page_reconciles_the_two_nhs_trust_fte_sources(report_set):
    out, shown, _ = report_set
    page = (out / "QOP" / "data.html").read_text(encoding="utf-8")
    mine = shown[(shown["report"] == "QOP") & shown["name"].str.startswith("NHS trust staff in post (FTE) in Greater")]
    assert set(mine["measure"]) >= {"nhs_trust_fte", "nhs_trust_fte_monthly"}
    assert "resident doctors excluded" in page and "resident doctors included" in page
    assert "not because staff numbers changed" in page


# --------------------------------------------------------------------------- unit: the real-first rule


@dataclass
class Inputs:
    """What a measure's function reads of SystemData, built from small tables."""
    t: dict[str, pd.DataFrame]
    snapshot: pd.DataFrame = field(default_factory=pd.DataFrame)
    nhs_monthly: pd.DataFrame | None = None
    nhs_attribution: object = None


def _vacancies(synthetic: bool = True) -> pd.DataFrame:
    rows = [("QOP", "asc_independent", "care_worker", 90.0, 910.0), ("QOP", "asc_local_authority", "care_worker", 10.0, 190.0),
            ("QOP", "asc_voluntary", "care_worker", 20.0, 180.0), ("QOP", "nhs_trust", "registered_nurse", 60.0, 940.0),
            ("QE1", "asc_independent", "care_worker", 30.0, 470.0)]
    return pd.DataFrame([{"period": pd.Timestamp("2024-09-01"), "icb_code": i, "sector": s, "staff_group": g, "vacancies": v,
                          "filled_posts": f, "source": "SYNTHETIC demo data (iwt)", "synthetic": synthetic}
                         for i, s, g, v, f in rows])


def _kpis(published: float | None) -> pd.DataFrame:
    rows = [{"icb_code": "QOP", "kpi_id": "vacancy_rate_asc", "period": pd.Timestamp("2025-03-01"), "value": 9.9,
             "source": "SYNTHETIC demo data (iwt)", "synthetic": True}]
    if published is not None:
        rows = [{"icb_code": "QOP", "kpi_id": "vacancy_rate_asc", "period": pd.Timestamp("2025-03-01"), "value": published,
                 "source": "Skills for Care 2024/25", "synthetic": False}]
    return pd.DataFrame(rows)


@pytest.mark.unit
def test_a_published_rate_is_the_figure_where_the_data_have_one():
    data = Inputs({"vacancies": _vacancies(), "kpi_observations": _kpis(5.4)})
    v = measures.figure(data, "asc_vacancy_rate", "QOP")
    assert (v.value, v.status, v.period) == (5.4, "real", "March 2025")
    r = measures.sector_vacancy_rates(data.t).set_index(["icb_code", "sector"])
    for s in measures.ASC_SECTORS:                    # every adult social care sector takes the published rate
        assert r.at[("QOP", s), "rate_pct"] == 5.4 and r.at[("QOP", s), "status"] == "real"
    assert r.at[("QE1", "asc_independent"), "status"] == "synthetic"      # no published rate there


@pytest.mark.unit
def test_without_a_published_rate_the_figure_is_the_synthetic_one_and_says_so():
    data = Inputs({"vacancies": _vacancies(), "kpi_observations": _kpis(None)})
    v = measures.figure(data, "asc_vacancy_rate", "QOP")
    assert v.status == "synthetic"
    assert v.value == pytest.approx(100 * (90 + 10 + 20) / (90 + 10 + 20 + 910 + 190 + 180))
    n = measures.figure(data, "nhs_vacancy_rate", "QOP")
    assert (n.status, n.value) == ("synthetic", pytest.approx(6.0))


@pytest.mark.unit
def test_a_headcount_is_the_publishers_total_not_a_sum_of_staff_groups():
    snap = pd.DataFrame({"icb_code": "QOP", "sector": "nhs_trust", "staff_group": ["registered_nurse", "doctor"],
                         "period": pd.Timestamp("2025-11-01"), "period_label": "November 2025", "headcount": [600.0, 500.0],
                         "headcount_total": 1050.0, "fte": [550.0, 450.0], "synthetic": False,
                         "source": "NHS turnover benchmarking; resident doctors excluded by the publisher"})
    data = Inputs({}, snap)
    assert measures.figure(data, "nhs_trust_headcount", "QOP").value == 1050
    assert measures.figure(data, "nhs_trust_fte", "QOP").value == 1000
    assert "resident doctors excluded" in measures.figure(data, "nhs_trust_fte", "QOP").scope
    assert measures.figure(Inputs({}, snap.drop(columns="headcount_total")), "nhs_trust_headcount", "QOP").value == 1100


@pytest.mark.unit
def test_sickness_over_12_months_is_days_lost_over_days_available_where_the_source_gives_them():
    months = pd.date_range("2024-04-01", periods=12, freq="MS")
    k = pd.DataFrame({"icb_code": "QOP", "kpi_id": "sickness_absence_nhs", "period": months, "value": 5.0,
                      "numerator": [10.0] * 11 + [40.0], "denominator": [200.0] * 11 + [400.0], "source": "NHS",
                      "synthetic": False})
    data = Inputs({"kpi_observations": k})
    assert measures.figure(data, "nhs_sickness_rate_12m", "QOP").value == pytest.approx(100 * 150 / 2600)
    assert measures.figure(data, "nhs_sickness_rate_month", "QOP").value == 5.0
    no_days = Inputs({"kpi_observations": k.drop(columns=["numerator", "denominator"])})
    assert measures.figure(no_days, "nhs_sickness_rate_12m", "QOP").value == pytest.approx(5.0)


@pytest.mark.unit
def test_a_synthetic_kpi_series_gives_way_to_a_published_figure():
    obs = pd.DataFrame({"icb_code": "QOP", "kpi_id": "vacancy_rate_asc", "period": pd.date_range("2024-04-01", periods=12, freq="MS"),
                        "value": 9.0, "source": "SYNTHETIC demo data (iwt)", "synthetic": True})
    data = Inputs({"vacancies": _vacancies(), "kpi_observations": _kpis(5.4)})
    got, notes = measures.kpi_observations(data, obs, "QOP")
    assert got[got["kpi_id"] == "vacancy_rate_asc"][["value", "synthetic"]].values.tolist() == [[5.4, False]]
    assert "published" in notes["vacancy_rate_asc"]


@pytest.mark.unit
def test_the_models_posts_are_set_to_the_sectors_vacancy_rate():
    cells = pd.DataFrame({"icb_code": "QOP", "sector": ["asc_independent", "asc_independent", "nhs_trust"],
                          "staff_group": ["care_worker", "registered_manager", "registered_nurse"], "fte0": [800.0, 100.0, 1000.0],
                          "posts_per_filled": [1.10, 1.02, 1.0], "vacancies_synthetic": True})
    rates = pd.DataFrame({"icb_code": "QOP", "sector": ["asc_independent", "nhs_trust"], "rate_pct": [5.4, 6.0],
                          "status": ["real", "synthetic"]})
    out = measures.posts_at_vacancy_rates(cells, rates)
    for sector, rate in (("asc_independent", 5.4), ("nhs_trust", 6.0)):
        c = out[out["sector"] == sector]
        assert 100 * (1 - c["fte0"].sum() / (c["fte0"] * c["posts_per_filled"]).sum()) == pytest.approx(rate)
    assert out["vacancies_synthetic"].tolist() == [False, False, True]


@dataclass
class _Scenario:
    label: str = "Baseline"


@dataclass
class _Inputs:
    cells: pd.DataFrame
    base_year: int = 2025
    horizon: int = 1


@dataclass
class _Run:
    inputs: _Inputs
    scenario: _Scenario
    n_runs: int
    supply: np.ndarray
    demand: np.ndarray
    flows: dict
    memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)   # as model.Run's


@pytest.mark.unit
def test_the_gap_is_the_median_of_the_runs_and_the_median_runs_add_up_to_it():
    rng = np.random.default_rng(1)
    n = 10
    supply = rng.uniform(90, 110, (n, 2, 2))
    demand = rng.uniform(100, 130, (n, 2, 2))
    run = _Run(_Inputs(pd.DataFrame({"icb_code": ["QOP", "QE1"]})), _Scenario(), n, supply, demand,
               {"leavers_base": rng.uniform(0, 5, (n, 2))})
    g = measures.gap(run, "QOP")
    per_run = demand[:, 0, 1] - supply[:, 0, 1]
    assert g.value == pytest.approx(np.median(per_run)) and g.period == "2026, Baseline scenario"
    mid = measures.median_runs(run, "QOP")
    assert mid.n_runs == 2 and mid.flows["leavers_base"].shape == (2, 2)
    assert (mid.demand[:, 0, 1] - mid.supply[:, 0, 1]).mean() == pytest.approx(g.value)
    t = pd.DataFrame({"gap_low": [10.0], "gap_high": [30.0], "gap_mid": [18.0]})
    c = measures.recentre_on_median(t, 20.0)
    assert c.iloc[0].tolist() == [12.0, 32.0, 20.0]


@pytest.mark.unit
def test_the_share_of_posts_and_the_gap_against_baseline_are_one_registered_figure_each():
    rng = np.random.default_rng(2)
    n = 11
    cells = _Inputs(pd.DataFrame({"icb_code": ["QOP", "QE1"]}))
    base = _Run(cells, _Scenario(), n, rng.uniform(90, 110, (n, 2, 2)), rng.uniform(100, 130, (n, 2, 2)), {})
    other = _Run(cells, _Scenario("Combined"), n, base.supply + rng.uniform(0, 20, (n, 2, 2)), base.demand, {})
    pct = measures.gap_pct_of_posts(base, "QOP")
    # the ratio of the two medians the gap table shows, not a median of each run's ratio
    assert pct.value == pytest.approx(100 * measures.gap(base, "QOP").value / np.median(base.demand[:, 0, 1]))
    d = measures.gap_against_baseline(other, base, "QOP")
    # the difference of the medians the bars show, not the median of the run-by-run differences
    assert d.value == pytest.approx(measures.gap(other, "QOP").value - measures.gap(base, "QOP").value)
    assert d.period == "2026, Combined scenario" and measures.gap_against_baseline(base, base, "QOP").value == 0
    assert {"scenario_gap_pct_of_posts", "scenario_gap_against_baseline"} <= set(measures.REGISTRY)
    assert pct.text() == f"{pct.value:.1f}" and d.text() == f"{d.value:+,.0f}" and d.value < 0


@pytest.mark.unit
def test_nhs_trust_doctors_are_named_alike_on_the_data_and_scenarios_pages():
    from iwt_helpers.themes import data
    assert measures.DOCTORS_EXCLUDING_RESIDENTS == data.DOCTORS_EXCLUDING_RESIDENTS


# --------------------------------------------------------------------------- board review 2 (#25): regressions


def _flows(synthetic: bool = True) -> pd.DataFrame:
    rows = [("asc_independent", 1000.0, 300.0), ("asc_local_authority", 200.0, 50.0), ("asc_voluntary", 300.0, 90.0)]
    return pd.DataFrame([{"year": 2024, "icb_code": "QOP", "sector": s, "staff_group": "care_worker", "staff_in_post": n,
                          "leavers": lv, "joiners": lv, "leavers_to_other_sector": np.nan, "months": 12.0,
                          "source": "SYNTHETIC demo data (iwt)", "synthetic": synthetic} for s, n, lv in rows])


@pytest.mark.unit
def test_adult_social_care_turnover_is_the_published_rate_with_its_own_period_and_basis():
    kpi = pd.DataFrame([{"icb_code": "QOP", "kpi_id": "turnover_asc", "period": pd.Timestamp("2020-03-01"), "value": 19.8,
                         "source": "Skills for Care (2019/20); rates are means of role-level rates by local authority",
                         "synthetic": False}])
    v = measures.figure(Inputs({"flows": _flows(), "kpi_observations": kpi}), "asc_turnover_rate", "QOP")
    assert (v.value, v.status, v.period) == (19.8, "real", "March 2020")
    assert "not a whole-workforce rate" in v.scope
    assert measures.KPI_MEASURES["turnover_asc"] == "asc_turnover_rate"


@pytest.mark.unit
def test_without_a_published_turnover_the_figure_is_the_synthetic_sectors_added():
    v = measures.figure(Inputs({"flows": _flows(), "kpi_observations": _kpis(None)}), "asc_turnover_rate", "QOP")
    assert v.status == "synthetic"
    assert v.value == pytest.approx(100 * (300 + 50 + 90) / (1000 + 200 + 300))


@pytest.mark.unit
def test_the_governance_nhs_vacancy_kpis_latest_month_is_its_own_registered_measure():
    kpi = pd.DataFrame([{"icb_code": "QOP", "kpi_id": "vacancy_rate_nhs", "period": pd.Timestamp(p), "value": x,
                         "source": "SYNTHETIC demo data (iwt)", "synthetic": True}
                        for p, x in (("2024-09-01", 7.0), ("2025-03-01", 7.5))])
    data = Inputs({"vacancies": _vacancies(), "kpi_observations": kpi})
    rate, latest = measures.figure(data, "nhs_vacancy_rate", "QOP"), measures.figure(data, "nhs_vacancy_rate_kpi_month", "QOP")
    assert rate.period == "September 2024" and latest.period == "March 2025"
    assert latest.value == pytest.approx(rate.value + 0.5)          # the series set to the figure at its month, then as drawn
    assert measures.KPI_LATEST_MEASURES["vacancy_rate_nhs"] == "nhs_vacancy_rate_kpi_month"


@pytest.mark.unit
def test_the_nhs_fte_bridge_adds_up_from_the_file_with_resident_doctors_to_the_one_without():
    def rows(period, doctor, other, source):
        return [{"period": pd.Timestamp(period), "icb_code": "QOP", "sector": "nhs_trust", "staff_group": g, "fte": f,
                 "source": source, "synthetic": False} for g, f in (("doctor", doctor), ("registered_nurse", other))]
    w = pd.DataFrame(rows("2025-03-01", 900.0, 8000.0, "NHS Workforce Statistics, resident doctors included")
                     + rows("2025-11-01", 500.0, 8200.0, "turnover benchmarking; resident doctors excluded by the publisher"))
    b = measures.nhs_fte_bridge(Inputs({"workforce": w}), "QOP")
    assert b["fte"].iloc[0] == 8900 and b["fte"].iloc[-1] == 8700
    assert b["fte"].iloc[0] + b["fte"].iloc[1:-1].sum() == pytest.approx(b["fte"].iloc[-1])
    assert b.attrs["resident_doctors_est"] == 400 and b.attrs["like_for_like_pct"] == pytest.approx(2.5)


@pytest.mark.unit
def test_a_rate_within_half_a_percent_of_a_limit_is_said_to_be_at_it():
    from iwt_helpers.themes import data as data_theme
    at = data_theme._limit_words({"rate_pct": 6.16, "lo95": 4.21, "hi95": 6.18})
    assert at == "at the upper 95% limit (6.16% against 6.18%)"
    assert data_theme._limit_words({"rate_pct": 5.0, "lo95": 4.21, "hi95": 6.18}).startswith("within the range expected")
    assert data_theme._limit_words({"rate_pct": 6.5, "lo95": 4.21, "hi95": 6.18}).startswith("above the upper 95% limit")


@pytest.mark.unit
def test_the_index_lists_synthetic_headlines_apart_without_headline_cards(tmp_path):
    from iwt_helpers.report import outputs
    heads = [{"name": "Qualified GPs", "text": "4.30", "provenance": {"status": "real", "period": "2024/25"}},
             {"name": "Care worker pay gap", "text": "£0.35 an hour", "provenance": {"status": "synthetic"}}]
    page = outputs.icb_index(tmp_path / "index.html", "Greater Manchester (QOP)",
                             [{"theme": "data", "title": "Data", "status": "ok", "headlines": heads}], True).read_text()
    cards, demo = page.split("Demonstration figures")
    assert "Qualified GPs" in cards and "Care worker pay gap" not in cards
    assert "Care worker pay gap: £0.35 an hour (SYNTHETIC)" in html.unescape(demo) and 'class="headline"' not in demo


@pytest.mark.e2e
def test_the_case_studies_england_row_is_on_the_population_basis_of_its_icb_rows(report_set):
    """England's share of residents aged 65+ and its growth are worked out on the one population basis the ICBs'
    rows and the data page use (the newest projection covering the year), not summed over every basis the
    folder holds for that year (the real folder has 2016-based 60+ rows and 2022-based rows for 2025)."""
    from iwt_helpers.data import datastore, population
    from iwt_helpers.report import outputs
    out, _, processed = report_set
    pop = datastore.open_dataset(processed).table("population")
    nb = outputs.read_notebook(out / ICBS[0] / "case_studies.ipynb")
    t = next(t for t in outputs.collect(nb)["tables"] if t["name"] == "peer_comparison")
    df = pd.DataFrame(t["table"]["data"], columns=t["table"]["columns"])
    share_col = next(c for c in df.columns if c.startswith("Aged 65+"))
    growth_col = next(c for c in df.columns if c.startswith("65+ growth"))
    base, end = (int(y) for y in growth_col.split()[2].split("-"))
    assert pop[pop["year"] == base]["source"].nunique() > 1          # more than one basis for the year: a real test
    england = df[df["ICB"] == "ENG"].iloc[0]
    totals = {}
    for y in (base, end):
        p = population.for_year(pop, y)
        older = p["age_band"].str.extract(r"^(\d+)")[0].astype(int) >= 65
        totals[y] = (p.loc[older, "population"].sum(), p["population"].sum())
    assert england[share_col] == pytest.approx(100 * totals[base][0] / totals[base][1], rel=REL)
    assert england[growth_col] == pytest.approx(100 * (totals[end][0] / totals[base][0] - 1), rel=REL)
    # England's social care vacancy rate as the data page's funnel gives it: none where it would weight the
    # published rates by synthetic posts
    data_nb = outputs.read_notebook(out / ICBS[0] / "data.ipynb")
    fp = next(t for t in outputs.collect(data_nb)["tables"] if t["name"] == "funnel_position")
    fp = pd.DataFrame(fp["table"]["data"], columns=fp["table"]["columns"]).set_index("Measure")
    on_data_page = fp.at["Social care vacancy rate", "England (%)"]
    shown = england[next(c for c in df.columns if c.startswith("Social care vacancy"))]
    assert pd.isna(on_data_page) and pd.isna(shown)             # the real folder: published rates, synthetic posts


@pytest.mark.e2e
def test_a_staff_group_is_named_as_its_sector_holds_it_on_the_data_and_scenarios_pages(report_set):
    """The allied health professionals group holds ambulance staff only in NHS trusts: in councils and care
    providers it is named for the occupational therapists and others it holds there, on every page."""
    from iwt_helpers import vocab
    from iwt_helpers.report import outputs
    out, _, _ = report_set
    nhs_only = vocab.staff_group_labels()["ahp"]
    elsewhere = vocab.OTHER_SECTOR_GROUP_LABELS["ahp"]
    nhs_name = vocab.sector_labels()["nhs_trust"]
    seen = set()
    for icb in ICBS:
        for theme, key, sector_col, group_col in (("data", "workforce_by_group", "Sector", "Staff group"),
                                                  ("scenarios", "gap_by_group", "Sector", "Staff group"),
                                                  ("scenarios", "by_year", "sector", "staff_group")):
            nb = outputs.read_notebook(out / icb / f"{theme}.ipynb")
            t = next(t for t in outputs.collect(nb)["tables"] if t["name"] == key)
            df = pd.DataFrame(t["table"]["data"], columns=t["table"]["columns"])
            other = df[df[sector_col] != nhs_name]
            assert not (other[group_col] == nhs_only).any(), (icb, key)
            if (other[group_col] == elsewhere).any():
                seen.add(key)
    assert seen == {"workforce_by_group", "gap_by_group", "by_year"}      # the group is there in other sectors, renamed


@pytest.mark.e2e
def test_the_vacancy_table_shows_no_count_column_that_is_empty_in_every_row(report_set):
    """On the real data the adult social care rows show the published rate, their synthetic counts left out: a
    count column no sector has is not shown at all (it read as a broken table)."""
    from iwt_helpers.report import outputs
    out, _, _ = report_set
    for icb in ICBS:
        nb = outputs.read_notebook(out / icb / "data.ipynb")
        t = next(t for t in outputs.collect(nb)["tables"] if t["name"] == "vacancy_turnover")
        df = pd.DataFrame(t["table"]["data"], columns=t["table"]["columns"])
        empty = [c for c in df.columns if not (df[c].notna() & (df[c].astype(str).str.strip() != "")).any()]
        assert empty == [], (icb, empty)
        assert "Filled (FTE)" in df.columns                 # the NHS trusts' published staff in post stay
