"""The config package: a model for every YAML file in data/reference, every committed file valid, the
committed JSON Schemas equal to the models, and a bad value in each file refused with an error naming
the file, the key and the value."""

from __future__ import annotations

import shutil

import pytest
import yaml

from iwt_helpers import config, paths, vocab
from iwt_helpers.config.base import SCHEMA_DIR
from iwt_helpers.errors import ConfigError

pytestmark = pytest.mark.unit

# YAML files whose models are written elsewhere: skipped only while no model is registered for them.
PENDING = {"scenarios.yaml": "its model is config/scenarios.py, written separately"}
YAML_FILES = sorted(p.name for p in paths.REFERENCE.iterdir() if p.suffix in (".yaml", ".yml"))


@pytest.fixture
def committed_caches():
    """Committed files read afresh in the test and again after it."""
    config.clear_caches()
    yield
    config.clear_caches()


def committed(name: str):
    return yaml.load(paths.reference(name).read_text(encoding="utf-8"), Loader=config.base.SAFE_LOADER)


def dump(data) -> str:
    return yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)


# --------------------------------------------------------------------------- coverage and schemas


@pytest.mark.parametrize("name", YAML_FILES)
def test_every_yaml_file_in_data_reference_has_a_registered_model(name):
    if name not in config.REGISTRY and name in PENDING:
        pytest.skip(f"{name}: {PENDING[name]}")
    assert name in config.REGISTRY, f"data/reference/{name} has no config model (iwt_helpers/config, @register)"


def test_every_registered_model_names_a_committed_file():
    assert sorted(set(config.REGISTRY) - set(YAML_FILES)) == []


@pytest.mark.parametrize("name", sorted(config.REGISTRY))
def test_every_committed_file_matches_its_model(name):
    model = config.REGISTRY[name]
    assert isinstance(config.load(name, model), model)


