"""Rates of NHS trusts and general practice from published sources, and the figures behind them.

The NHS turnover benchmarking files count leaving and joining an organisation (moves between trusts
included) over two autumn months, and those months fell in the 2025/26 hiring freeze; general practice
has no published flows. So the base year's rates of the health cells are built from published figures
(``rate_basis`` 'published'), each cell keeping the pattern its own data give:

- **Leaving the sector**: a published yearly level (``nhs_leaving_rate``, ``gp_leaving_rate``) times the
  staff group's rate against all staff in the turnover files (``leave_relative``) and the ICB's rate
  against England's for the group (``leave_local``, weighted by ``local_rate_weight``). General practice
  nurses, direct patient care and admin staff take the NHS trust rate of the same staff group.
- **Joining from outside the sector**: those leaving plus the yearly growth of staff in post over the
  years before the base year (``recent_growth``: ``growth_<k>y`` is England's growth over the last k
  years, ``local_<k>y`` the ICB's difference from it), from NHS England's monthly NHS Workforce
  Statistics (NHS trusts) and the practice files (general practice), plus each ICB's own departure
  (``local_net_growth_sd``). GPs: the GP training acceptances of the year they qualify times
  ``gp_training_conversion``; their training posts are refilled (``trainee_share``).

Cells without these columns (``rate_basis`` 'files') keep the data's own rates. The figures
``docs/scenarios.md`` gives for this basis come from :mod:`.figures`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iwt_helpers import paths
from iwt_helpers.config.scenarios import MAX_WINDOW_YEARS

from ..pressures import latest_flows
from .config import LOCAL_Z, Scenario, local_icbs

WINDOWS = tuple(range(1, MAX_WINDOW_YEARS + 1))
GROWTH = [f"growth_{k}y" for k in WINDOWS]
LOCAL = [f"local_{k}y" for k in WINDOWS]
# General practice staff groups and their NHS trust counterpart for the rate of leaving (a stand-in:
# general practice publishes no flows); GPs have their own published rates.
GP_PROXY = {"registered_nurse": "registered_nurse", "support_to_clinical": "support_to_clinical",
            "infrastructure_admin": "infrastructure_admin"}
GP_TRAINEES = "gp_trainee_locum"
SPREAD_YEARS = (2011, 2018)     # ICBs' divergence from England's growth is measured over these years (before the back-test)
NORMAL_P90 = 1.2815515655446004  # the 90th percentile of a standard normal


# --------------------------------------------------------------------------- the published series

def nhs_stocks(tables: dict[str, pd.DataFrame | None]) -> tuple[pd.DataFrame, str]:
    """NHS trust FTE by ICB and month (all HCHS staff, resident doctors included), and its source: the data
    folder's ``nhs_staff_monthly`` (trust rows), else the committed ICB totals ``nhs_staff_monthly_icb``."""
    m = tables.get("nhs_staff_monthly")
    if m is not None and len(m):
        t = m[m["org_type"] == "trust"].groupby(["period", "icb_code"], as_index=False)["fte"].sum(min_count=1)
        return t, "; ".join(dict.fromkeys(m["source"].astype(str)))
    m = tables.get("nhs_staff_monthly_icb")
    if m is None or m.empty:
        return pd.DataFrame(columns=["period", "icb_code", "fte"]), ""
    return m[["period", "icb_code", "fte"]].copy(), "; ".join(dict.fromkeys(m["source"].astype(str)))


def committed_nhs_stocks() -> pd.DataFrame | None:
    """The committed ICB totals of the monthly series (``data/reference/nhs_staff_monthly_icb.csv``)."""
    from iwt_helpers.data.datastore import REFERENCE_TABLES, read_table_file
    path = paths.reference(REFERENCE_TABLES["nhs_staff_monthly_icb"])
    return read_table_file(path, "nhs_staff_monthly_icb") if path.is_file() else None


def monthly_wide(stocks: pd.DataFrame) -> pd.DataFrame:
    """ICB x month FTE (months as timestamps, in order)."""
    s = stocks.assign(period=pd.to_datetime(stocks["period"]))
    return s.pivot_table(index="icb_code", columns="period", values="fte", aggfunc="sum").sort_index(axis=1)


