import pandas as pd
import pytest

from iwt_helpers import vocab
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


def test_icb_override_replaces_the_default_target():
    assert kpis.targets("QK1")["virtual_ward_capacity_pct"] == 100
    assert kpis.targets("QOP")["vacancy_rate_nhs"] == kpis.definitions().set_index("id").at["vacancy_rate_nhs", "target"]


def test_an_override_for_an_unknown_icb_or_kpi_names_the_file(monkeypatch):
    real = vocab.load_yaml

    def fake(name):
        return {"QZZ": {"vacancy_rate_nhs": 5}} if name == "kpi_targets.yaml" else real(name)

    monkeypatch.setattr(vocab, "load_yaml", fake)
    with pytest.raises(ValueError, match="kpi_targets.yaml: key 'QZZ'"):
        kpis.targets("QOP")


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


def level_change():
    # 30 months around 100, then 18 months around 130 (a target of 120 is met after the change)
    noise = [0.8, -0.6, 0.3, -0.9, 0.5, 0.1, -0.4, 0.7, -0.2, 0.4]
    return [100 + noise[i % 10] for i in range(30)] + [130 + noise[i % 10] for i in range(18)]


def test_a_level_change_is_noted_and_a_recorded_rebase_recalculates_the_limits(monkeypatch):
    _, before = kpis.read(series(level_change()), "QOP")
    r = before.iloc[0]
    assert "sustained shift since Jul 2023" in r["note"]          # the first month at the new level
    real = vocab.load_yaml

    def with_rebase(name):
        data = real(name)
        if name == "kpis.yaml":
            data = {**data, "kpis": [{**k, "rebase": ["2023-07-01"]} if k["id"] == "integrated_roles_in_post" else k
                                     for k in data["kpis"]]}
        return data

    monkeypatch.setattr(vocab, "load_yaml", with_rebase)
    chart, after = kpis.read(series(level_change()), "QOP")
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
