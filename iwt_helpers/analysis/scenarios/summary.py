"""Runs turned into what people read: percentiles by year, sector and staff group, the waterfall
of what drives the gap, and a comparison of scenarios on a few headline measures.

Totals (a sector, the whole system) are summed within each run before percentiles are taken, so
the p10 of a total is the 10th percentile of the total, not a sum of percentiles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import measures
from .model import WATERFALL, Run, waterfall_parts

QUANTILES = (0.1, 0.5, 0.9)
MEASURES = ("supply", "demand", "gap")
COLUMNS = ["icb_code", "scenario", "year", "sector", "staff_group", "measure", "p10", "p50", "p90"]
ALL = "all"


def _groups(cells: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Start positions of runs of equal ``keys`` (cells are sorted so that they are contiguous)."""
    cols = [cells[k].astype(str).to_numpy() for k in keys]
    starts = np.flatnonzero(np.r_[True, np.any([c[1:] != c[:-1] for c in cols], axis=0)] if len(cells) else [])
    if len(cells[keys].drop_duplicates()) != len(starts):
        raise ValueError(f"cells are not sorted by {keys}")
    return starts, cells.iloc[starts][keys].reset_index(drop=True)


def runs_last(a: np.ndarray) -> np.ndarray:
    """A Run's (runs, cells, years) array as (years, cells, runs), contiguous (the model's own layout: no copy)."""
    v = np.transpose(a)
    return v if v.flags.c_contiguous else np.ascontiguousarray(v)


PW_BLOCK = 128      # numpy's pairwise summation: up to this many values summed with 8 accumulators


