"""Runs turned into what people read: percentiles by year, sector and staff group, the waterfall
of what drives the gap, and a comparison of scenarios on a few headline measures.

Totals (a sector, the whole system) are summed within each run before percentiles are taken, so
the p10 of a total is the 10th percentile of the total, not a sum of percentiles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .model import WATERFALL, Run, waterfall_parts

QUANTILES = (0.1, 0.5, 0.9)
MEASURES = ("supply", "demand", "gap")
COLUMNS = ["icb_code", "scenario", "year", "sector", "staff_group", "measure", "p10", "p50", "p90"]
ALL = "all"


def _groups(cells: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Start positions of runs of equal ``keys`` (cells are sorted so that they are contiguous)."""
    k = cells[keys].astype(str).agg("|".join, axis=1)
    starts = np.flatnonzero(np.r_[True, k.to_numpy()[1:] != k.to_numpy()[:-1]])
    if k.nunique() != len(starts):
        raise ValueError(f"cells are not sorted by {keys}")
    return starts, cells.iloc[starts][keys].reset_index(drop=True)


def percentiles(run: Run, levels: tuple[str, ...] = ("staff_group", "sector", "icb")) -> pd.DataFrame:
    """p10, p50 and p90 of supply, demand and gap (FTE) for each year, at each level asked for:
    ``staff_group`` (each cell), ``sector`` (staff_group 'all') and ``icb`` (sector and staff group 'all')."""
    cells = run.inputs.cells
    years = np.array(run.inputs.years)
    arrays = {"supply": run.supply, "demand": run.demand}
    arrays["gap"] = run.demand - run.supply
    frames = []
    for level in levels:
        if level == "staff_group":
            labels = cells[["icb_code", "sector", "staff_group"]].reset_index(drop=True)
            agg = arrays
        else:
            keys = ["icb_code", "sector"] if level == "sector" else ["icb_code"]
            starts, labels = _groups(cells, keys)
            agg = {m: np.add.reduceat(a, starts, axis=1) for m, a in arrays.items()}
            labels = labels.assign(staff_group=ALL, **({} if level == "sector" else {"sector": ALL}))
        for measure, a in agg.items():
            q = np.quantile(a, QUANTILES, axis=0)                       # (3, groups, years)
            n, t = q.shape[1], q.shape[2]
            frame = labels.loc[np.repeat(np.arange(n), t)].reset_index(drop=True)
            frame["year"] = np.tile(years, n)
            frame["measure"] = measure
            for i, name in enumerate(("p10", "p50", "p90")):
                frame[name] = q[i].reshape(-1).astype(float)
            frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["scenario"] = run.scenario.name
    return out[COLUMNS]


def waterfall(run: Run, icb_code: str, family: str | None = None) -> pd.DataFrame:
    """What moves an ICB's gap from the base year to the horizon (mean over runs, FTE), for the whole
    system or one sector family ('health', 'social care')."""
    cells = run.inputs.cells
    m = (cells["icb_code"] == icb_code).to_numpy()
    if family:
        m = m & (cells["family"] == family).to_numpy()
    parts = waterfall_parts(run, m)
    return pd.DataFrame([{"part": k, "label": label, "fte": parts[k]} for k, label in WATERFALL])


def comparison(runs: list[Run], icb_code: str, horizons: tuple[int, ...] = (5, 10, 15)) -> pd.DataFrame:
    """Headline measures of each scenario for one ICB at each horizon (years after the base year):
    the gap's p10, p50 and p90 (FTE), the gap as a share of demand, supply and demand against the
    base year, and leaving avoided by levers."""
    rows = []
    for run in runs:
        cells = run.inputs.cells
        m = (cells["icb_code"] == icb_code).to_numpy()
        supply = run.supply[:, m, :].sum(axis=1, dtype=np.float64)
        demand = run.demand[:, m, :].sum(axis=1, dtype=np.float64)
        gap = demand - supply
        for h in horizons:
            if h > run.inputs.horizon:
                continue
            g = np.quantile(gap[:, h], QUANTILES)
            rows.append({
                "scenario": run.scenario.name, "label": run.scenario.label, "years_ahead": h,
                "year": run.inputs.base_year + h,
                "gap_p10": g[0], "gap_p50": g[1], "gap_p90": g[2],
                "gap_pct_of_demand": 100 * float(np.median(gap[:, h] / demand[:, h])),
                "supply_change_pct": 100 * float(np.median(supply[:, h] / supply[:, 0] - 1)),
                "demand_change_pct": 100 * float(np.median(demand[:, h] / demand[:, 0] - 1)),
                "runs": run.n_runs,
            })
    return pd.DataFrame(rows)


def icb_series(run: Run, icb_code: str, by: str | None = None) -> pd.DataFrame:
    """Percentiles by year for one ICB: the whole system (``by`` None) or by 'sector' or 'family'."""
    cells = run.inputs.cells
    m = (cells["icb_code"] == icb_code).to_numpy()
    sub = cells[m]
    groups = [("all", np.ones(len(sub), dtype=bool))] if by is None else [
        (g, (sub[by] == g).to_numpy()) for g in dict.fromkeys(sub[by])]
    rows = []
    for g, gm in groups:
        for measure in MEASURES:
            a = {"supply": run.supply, "demand": run.demand}.get(measure)
            vals = (run.demand[:, m][:, gm] - run.supply[:, m][:, gm]) if a is None else a[:, m][:, gm]
            q = np.quantile(vals.sum(axis=1, dtype=np.float64), QUANTILES, axis=0)
            for j, year in enumerate(run.inputs.years):
                rows.append({"group": g, "measure": measure, "year": year, "p10": q[0, j], "p50": q[1, j], "p90": q[2, j]})
    return pd.DataFrame(rows)


def carers_sensitivity(unpaid_care: pd.DataFrame, icb_code: str, sens, n_runs: int, seed: int) -> dict:
    """What a fall of ``sens.fall`` in the hours an ICB's unpaid carers give (Census 2021 bands) would
    add to the demand for paid care, in FTE: hours a week by band x 52 x the fall x the share that
    becomes paid care / the hours a full-time care worker gives in a year. Percentiles over runs."""
    from .config import carers_draws
    d = unpaid_care[(unpaid_care["icb_code"] == icb_code) & (unpaid_care["year"] == unpaid_care["year"].max())]
    carers = d.set_index("hours_band")["carers"]
    draws = carers_draws(sens, n_runs, seed)
    hours_year = sum(float(carers.get(b, 0.0)) * draws[f"hours_a_week.{b}"] * 52 for b in sens.hours_a_week)
    lost = hours_year * sens.fall
    fte = lost * draws["replaced_share"] / draws["hours_per_fte"]
    q = lambda a: dict(zip(("p10", "p50", "p90"), np.quantile(a, QUANTILES)))   # noqa: E731
    return {"year": int(d["year"].max()) if len(d) else None, "carers": float(carers.sum()),
            "carers_by_band": carers.to_dict(), "hours_a_year": q(hours_year), "hours_lost": q(lost), "fte": q(fte),
            "fall": sens.fall, "runs": n_runs}