def growth_before(wide: pd.DataFrame, end, windows=WINDOWS, months: bool = True) -> tuple[pd.Series, pd.DataFrame]:
    """Yearly growth of staff in post over each window of k years ending at ``end``: England's (a Series by
    k) and each ICB's (ICB x k). ``wide`` is ICB x period: months (timestamps) or financial years in order.
    A window the series does not reach is NaN."""
    cols = list(wide.columns)
    eng, icb = {}, {}
    for k in windows:
        if months:
            start = pd.Timestamp(end) - pd.DateOffset(years=k)
            ok = start in wide.columns
        else:
            i = cols.index(end)
            start = cols[i - k] if i - k >= 0 else None
            ok = start is not None
        if not ok:
            eng[k], icb[k] = np.nan, pd.Series(np.nan, index=wide.index)
            continue
        both = wide[[start, end]].dropna()
        eng[k] = (both[end].sum() / both[start].sum()) ** (1 / k) - 1
        icb[k] = (wide[end] / wide[start].where(wide[start] > 0)) ** (1 / k) - 1
    return pd.Series(eng, dtype=float), pd.DataFrame(icb)


def filled(values: pd.Series | pd.DataFrame):
    """A window the series does not reach takes the longest shorter one it does (along k)."""
    return values.ffill(axis=0) if isinstance(values, pd.Series) else values.ffill(axis=1)


def icb_spread(stocks: pd.DataFrame, years: tuple[int, int] = SPREAD_YEARS, month: int = 3) -> dict[str, float]:
    """How far ICBs' yearly growth of NHS trust staff diverged from England's between March of two years:
    the standard deviation of the ICBs' yearly growth less England's, its robust estimate (1.4826 x the
    median absolute deviation) and the number of ICBs. NaN where the series does not reach both months."""
    wide = monthly_wide(stocks)
    a, b = pd.Timestamp(years[0], month, 1), pd.Timestamp(years[1], month, 1)
    if a not in wide.columns or b not in wide.columns:
        return {"sd": np.nan, "robust_sd": np.nan, "icbs": 0, "from": a, "to": b}
    both = wide[[a, b]].dropna()
    n = years[1] - years[0]
    dev = (both[b] / both[a]) ** (1 / n) - (both[b].sum() / both[a].sum()) ** (1 / n)
    return {"sd": float(dev.std(ddof=1)), "robust_sd": float(1.4826 * (dev - dev.median()).abs().median()),
            "icbs": int(len(dev)), "from": a, "to": b}


def pace_errors(stocks: pd.DataFrame, before: int = SPREAD_YEARS[1], windows: tuple[int, ...] = (1, 3),
                min_horizon: int = 3, month: int = 3) -> pd.DataFrame:
    """How far England's yearly growth of NHS trust staff departed from the recruitment pace a projection
    would have read before it (``recent_growth``'s method), using only the series up to March of ``before``:
    for each base year and window (the growth over the k years before the base), England's yearly growth
    from the base to ``before`` (at least ``min_horizon`` years) less the growth of the window. Columns
    base, window_years, horizon_years, past_pct, actual_pct, error_pct (percentage points a year)."""
    eng = monthly_wide(stocks).sum(min_count=1)
    rows = []
    for base in range(before - 50, before - min_horizon + 1):
        for k in windows:
            a, b, e = (pd.Timestamp(y, month, 1) for y in (base - k, base, before))
            if not all(t in eng.index and pd.notna(eng[t]) for t in (a, b, e)):
                continue
            past = (eng[b] / eng[a]) ** (1 / k) - 1
            actual = (eng[e] / eng[b]) ** (1 / (before - base)) - 1
            rows.append({"base": base, "window_years": k, "horizon_years": before - base,
                         "past_pct": 100 * past, "actual_pct": 100 * actual, "error_pct": 100 * (actual - past)})
    return pd.DataFrame(rows, columns=["base", "window_years", "horizon_years", "past_pct", "actual_pct", "error_pct"])


