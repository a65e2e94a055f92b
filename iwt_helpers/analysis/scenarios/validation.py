"""England totals of the projection against published national projections.

The published figures live in ``data/reference/published_projections.csv`` (each with its source,
period, scope and address); iwt's side of each comparison is computed here from the model's runs
for all 42 ICBs and the population need code (``analysis.need``), never typed in. Each row says
how the two differ in period and scope, so a reader can judge how close they should be. Beside the
Long Term Workforce Plan's shortfall, a second line sets the same baseline with NHS trusts recruiting at
the pace of the base year's own turnover files (the 2025 hiring freeze) instead of the years before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iwt_helpers import paths
from iwt_helpers.data import geography
from iwt_helpers.errors import ConfigError

from ..need import need_projection
from . import calibration, config
from .model import Run, simulate

FILE = "published_projections.csv"
COLUMNS = ["id", "measure", "value", "unit", "period", "scope", "source", "url"]


def published() -> pd.DataFrame:
    """The published national figures, checked for their columns and a source on every row."""
    path = paths.reference(FILE)
    t = pd.read_csv(path)
    if list(t.columns) != COLUMNS:
        raise ConfigError(f"{path}: expected columns {', '.join(COLUMNS)}, found {', '.join(t.columns)}")
    if t["source"].isna().any() or t["url"].isna().any() or t["id"].duplicated().any():
        raise ConfigError(f"{path}: every row needs a unique id, a source and an address")
    return t.set_index("id")


def _q(values: np.ndarray) -> tuple[float, float, float]:
    return tuple(float(v) for v in np.quantile(values, (0.1, 0.5, 0.9)))


def _gap(run: Run, mask: np.ndarray, year: int) -> tuple[float, float, float] | None:
    years = run.inputs.years
    if year not in years:
        return None
    j = years.index(year)
    return _q(run.demand[:, mask, j].sum(axis=1, dtype=np.float64) - run.supply[:, mask, j].sum(axis=1, dtype=np.float64))


def _growth_words(run: Run, mask: np.ndarray, year: int) -> str:
    """'; supply grows x% a year and demand y% to <year> (medians of the runs)', or '' outside the projection."""
    years = run.inputs.years
    if year not in years:
        return ""
    j, n = years.index(year), year - years[0]
    s = run.supply[:, mask, :].sum(axis=1, dtype=np.float64)
    d = run.demand[:, mask, :].sum(axis=1, dtype=np.float64)
    g_s, g_d = (np.median((x[:, j] / x[:, 0]) ** (1 / n) - 1) for x in (s, d))
    return f"; staff in post grow {100 * g_s:.1f}% a year and posts needed {100 * g_d:.1f}% a year, {years[0]} to {year} (medians)"


def _gap_row(run: Run, mask: np.ndarray, pid: str, year: int, scope: str, note: str, id_: str | None = None) -> dict:
    """A row comparing iwt's gap in ``year`` with the published figure ``pid`` (the row's own id ``id_``)."""
    q = _gap(run, mask, year)
    years = run.inputs.years
    return {"id": id_ or pid, "published_id": pid, "iwt_p10": q[0] if q else np.nan, "iwt_p50": q[1] if q else np.nan,
            "iwt_p90": q[2] if q else np.nan,
            "iwt_period": str(year) if q else f"{year}: outside the projection ({years[0]}-{years[-1]})",
            "iwt_scope": scope, "differs": note}


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
    scope = ("iwt baseline: gap (posts less staff in post) in NHS trusts and general practice, FTE, 10th to 90th "
             "percentile of the runs; NHS staff recruited at the pace of the years before the base year (recent_growth)"
             + _growth_words(run, health, 2036))
    for pid, year, note in (
            ("ltwp_shortfall_low", 2036, "iwt has no productivity gain in the baseline (the plan's counterfactual assumes some); "
                                         "NHS trusts' staff exclude resident doctors on the published turnover files"),
            ("ltwp_shortfall_high", 2036, "as above"),
            ("real_centre_gap_2030", 2030, "The REAL Centre's projection dates from 2022, starting from 2021/22 staff and "
                                           "vacancies; iwt starts from the latest data")):
        rows.append(_gap_row(run, health, pid, year, scope, note))
    # The same, with NHS trusts recruiting at the base year's pace (the turnover files' months: in 2025 a freeze).
    held = simulate(calibration.at_base_year_hiring(inp), run.scenario, config.draws(run.scenario, run.n_runs, run.seed),
                    run.seed)
    rows.append(_gap_row(held, health, "ltwp_shortfall_high", 2036,
                         "iwt baseline with NHS trusts recruiting at the pace of the base year's turnover files (their "
                         "joiners less leavers over the files' months: the 2025 hiring freeze) instead of the years before; "
                         "gap in NHS trusts and general practice, FTE, 10th to 90th percentile",
                         "what supply without action means: hiring held at the 2025 freeze's pace measures a funding gap "
                         "as well as a labour-supply one", id_="ltwp_shortfall_at_base_year_hiring"))
    # Dementia: iwt's own need estimate summed over ICBs.
    year = 2024
    if year in set(population["year"]) or (population["year"].min() <= year <= population["year"].max()):
        v = dementia_england(population, prevalence, year)
        rows.append({"id": "dementia_65_2024", "iwt_p10": v, "iwt_p50": v, "iwt_p90": v, "iwt_period": f"mid-{year}",
                     "iwt_scope": "iwt need estimate: CFAS II rates by age and sex (data/reference/prevalence.csv) applied to "
                                  "each ICB's resident population, summed over the 42 ICBs",
                     "differs": "Resident population (ONS) against registered patients; mid-year against September."})
    out = pd.DataFrame(rows)
    out["published_id"] = out.get("published_id", pd.Series(index=out.index, dtype=object)).fillna(out["id"])
    out = out.merge(pub.reset_index().rename(columns={"id": "published_id"}), on="published_id", how="left")
    held_row = out["id"] == "ltwp_shortfall_at_base_year_hiring"
    out.loc[held_row, "measure"] = out.loc[held_row, "measure"] + "; iwt with NHS hiring held at the base year's pace"
    order = list(out["id"])                       # the held line right after the plan's high end
    if "ltwp_shortfall_high" in order:
        order.remove("ltwp_shortfall_at_base_year_hiring")
        order.insert(order.index("ltwp_shortfall_high") + 1, "ltwp_shortfall_at_base_year_hiring")
        out = out.set_index("id").loc[order].reset_index()
    out["difference_pct"] = 100 * (out["iwt_p50"] / out["value"] - 1)
    return out[["id", "measure", "value", "unit", "period", "scope", "iwt_p10", "iwt_p50", "iwt_p90", "iwt_period",
                "iwt_scope", "difference_pct", "differs", "source", "url"]]
