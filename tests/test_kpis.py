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
