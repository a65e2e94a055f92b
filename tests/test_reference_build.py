"""The committed reference tables rebuild byte for byte from the shared real files."""

import pytest

from iwt_helpers import paths
from iwt_helpers.data import population, reference_build

pytestmark = pytest.mark.integration


def test_icb_population_sums_to_the_england_total_within_0_1_pct(real_data):
    p = population.reference_population()
    total = p[p["year"] == 2020]["population"].sum()
    england = population.england_total_mye(real_data)
    assert abs(total / england - 1) < 0.001


def test_reference_population_rebuilds_identically(real_data, tmp_path):
    out = population.write_reference(real_data, tmp_path)
    assert out.read_bytes() == (paths.REFERENCE / population.POPULATION_FILE).read_bytes()


def test_reference_geography_rebuilds_identically_from_the_real_lookups(real_data, tmp_path):
    for p in reference_build.build_reference(real_data, tmp_path):
        assert p.read_bytes() == (paths.REFERENCE / p.name).read_bytes(), p.name
