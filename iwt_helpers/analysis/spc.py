"""Making Data Count XmR statistical process control, vectorised, with no plotting.

The rules follow NHS England's *Making Data Count* as implemented by the NHS-R community's
*plot the dots* (NHSRplotthedots) package:

* centre line = mean of the values in a segment, or of its first ``fix_after_n`` values;
* moving range mR = |x_i - x_(i-1)| (within the points used for the mean); with outlier
  screening (the default) moving ranges of at least 3.267 x the mean mR are dropped and the
  mean mR recomputed;
* process limits = mean +/- 2.66 x mean mR; near limits at two thirds of that distance;
* special cause, in priority order: (1) a point outside the process limits; (2) a run of 7
  points each higher (or lower) than the one before, every point flagged; (3) two of three
  consecutive points beyond the near limits (but inside the process limits), all three on the
  same side of the mean, those points flagged; (4) seven points in a row on the same side of
  the mean, every point flagged;
* a special-cause point is *improvement* when it lies on the improvement side of the mean
  (for trend points: when the trend moves in the improvement direction), *concern* otherwise;
  with a neutral direction it is *neutral high* or *neutral low*;
* rebasing splits a series into segments at given dates; everything is recomputed per segment;
* assurance compares the target with the latest segment's limits: beyond the limits on the
  good side = consistently pass, on the bad side = consistently fail, between = hit and miss.

Where two 7-point runs meet at a flat step, the point before the step takes the direction of that
flat step, which plot the dots reads as decreasing (its label is "Increasing" only for a rising
step); iwt does the same, so a point flagged as a trend is never left common cause.

Deliberate differences from plot the dots, each for an edge case it leaves undefined:
missing values are dropped before the calculation and returned as ``missing`` points (the mR
spans the gap); a constant series (mean mR of 0) is not screened, so its limits equal its
mean rather than being undefined.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LIMIT = 2.66
NEAR = LIMIT * 2 / 3
SCREEN = 3.267
RUN = 7
MIN_POINTS_ADVISED = 12

DIRECTIONS = {"increase": 1, "decrease": -1, "neutral": 0}
POINT_TYPES = ("common_cause", "special_cause_improvement", "special_cause_concern",
               "special_cause_neutral_high", "special_cause_neutral_low", "missing")


def _starts(groups: np.ndarray) -> np.ndarray:
    """Boolean array: True where a new group begins (groups sorted)."""
    s = np.ones(len(groups), dtype=bool)
    s[1:] = groups[1:] != groups[:-1]
    return s


def _run_lengths(keys: np.ndarray, new_run: np.ndarray) -> np.ndarray:
    """Length of the run each element belongs to, runs starting where ``new_run`` is True."""
    run_id = np.cumsum(new_run) - 1
    return np.bincount(run_id)[run_id] if len(run_id) else run_id


def _group_mean(values: np.ndarray, mask: np.ndarray, gid: np.ndarray, n: int) -> np.ndarray:
    w = np.where(mask, values, 0.0)
    cnt = np.bincount(gid, weights=mask.astype(float), minlength=n)
    tot = np.bincount(gid, weights=w, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return tot / cnt


def xmr_arrays(y: np.ndarray, gid: np.ndarray, direction: np.ndarray, fix_after_n: int | None = None,
               screen_outliers: bool = True) -> dict[str, np.ndarray]:
    """Core XmR calculation on sorted, non-missing values.

    ``gid`` numbers the segments 0..k-1 in order (a series split at rebase dates is several
    segments); ``direction`` is +1, -1 or 0 per point. Returns arrays aligned with ``y``.
    """
    y = np.asarray(y, dtype=float)
    gid = np.asarray(gid)
    n = int(gid.max()) + 1 if len(gid) else 0
    start = _starts(gid)
    first_idx = np.flatnonzero(start)
    pos = np.arange(len(y)) - first_idx[np.cumsum(start) - 1] if len(y) else np.zeros(0, int)
    fixed = pos < fix_after_n if fix_after_n else np.ones(len(y), dtype=bool)

    mean = _group_mean(y, fixed, gid, n)
    mr = np.full(len(y), np.nan)
    if len(y) > 1:
        both = ~start[1:] & fixed[1:] & fixed[:-1]
        mr[1:] = np.where(both, np.abs(np.diff(y)), np.nan)
    has = ~np.isnan(mr)
    amr = _group_mean(np.nan_to_num(mr), has, gid, n)
    if screen_outliers:
        keep = has & ~(mr >= SCREEN * amr[gid]) | (has & (amr[gid] == 0))
        amr = _group_mean(np.nan_to_num(mr), keep, gid, n)

    m, a = mean[gid], amr[gid]
    upl, lpl = m + LIMIT * a, m - LIMIT * a
    nupl, nlpl = m + NEAR * a, m - NEAR * a
    outside = (y > upl) | (y < lpl)
    rtm = np.sign(y - m)
    close = ~outside & ((y > nupl) | (y < nlpl))

    # (4) shift: 7+ consecutive points on the same (non-zero) side of the mean, within a segment.
    new_run = start.copy()
    new_run[1:] |= rtm[1:] != rtm[:-1]
    shift = (rtm != 0) & (_run_lengths(rtm, new_run) >= RUN)

    # (2) trend: 6+ consecutive same-sign differences = 7+ points rising (or falling).
    d = np.zeros(len(y))
    if len(y) > 1:
        d[1:] = np.where(start[1:], 0, np.sign(np.diff(y)))
    new_d = start.copy()
    new_d[1:] |= d[1:] != d[:-1]
    in_trend_diff = (d != 0) & (_run_lengths(d, new_d) >= RUN - 1)
    trend = in_trend_diff.copy()
    # the point before the first rising (falling) difference of a run starts the trend
    run_begins = in_trend_diff & new_d
    trend[np.flatnonzero(run_begins) - 1] = True

    # (3) two of three beyond the near limits, all three on the same side of the mean.
    two = np.zeros(len(y), dtype=bool)
    if len(y) >= 3:
        same = ~start[1:-1] & ~start[2:]               # window j..j+2 within one segment
        c = close.astype(int)
        csum = c[:-2] + c[1:-1] + c[2:]
        rsum = np.abs(rtm[:-2] + rtm[1:-1] + rtm[2:])
        ok = same & (csum >= 2) & (rsum == 3)
        for k in range(3):
            two[k:len(y) - 2 + k] |= ok
        two &= close

    special = outside | trend | two | shift
    rule = np.select([outside, trend, two, shift],
                     ["outside_limits", "trend", "two_in_three", "shift"], default="")
    # Direction of each special-cause point: side of the mean, except for trend points, which
    # take the direction of the trend (the step to the next point while the trend goes on).
    right = np.zeros(len(y))
    if len(y) > 1:
        right[:-1] = np.where(start[1:], 0, d[1:])
    use_right = trend & np.r_[trend[1:] & ~start[1:], False]
    trend_dir = np.where(use_right, right, d)
    # A trend point whose step is flat (two runs meeting at a flat step) reads as decreasing, as
    # plot the dots labels any trend point that is not increasing.
    trend_dir = np.where(trend & (trend_dir == 0), -1, trend_dir)
    side = np.where(rtm > 0, 1, -1)
    v = np.select([outside, trend, two | shift], [side, trend_dir, side], default=0)
    dirn = np.asarray(direction)
    oriented = v * dirn
    point_type = np.select(
        [v == 0, (dirn == 0) & (v > 0), (dirn == 0) & (v < 0), oriented > 0, oriented < 0],
        ["common_cause", "special_cause_neutral_high", "special_cause_neutral_low",
         "special_cause_improvement", "special_cause_concern"], default="common_cause")
    return {"mean": m, "amr": a, "lpl": lpl, "upl": upl, "nlpl": nlpl, "nupl": nupl,
            "outside_limits": outside, "relative_to_mean": rtm, "close_to_limits": close,
            "trend": trend, "two_in_three": two, "shift": shift, "special_cause": special,
            "rule": rule, "point_type": point_type, "segment_position": pos, "mr": mr}


def xmr(df: pd.DataFrame, value: str = "value", period: str = "period", by: list[str] | None = None,
        improvement: str | dict | None = None, rebase: dict | list | None = None,
        fix_after_n: int | None = None, screen_outliers: bool = True) -> pd.DataFrame:
    """XmR chart data for one or many series in a long table.

    ``by``: columns identifying a series (e.g. ``["icb_code", "kpi_id"]``). ``improvement``: a
    direction for all series, a dict keyed by the last ``by`` column (e.g. KPI id), or None to
    use an ``improvement`` column. ``rebase``: dates where new segments start (a list for all
    series, or a dict keyed like ``improvement``). Returns the input rows sorted, with the
    limits, flags, ``rule``, ``point_type`` and ``segment`` added.
    """
    by = list(by or [])
    d = df.sort_values(by + [period], kind="mergesort").reset_index(drop=True)
    key = by[-1] if by else None
    if isinstance(improvement, str) or improvement is None and "improvement" not in d:
        dirs = np.full(len(d), DIRECTIONS[improvement or "neutral"])
    elif isinstance(improvement, dict):
        dirs = d[key].map({k: DIRECTIONS[v] for k, v in improvement.items()}).to_numpy()
    else:
        dirs = d["improvement"].map(DIRECTIONS).to_numpy()

    series = d.groupby(by, sort=False).ngroup().to_numpy() if by else np.zeros(len(d), dtype=int)
    seg = np.zeros(len(d), dtype=int)
    if rebase:
        dates = d[period].to_numpy()
        if isinstance(rebase, dict):
            for k, when in rebase.items():
                m = (d[key] == k).to_numpy()
                for w in when:
                    seg[m] += dates[m] >= np.datetime64(pd.Timestamp(w))
        else:
            for w in rebase:
                seg += dates >= np.datetime64(pd.Timestamp(w))
    d["segment"] = seg

    ok = d[value].notna().to_numpy()
    gkey = pd.Series(series[ok]).astype(np.int64) * 1000 + seg[ok]
    gid = pd.factorize(gkey, sort=False)[0]
    res = xmr_arrays(d.loc[ok, value].to_numpy(dtype=float), gid, dirs[ok], fix_after_n, screen_outliers)

    added = {}
    for name, arr in res.items():
        if arr.dtype.kind in "fi":
            full = np.full(len(d), np.nan)
        elif arr.dtype.kind == "b":
            full = np.zeros(len(d), dtype=bool)
        else:
            full = np.full(len(d), "missing" if name == "point_type" else "", dtype=object)
        full[ok] = arr
        added[name] = full
    if any(name in d for name in added):      # a column of the input is replaced where it stands
        for name, full in added.items():
            d[name] = full
    else:                                     # else the new columns join in one go
        d = pd.concat([d, pd.DataFrame(added, index=d.index)], axis=1)
    # Limits apply to a whole segment: carry them onto missing points for plotting.
    if not ok.all():
        cols = ["mean", "amr", "lpl", "upl", "nlpl", "nupl"]
        g = d.groupby(by + ["segment"], sort=False)[cols]
        d[cols] = g.ffill()
        d[cols] = d.groupby(by + ["segment"], sort=False)[cols].bfill()
    return d


def assurance(target: float | None, lpl: float, upl: float, improvement: str) -> str:
    """'consistent_pass', 'consistent_fail', 'inconsistent', or 'none' (no target / neutral)."""
    if target is None or pd.isna(target) or improvement == "neutral" or pd.isna(lpl) or pd.isna(upl):
        return "none"
    up = improvement == "increase"
    if target > upl:
        return "consistent_fail" if up else "consistent_pass"
    if target < lpl:
        return "consistent_pass" if up else "consistent_fail"
    return "inconsistent"


def variation(point_type: str, relative_to_mean: float) -> str:
    """Variation icon of the latest point: common cause, or improvement/concern/neutral high/low."""
    if point_type in ("common_cause", "missing") or not point_type:
        return "common_cause"
    side = "high" if relative_to_mean > 0 else "low"
    if point_type.startswith("special_cause_neutral"):
        return f"neutral_{side}"
    kind = "improvement" if point_type == "special_cause_improvement" else "concern"
    return f"{kind}_{side}"


def summary(chart: pd.DataFrame, by: list[str], improvement: dict | str, target_col: str = "target",
            min_points: int = MIN_POINTS_ADVISED) -> pd.DataFrame:
    """One row per series: latest value and limits, variation and assurance icons, point count.
    A series with fewer than ``min_points`` observations gets no icons (``too_few_points``)."""
    observed = chart[chart["point_type"] != "missing"]
    last = observed.groupby(by, sort=False).tail(1)
    counts = observed.groupby(by, sort=False).size().to_dict()
    key = by[-1]
    rows = []
    for r in last.to_dict("records"):          # plain values, as a row of the table gives them
        idx = r[key] if len(by) == 1 else tuple(r[b] for b in by)
        k = r[key]
        imp = improvement[k] if isinstance(improvement, dict) else improvement
        target = r[target_col] if target_col in r else None
        few = int(counts[idx]) < min_points
        rows.append({**{b: r[b] for b in by},
                     "latest_period": r["period"], "latest_value": r["value"], "mean": r["mean"],
                     "lpl": r["lpl"], "upl": r["upl"], "target": target, "improvement": imp,
                     "variation": "too_few_points" if few else variation(r["point_type"], r["relative_to_mean"]),
                     "assurance": "too_few_points" if few else assurance(target, r["lpl"], r["upl"], imp),
                     "points": int(counts[idx]), "few_points": few})
    return pd.DataFrame(rows)


def sustained_shift_since(chart: pd.DataFrame, by: list[str]) -> pd.Series:
    """For each series whose latest point ends a run of 7 or more on one side of the mean (a
    sustained shift), the first period of that run: a candidate date to recalculate limits from."""
    observed = chart[chart["point_type"] != "missing"]
    out = {}
    for key, g in observed.groupby(by, sort=False):
        if not len(g) or not bool(g["shift"].iloc[-1]):
            continue
        side = g["relative_to_mean"].to_numpy()
        i = len(g) - 1
        while i > 0 and side[i - 1] == side[-1] and g["segment"].iloc[i - 1] == g["segment"].iloc[-1]:
            i -= 1
        out[key[0] if isinstance(key, tuple) and len(key) == 1 else key] = g["period"].iloc[i]
    return pd.Series(out, dtype="datetime64[ns]")
