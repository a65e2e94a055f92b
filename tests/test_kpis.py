import re

import pandas as pd
import pytest

from iwt_helpers import config
from iwt_helpers.analysis import kpis
from iwt_helpers.data import datastore

pytestmark = pytest.mark.unit


def test_framework_has_the_kpis_the_issue_names():
    ids = set(kpis.definitions()["id"])
    for needed in ("vacancy_rate_nhs", "vacancy_rate_asc", "leaver_rate_nhs", "turnover_asc", "sickness_absence_nhs",
                   "agency_share_nhs", "time_to_fill_days", "shared_workforce_deployments",
                   "virtual_ward_capacity_pct", "integrated_roles_in_post", "enough_staff_pct"):
        assert needed in ids


def test_every_kpi_has_owner_role_direction_and_target():
    d = kpis.definitions()
    assert d["improvement"].isin(["increase", "decrease", "neutral"]).all()
    assert d["owner_role"].str.len().gt(0).all()
    assert d["target"].notna().all()


def test_definitions_are_a_new_table_each_call():
    d = kpis.definitions()
    d["target"] = -1.0
    assert (kpis.definitions()["target"] != -1.0).all()


def test_icb_override_replaces_the_default_target():
    assert kpis.targets("QK1")["virtual_ward_capacity_pct"] == 100
    assert kpis.targets("QOP")["vacancy_rate_nhs"] == kpis.definitions().set_index("id").at["vacancy_rate_nhs", "target"]


@pytest.mark.parametrize(("body", "key"), [("QZZ: {vacancy_rate_nhs: 5}", "QZZ (key)"),
                                           ("QOP: {bed_days: 5}", "QOP.bed_days (key)")])
def test_an_override_for_an_unknown_icb_or_kpi_names_the_file(tmp_path, body, key):
    f = tmp_path / "kpi_targets.yaml"
    f.write_text(body)
    with pytest.raises(ValueError, match=re.escape(f"{key}: unknown")) as err:
        config.load(f, config.KpiTargets)
    assert str(f) in str(err.value)


def test_read_gives_36_plus_months_of_spc_per_monthly_kpi_on_the_demo_data():
    obs = datastore.open_dataset().table("kpi_observations")
    chart, summ = kpis.read(obs, "QOP")
    monthly = summ[summ["frequency"] == "monthly"]
    assert (monthly["points"] >= 36).all()
    assert set(summ["variation"]) <= set(kpis.VARIATION_TEXT)
    assert set(summ["assurance"]) <= set(kpis.ASSURANCE_TEXT)


def test_read_filters_to_requested_kpis_and_rejects_unknown_ones():
    obs = datastore.open_dataset().table("kpi_observations")
    _, summ = kpis.read(obs, "QOP", ["sickness_absence_nhs"])
    assert summ["kpi_id"].tolist() == ["sickness_absence_nhs"]
    with pytest.raises(ValueError, match="unknown KPI id"):
        kpis.read(obs, "QOP", ["nope"])


def test_recent_signals_lists_rules_in_words():
    obs = datastore.open_dataset().table("kpi_observations")
    chart, summ = kpis.read(obs, "QOP")
    rec = kpis.recent_signals(chart, summ, months=12)
    assert rec["rule"].isin(kpis.RULE_TEXT.values()).all()
    assert (rec["period"] > chart["period"].max() - pd.DateOffset(months=12)).all()


def series(values, kpi="integrated_roles_in_post", start="2021-01-01"):
    return pd.DataFrame({"icb_code": "QOP", "kpi_id": kpi, "period": pd.date_range(start, periods=len(values), freq="MS"),
                         "value": values, "target": float("nan"), "source": "test"})


def test_a_kpi_with_too_few_points_gets_no_icons():
    _, s = kpis.read(series([100.0, 101.0, 99.0], kpi="enough_staff_pct"), "QOP")
    r = s.iloc[0]
    assert r["variation"] == r["assurance"] == "too_few_points"
    assert f"at least {kpis.min_points()} needed" in r["note"]
    from iwt_helpers.present import charts
    html = charts.kpi_matrix_html(s, kpis.VARIATION_TEXT, kpis.ASSURANCE_TEXT)
    assert "<svg" not in html and "Too few points to judge" in html


SPC_COLUMNS = ["mean", "lpl", "upl", "nlpl", "nupl"]


def rising(n):
    """A steadily rising series: SPC would flag it (a trend and points beyond the limits)."""
    return [10.0 + 0.5 * i + (0.3 if i % 2 else -0.3) for i in range(n)]


def test_a_kpi_below_min_points_is_a_run_chart_with_no_limits_and_at_min_points_is_read_with_spc():
    n = kpis.min_points()                                  # from kpis.yaml
    chart, s = kpis.read(series(rising(n - 1)), "QOP")
    assert s.at[0, "chart"] == "run" and s.at[0, "variation"] == s.at[0, "assurance"] == "too_few_points"
    assert chart[SPC_COLUMNS].isna().all().all() and not chart["special_cause"].any()
    assert set(chart["point_type"]) == {"run"}
    assert pd.isna(s.at[0, "mean"]) and pd.isna(s.at[0, "upl"])
    chart, s = kpis.read(series(rising(n)), "QOP")
    assert s.at[0, "chart"] == "xmr" and chart["upl"].notna().all() and chart["special_cause"].any()


