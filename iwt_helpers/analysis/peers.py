"""Nearest-neighbour peers: ICBs most like one ICB on real context indicators.

Each indicator (``data/reference/peer_indicators.yaml``) is standardised over the 42 ICBs (z-score,
population standard deviation) and the distance between two ICBs is

    sqrt( sum_i w_i (z_i(a) - z_i(b))^2 / sum_i w_i )

so 0 means identical on every weighted indicator and 1 means one standard deviation apart on
average. Indicators come from the real committed reference tables (``population``,
``deprivation``, ``rurality``); a synthetic table is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from iwt_helpers import config
from iwt_helpers.data import geography
from iwt_helpers.data.population import for_year as pop_for_year
from iwt_helpers.errors import IwtError, MissingDataError, UsageError

WEIGHTS_FILE = "peer_indicators.yaml"
# indicator id -> (label, unit format, table it comes from); the ids are those config.PeerIndicators accepts
INDICATORS = {
    "population": ("Population (log10 of residents)", "{:.2f}", "population"),
    "share_65_plus": ("Residents aged 65+ (%)", "{:.1f}", "population"),
    "share_85_plus": ("Residents aged 85+ (%)", "{:.1f}", "population"),
    "growth_65_plus": ("Growth in residents aged 65+ (%)", "{:.1f}", "population"),
    "imd_score": ("IMD 2025 average score", "{:.1f}", "deprivation"),
    "rural_share": ("Rural LSOAs (%)", "{:.1f}", "rurality"),
}
N_ICBS = 42


class SyntheticIndicatorError(IwtError, ValueError):
    """A context indicator built from synthetic rows: peers use real indicators only."""


# The weights file as its config model checks it: weights (indicator -> weight), base_year, growth_years.
PeerSettings = config.PeerIndicators


def load_settings(settings: PeerSettings | None = None) -> PeerSettings:
    """The peer weights: ``peer_indicators.yaml``, validated by its config model (known indicators,
    weights 0 or more and not all 0, years in range), unless ``settings`` are given."""
    return config.peer_indicators() if settings is None else settings


def assert_real(df: pd.DataFrame, name: str) -> None:
    """Refuse a table that is, or has rows that are, synthetic."""
    syn = bool(df.attrs.get("synthetic", False))
    if "synthetic" in df:
        syn = syn or bool(df["synthetic"].astype(bool).any())
    if "source" in df:
        syn = syn or bool(df["source"].astype(str).str.contains("SYNTHETIC", case=False).any())
    if syn:
        raise SyntheticIndicatorError(f"table {name!r} is synthetic: nearest peers use real indicators only "
                                      "(the committed population, deprivation and rurality reference tables)")


def indicator_table(population: pd.DataFrame, deprivation: pd.DataFrame, rurality: pd.DataFrame,
                    base_year: int = 2025, growth_years: int = 10) -> pd.DataFrame:
    """One row per ICB (index icb_code, sorted), one column per indicator of :data:`INDICATORS`."""
    for df, name in ((population, "population"), (deprivation, "deprivation"), (rurality, "rurality")):
        assert_real(df, name)
    end = base_year + growth_years
    years = set(population["year"])
    if base_year not in years or end not in years:
        raise MissingDataError(f"population: no figures for {base_year} and {end}; available "
                               f"{population['year'].min()}-{population['year'].max()}")
    # One basis, one row per ICB and band and year (a folder may hold estimates and older bases too).
    p = pd.concat([pop_for_year(population, y) for y in (base_year, end)], ignore_index=True)
    p = p.assign(lower=p["age_band"].str.extract(r"^(\d+)")[0].astype(int))
    base, later = p[p["year"] == base_year], p[p["year"] == end]
    total = base.groupby("icb_code")["population"].sum()
    out = pd.DataFrame({
        "population": np.log10(total),
        "share_65_plus": 100 * base[base["lower"] >= 65].groupby("icb_code")["population"].sum() / total,
        "share_85_plus": 100 * base[base["lower"] >= 85].groupby("icb_code")["population"].sum() / total,
        "growth_65_plus": 100 * (later[later["lower"] >= 65].groupby("icb_code")["population"].sum()
                                 / base[base["lower"] >= 65].groupby("icb_code")["population"].sum() - 1),
    })
    imd = deprivation[(deprivation["domain"] == "imd") & (deprivation["measure"] == "average_score")]
    out["imd_score"] = imd.set_index("area_code")["value"]
    out["rural_share"] = rurality.set_index("area_code")["rural_share_pct"]
    out.index.name = "icb_code"
    out = out.sort_index()
    missing = out[out.isna().any(axis=1)]
    if len(missing) or len(out) != N_ICBS:
        raise MissingDataError(f"peer indicators: expected all {N_ICBS} ICBs with every indicator; missing values for "
                               f"{', '.join(missing.index) or '(none)'}, {len(out)} ICBs found")
    out.attrs["sources"] = sorted({s for df in (population, deprivation, rurality) for s in df["source"].dropna().unique()})
    return out


def load_indicators(ds, settings: PeerSettings | None = None) -> pd.DataFrame:
    """The indicator table from a dataset's (real) reference tables."""
    s = load_settings(settings)
    tables = {}
    for name in ("population", "deprivation", "rurality"):
        if ds.is_synthetic(name):
            raise SyntheticIndicatorError(f"table {name!r} of the data used is synthetic: nearest peers use real "
                                          "indicators only")
        tables[name] = ds.table(name)
    return indicator_table(tables["population"], tables["deprivation"], tables["rurality"], s.base_year, s.growth_years)


