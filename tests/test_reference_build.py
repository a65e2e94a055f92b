"""The committed reference tables rebuild byte for byte from the shared real files."""

import pytest

from iwt_helpers import paths
from iwt_helpers.data import population, reference_build

pytestmark = pytest.mark.integration


def test_icb_population_sums_to_the_england_total_within_0_1_pct(real_data):
    p = population.reference_population()
    total = p[(p["year"] == 2020) & (p["kind"] == "estimate")]["population"].sum()
    england = population.england_total_mye(real_data)
    assert abs(total / england - 1) < 0.001


def test_reference_population_rebuilds_identically(real_data, tmp_path):
    out = population.write_reference(real_data, tmp_path)
    assert out.read_bytes() == (paths.REFERENCE / population.POPULATION_FILE).read_bytes()


def test_reference_geography_rebuilds_identically_from_the_real_lookups(real_data, tmp_path):
    for p in reference_build.build_reference(real_data, tmp_path):
        assert p.read_bytes() == (paths.REFERENCE / p.name).read_bytes(), p.name


def test_census_deprivation_and_rurality_tables_rebuild_identically(real_data, tmp_path):
    for p in reference_build.write_context_tables(real_data, tmp_path):
        assert p.read_bytes() == (paths.REFERENCE / p.name).read_bytes(), p.name


def test_population_by_sex_rebuilds_identically(real_data, tmp_path):
    population.write_reference(real_data, tmp_path)
    name = population.SEX_FILE
    assert (tmp_path / name).read_bytes() == (paths.REFERENCE / name).read_bytes()


def test_dementia_rates_are_the_shared_cfas_ii_table_value_by_value(real_data, tmp_path):
    import pandas as pd
    out = reference_build.write_prevalence(real_data.parent / "reference-data", tmp_path)
    assert out.read_bytes() == (paths.REFERENCE / "prevalence.csv").read_bytes()
    cf = pd.read_csv(real_data.parent / "reference-data" / reference_build.CFAS_FILE)
    prev = pd.read_csv(out)
    dem = prev[prev["condition"] == "dementia"]
    assert len(dem) == len(cf) == 12
    for r in cf.itertuples():
        row = dem[(dem["age_band"] == reference_build.CFAS_BANDS[r.age_band]) & (dem["sex"] == r.sex.lower())].iloc[0]
        assert (row["prevalence_pct"], row["lower_pct"], row["upper_pct"]) == pytest.approx(
            (100 * r.prevalence, 100 * r.prevalence_95_lower, 100 * r.prevalence_95_upper))
    assert (dem["status"] == "CFAS II reference rates of the Birmingham repository, unchecked against the paper").all()