def group_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``np.add.reduceat(values, starts, axis=0)``, the same bits, a few
    times faster on (cells, runs) slabs. numpy sums a group as its first row plus the pairwise sum of the
    rest (numpy/_core/src/umath/loops_utils.h.src, ``pairwise_sum``), one column at a time; here the same
    additions are made in the same order a whole row (every run) at a time, for all groups at once (float32
    and float64 values, ``starts`` increasing from 0; anything else is numpy's own ``reduceat``)."""
    starts = np.asarray(starts, dtype=np.intp)
    if values.dtype not in (np.float32, np.float64) or not len(starts) or starts[0] != 0 or (np.diff(starts) <= 0).any():
        return np.add.reduceat(values, starts, axis=0)   # what the model never gives: numpy's own
    n = np.diff(np.r_[starts, len(values)]) - 1          # each group's rows after its first
    out = values[starts]
    more = np.flatnonzero(n > 0)
    if len(more):
        out[more] += _pairwise(values, starts[more] + 1, n[more])
    return out


def _pairwise(values: np.ndarray, a: np.ndarray, n: np.ndarray) -> np.ndarray:
    """(groups, ...): numpy's pairwise sum of ``values[a[g]:a[g] + n[g]]`` along axis 0 for each group g
    (n >= 1): under 8 values, in turn from -0.0; up to 128, 8 accumulators over blocks of 8, joined in pairs,
    then the rest in turn; above, the sums of two parts, the first a multiple of 8 near half."""
    res = np.empty((len(a),) + values.shape[1:], dtype=values.dtype)
    small = np.flatnonzero(n < 8)
    if len(small):
        acc = np.full((len(small),) + values.shape[1:], -0.0, dtype=values.dtype)
        for i in range(int(n[small].max())):
            k = np.flatnonzero(n[small] > i)
            acc[k] += values[a[small[k]] + i]
        res[small] = acc
    mid = np.flatnonzero((n >= 8) & (n <= PW_BLOCK))
    if len(mid):
        r = [values[a[mid] + j] for j in range(8)]
        whole = n[mid] - n[mid] % 8                      # values in blocks of 8
        for i in range(8, int(whole.max()), 8):
            k = np.flatnonzero(whole > i)
            for j in range(8):
                r[j][k] += values[a[mid[k]] + i + j]
        acc = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for i in range(int((n[mid] - whole).max())):
            k = np.flatnonzero(n[mid] - whole > i)
            acc[k] += values[a[mid[k]] + whole[k] + i]
        res[mid] = acc
    big = np.flatnonzero(n > PW_BLOCK)
    if len(big):
        half = n[big] // 2
        half -= half % 8
        res[big] = _pairwise(values, a[big], half) + _pairwise(values, a[big] + half, n[big] - half)
    return res


BLOCK = 256         # rows of runs sorted at a time (a copy that stays in cache)


def quantiles(values: np.ndarray) -> np.ndarray:
    """(3, ...) float64: the 10th, 50th and 90th percentiles over the last axis (the runs), ``np.quantile``'s
    own (linear interpolation), bit for bit. Blocks of rows are copied to a small buffer, sorted along the
    runs (several times faster than ``np.quantile``'s selection) and the percentiles read off the sorted
    values (:func:`_of_sorted`); ``values`` is left as it is (no sorted copy of all of it is made)."""
    rows = values.reshape(-1, values.shape[-1])
    out = np.empty((len(QUANTILES), len(rows)))
    buf = np.empty((min(BLOCK, len(rows)), rows.shape[1]), dtype=values.dtype)
    for i in range(0, len(rows), BLOCK):
        part = buf[:len(rows) - i]
        np.copyto(part, rows[i:i + BLOCK])
        part.sort(axis=-1)
        out[:, i:i + len(part)] = _of_sorted(part)
    return out.reshape(len(QUANTILES), *values.shape[:-1])


def _of_sorted(s: np.ndarray) -> np.ndarray:
    """(3, ...) ``np.quantile(s, QUANTILES, axis=-1)`` of values already sorted along the last axis, read off
    them as numpy's linear method does (numpy/lib/_function_base_impl.py: ``_get_indexes``, ``_get_gamma``,
    ``_lerp``): the same indexes, weights and arithmetic, so the same bits; NaN where a row has one (sorted
    last), as numpy gives. np.quantile would select again what the sort has put in place."""
    n = s.shape[-1]
    virtual = (n - 1) * np.asarray(QUANTILES, dtype=np.float64)
    prev, nxt = np.floor(virtual), np.floor(virtual) + 1
    prev[virtual >= n - 1], nxt[virtual >= n - 1] = -1, -1
    prev, nxt = prev.astype(np.intp), nxt.astype(np.intp)
    gamma = np.asarray(virtual - prev, dtype=np.float64).reshape(-1, *(1,) * (s.ndim - 1))
    a, b = np.moveaxis(s[..., prev], -1, 0), np.moveaxis(s[..., nxt], -1, 0)
    diff = b - a
    out = np.add(a, diff * gamma)
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5, casting="unsafe", dtype=type(out.dtype))
    last = s[..., -1]
    np.copyto(out, last, where=np.isnan(last))
    return out


@dataclass
class Percentiles:
    """p10, p50 and p90 of one run at each level asked for: per (level, measure), an array
    (3 quantiles, groups, years), with the groups' labels; the supply and demand they came from, so that a
    scenario whose cells are partly those of this one reuses what is the same."""
    run: Run
    labels: dict[str, pd.DataFrame]
    q: dict[tuple[str, str], np.ndarray]

    def frame(self) -> pd.DataFrame:
        """The table of :func:`percentiles`."""
        return self.arrays().frame()

    def arrays(self) -> PercentileArrays:
        """These percentiles without the run they came from."""
        return PercentileArrays(self.labels, self.q, list(self.run.inputs.years), self.run.scenario.name)


