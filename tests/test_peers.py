"""Nearest-neighbour peers: the distance's properties, real indicators only, the weights file's
checks and the `iwt peers` command."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest

from iwt_helpers import cli, config
from iwt_helpers.analysis import peers
from iwt_helpers.data.datastore import open_dataset
from iwt_helpers.errors import ConfigError

unit, integration = pytest.mark.unit, pytest.mark.integration


@pytest.fixture(scope="module")
def ind() -> pd.DataFrame:
    return peers.load_indicators(open_dataset())


@pytest.fixture(scope="module")
def weights() -> dict[str, float]:
    return peers.load_settings().weights


@unit
def test_every_icb_has_every_indicator_from_real_tables(ind):
    assert len(ind) == 42 and list(ind.columns) == list(peers.INDICATORS) and not ind.isna().any().any()
    assert not any("SYNTHETIC" in s.upper() for s in ind.attrs["sources"])
    ds = open_dataset()
    assert not any(ds.is_synthetic(t) for t in {table for _, _, table in peers.INDICATORS.values()})


@unit
def test_indicators_match_an_independent_computation(ind):
    pop = open_dataset().table("population")
    qop = pop[(pop["icb_code"] == "QOP") & (pop["year"] == 2025)]
    older = qop[qop["age_band"].isin(["65_69", "70_74", "75_79", "80_84", "85_89", "90_plus"])]["population"].sum()
    assert ind.at["QOP", "share_65_plus"] == pytest.approx(100 * older / qop["population"].sum())
    assert ind.at["QOP", "population"] == pytest.approx(math.log10(qop["population"].sum()))


@unit
def test_distance_from_an_icb_to_itself_is_zero_and_distances_are_symmetric(ind, weights):
    d = peers.distance_matrix(ind, weights)
    assert np.allclose(np.diag(d.to_numpy()), 0)
    assert np.allclose(d.to_numpy(), d.to_numpy().T)
    assert (d.to_numpy()[~np.eye(42, dtype=bool)] > 0).all()


@unit
def test_distance_is_invariant_to_the_order_of_icbs_and_of_indicators(ind, weights):
    d = peers.distance_matrix(ind, weights)
    rng = np.random.default_rng(7)
    shuffled = ind.iloc[rng.permutation(len(ind)), rng.permutation(ind.shape[1])]
    d2 = peers.distance_matrix(shuffled, weights).loc[d.index, d.columns]
    assert np.allclose(d.to_numpy(), d2.to_numpy())
    assert peers.nearest_peers("QOP", 5, ind=shuffled, weights=weights).equals(peers.nearest_peers("QOP", 5, ind=ind, weights=weights))


@unit
def test_distance_changes_when_a_weight_changes(ind, weights):
    d = peers.distance_matrix(ind, weights)
    heavier = {**weights, "rural_share": weights["rural_share"] + 2}
    d2 = peers.distance_matrix(ind, heavier)
    assert not np.allclose(d.to_numpy(), d2.to_numpy())
    # by hand for one pair: sqrt(sum w dz^2 / sum w)
    z = (ind - ind.mean()) / ind.std(ddof=0)
    w = pd.Series(heavier)
    assert d2.at["QOP", "QT6"] == pytest.approx(math.sqrt((w * (z.loc["QOP"] - z.loc["QT6"]) ** 2).sum() / w.sum()))


@unit
def test_nearest_peers_are_sorted_without_the_icb_itself_and_name_their_differences(ind, weights):
    t = peers.nearest_peers("qop", 5, ind=ind, weights=weights)
    assert list(t["rank"]) == [1, 2, 3, 4, 5] and "QOP" not in set(t["icb_code"])
    assert t["distance"].is_monotonic_increasing
    full = peers.distance_matrix(ind, weights)["QOP"].drop("QOP").sort_values()
    assert t["distance"].tolist() == pytest.approx(full.head(5).tolist())
    assert t["biggest_differences"].str.contains("against").all()


@unit
@pytest.mark.parametrize("k", [0, 42, -1, 2.5, True])
def test_k_outside_1_to_41_is_refused(ind, weights, k):
    with pytest.raises(ValueError, match="1 to 41"):
        peers.nearest_peers("QOP", k, ind=ind, weights=weights)


@unit
def test_a_synthetic_table_is_refused():
    ds = open_dataset()
    pop, dep, rur = ds.table("population"), ds.table("deprivation"), ds.table("rurality")
    with pytest.raises(peers.SyntheticIndicatorError, match="population"):
        peers.indicator_table(pop.assign(source="SYNTHETIC demo data (iwt)"), dep, rur)
    rur.attrs["synthetic"] = True
    with pytest.raises(peers.SyntheticIndicatorError, match="rurality"):
        peers.indicator_table(pop, dep, rur)


@unit
@pytest.mark.parametrize(("body", "key"), [
    ("weights: {population: 1, bed_days: 2}", "weights.bed_days"),
    ("weights: {population: 1, imd_score: -0.5}", "weights.imd_score"),
    ("weights: {population: 0, imd_score: 0}", "weights"),
    ("weights: {population: lots}", "weights.population"),
    ("base_year: 2025", "weights"),
])
def test_a_bad_weights_file_is_refused_naming_the_file_and_key(tmp_path, body, key):
    f = tmp_path / "weights.yaml"
    f.write_text(body)
    with pytest.raises(ConfigError) as err:
        config.load(f, peers.PeerSettings)
    assert str(f) in str(err.value) and key in str(err.value)


@unit
def test_the_committed_weights_file_is_valid():
    s = peers.load_settings()
    assert set(s.weights) == set(peers.INDICATORS) and sum(s.weights.values()) > 0


@unit
def test_projection_keeps_42_points_and_two_components(ind, weights):
    pts, share = peers.projection_2d(ind, weights)
    assert pts.shape == (42, 2) and 0 < share[1] <= share[0] <= 1


@integration
def test_iwt_peers_csv_lists_the_nearest_neighbours(capsys, ind, weights):
    assert cli.main(["peers", "--icb", "QOP", "--csv"]) == 0
    out = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(out.columns) == ["rank", "icb_code", "icb_name", "distance", "biggest_differences"]
    expected = peers.nearest_peers("QOP", 5, ind=ind, weights=weights)
    assert out["icb_code"].tolist() == expected["icb_code"].tolist()
    assert out["distance"].tolist() == pytest.approx(expected["distance"].tolist(), abs=1e-4)


@integration
def test_iwt_peers_refuses_a_bad_k_with_a_message(capsys):
    assert cli.main(["peers", "--icb", "QOP", "--k", "0"]) == 2
    assert "1 to 41" in capsys.readouterr().err