def icb_pace_errors(stocks: pd.DataFrame, before: int = SPREAD_YEARS[1], horizon: int = 7, weight: float = 0.5,
                    month: int = 3) -> dict[str, float]:
    """How far each ICB's yearly growth of NHS trust staff over ``horizon`` years to March of ``before``
    departed from what the projection's method gives it, using only the series up to then: England's
    actual growth plus ``weight`` x the ICB's difference from England over the longest window (up to
    three years) the series holds before the base. The standard deviation of those departures, its
    robust estimate (1.4826 x the median absolute deviation) and the number of ICBs; NaN where the
    series does not reach the base and a year before it."""
    wide = monthly_wide(stocks)
    base = before - horizon
    at = {y: pd.Timestamp(y, month, 1) for y in range(base - 3, before + 1)}
    k = next((k for k in (3, 2, 1) if at[base - k] in wide.columns), None)
    if k is None or at[base] not in wide.columns or at[before] not in wide.columns:
        return {"sd": np.nan, "robust_sd": np.nan, "icbs": 0, "base": base, "window_years": 0}
    w = wide[[at[base - k], at[base], at[before]]].dropna()
    a, b, e = (w[at[y]] for y in (base - k, base, before))
    past = (b / a) ** (1 / k) - 1 - ((b.sum() / a.sum()) ** (1 / k) - 1)
    dev = (e / b) ** (1 / horizon) - (e.sum() / b.sum()) ** (1 / horizon) - weight * past
    return {"sd": float(dev.std(ddof=1)), "robust_sd": float(1.4826 * (dev - dev.median()).abs().median()),
            "icbs": int(len(dev)), "base": base, "window_years": k}


def national_range(errors: pd.DataFrame) -> dict[str, float]:
    """The range of ``national_net_growth`` the errors of :func:`pace_errors` give: their root mean square
    (the error's standard deviation about 0, percentage points a year), and the half-width of a uniform
    draw whose 10th and 90th percentiles are those of a normal with that standard deviation
    (1.2816 / 0.8 = 1.6 times it); and the largest error either way, for comparison."""
    e = errors["error_pct"].to_numpy(dtype=float)
    if not len(e):
        return {"rms": np.nan, "half_width": np.nan, "largest": np.nan, "errors": 0}
    rms = float(np.sqrt(np.mean(e ** 2)))
    return {"rms": rms, "half_width": rms * NORMAL_P90 / 0.8, "largest": float(np.abs(e).max()), "errors": int(len(e))}


def persistence(stocks: pd.DataFrame, first: tuple[int, int], second: tuple[int, int], month: int = 3) -> float:
    """Correlation across ICBs of their yearly growth over two periods (years, from March to March)."""
    wide = monthly_wide(stocks)
    g = []
    for y0, y1 in (first, second):
        a, b = pd.Timestamp(y0, month, 1), pd.Timestamp(y1, month, 1)
        if a not in wide.columns or b not in wide.columns:
            return np.nan
        g.append((wide[b] / wide[a]) ** (1 / (y1 - y0)) - 1)
    both = pd.concat(g, axis=1).dropna()
    return float(np.corrcoef(both.iloc[:, 0], both.iloc[:, 1])[0, 1])


# --------------------------------------------------------------------------- the cells' columns

