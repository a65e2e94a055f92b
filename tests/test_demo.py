"""The embedded demo data: deterministic, valid, and calibrated to the published national figures."""

import json

import pandas as pd
import pytest

from iwt_helpers import paths
from iwt_helpers.analysis import indicators
from iwt_helpers.data import demo, schemas

pytestmark = pytest.mark.integration

CAL = demo.calibration()


@pytest.fixture(scope="module")
def tables():
    return demo.build_tables()


def test_generating_twice_gives_byte_identical_files(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    demo.write_demo(a)
    demo.write_demo(b)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for n in names:
        assert (a / n).read_bytes() == (b / n).read_bytes(), n


def test_committed_demo_data_is_what_the_generator_makes(tmp_path):
    demo.write_demo(tmp_path)
    for p in tmp_path.iterdir():
        assert p.read_bytes() == (paths.DEMO / p.name).read_bytes(), f"{p.name}: run `iwt data demo` and commit"


def test_every_demo_table_passes_its_schema(tables):
    for name, df in tables.items():
        schemas.validate(name, df)


def test_covers_all_42_icbs(tables):
    for name, df in tables.items():
        assert df["icb_code"].nunique() == 42, name


def _cy(df, col="period"):
    year = df[col].dt.year if col == "period" else df[col]
    return df[year == CAL["calibration_year"]]


def test_nhs_trust_fte_meets_the_national_figure(tables):
    wf = _cy(tables["workforce"])
    assert wf.loc[wf["sector"] == "nhs_trust", "fte"].sum() == pytest.approx(1_260_000, rel=1e-4)


def test_adult_social_care_filled_posts_meet_the_national_figure(tables):
    wf = _cy(tables["workforce"])
    assert wf.loc[wf["sector"].str.startswith("asc_"), "headcount"].sum() == pytest.approx(1_600_000, rel=1e-4)


def test_vacancies_meet_the_guide_figures(tables):
    v = _cy(tables["vacancies"])
    assert v.loc[v["sector"] == "nhs_trust", "vacancies"].sum() == pytest.approx(105_000, rel=1e-3)
    assert v.loc[v["sector"].str.startswith("asc_"), "vacancies"].sum() == pytest.approx(165_000, rel=1e-3)


def test_turnover_near_29_pct_social_care_and_12_pct_nhs(tables):
    f = _cy(tables["flows"], "year")
    asc = f[f["sector"].str.startswith("asc_")]
    nhs = f[f["sector"] == "nhs_trust"]
    assert indicators.turnover_rate_pct(asc["leavers"].sum(), asc["staff_in_post"].sum()) == pytest.approx(29, abs=0.1)
    assert indicators.turnover_rate_pct(nhs["leavers"].sum(), nhs["staff_in_post"].sum()) == pytest.approx(12, abs=0.1)


def test_care_workers_earn_one_pound_an_hour_less_than_new_nhs_hcas_outside_london(tables):
    p = tables["pay"]
    p = p[(p["year"] == CAL["pay"]["calibration_year"]) & ~p["icb_code"].isin(_london())]
    hca = p[(p["sector"] == "nhs_trust") & (p["staff_group"] == "support_to_clinical") & (p["experience"] == "new_to_role")]
    cw = p[(p["sector"] == "asc_independent") & (p["staff_group"] == "care_worker") & (p["experience"] == "all")]
    assert hca["pay_gbp_per_hour"].mean() - cw["pay_gbp_per_hour"].mean() == pytest.approx(1.00, abs=0.01)


def _london():
    from iwt_helpers.data import geography
    t = geography.icbs()
    return set(t.loc[t["region_code"] == "Y56", "icb_code"])


def test_icbs_vary_plausibly(tables):
    v = _cy(tables["vacancies"])
    v = v[v["sector"] == "nhs_trust"].groupby("icb_code")[["vacancies", "filled_posts"]].sum()
    rates = indicators.vacancy_rate_pct(v["vacancies"], v["filled_posts"])
    assert 3 < rates.min() < rates.max() < 16
    assert rates.std() > 0.5


def test_care_worker_pay_never_below_the_national_living_wage(tables):
    p = tables["pay"]
    cw = p[p["staff_group"] == "care_worker"]
    nlw = cw["year"].map(CAL["pay"]["national_living_wage"])
    assert (cw["pay_gbp_per_hour"] >= nlw - 1e-9).all()


def test_every_row_and_the_manifest_say_synthetic(tables):
    for name, df in tables.items():
        assert df["source"].str.contains("SYNTHETIC").all(), name
    m = json.loads((paths.DEMO / demo.MANIFEST).read_text())
    assert all(t["synthetic"] for t in m["tables"].values())
    assert "Synthetic" in m["label"]


@pytest.mark.parametrize("kpi,sector,shared", [("vacancy_rate_nhs", "nhs_trust", "vacancies"),
                                               ("vacancy_rate_asc", "asc", "vacancies"),
                                               ("leaver_rate_nhs", "nhs_trust", "flows"),
                                               ("turnover_asc", "asc", "flows")])
def test_demo_kpis_agree_with_the_data_theme_at_the_shared_period(kpi, sector, shared):
    from iwt_helpers.analysis import pressures
    from iwt_helpers.data import datastore
    ds = datastore.open_dataset()
    k = ds.table("kpi_observations")
    vac, flows = ds.table("vacancies"), ds.table("flows")
    month = vac["period"].max() if shared == "vacancies" else pd.Timestamp(f"{flows['year'].max() + 1}-03-01")
    for icb in ("QOP", "QT6", "QHM", "QE1"):
        if shared == "vacancies":
            v = pressures.vacancy_rates(vac, icb)
            v = v[v["sector"].str.startswith(sector)]
            rate = 100 * v["vacancies"].sum() / (v["vacancies"].sum() + v["filled_posts"].sum())
        else:
            t = pressures.turnover_rates(flows, icb)
            t = t[t["sector"].str.startswith(sector)]
            rate = 100 * t["leavers"].sum() / t["staff_in_post"].sum()
        got = k[(k["icb_code"] == icb) & (k["kpi_id"] == kpi) & (k["period"] == month)]["value"].iloc[0]
        assert got == pytest.approx(rate, abs=0.005), (icb, kpi)


def test_the_demo_makes_exactly_the_tables_the_spec_says(tables):
    from iwt_helpers.data import tables as specs
    declared = {s.name for s in specs.SPECS if "demo" in s.origins}
    assert set(demo.DEMO_TABLES) == declared
    assert set(tables) == declared
    assert set(json.loads((paths.DEMO / demo.MANIFEST).read_text())["tables"]) == declared
    assert {p.stem for p in paths.DEMO.glob("*.csv")} == declared


def test_nothing_is_written_when_a_generated_table_fails(tables, monkeypatch, tmp_path):
    broken = dict(tables)
    broken["workforce"] = tables["workforce"].copy()
    broken["workforce"].loc[3, "fte"] = -1.0
    monkeypatch.setattr(demo, "build_tables", lambda: broken)
    with pytest.raises(schemas.TableValidationError, match="table 'workforce'"):
        demo.write_demo(tmp_path)
    assert list(tmp_path.iterdir()) == []