@dataclass(frozen=True)
class PercentileArrays:
    """:class:`Percentiles` without their run: small, what one process sends another; those of one scenario's
    runs for different ICBs are joined into one (:meth:`joined`)."""
    labels: dict[str, pd.DataFrame]
    q: dict[tuple[str, str], np.ndarray]
    years: list[int]
    scenario: str

    @classmethod
    def joined(cls, parts: list[PercentileArrays]) -> PercentileArrays:
        """One scenario's percentiles for the ICBs of ``parts`` in turn (each level's groups one part's after
        another's: in ICB order where the parts' ICBs are in order), as one run of all of them gives."""
        first = parts[0]
        for p in parts[1:]:
            if p.years != first.years or p.scenario != first.scenario or p.labels.keys() != first.labels.keys():
                raise ValueError(f"percentiles of {p.scenario!r} ({p.years[0]}-{p.years[-1]}) cannot join those of "
                                 f"{first.scenario!r} ({first.years[0]}-{first.years[-1]})")
        labels = {lv: pd.concat([p.labels[lv] for p in parts], ignore_index=True) for lv in first.labels}
        q = {k: np.concatenate([p.q[k] for p in parts], axis=1) for k in first.q}
        return cls(labels, q, first.years, first.scenario)

    def frame(self) -> pd.DataFrame:
        """The table of :func:`percentiles`."""
        years = np.array(self.years)
        cols: dict[str, list] = {c: [] for c in COLUMNS if c != "scenario"}
        for level, labels in self.labels.items():
            n = len(labels)
            for measure in MEASURES:
                q = self.q[(level, measure)]
                for c in ("icb_code", "sector", "staff_group"):
                    cols[c].append(np.repeat(labels[c].to_numpy(dtype=object), len(years)))
                cols["year"].append(np.tile(years, n))
                cols["measure"].append(np.full(n * len(years), measure, dtype=object))
                for i, name in enumerate(("p10", "p50", "p90")):
                    cols[name].append(q[i].reshape(-1).astype(float))
        out = pd.DataFrame({c: np.concatenate(v) for c, v in cols.items()})
        out["scenario"] = self.scenario
        return out[COLUMNS]


def _levels(cells: pd.DataFrame, levels: tuple[str, ...]) -> dict[str, tuple[np.ndarray | None, pd.DataFrame]]:
    out = {}
    for level in levels:
        if level == "staff_group":
            out[level] = (None, cells[["icb_code", "sector", "staff_group"]].reset_index(drop=True))
        else:
            keys = ["icb_code", "sector"] if level == "sector" else ["icb_code"]
            starts, labels = _groups(cells, keys)
            out[level] = (starts, labels.assign(staff_group=ALL, **({} if level == "sector" else {"sector": ALL})))
    return out