def england_flows(flows: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """England's yearly leaving and joining rates from the flows' latest year (annualised), by sector and
    staff group (columns leave, join) and for all staff of each sector (Series of leave rates)."""
    f = latest_flows(flows)
    g = f.groupby(["sector", "staff_group"])[["staff_in_post", "leavers", "joiners"]].sum(min_count=1)
    by_group = pd.DataFrame({"leave": g["leavers"] / g["staff_in_post"].where(g["staff_in_post"] > 0),
                             "join": g["joiners"] / g["staff_in_post"].where(g["staff_in_post"] > 0)})
    s = f.groupby("sector")[["staff_in_post", "leavers"]].sum(min_count=1)
    return by_group, s["leavers"] / s["staff_in_post"].where(s["staff_in_post"] > 0)


def _group(cells: pd.DataFrame, m: np.ndarray, by_group: pd.DataFrame, col: str, sector: str | None = None) -> pd.Series:
    """England's ``col`` for the staff group of each masked cell (of its own sector, or of ``sector``)."""
    sec = cells.loc[m, "sector"] if sector is None else pd.Series(sector, index=cells.index[m])
    keys = pd.MultiIndex.from_arrays([sec, cells.loc[m, "staff_group"]])
    return pd.Series(by_group[col].reindex(keys).to_numpy(), index=cells.index[m])


def files_growth(cells: pd.DataFrame, m: np.ndarray, by_group: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The base year's files' net growth (joiners less leavers, a year, the files' own months) of the masked
    cells: England's for the sector and staff group, and each cell's difference from it."""
    england = _group(cells, m, by_group, "join") - _group(cells, m, by_group, "leave")
    own = cells.loc[m, "join_rate"] - cells.loc[m, "leave_rate"]
    return england.fillna(0.0), (own - england).fillna(0.0)


def calibrate(cells: pd.DataFrame, flows: pd.DataFrame, nhs_history: pd.DataFrame | None,
              gp_workforce: pd.DataFrame | None) -> pd.DataFrame:
    """The health cells' rates on the published basis (see the module docstring): the columns
    ``rate_basis``, ``level_key``, ``leave_relative``, ``leave_local``, ``growth_<k>y``, ``local_<k>y``,
    ``intake_rate``, ``trainee_share`` and ``growth_from`` (where each cell's growth comes from). England's
    figures come from the whole flows table, monthly series and practice files, so one ICB's cells get
    what they get among all 42. NHS trusts' growth comes from the monthly series (``nhs_history``: period,
    icb_code, fte), else from the turnover files' own months, said in ``growth_from``."""
    c = cells.copy()
    c["rate_basis"], c["level_key"], c["growth_from"] = "files", "", ""
    c["leave_relative"], c["leave_local"], c["intake_rate"], c["trainee_share"] = 1.0, 1.0, 0.0, 0.0
    for g, loc in zip(GROWTH, LOCAL):
        c[g], c[loc] = np.nan, 0.0
    by_group, all_staff = england_flows(flows)
    nhs = (c["sector"] == "nhs_trust").to_numpy()
    if nhs.any() and pd.notna(all_staff.get("nhs_trust")):
        group_rate = _group(c, nhs, by_group, "leave")
        c.loc[nhs, "rate_basis"], c.loc[nhs, "level_key"] = "published", "nhs_leaving_rate"
        c.loc[nhs, "leave_relative"] = (group_rate / all_staff["nhs_trust"]).fillna(1.0).to_numpy()
        c.loc[nhs, "leave_local"] = (c.loc[nhs, "leave_rate"] / group_rate.where(group_rate > 0)).fillna(1.0).to_numpy()
        wide = monthly_wide(nhs_history) if nhs_history is not None and len(nhs_history) else None
        eng = pd.Series(dtype=float)
        if wide is not None:
            end = wide.columns.max()
            eng, icb = growth_before(wide, end)
            eng, icb = filled(eng), filled(icb)
        if eng.notna().any():
            for k, g, loc in zip(WINDOWS, GROWTH, LOCAL):
                c.loc[nhs, g] = eng[k]
                c.loc[nhs, loc] = (c.loc[nhs, "icb_code"].map(icb[k]) - eng[k]).fillna(0.0).to_numpy()
            c.loc[nhs, "growth_from"] = f"NHS Workforce Statistics, monthly, years to {end:%B %Y}"
        else:
            england, local = files_growth(c, nhs, by_group)
            for g, loc in zip(GROWTH, LOCAL):
                c.loc[nhs, g], c.loc[nhs, loc] = england.to_numpy(), local.to_numpy()
            c.loc[nhs, "growth_from"] = "turnover files, base year's months (no monthly series)"
    gp = (c["sector"] == "primary_care").to_numpy()
    if gp.any():
        proxy = (by_group.loc["nhs_trust", "leave"] / all_staff["nhs_trust"]).to_dict() \
            if "nhs_trust" in by_group.index.get_level_values(0) else {}
        nhs_syn = bool(c.loc[nhs, "rates_synthetic"].any()) if nhs.any() else True
        _calibrate_gp(c, gp, gp_workforce, by_group, proxy, nhs_syn)
    return c


def _calibrate_gp(c: pd.DataFrame, gp: np.ndarray, gpw: pd.DataFrame | None, by_group: pd.DataFrame,
                  proxy: dict[str, float], nhs_synthetic: bool) -> None:
    """General practice on the published basis, in place (see :func:`calibrate`)."""
    have = gpw is not None and len(gpw) > 0
    gp_syn = bool(gpw["synthetic"].astype(bool).any()) if have and "synthetic" in gpw else not have
    g = gpw[gpw["in_total"].astype(bool)] if have and "in_total" in gpw else gpw
    doctors = gp & (c["staff_group"] == "doctor").to_numpy()
    if doctors.any() and have:
        last = g[g["financial_year"] == g["financial_year"].max()]
        d_fte = float(last.loc[last["staff_group"] == "doctor", "fte"].sum())
        trainees = float(last.loc[last["role"] == GP_TRAINEES, "fte"].sum())
        if d_fte > 0:
            c.loc[doctors, ["rate_basis", "level_key", "rate_from"]] = ["published", "gp_leaving_rate", "England"]
            c.loc[doctors, "intake_rate"] = 1 / d_fte
            c.loc[doctors, "trainee_share"] = min(trainees / d_fte, 1.0)
            c.loc[doctors, "rates_synthetic"] = gp_syn
            c.loc[doctors, "growth_from"] = "GP training acceptances x conversion (published)"
    wide = None
    if have:
        wide = g.pivot_table(index=["staff_group", "icb_code"], columns="financial_year", values="fte", aggfunc="sum")
        wide = wide.reindex(columns=sorted(wide.columns))
    for group, counterpart in GP_PROXY.items():
        m = gp & (c["staff_group"] == group).to_numpy()
        if not m.any() or counterpart not in proxy:
            continue
        c.loc[m, ["rate_basis", "level_key", "rate_from"]] = ["published", "nhs_leaving_rate", "England"]
        c.loc[m, "leave_relative"] = proxy[counterpart]
        c.loc[m, "leave_local"] = 1.0
        sub = None
        if wide is not None and group in wide.index.get_level_values(0):
            sub = wide.xs(group, level="staff_group").dropna(axis=1, how="all")
        if sub is not None and sub.shape[1] >= 2:
            eng, icb = growth_before(sub, sub.columns[-1], months=False)
            eng, icb = filled(eng), filled(icb)
            for k, gcol, loc in zip(WINDOWS, GROWTH, LOCAL):
                c.loc[m, gcol] = eng[k]
                c.loc[m, loc] = (c.loc[m, "icb_code"].map(icb[k]) - eng[k]).fillna(0.0).to_numpy()
            c.loc[m, "rates_synthetic"] = gp_syn or nhs_synthetic
            c.loc[m, "growth_from"] = f"practice files, {sub.columns[0]} to {sub.columns[-1]}"
        else:
            england, local = files_growth(c, m, by_group)
            for gcol, loc in zip(GROWTH, LOCAL):
                c.loc[m, gcol], c.loc[m, loc] = england.to_numpy(), local.to_numpy()
            c.loc[m, "growth_from"] = "flows, base year"
            c.loc[m, "rates_synthetic"] = c.loc[m, "rates_synthetic"] | nhs_synthetic


def at_base_year_hiring(inp):
    """The inputs with NHS trusts recruiting at the pace of the turnover files' own months (the base year's
    hiring: in 2025 a freeze) instead of the years before: the validation's comparison line. England's
    rates by staff group are the cells' (FTE-weighted), so ``inp`` should hold all 42 ICBs."""
    import copy
    out = copy.copy(inp)
    cells = inp.cells.copy()
    nhs = ((cells["sector"] == "nhs_trust").to_numpy() & published(cells))
    c = cells[cells["fte0"] > 0].groupby(["sector", "staff_group"])
    by_group = pd.DataFrame({"leave": c.apply(lambda g: _weighted(g, "leave_rate"), include_groups=False),
                             "join": c.apply(lambda g: _weighted(g, "join_rate"), include_groups=False)})
    england, local = files_growth(cells, nhs, by_group)
    for g, loc in zip(GROWTH, LOCAL):
        cells.loc[nhs, g], cells.loc[nhs, loc] = england.to_numpy(), local.to_numpy()
    cells.loc[nhs, "growth_from"] = "turnover files, base year's months"
    out.cells = cells
    return out


def _weighted(c: pd.DataFrame, col: str) -> float:
    w = c["fte0"].where(c["fte0"] > 0, 0.0)
    return float((c[col] * w).sum() / w.sum()) if w.sum() > 0 else np.nan


# --------------------------------------------------------------------------- per run

def published(cells: pd.DataFrame) -> np.ndarray:
    """Mask of the cells on the published basis."""
    return (cells["rate_basis"] == "published").to_numpy() if "rate_basis" in cells else np.zeros(len(cells), dtype=bool)


def _position(sc: Scenario, d: dict[str, np.ndarray], key: str = "recent_growth") -> tuple[np.ndarray, int, int]:
    w = sc.assumptions[key]
    return np.asarray(d[key], dtype=float), w.low, w.high


def leaving(cells: pd.DataFrame, d: dict[str, np.ndarray]) -> np.ndarray:
    """(runs, cells) the yearly rate of leaving the sector of the published-basis cells (NaN elsewhere):
    the drawn level x the staff group's pattern x the ICB's (weighted)."""
    R = len(d["local_rate_weight"])
    out = np.full((R, len(cells)), np.nan)
    m = published(cells)
    if not m.any():
        return out
    w = d["local_rate_weight"][:, None]
    rel = cells["leave_relative"].to_numpy(dtype=float)[None, :]
    local = cells["leave_local"].to_numpy(dtype=float)[None, :]
    for key in dict.fromkeys(cells.loc[m, "level_key"]):
        k = m & (cells["level_key"] == key).to_numpy()
        out[:, k] = (d[key][:, None] * rel[:, k] * (1 + w * (local[:, k] - 1)))
    return np.clip(out, 0.0, 1.0)


def local_term(cells: pd.DataFrame, d: dict[str, np.ndarray]) -> np.ndarray:
    """(runs, cells) each cell's ICB's own departure from England's yearly growth (0 without the draws)."""
    R = len(d["local_rate_weight"])
    if LOCAL_Z not in d or "local_net_growth_sd" not in d:
        return np.zeros((R, len(cells)))
    pos = {icb: i for i, icb in enumerate(local_icbs())}
    col = cells["icb_code"].map(pos)
    z = np.zeros((R, len(cells)))
    has = col.notna().to_numpy()
    z[:, has] = d[LOCAL_Z][:, col[has].astype(int).to_numpy()]
    return d["local_net_growth_sd"][:, None] * z


def national_term(cells: pd.DataFrame, d: dict[str, np.ndarray]) -> np.ndarray:
    """(runs, cells) England's departure from the recruitment pace of the years before the base
    (``national_net_growth``, one draw a run for every ICB), on NHS trust cells; 0 elsewhere or without
    the draw."""
    R = len(d["local_rate_weight"])
    if "national_net_growth" not in d:
        return np.zeros((R, len(cells)))
    nhs = (cells["sector"] == "nhs_trust").to_numpy() if "sector" in cells else np.ones(len(cells), dtype=bool)
    return np.asarray(d["national_net_growth"], dtype=float)[:, None] * nhs[None, :]


def growth(cells: pd.DataFrame, d: dict[str, np.ndarray], sc: Scenario) -> np.ndarray:
    """(runs, cells) the yearly growth of staff in post the base year's joiners keep up: England's, drawn
    between the growth over the shorter and the longer window, England's departure from that pace (NHS
    trusts), the ICB's difference over the longer window (weighted) and its own departure."""
    u, lo, hi = _position(sc, d)
    g_lo = cells[f"growth_{lo}y"].to_numpy(dtype=float)[None, :]
    g_hi = cells[f"growth_{hi}y"].to_numpy(dtype=float)[None, :]
    local = cells[f"local_{hi}y"].to_numpy(dtype=float)[None, :]
    return (g_lo + u[:, None] * (g_hi - g_lo) + national_term(cells, d) + d["local_rate_weight"][:, None] * local
            + local_term(cells, d))


def gp_intake(sc: Scenario, base_year: int) -> float:
    """GP training acceptances of those who qualify in the first projected year (the latest published
    before it where that year's is not published)."""
    t = sc.series.gp_training_acceptances
    year = base_year + 1 - t.years_to_qualify
    known = sorted(int(y) for y in t.values)
    before = [y for y in known if y <= year]
    return float(t.values[str(before[-1] if before else known[0])])


def joining(cells: pd.DataFrame, d: dict[str, np.ndarray], sc: Scenario, base_year: int, leave: np.ndarray) -> np.ndarray:
    """(runs, cells) yearly joiners to the sector (from outside it, movers from the other sector included),
    per FTE in post, of the published-basis cells (NaN elsewhere): those leaving plus the growth before the
    base year; GPs: the qualifiers of the year plus the training posts refilled."""
    out = np.full(leave.shape, np.nan)
    m = published(cells)
    if not m.any():
        return out
    g = np.where(np.isfinite(leave), growth(cells, d, sc), np.nan)
    training = cells["intake_rate"].to_numpy(dtype=float) > 0
    out[:, m & ~training] = (leave + g)[:, m & ~training]
    t = m & training
    if t.any():
        qualified = d["gp_training_conversion"][:, None] * gp_intake(sc, base_year) * cells["intake_rate"].to_numpy()[None, t]
        out[:, t] = qualified + leave[:, t] * cells["trainee_share"].to_numpy()[None, t] + local_term(cells, d)[:, t]
    return np.maximum(out, 0.0)
