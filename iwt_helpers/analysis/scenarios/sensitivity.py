"""What drives the range: each assumption swung across its range with the others at their medians.

A one-way sensitivity (a tornado): one run with every ranged assumption and lever setting at the
middle of its range (the median of a uniform draw), then, for each in turn, one run at its low end
and one at its high end, the others held at the middle. All runs are one call of
:func:`model.simulate` (a run per row of the draws), so the whole tornado costs one short simulation.
Profiles (by age band) swing between their low and high curves, growth windows between the growth over
their shorter and their longer window. The routes' shares of joiners are fixed shares, not ranges, so
they have no bar. Each ICB's own departure from England's growth is held at 0 (its median), so
``local_net_growth_sd`` has no swing (:data:`HELD_AT_ZERO`): it widens an ICB's range, not the middle.
Rates and yearly changes are written as percentages.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import calibration, model
from .config import AGE_BANDS, GrowthWindow, Profile, Range, Scenario, draws
from .inputs import Inputs
from .model import simulate

# Words for the chart; a key not listed here is shown by its name.
LABELS = {
    "leaving_rate_scale": "Social care leaving rates (x base year)",
    "leaving_by_age": "Leaving by age (shape)",
    "joiner_age_profile": "Joiners' ages",
    "newly_qualified_growth": "Newly qualified joiners, growth a year",
    "international_growth": "International recruits to social care, change a year",
    "health_international_first_year": "International recruits to the NHS, change in the first year",
    "health_international_growth": "International recruits to the NHS, change a year after",
    "wider_labour_market_growth": "Wider labour market joiners, change a year",
    "nhs_leaving_rate": "Leaving the NHS, rate a year",
    "recent_growth": "Recruitment pace: growth of the years before the base year",
    "local_rate_weight": "Weight of the ICB's own pattern",
    "local_net_growth_sd": "ICB's own departure from England's growth",
    "national_net_growth": "England's NHS trust growth departing from the recent pace",
    "gp_leaving_rate": "GPs leaving, rate a year",
    "gp_training_conversion": "Qualified GP FTE per training acceptance",
    "cross_sector_scale": "Social care leavers moving to the NHS (x data)",
    "pay_gap_drift": "Pay gap drift a year",
    "flow_response_to_pay": "Moves' response to the pay gap",
    "nhs_age_weighting": "NHS use of services weighted by age",
    "need_growth_health": "Health need beyond demography, a year",
    "need_growth_social_care": "Social care need beyond demography, a year",
    "social_care_leavers_staying_in_sector": "Social care leavers staying in the sector",
    "nhs_leavers_to_social_care": "NHS leavers moving to social care",
}


# Assumptions the one-way sensitivity holds at 0 by design (their swing is 0): each ICB's own departure from
# England's growth, drawn per ICB and run, is at its median, 0, in every run of the tornado.
HELD_AT_ZERO = ("local_net_growth_sd",)


def _end_words(v: float, kind: str | None) -> str:
    """One end of a range as a reader reads it: rates and yearly changes as percentages (a change with its
    sign), factors as numbers."""
    if kind in ("rate", "change"):
        pct = f"{100 * v:.2f}".rstrip("0").rstrip(".")
        return f"{'+' if kind == 'change' and v > 0 else ''}{pct}%"
    return f"{v:g}"


def _kind(scenario: Scenario, key: str) -> str | None:
    """The kind (rate, change, factor, years) of an assumption or lever setting ``lever.param``."""
    a = scenario.assumptions.get(key)
    if a is None and "." in key:
        lname, p = key.split(".", 1)
        lever = scenario.levers.get(lname)
        a = lever.ranges.get(p) if lever is not None else None
    return getattr(a, "kind", None)


def _ends(scenario: Scenario) -> dict[str, tuple[object, object, object]]:
    """key -> (low, middle, high) of every ranged assumption and lever setting of the scenario."""
    out: dict[str, tuple[object, object, object]] = {}
    for name, a in scenario.assumptions.items():
        if isinstance(a, Range):
            out[name] = (a.low, a.mid, a.high)
        elif isinstance(a, Profile):
            lo = np.array([a.low[b] for b in AGE_BANDS])
            hi = np.array([a.high[b] for b in AGE_BANDS])
            out[name] = (lo, (lo + hi) / 2, hi)
        elif isinstance(a, GrowthWindow):
            out[name] = (0.0, 0.5, 1.0)          # the position between the two windows' growth
    for lname, lever in scenario.levers.items():
        for p, r in lever.ranges.items():
            out[f"{lname}.{p}"] = (r.low, r.mid, r.high)
    return out


def _years(n: int) -> str:
    return f"last {n} year{'s' if n > 1 else ''}"


def middle_draws(scenario: Scenario, n: int = 1) -> dict[str, np.ndarray]:
    """``n`` rows of draws with every ranged assumption and lever setting at the middle of its range
    (profiles half way between their curves, growth windows half way between their growths)."""
    d: dict[str, np.ndarray] = {}
    for k, (_, mid, _) in _ends(scenario).items():
        mid = np.asarray(mid, dtype=float)
        d[k] = np.repeat(mid[None, ...], n, axis=0) if mid.ndim else np.full(n, float(mid))
    return d


def tornado(inp: Inputs, scenario: Scenario, cell_mask: np.ndarray | None = None, seed: int = 0) -> pd.DataFrame:
    """The gap at the horizon (FTE, summed over ``cell_mask``, default every cell) with each assumption
    at its low and its high end, the others at their middles; one row per assumption that has a
    range, largest swing first. Columns: key, label, low, high (the ends, as text for profiles),
    gap_low, gap_high, gap_mid, swing (|gap_high - gap_low|)."""
    ends = _ends(scenario)
    keys = [k for k, (lo, _, hi) in ends.items() if not np.array_equal(np.asarray(lo), np.asarray(hi))]
    n = 1 + 2 * len(keys)
    d = middle_draws(scenario, n)
    for i, k in enumerate(keys):
        lo, _, hi = ends[k]
        d[k][1 + 2 * i] = lo
        d[k][2 + 2 * i] = hi
    run = simulate(inp, scenario, d, seed)
    m = np.ones(len(inp.cells), dtype=bool) if cell_mask is None else cell_mask
    gap = run.demand[:, m, -1].sum(axis=1, dtype=np.float64) - run.supply[:, m, -1].sum(axis=1, dtype=np.float64)
    rows = []
    for i, k in enumerate(keys):
        lo, _, hi = ends[k]
        prof = np.asarray(lo).ndim > 0
        window = isinstance(scenario.assumptions.get(k), GrowthWindow)
        w = scenario.assumptions[k] if window else None
        rows.append({"key": k, "label": LABELS.get(k, k.replace("_", " ").replace(".", ": ")),
                     "low": "low curve" if prof else (_years(w.low) if window else _end_words(lo, _kind(scenario, k))),
                     "high": "high curve" if prof else (_years(w.high) if window else _end_words(hi, _kind(scenario, k))),
                     "gap_low": float(gap[1 + 2 * i]), "gap_high": float(gap[2 + 2 * i]), "gap_mid": float(gap[0])})
    out = pd.DataFrame(rows, columns=["key", "label", "low", "high", "gap_low", "gap_high", "gap_mid"])
    out["swing"] = (out["gap_high"] - out["gap_low"]).abs()
    return out.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


def central_rates(inp, sc: Scenario) -> pd.DataFrame:
    """Each cell's base-year leaving and joining rates a year with every range at its middle (the
    published basis where a cell has it, the data's own rates elsewhere), and the rate a year at which
    its staff move to the other sector in the base year, as the model moves them (those leaving the
    sector x the share who go to the other one: from the NHS ``nhs_leavers_to_social_care``, from social
    care the data's share x ``cross_sector_scale``): the report's base-year table."""
    d = middle_draws(sc, 1)
    cells = inp.cells
    leave = cells["leave_rate"].to_numpy(dtype=float).copy()
    join = cells["join_rate"].to_numpy(dtype=float).copy()
    m = calibration.published(cells)
    if m.any():
        lv = calibration.leaving(cells, d)
        jn = calibration.joining(cells, d, sc, inp.base_year, lv)
        leave[m], join[m] = lv[0, m], jn[0, m]
    within = model.within_share(cells, d)
    _, observed_exit = model.exit_rates(cells, d, within)
    share, _, _ = model._moves(inp, d, within)           # the model's own split of leavers (one place)
    return pd.DataFrame({"leave_rate": leave, "join_rate": join, "move_rate": (observed_exit * share)[0]},
                        index=cells.index)


def held_at(inp: Inputs, scenario: Scenario, key: str, values: dict[str, float], masks: dict[str, np.ndarray],
            n_runs: int, seed: int = 0, centres: dict[str, float] | None = None,
            common: model.Common | None = None) -> pd.DataFrame:
    """The gap at the horizon (FTE, summed over each of ``masks``) with one ranged assumption ``key`` held
    at each of ``values`` (name -> value) in every run, every other assumption drawn as in the scenario's
    runs (same seed, same draws): how much of the range rests on that one assumption. One row per value
    and mask: name, value, part (the mask's name), p10, p50, p90. ``common``: the common part of the
    scenario's own runs, shared when ``key`` is need beyond demography and the draws differ from its own in
    that key only (as building it again would give: ``Common.with_need``)."""
    rows = []
    drawn = draws(scenario, n_runs, seed, centres)         # the same for every value but ``key``
    if key not in drawn:
        raise KeyError(f"assumption {key!r} has no range in scenario {scenario.name!r}")
    if common is not None and not (key in model.NEED_KEYS and common.inputs is inp and common.n_runs == n_runs
                                   and common.scenario.assumptions == scenario.assumptions
                                   and common.scenario.series == scenario.series
                                   and set(common.d) == set(drawn)):
        common = None
    for name, value in values.items():
        d = {k: v.copy() for k, v in drawn.items()}
        d[key] = np.full_like(d[key], float(value))
        # need beyond demography moves the demand with no lever only: the rest of the common part is shared
        try:
            common = (model.Common.build(inp, scenario, d) if common is None or key not in model.NEED_KEYS
                      else common.with_need(d))
        except ValueError:                 # the common part given was drawn otherwise: built for these draws
            common = model.Common.build(inp, scenario, d)
        run = simulate(inp, scenario, d, seed, common=common, flows=False)
        for part, m in masks.items():
            gap = run.demand[:, m, -1].sum(axis=1, dtype=np.float64) - run.supply[:, m, -1].sum(axis=1, dtype=np.float64)
            q = np.quantile(gap, (0.1, 0.5, 0.9))
            rows.append({"name": name, "value": float(value), "part": part, "p10": q[0], "p50": q[1], "p90": q[2]})
    return pd.DataFrame(rows, columns=["name", "value", "part", "p10", "p50", "p90"])