def _differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(cells,) whether a cell's runs differ in two (years, cells, runs) arrays; none when both show the same
    memory the same way (a scenario whose levers leave demand as the baseline's shares its array)."""
    if a.shape == b.shape and a.strides == b.strides and a.__array_interface__["data"] == b.__array_interface__["data"]:
        return np.zeros(a.shape[1], dtype=bool)
    return (a != b).any(axis=2).any(axis=0)


def _slab(arrays: dict[str, np.ndarray], measure: str, y: int, cols: np.ndarray | None) -> np.ndarray:
    """(cells, runs): a measure in year y of the cells ``cols`` (None: all); the gap worked out a year at a
    time (the same values as of the whole array, without making it)."""
    if measure == "gap":
        d, s = arrays["demand"][y], arrays["supply"][y]
        return d - s if cols is None else d[cols] - s[cols]
    v = arrays[measure][y]
    return v if cols is None else v[cols]


def percentile_arrays(run: Run, levels: tuple[str, ...] = ("staff_group", "sector", "icb"),
                      like: Percentiles | None = None) -> Percentiles:
    """:func:`percentiles` as arrays. ``like``: the percentiles of another run of the same cells (a
    scenario's baseline, same draws); the groups whose runs are identical in both are taken from it, only
    the others are computed."""
    cells = run.inputs.cells
    arrays = {"supply": runs_last(run.supply), "demand": runs_last(run.demand)}
    changed = None
    if like is not None and like.run.inputs is run.inputs and like.run.supply.shape == run.supply.shape:
        before = {"supply": runs_last(like.run.supply), "demand": runs_last(like.run.demand)}
        changed = {m: _differ(a, before[m]) for m, a in arrays.items()}      # cells whose runs differ
        changed["gap"] = changed["supply"] | changed["demand"]
    q: dict[tuple[str, str], np.ndarray] = {}
    labels = {}
    years = arrays["supply"].shape[0]
    for level, (starts, lab) in _levels(cells, levels).items():
        labels[level] = lab
        bounds = np.r_[starts, len(cells)] if starts is not None else np.arange(len(cells) + 1)
        for measure in MEASURES:
            todo = np.arange(len(lab)) if changed is None else np.flatnonzero(np.add.reduceat(changed[measure], bounds[:-1]))
            if not len(todo):
                q[(level, measure)] = like.q[(level, measure)]
                continue
            part = len(todo) < len(lab)
            cols = np.concatenate([np.arange(bounds[g], bounds[g + 1]) for g in todo]) if part else None
            sums = None if starts is None else np.r_[0, np.cumsum(bounds[1:][todo] - bounds[:-1][todo])[:-1]]
            got = like.q[(level, measure)].copy() if part else np.empty((len(QUANTILES), len(lab), years))
            for y in range(years):                  # a year at a time: the gap and totals stay in cache
                values = _slab(arrays, measure, y, cols)
                if sums is not None:
                    values = group_sums(values, sums)
                got[:, todo, y] = quantiles(values)
            q[(level, measure)] = got
    return Percentiles(run, labels, q)


def percentiles(run: Run, levels: tuple[str, ...] = ("staff_group", "sector", "icb")) -> pd.DataFrame:
    """p10, p50 and p90 of supply, demand and gap (FTE) for each year, at each level asked for:
    ``staff_group`` (each cell), ``sector`` (staff_group 'all') and ``icb`` (sector and staff group 'all')."""
    return percentile_arrays(run, levels).frame()


def waterfall(run: Run, icb_code: str, family: str | None = None) -> pd.DataFrame:
    """What moves an ICB's gap from the base year to the horizon (mean over the runs of ``run``, FTE), for
    the whole system or one sector family ('health', 'social care'). The report passes the run(s) at the
    median whole-system gap (``measures.median_runs``), so that the parts add up to that median; a family's
    parts are then those runs' parts, not the family's own median."""
    cells = run.inputs.cells
    m = (cells["icb_code"] == icb_code).to_numpy()
    if family:
        m = m & (cells["family"] == family).to_numpy()
    parts = waterfall_parts(run, m)
    return pd.DataFrame([{"part": k, "label": label, "fte": parts[k]} for k, label in WATERFALL])


def comparison(runs: list[Run], icb_code: str, horizons: tuple[int, ...] = (5, 10, 15)) -> pd.DataFrame:
    """Headline measures of each scenario for one ICB at each horizon (years after the base year):
    the gap's p10, p50 and p90 (FTE), the gap as a share of demand (``measures.gap_pct_of_posts``: the
    median gap over the median posts, the one figure every section gives), supply and demand against the
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
                "gap_p10": g[0], "gap_p50": measures.gap(run, icb_code, h).value, "gap_p90": g[2],
                "gap_pct_of_demand": measures.gap_pct_of_posts(run, icb_code, h).value,
                "supply_change_pct": 100 * float(np.median(supply[:, h] / supply[:, 0] - 1)),
                "demand_change_pct": 100 * float(np.median(demand[:, h] / demand[:, 0] - 1)),
                "runs": run.n_runs,
            })
    return pd.DataFrame(rows)


def sectors_gap(run: Run, icb_code: str, sectors: list[str], year: int) -> float:
    """The median over runs of the ICB's gap in ``year`` summed over ``sectors`` within each run (FTE): as
    family and whole-system totals are taken, so a sector set that is a family gives the family's median."""
    cells = run.inputs.cells
    m = ((cells["icb_code"] == icb_code) & cells["sector"].isin(sectors)).to_numpy()
    j = list(run.inputs.years).index(year)
    return float(np.quantile((run.demand[:, m, j] - run.supply[:, m, j]).sum(axis=1, dtype=np.float64), 0.5))


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