def test_committed_json_schemas_are_those_of_the_models():
    wanted = config.schema_texts()
    found = {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.schema.json")}
    fix = "run `.venv/bin/python tools/write_config_schemas.py` and commit docs/schemas/"
    assert sorted(found) == sorted(wanted), fix
    assert [n for n in wanted if found[n] != wanted[n]] == [], fix


def test_the_models_accept_what_the_analysis_code_reads():
    from iwt_helpers.analysis import peers, spc
    from iwt_helpers.config import item_bank, kpi_framework, peer_weights
    from iwt_helpers.data import readiness_store
    assert set(kpi_framework.IMPROVEMENT) == set(spc.DIRECTIONS)
    assert set(peer_weights.INDICATORS) == set(peers.INDICATORS)
    assert set(item_bank.PERIODS) == set(readiness_store.PERIODS)


# --------------------------------------------------------------------------- bad values


def _first_kpi(d, **change):
    d["kpis"][0].update(change)


# file, change to the committed file, the key path the error names, the value it names (None: see the message)
BAD = [
    ("vocabulary.yaml", lambda d: d["sectors"][2].update(code="nhs_trust"), "sectors[2].code", "nhs_trust"),
    ("vocabulary.yaml", lambda d: d["sectors"][0].update(family="care"), "sectors[0].family", "care"),
    ("vocabulary.yaml", lambda d: d["staff_groups"][1]["nhs_hchs_groups"].append("Managers"),
     "staff_groups[9].nhs_hchs_groups[3]", "Managers"),
    ("disclosure.yaml", lambda d: d.update(min_count=0), "min_count", 0),
    ("disclosure.yaml", lambda d: d["record_level"].update(fte_round_to=0), "record_level.fte_round_to", 0),
    ("disclosure.yaml", lambda d: d["record_level"].update(rate_min_denominator=-1),
     "record_level.rate_min_denominator", -1),
    ("kpis.yaml", lambda d: _first_kpi(d, improvement="up"), "kpis[0].improvement", "up"),
    ("kpis.yaml", lambda d: d["kpis"][1].update(id=d["kpis"][0]["id"]), "kpis[1].id", "vacancy_rate_nhs"),
    ("kpis.yaml", lambda d: d["kpis"][1].pop("owner_role"), "kpis[1].owner_role", None),
    ("kpis.yaml", lambda d: _first_kpi(d, rolling=-1), "kpis[0].rolling", -1),
    ("kpis.yaml", lambda d: _first_kpi(d, frequency="weekly"), "kpis[0].frequency", "weekly"),
    ("kpi_targets.yaml", lambda d: d.update(QZZ={"vacancy_rate_nhs": 5}), "QZZ (key)", "QZZ"),
    ("kpi_targets.yaml", lambda d: d.update(QOP={"bed_days": 5}), "QOP.bed_days (key)", "bed_days"),
    ("kpi_targets.yaml", lambda d: d.update(QOP={"vacancy_rate_nhs": "low"}), "QOP.vacancy_rate_nhs", "low"),
    ("peer_indicators.yaml", lambda d: d["weights"].update(imd_score=-0.5), "weights.imd_score", -0.5),
    ("peer_indicators.yaml", lambda d: d["weights"].update(bed_days=1), "weights.bed_days (key)", "bed_days"),
    ("peer_indicators.yaml", lambda d: d.update(growth_years=40), "growth_years", 40),
    ("case_studies.yaml", lambda d: d["systems"][0]["initiatives"][1].update(themes=["kindness"]),
     "systems[0].initiatives[1].themes[0]", "kindness"),
    ("case_studies.yaml", lambda d: d["systems"][1]["initiatives"][0].update(id=d["systems"][0]["initiatives"][0]["id"]),
     "systems[1].initiatives[0].id", "sy_workforce_board"),
    ("case_studies.yaml", lambda d: d["systems"][2].update(icb_code="QXX"), "systems[2].icb_code", "QXX"),
    ("readiness_items.yaml", lambda d: d["items"][0].update(weight=0), "items[0].weight", 0),
    ("readiness_items.yaml", lambda d: d["items"][0].update(weight="2"), "items[0].weight", "2"),
    ("readiness_items.yaml", lambda d: d["items"][4].update(domain="finance"), "items[4].domain", "finance"),
    ("readiness_items.yaml", lambda d: d["items"][4]["levels"].pop(4), "items[4].levels", [0, 1, 2, 3]),
    ("readiness_items.yaml", lambda d: d["items"][5].update(id=d["items"][0]["id"]), "items[5].id", "V1"),
    ("readiness_items.yaml", lambda d: d["items"][0].update(helps=" "), "items[0].helps", " "),
    ("readiness_items.yaml", lambda d: d.update(period="fortnight"), "period", "fortnight"),
    ("readiness_items.yaml", lambda d: d["scale"].pop(2), "scale", [0, 1, 3, 4]),
    ("ambulance_trusts.yaml", lambda d: d["trusts"][0]["icbs"][0].update(icb="QZZ"), "trusts[0].icbs[0].icb", "QZZ"),
    ("ambulance_trusts.yaml", lambda d: d["trusts"][5]["icbs"][0]["lads"].append("W06000001"),
     "trusts[5].icbs[0].lads[3]", "W06000001"),
    ("ambulance_trusts.yaml", lambda d: d["trusts"][1].update(org_code=d["trusts"][0]["org_code"]),
     "trusts[1].org_code", "RX6"),
    ("demo_calibration.yaml", lambda d: d.update(calibration_year=2030), "calibration_year", 2030),
    ("demo_calibration.yaml", lambda d: d.update(label="demo data"), "label", "demo data"),
    ("demo_calibration.yaml", lambda d: d["sectors"]["nhs_trust"]["staff_groups"].update(surgeon=0.0),
     "sectors.nhs_trust.staff_groups.surgeon (key)", "surgeon"),
    ("demo_calibration.yaml", lambda d: d["sectors"]["nhs_trust"]["staff_groups"].update(doctor=0.2),
     "sectors.nhs_trust.staff_groups", None),
    ("demo_calibration.yaml", lambda d: d["pay"]["national_living_wage"].pop(2021), "pay.national_living_wage", None),
    ("demo_calibration.yaml", lambda d: d["age_profile"]["social_care"].update(over_90=0.0),
     "age_profile.social_care.over_90 (key)", "over_90"),
]


@pytest.mark.parametrize(("name", "change", "key", "value"), BAD, ids=[f"{b[0]}:{b[2]}" for b in BAD])
def test_a_bad_value_is_refused_naming_the_file_the_key_and_the_value(tmp_path, name, change, key, value):
    d = committed(name)
    change(d)
    f = tmp_path / name
    f.write_text(dump(d), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        config.load(f, config.REGISTRY[name])
    msg = str(err.value)
    assert msg.startswith(f"{f}: ") and f"  {key}: " in msg, msg
    if value is not None:
        assert f"(found {value!r})" in msg, msg


def test_shares_that_do_not_add_up_and_a_missing_year_say_so(tmp_path):
    d = committed("demo_calibration.yaml")
    d["sectors"]["nhs_trust"]["staff_groups"]["doctor"] = 0.2
    with pytest.raises(ConfigError, match=r"sectors\.nhs_trust\.staff_groups: the shares must add up to 1; they add up to 1\.1"):
        config.validate(d, config.DemoCalibration, "demo_calibration.yaml")
    d = committed("demo_calibration.yaml")
    del d["pay"]["national_living_wage"][2021]
    with pytest.raises(ConfigError, match="pay.national_living_wage: no National Living Wage for 2021"):
        config.validate(d, config.DemoCalibration, "demo_calibration.yaml")


@pytest.mark.parametrize("name", ["case_studies.yaml", "readiness_items.yaml"])
def test_an_email_address_even_in_a_comment_is_refused_naming_the_line(tmp_path, name):
    lines = paths.reference(name).read_text(encoding="utf-8").splitlines()
    lines.insert(2, "# write to someone@example.org")
    f = tmp_path / name
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{f}, line 3: contains an e-mail address.*'someone@example.org'"):
        config.load(f, config.REGISTRY[name])


def test_a_file_that_is_not_yaml_or_missing_is_refused_naming_it(tmp_path):
    f = tmp_path / "kpis.yaml"
    f.write_text("kpis: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^{f}: is not valid YAML"):
        config.load(f, config.KpiFramework)
    with pytest.raises(ConfigError, match="cannot be read"):
        config.load(tmp_path / "none.yaml", config.KpiFramework)


def test_icb_codes_are_read_as_ods_codes_in_any_case():
    targets = config.validate({"e54000057": {"vacancy_rate_nhs": 6}}, config.KpiTargets, "kpi_targets.yaml")
    assert targets.for_icb("QOP") == {"vacancy_rate_nhs": 6.0}
    with pytest.raises(ConfigError, match=r"E54000057 \(key\): ICB QOP is given twice"):
        config.validate({"QOP": {}, "E54000057": {}}, config.KpiTargets, "kpi_targets.yaml")


def test_a_caller_may_check_tags_against_other_item_ids():
    lib = committed("case_studies.yaml")
    tags = sorted({t for s in lib["systems"] for i in s["initiatives"] for t in i["readiness"]})
    assert config.validate(lib, config.CaseStudyLibrary, "lib", context={"readiness_item_ids": tags})
    with pytest.raises(ConfigError, match="not an item id"):
        config.validate(lib, config.CaseStudyLibrary, "lib", context={"readiness_item_ids": tags[1:]})


def test_code_that_reads_a_committed_file_as_a_mapping_reads_a_validated_file(tmp_path, monkeypatch, committed_caches):
    for p in paths.REFERENCE.glob("*.yaml"):
        shutil.copy(p, tmp_path / p.name)
    d = committed("kpis.yaml")
    _first_kpi(d, improvement="up")
    (tmp_path / "kpis.yaml").write_text(dump(d), encoding="utf-8")
    monkeypatch.setattr(paths, "REFERENCE", tmp_path)
    with pytest.raises(ConfigError, match=r"kpis\.yaml: does not match.*\n  kpis\[0\]\.improvement: .*\(found 'up'\)"):
        vocab.load_yaml("kpis.yaml")
    with pytest.raises(ConfigError, match="kpis.yaml"):
        config.kpis()
    assert vocab.load_yaml("disclosure.yaml")["min_count"] == committed("disclosure.yaml")["min_count"]


def test_accessors_give_the_committed_files_once_per_process():
    assert config.kpis() is config.kpis() and config.vocabulary().sector_codes == vocab.sector_codes()
    assert config.readiness_items().ids[0] == committed("readiness_items.yaml")["items"][0]["id"]
    assert config.raw("kpis.yaml") is vocab.load_yaml("kpis.yaml")