def test_the_kpis_named_rolling_are_marked_rolling_in_the_framework():
    d = kpis.definitions().set_index("id")
    named = d.index[d["name"].str.contains("rolling", case=False)]
    assert {"leaver_rate_nhs", "turnover_asc"} <= set(named)
    assert (d.loc[named, "rolling"] == 12).all()
    assert (d.loc[d.index.difference(named), "rolling"] == 0).all()


@pytest.mark.parametrize("kpi", ["leaver_rate_nhs", "turnover_asc"])
def test_a_rolling_kpi_gets_no_spc_however_many_points_it_has(kpi):
    chart, s = kpis.read(series(rising(48), kpi=kpi), "QOP")
    r = s.iloc[0]
    assert r["points"] == 48 and r["chart"] == "run"
    assert r["variation"] == r["assurance"] == "rolling"
    assert chart[SPC_COLUMNS].isna().all().all() and not chart["special_cause"].any()
    assert "rolling" in r["note"] and "sustained shift" not in r["note"]
    assert kpis.recent_signals(chart, s).empty
    from iwt_helpers.present import charts
    html = charts.kpi_matrix_html(s, kpis.VARIATION_TEXT, kpis.ASSURANCE_TEXT)
    assert "<svg" not in html and kpis.VARIATION_TEXT["rolling"] in html


def two_kpis(latest_old: str, latest_new: str = "2025-03-01"):
    old = series([5.0, 5.2], kpi="sickness_days_asc", start=str(pd.Timestamp(latest_old) - pd.DateOffset(years=1)))
    old["period"] = [pd.Timestamp(latest_old) - pd.DateOffset(years=1), pd.Timestamp(latest_old)]
    new = series(rising(24), kpi="integrated_roles_in_post",
                 start=str(pd.Timestamp(latest_new) - pd.DateOffset(months=23)))
    return pd.concat([old, new], ignore_index=True)


def test_a_latest_point_older_than_the_threshold_is_flagged_against_the_newest_month_in_the_data():
    limit = kpis.stale_after_months()                       # from kpis.yaml
    newest = pd.Timestamp("2025-03-01")
    at_limit = newest - pd.DateOffset(months=limit)
    _, s = kpis.read(two_kpis(str(at_limit.date())), "QOP")
    r = s.set_index("kpi_id")
    assert r.at["sickness_days_asc", "months_behind"] == limit and not r.at["sickness_days_asc", "stale"]
    _, s = kpis.read(two_kpis(str((at_limit - pd.DateOffset(months=1)).date())), "QOP")
    r = s.set_index("kpi_id")
    assert r.at["sickness_days_asc", "months_behind"] == limit + 1 and r.at["sickness_days_asc", "stale"]
    assert not r.at["integrated_roles_in_post", "stale"] and r.at["integrated_roles_in_post", "months_behind"] == 0
    assert "older than the newest data (Mar 2025)" in r.at["sickness_days_asc", "note"]


def test_staleness_depends_on_the_data_not_the_calendar():
    # The same observations five years earlier give the same ages, whatever today's date is.
    _, now = kpis.read(two_kpis("2020-03-01"), "QOP")
    _, then = kpis.read(two_kpis("2015-03-01", "2020-03-01"), "QOP")
    ages = now.set_index("kpi_id")[["months_behind", "stale"]]
    assert ages.equals(then.set_index("kpi_id")[["months_behind", "stale"]])
    assert ages.at["sickness_days_asc", "months_behind"] == 60 and ages.at["sickness_days_asc", "stale"]


def test_the_newest_month_is_taken_from_real_rows_when_demo_rows_fill_in():
    obs = two_kpis("2020-03-01", "2025-03-01")
    obs["synthetic"] = obs["kpi_id"] == "integrated_roles_in_post"        # the recent series is demo
    assert kpis.newest_period(obs) == pd.Timestamp("2020-03-01")
    _, s = kpis.read(obs, "QOP")
    assert not s.set_index("kpi_id").at["sickness_days_asc", "stale"]


def test_a_synthetic_kpi_has_no_reading_and_sits_apart_from_real_ones_in_the_matrix():
    obs = pd.concat([series(rising(24), kpi="integrated_roles_in_post").assign(synthetic=True),
                     series(rising(24), kpi="nhs_trust_staff_mom_pct").assign(synthetic=False)], ignore_index=True)
    _, s = kpis.read(obs, "QOP")
    r = s.set_index("kpi_id")
    assert r.at["integrated_roles_in_post", "variation"] == r.at["integrated_roles_in_post", "assurance"] == "synthetic"
    assert r.at["nhs_trust_staff_mom_pct", "variation"] in spc_icons()
    assert "sustained shift" not in r.at["integrated_roles_in_post", "note"]
    from iwt_helpers.present import charts
    html = charts.kpi_matrix_html(s, kpis.VARIATION_TEXT, kpis.ASSURANCE_TEXT, kpis.CHART_TEXT)
    real, synthetic = html.split("Synthetic KPIs")
    assert "NHS trust staff in post" in real and "Integrated or blended" not in real
    assert "Integrated or blended" in synthetic and "<svg" not in synthetic
    assert real.count("<svg") == 2                                        # variation and assurance of the real KPI


