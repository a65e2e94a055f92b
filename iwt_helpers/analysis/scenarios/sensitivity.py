"""What drives the range: each assumption swung across its range with the others at their medians.

A one-way sensitivity (a tornado): one run with every ranged assumption and lever setting at the
middle of its range (the median of a uniform draw), then, for each in turn, one run at its low end
and one at its high end, the others held at the middle. All runs are one call of
:func:`model.simulate` (a run per row of the draws), so the whole tornado costs one short simulation.
Profiles (by age band) swing between their low and high curves. The routes' shares of joiners are
fixed shares, not ranges, so they have no bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import AGE_BANDS, Profile, Range, Scenario
from .inputs import Inputs
from .model import simulate

# Words for the chart; a key not listed here is shown by its name.
LABELS = {
    "leaving_rate_scale": "Leaving rates (x base year)",
    "short_window_rate_scale": "Leaving rates annualised from 2 months",
    "leaving_by_age": "Leaving by age (shape)",
    "joiner_age_profile": "Joiners' ages",
    "newly_qualified_growth": "Newly qualified joiners, growth a year",
    "international_growth": "International recruits, change a year",
    "wider_labour_market_growth": "Wider labour market joiners, change a year",
    "cross_sector_scale": "Social care leavers moving to the NHS (x data)",
    "pay_gap_drift": "Pay gap drift a year",
    "flow_response_to_pay": "Moves' response to the pay gap",
    "nhs_age_weighting": "NHS use of services weighted by age",
    "need_growth_health": "Health need beyond demography, a year",
    "need_growth_social_care": "Social care need beyond demography, a year",
    "social_care_leavers_staying_in_sector": "Social care leavers staying in the sector",
    "nhs_leavers_to_other_nhs": "NHS leavers moving to another NHS body",
    "nhs_leavers_to_social_care": "NHS leavers moving to social care",
}


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
    for lname, lever in scenario.levers.items():
        for p, r in lever.ranges.items():
            out[f"{lname}.{p}"] = (r.low, r.mid, r.high)
    return out


def tornado(inp: Inputs, scenario: Scenario, cell_mask: np.ndarray | None = None, seed: int = 0) -> pd.DataFrame:
    """The gap at the horizon (FTE, summed over ``cell_mask``, default every cell) with each assumption
    at its low and its high end, the others at their middles; one row per assumption that has a
    range, largest swing first. Columns: key, label, low, high (the ends, as text for profiles),
    gap_low, gap_high, gap_mid, swing (|gap_high - gap_low|)."""
    ends = _ends(scenario)
    keys = [k for k, (lo, _, hi) in ends.items() if not np.array_equal(np.asarray(lo), np.asarray(hi))]
    n = 1 + 2 * len(keys)
    d: dict[str, np.ndarray] = {}
    for k, (_, mid, _) in ends.items():
        mid = np.asarray(mid, dtype=float)
        d[k] = np.repeat(mid[None, ...], n, axis=0) if mid.ndim else np.full(n, float(mid))
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
        rows.append({"key": k, "label": LABELS.get(k, k.replace("_", " ").replace(".", ": ")),
                     "low": "low curve" if prof else f"{lo:g}", "high": "high curve" if prof else f"{hi:g}",
                     "gap_low": float(gap[1 + 2 * i]), "gap_high": float(gap[2 + 2 * i]), "gap_mid": float(gap[0])})
    out = pd.DataFrame(rows, columns=["key", "label", "low", "high", "gap_low", "gap_high", "gap_mid"])
    out["swing"] = (out["gap_high"] - out["gap_low"]).abs()
    return out.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