def standardise(ind: pd.DataFrame) -> pd.DataFrame:
    """z-scores over the ICBs (population standard deviation; a constant indicator gives 0)."""
    sd = ind.std(ddof=0).replace(0, np.nan)
    return ((ind - ind.mean()) / sd).fillna(0.0)


def _canonical(ind: pd.DataFrame) -> pd.DataFrame:
    """ICBs sorted by code and indicators by name, so that results do not depend on either order
    (not even in the last bit of a floating-point sum)."""
    return ind.sort_index().reindex(columns=sorted(ind.columns))


def _weights(ind: pd.DataFrame, weights: dict[str, float]) -> pd.Series:
    unknown = sorted(set(weights) - set(ind.columns))
    if unknown:
        raise ValueError(f"weights for indicators not in the table: {', '.join(unknown)}")
    w = pd.Series({c: float(weights.get(c, 0.0)) for c in ind.columns})
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError("weights must be 0 or more and not all 0")
    return w


def distance_matrix(ind: pd.DataFrame, weights: dict[str, float]) -> pd.DataFrame:
    """Weighted Euclidean distance between every pair of ICBs on the standardised indicators."""
    c = _canonical(ind)
    w = _weights(c, weights)
    z = standardise(c).to_numpy(dtype=float)
    diff = z[:, None, :] - z[None, :, :]
    d = np.sqrt((diff ** 2 * w.to_numpy()).sum(axis=2) / w.sum())
    return pd.DataFrame(d, index=c.index, columns=c.index).loc[ind.index, ind.index]


def label_of(indicator: str) -> str:
    return "Population (residents)" if indicator == "population" else INDICATORS.get(indicator, (indicator,))[0]


def show(indicator: str, value: float) -> str:
    """An indicator's value as a reader wants it (population in people, not its logarithm)."""
    if indicator == "population":
        return f"{10 ** value / 1e6:.2f} million"
    return INDICATORS.get(indicator, ("", "{:.2f}"))[1].format(value)


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= N_ICBS - 1:
        raise UsageError(f"k {k!r}: expected a whole number of neighbours from 1 to {N_ICBS - 1}")
    return int(k)


def biggest_differences(ind: pd.DataFrame, weights: dict[str, float], a: str, b: str, n: int = 2) -> list[str]:
    """The ``n`` indicators where ``b`` differs most from ``a`` (weighted standardised difference)."""
    ind = _canonical(ind)
    w = _weights(ind, weights)
    z = standardise(ind)
    gap = ((z.loc[b] - z.loc[a]).abs() * np.sqrt(w)).sort_values(ascending=False, kind="mergesort")
    out = []
    for c in gap.index[:n]:
        if w[c] <= 0:
            continue
        out.append(f"{label_of(c)}: {show(c, ind.at[b, c])} against {show(c, ind.at[a, c])}")
    return out


def nearest_peers(icb: str, k: int = 5, *, ind: pd.DataFrame | None = None, weights: dict[str, float] | None = None,
                  data_dir: str | Path | None = None) -> pd.DataFrame:
    """The ``k`` ICBs nearest ``icb``: rank, code, name, distance and each one's biggest differences
    (ties broken by ICB code). Indicators and weights default to the reference tables and the
    weights file."""
    k = _check_k(k)
    icb = geography.resolve_icb(icb)
    if ind is None or weights is None:
        settings = load_settings()
        weights = settings.weights if weights is None else weights
        if ind is None:
            from iwt_helpers.data.datastore import open_dataset
            ind = load_indicators(open_dataset(data_dir), settings)
    d = distance_matrix(ind, weights)[icb].drop(icb)
    d = d.reset_index().rename(columns={icb: "distance", "index": "icb_code"})
    d.columns = ["icb_code", "distance"]
    d = d.sort_values(["distance", "icb_code"], kind="mergesort").head(k).reset_index(drop=True)
    d.insert(0, "rank", range(1, len(d) + 1))
    d.insert(2, "icb_name", d["icb_code"].map(geography.icb_name))
    d["biggest_differences"] = [
        "; ".join(biggest_differences(ind, weights, icb, b)) for b in d["icb_code"]]
    return d


def projection_2d(ind: pd.DataFrame, weights: dict[str, float]) -> tuple[pd.DataFrame, np.ndarray]:
    """First two principal components of the weighted standardised indicators (numpy SVD), so
    that distances on the plot approximate the peer distances; with the share of variance each
    explains. Signs are fixed so that each component's largest loading is positive."""
    ind = _canonical(ind)
    w = _weights(ind, weights)
    z = standardise(ind).to_numpy(dtype=float) * np.sqrt(w.to_numpy() / w.sum())
    z = z - z.mean(axis=0)
    u, s, vt = np.linalg.svd(z, full_matrices=False)
    for i in range(min(2, len(vt))):
        if vt[i, np.argmax(np.abs(vt[i]))] < 0:
            u[:, i], vt[i] = -u[:, i], -vt[i]
    pcs = u[:, :2] * s[:2]
    share = (s ** 2 / (s ** 2).sum())[:2] if (s ** 2).sum() > 0 else np.zeros(2)
    out = pd.DataFrame(pcs, index=ind.index, columns=["pc1", "pc2"])
    out.attrs["loadings"] = pd.DataFrame(vt[:2].T, index=ind.columns, columns=["pc1", "pc2"])
    return out, share
