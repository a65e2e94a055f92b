"""England totals of the projection against published national projections.

The published figures live in ``data/reference/published_projections.csv`` (each with its source,
period, scope and address); iwt's side of each comparison is computed here from the model's runs
for all 42 ICBs and the population need code (``analysis.need``), never typed in. Each row says
how the two differ in period and scope, so a reader can judge how close they should be.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iwt_helpers import paths
from iwt_helpers.data import geography

from ..need import need_projection
from .model import Run

FILE = "published_projections.csv"
COLUMNS = ["id", "measure", "value", "unit", "period", "scope", "source", "url"]


def published() -> pd.DataFrame:
    """The published national figures, checked for their columns and a source on every row."""
    path = paths.reference(FILE)
    t = pd.read_csv(path)
    if list(t.columns) != COLUMNS:
        raise ValueError(f"{path}: expected columns {', '.join(COLUMNS)}, found {', '.join(t.columns)}")
    if t["source"].isna().any() or t["url"].isna().any() or t["id"].duplicated().any():
        raise ValueError(f"{path}: every row needs a unique id, a source and an address")
    return t.set_index("id")


def _q(values: np.ndarray) -> tuple[float, float, float]:
    return tuple(float(v) for v in np.quantile(values, (0.1, 0.5, 0.9)))


def _gap(run: Run, mask: np.ndarray, year: int) -> tuple[float, float, float] | None:
    years = run.inputs.years
    if year not in years:
        return None
    j = years.index(year)
    return _q(run.demand[:, mask, j].sum(axis=1, dtype=np.float64) - run.supply[:, mask, j].sum(axis=1, dtype=np.float64))


def dementia_england(population: pd.DataFrame, prevalence: pd.DataFrame, year: int) -> float:
    """People aged 65+ with dementia in England in ``year``: iwt's need estimate (CFAS II rates by age
    and sex applied to each ICB's population) summed over the 42 ICBs."""
    rates = prevalence[prevalence["condition"] == "dementia"]
    total = 0.0
    for icb in geography.icb_codes():
        n = need_projection(population, rates, icb, [year])
        total += float(n["people_with_need"].sum())
    return total


def compare(run: Run, population: pd.DataFrame, prevalence: pd.DataFrame) -> pd.DataFrame:
    """One row per comparison: the published figure and iwt's (p10, p50, p90 where iwt's is a range),
    with the period and scope of each and what differs. ``run`` is the baseline for all 42 ICBs."""
    pub = published()
    inp = run.inputs
    c = inp.cells
    social = c["family"].eq("social care").to_numpy()
    health = c["family"].eq("health").to_numpy()
    base = inp.base_year
    rows = []

    # Skills for Care: posts grow with the 65+ population to 2040 (iwt's baseline method for social care).
    from iwt_helpers import vocab
    from iwt_helpers.data.population import BAND_EDGES, for_year
    lower = {b: lo for (lo, _), b in zip(BAND_EDGES, vocab.population_age_bands())}

    def older(year: int) -> pd.Series:
        p = for_year(population, year)
        return p[p["age_band"].map(lower) >= 65].groupby("icb_code")["population"].sum()

    target = 2040
    if target <= int(population["year"].max()):
        g = older(target) / older(base)
        posts0 = pd.Series(c.loc[social, "demand0"].to_numpy(), index=c.loc[social, "icb_code"]).groupby(level=0).sum()
        extra = float((posts0 * (g.reindex(posts0.index) - 1)).sum())
        growth = 100 * extra / float(posts0.sum())
        where = f"{base} to {target}"
        scope = ("iwt baseline method: each ICB's social care posts in the base year (filled and vacant) grow with its "
                 "population aged 65+ (ONS 2022-based projections)")
        for pid, val in (("sfc_extra_posts_2040", extra), ("sfc_growth_2040_pct", growth)):
            rows.append({"id": pid, "iwt_p10": val, "iwt_p50": val, "iwt_p90": val, "iwt_period": where, "iwt_scope": scope,
                         "differs": f"Base year {base} against 2024/25; iwt's base-year posts are the data set's (synthetic "
                                    "where the report says so), Skills for Care's its own estimate of 1.71 million posts."})
    # LTWP: shortfall without action, 2036/37; REAL Centre: gap in 2030/31.
    for pid, year, note in (
            ("ltwp_shortfall_low", 2036, "iwt has no productivity gain in the baseline (the plan's counterfactual assumes some); "
                                         "NHS trusts' staff exclude resident doctors on the published turnover files"),
            ("ltwp_shortfall_high", 2036, "as above"),
            ("real_centre_gap_2030", 2030, "The REAL Centre's projection dates from 2022, starting from 2021/22 staff and "
                                           "vacancies; iwt starts from the latest data")):
        q = _gap(run, health, year)
        rows.append({"id": pid, "iwt_p10": q[0] if q else np.nan, "iwt_p50": q[1] if q else np.nan,
                     "iwt_p90": q[2] if q else np.nan,
                     "iwt_period": str(year) if q else f"{year}: outside the projection ({inp.years[0]}-{inp.years[-1]})",
                     "iwt_scope": "iwt baseline: gap (posts less staff in post) in NHS trusts and general practice, FTE, "
                                  "10th to 90th percentile of the runs",
                     "differs": note})
    # Dementia: iwt's own need estimate summed over ICBs.
    year = 2024
    if year in set(population["year"]) or (population["year"].min() <= year <= population["year"].max()):
        v = dementia_england(population, prevalence, year)
        rows.append({"id": "dementia_65_2024", "iwt_p10": v, "iwt_p50": v, "iwt_p90": v, "iwt_period": f"mid-{year}",
                     "iwt_scope": "iwt need estimate: CFAS II rates by age and sex (data/reference/prevalence.csv) applied to "
                                  "each ICB's resident population, summed over the 42 ICBs",
                     "differs": "Resident population (ONS) against registered patients; mid-year against September."})
    out = pd.DataFrame(rows).merge(pub.reset_index(), on="id", how="left")
    out["difference_pct"] = 100 * (out["iwt_p50"] / out["value"] - 1)
    return out[["id", "measure", "value", "unit", "period", "scope", "iwt_p10", "iwt_p50", "iwt_p90", "iwt_period",
                "iwt_scope", "difference_pct", "differs", "source", "url"]]