def test_beside_measured_kpis_a_synthetic_kpi_is_a_run_chart_and_a_wholly_synthetic_run_keeps_spc():
    real = series(rising(24), kpi="nhs_trust_staff_mom_pct").assign(synthetic=False)
    made_up = series(rising(24), kpi="integrated_roles_in_post").assign(synthetic=True)
    chart, s = kpis.read(pd.concat([made_up, real], ignore_index=True), "QOP")
    kind = s.set_index("kpi_id")["chart"]
    assert kind["nhs_trust_staff_mom_pct"] == "xmr" and kind["integrated_roles_in_post"] == "run"
    drawn = chart[chart["kpi_id"] == "integrated_roles_in_post"]
    assert drawn[SPC_COLUMNS].isna().all().all() and not drawn["special_cause"].any()   # no limits, no coloured points
    chart, s = kpis.read(pd.concat([made_up, real.assign(synthetic=True)], ignore_index=True), "QOP")
    assert (s["chart"] == "xmr").all()                  # the demo: every KPI synthetic, SPC shown to show the method
    picked = kpis.read(pd.concat([made_up, real], ignore_index=True), "QOP", ["integrated_roles_in_post"])[1]
    assert picked["chart"].tolist() == ["run"]          # picked out alone, still charted as it is beside the real one


def spc_icons():
    from iwt_helpers.present import charts
    return set(charts.VARIATION_ICON)


def test_the_month_on_month_nhs_kpi_keeps_its_spc_over_every_month_of_the_series():
    from iwt_helpers.analysis import nhs_trend
    from iwt_helpers.themes import governance_metrics as governance
    from iwt_helpers.themes.params import ReportParams
    ctx = governance.GovernanceContext.load(datastore.open_dataset(None), ReportParams.parse(icb_code="QOP"))
    r = ctx.read("QOP", nhs_trend.KPI_ID)
    s = r.summary.iloc[0]
    monthly = ctx.monthly[ctx.monthly["period"] >= nhs_trend.series_start()]
    months = monthly["period"].nunique()
    assert s["points"] == months - 1 and s["chart"] == "xmr" and not s["synthetic"]   # 83 changes over 84 months
    assert s["variation"] in spc_icons() and r.chart["upl"].notna().all()


def level_change():
    # 30 months around 100, then 18 months around 130 (a target of 120 is met after the change)
    noise = [0.8, -0.6, 0.3, -0.9, 0.5, 0.1, -0.4, 0.7, -0.2, 0.4]
    return [100 + noise[i % 10] for i in range(30)] + [130 + noise[i % 10] for i in range(18)]


def test_a_level_change_is_noted_and_a_recorded_rebase_recalculates_the_limits():
    _, before = kpis.read(series(level_change()), "QOP")
    r = before.iloc[0]
    assert "sustained shift since Jul 2023" in r["note"]          # the first month at the new level
    data = config.raw("kpis.yaml")
    data = {**data, "kpis": [{**k, "rebase": ["2023-07-01"]} if k["id"] == "integrated_roles_in_post" else k
                             for k in data["kpis"]]}
    with_rebase = config.validate(data, config.KpiFramework, "kpis.yaml with a rebase")
    chart, after = kpis.read(series(level_change()), "QOP", framework=with_rebase)
    a = after.iloc[0]
    new_level = level_change()[30:]
    assert a["mean"] == pytest.approx(sum(new_level) / len(new_level))    # limits from the new level only
    assert a["assurance"] == "consistent_pass"                      # target 120 sits below the new limits
    assert chart["segment"].nunique() == 2 and "sustained shift" not in a["note"]


def test_seasonal_kpis_say_so_and_the_signal_table_shows_each_kpis_latest_signal():
    d = kpis.definitions().set_index("id")
    assert d.at["sickness_absence_nhs", "seasonal"] and not d.at["vacancy_rate_nhs", "seasonal"]
    obs = datastore.open_dataset().table("kpi_observations")
    chart, s = kpis.read(obs, "QOP")
    assert s.set_index("kpi_id").at["sickness_absence_nhs", "note"].startswith("seasonal")
    full = kpis.recent_signals(chart, s, months=12)
    latest = kpis.recent_signals(chart, s, months=12, latest_only=True)
    assert latest["name"].is_unique and set(latest["name"]) == set(full["name"])
    assert latest.set_index("name")["signals"].sum() == len(full)
