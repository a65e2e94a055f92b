"""Back-test: the supply model run from a past base year to the latest year with published staff in
post on both ends, set against what was published, by ICB.

NHS trusts (all HCHS staff): the monthly NHS Workforce Statistics by organisation (``nhs_staff_monthly``,
trust rows summed by ICB; or the committed ICB totals ``nhs_staff_monthly_icb``), from the month seven
years before the latest (or the first month after it) to the latest. General practice: fully qualified
GPs and admin staff from the practice files (``gp_workforce``, annual means), from the financial year six
years before the last (or the first published) to the last.

The supply side is the scenario model's, without posts (in the past they are unknown, so nothing caps
recruitment): ``stock(t + dt) = stock(t) + dt x (joiners(t) - leavers(t))``. Its rates are those of its
own base year, as a projection made then would have had them, on the published basis of the projection
(:mod:`.calibration`):

- NHS trusts leave at the published rate of the back-test's years (``backtest.nhs_leaving_rate``), with
  each ICB's pattern from the turnover files (weighted by ``local_rate_weight``); joiners from outside
  are those leaving plus the growth of the years before the base (``recent_growth``'s windows, out of
  sample), split by route: newly qualified (the health share of ``joiner_routes``) and international
  recruits (``backtest.international_share``) follow their published paths (``published_series``), the
  wider labour market grows by ``wider_labour_market_growth``.
- Fully qualified GPs leave at ``gp_leaving_rate`` and join as the GP training acceptances of the year
  they qualify times ``gp_training_conversion``, shared by the ICBs' GPs at the base.
- GP admin staff leave at the NHS trust admin rate of the back-test's years (a stand-in) and join to
  keep up their growth before the base.

Each ICB also departs from England's growth by its own draw (``local_net_growth_sd``). Where the data
reach no year before the base (the committed NHS series starts in April 2018), the back-test takes the
projection's growth instead, in sample, and its ``rates_basis`` says so. Where the pattern of rates is
synthetic, ``rates_synthetic`` says so.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from . import calibration
from .config import Scenario
from .inputs import Inputs

YEARS_BACK = 7              # NHS trusts: years from the base month to the latest
GP_YEARS_BACK = 6           # general practice: financial years from the base to the last
GP_ROLES = {"gp_qualified": "doctor", "admin": "infrastructure_admin"}
nhs_stocks = calibration.nhs_stocks


def project(stock0: np.ndarray, exit_rate: np.ndarray, joiners0: np.ndarray, index, years: float,
            steps_per_year: int = 12) -> np.ndarray:
    """(runs, rows) staff in post ``years`` after ``stock0``: each step loses ``exit_rate`` (runs, rows, a
    year) of the stock and gains ``joiners0`` (runs, rows, FTE a year) x ``index(t)`` (runs, 1 or rows)."""
    steps = max(1, int(round(years * steps_per_year)))
    dt = years / steps
    s = np.broadcast_to(np.asarray(stock0, dtype=float)[None, :], np.shape(exit_rate)).copy()
    for k in range(steps):
        s = s + dt * (joiners0 * index(k * dt) - exit_rate * s)
    return s


def _table(base: pd.Series, end: pd.Series, proj: np.ndarray, synthetic, basis: str) -> pd.DataFrame:
    q = np.quantile(proj, (0.1, 0.5, 0.9), axis=0)
    out = pd.DataFrame({"icb_code": base.index, "base_fte": base.to_numpy(), "published_fte": end.to_numpy(),
                        "projected_p10": q[0], "projected_p50": q[1], "projected_p90": q[2],
                        "rates_synthetic": np.broadcast_to(np.asarray(synthetic, dtype=bool), len(base)),
                        "rates_basis": basis})
    out["error_pct"] = 100 * (out["projected_p50"] / out["published_fte"] - 1)
    out["within_range"] = (out["published_fte"] >= out["projected_p10"]) & (out["published_fte"] <= out["projected_p90"])
    return out


def _synthetic_rows(df: pd.DataFrame) -> bool:
    if "synthetic" in df:
        return bool(df["synthetic"].astype(bool).any())
    return bool(df["source"].astype(str).str.contains("SYNTHETIC").any()) if "source" in df else False


def _growth(sc: Scenario, d: dict[str, np.ndarray], eng: pd.Series, icb: pd.DataFrame, icbs: list[str],
            sector: str = "nhs_trust") -> np.ndarray | None:
    """(runs, ICBs) yearly growth before the base, drawn between ``recent_growth``'s windows like the
    projection's, with England's departure from that pace (NHS trusts: ``national_net_growth``), each
    ICB's difference (weighted) and its own departure; None where the series does not reach the shorter
    window."""
    w = sc.assumptions["recent_growth"]
    eng, icb = calibration.filled(eng), calibration.filled(icb)
    if pd.isna(eng.get(w.low)):
        return None
    u = np.asarray(d["recent_growth"], dtype=float)[:, None]
    local = (icb[w.high].reindex(icbs) - eng[w.high]).fillna(0.0).to_numpy()[None, :]
    rows = pd.DataFrame({"icb_code": icbs, "sector": sector})
    return (eng[w.low] + u * (eng[w.high] - eng[w.low]) + calibration.national_term(rows, d)
            + d["local_rate_weight"][:, None] * local + calibration.local_term(rows, d))


def _projection_growth(inp: Inputs, sc: Scenario, d: dict[str, np.ndarray], sector: str, group: str | None,
                       icbs: list[str]) -> np.ndarray:
    """(runs, ICBs) the projection's own growth (the years before its base: in sample for a back-test)."""
    keep = pd.Series(calibration.published(inp.cells), index=inp.cells.index)
    c = inp.cells[(inp.cells["sector"] == sector) & (inp.cells["fte0"] > 0) & keep]
    if group is not None:
        c = c[c["staff_group"] == group]
    g = calibration.growth(c, d, sc)                                          # (R, cells)
    w = c["fte0"].to_numpy()[None, :]
    by = pd.DataFrame((g * w).T, index=c["icb_code"].to_numpy()).groupby(level=0).sum()
    fte = pd.Series(c["fte0"].to_numpy(), index=c["icb_code"].to_numpy()).groupby(level=0).sum()
    return (by.div(fte, axis=0)).reindex(icbs).fillna(0.0).to_numpy().T


def _fy(ts: pd.Timestamp) -> str:
    y = ts.year if ts.month >= 4 else ts.year - 1
    return f"{y}/{str(y + 1)[-2:]}"


def _route_index(sc: Scenario, d: dict[str, np.ndarray], base: pd.Timestamp) -> tuple[Callable, list[str]]:
    """index(t) -> (runs, 1): health joiners from outside against the base year's, the routes following
    their published paths (each financial year against the base's) and the wider labour market its yearly
    rate; and the financial years the paths had to hold at their nearest published year."""
    paths = sc.series.health_joiners_by_route
    years = sorted(paths.international)
    nq_share = sc.assumptions["joiner_routes"].of("health")["newly_qualified"]
    intl = np.asarray(d["backtest.international_share"], dtype=float)[:, None]
    exponent = np.asarray(d["backtest.international_exponent"], dtype=float)[:, None]
    wlm = np.clip(1 - nq_share - intl, 0.0, 1.0)
    held: list[str] = []

    def at(fy: str) -> str:
        if fy in paths.international:
            return fy
        near = years[0] if fy < years[0] else years[-1]
        if fy not in held:
            held.append(fy)
        return near

    fy0 = at(_fy(base + pd.DateOffset(months=6)))

    def index(t: float) -> np.ndarray:
        fy = at(_fy(base + pd.DateOffset(months=6 + 12 * int(t))))
        nq = paths.newly_qualified[fy] / paths.newly_qualified[fy0]
        it = (paths.international[fy] / paths.international[fy0]) ** exponent
        return nq_share * nq + intl * it + wlm * (1 + d["wider_labour_market_growth"][:, None]) ** t
    return index, held


def nhs(tables: dict[str, pd.DataFrame], inp: Inputs, sc: Scenario, d: dict[str, np.ndarray]) -> tuple[pd.DataFrame, dict]:
    """NHS trusts, all HCHS staff, by ICB: published against projected at the latest month."""
    stocks, source = nhs_stocks(tables)
    if stocks.empty:
        return pd.DataFrame(), {"note": "needs the NHS Workforce Statistics monthly series (iwt data build)"}
    wide = calibration.monthly_wide(stocks)
    end_p = wide.columns.max()
    start_p = min(p for p in wide.columns if p >= end_p - pd.DateOffset(years=YEARS_BACK))
    c = inp.cells[(inp.cells["sector"] == "nhs_trust") & (inp.cells["fte0"] > 0)]
    by_icb = c.assign(lw=c["leave_rate"] * c["fte0"]).groupby("icb_code").agg(
        lw=("lw", "sum"), fte=("fte0", "sum"), synthetic=("rates_synthetic", "any"))
    icbs = [i for i in wide.index if i in by_icb.index and pd.notna(wide.at[i, start_p]) and pd.notna(wide.at[i, end_p])]
    s0, s1 = wide.loc[icbs, start_p], wide.loc[icbs, end_p]
    years = (end_p - start_p).days / 365.25
    rel = (by_icb["lw"] / by_icb["fte"]).reindex(icbs).to_numpy() / (by_icb["lw"].sum() / by_icb["fte"].sum())
    exit_rate = d["backtest.nhs_leaving_rate"][:, None] * (1 + d["local_rate_weight"][:, None] * (rel[None, :] - 1))
    eng, icb = calibration.growth_before(wide, start_p)
    g = _growth(sc, d, eng, icb, icbs)
    w = sc.assumptions["recent_growth"]
    if g is not None:
        growth_words = (f"growth of the {w.low} to {w.high} years before {start_p:%B %Y} (out of sample)")
    else:
        g = _projection_growth(inp, sc, d, "nhs_trust", None, icbs)
        growth_words = "projection's growth (no series before the base: in sample)"
    index, held = _route_index(sc, d, start_p)
    proj = project(s0.to_numpy(), exit_rate, np.maximum(exit_rate + g, 0.0) * s0.to_numpy()[None, :], index, years)
    basis = (f"leaving the NHS at the published rate of {start_p.year}-{end_p.year}; joiners keep up the {growth_words}; "
             "routes on their published paths")
    out = _table(s0, s1, proj, by_icb["synthetic"].reindex(icbs).fillna(True).to_numpy(), basis)
    return out, {"base": start_p.strftime("%B %Y"), "end": end_p.strftime("%B %Y"), "years": years, "source": source,
                 "stocks_synthetic": False, "rates_basis": basis, "paths_held": held}


def gp(tables: dict[str, pd.DataFrame], inp: Inputs, sc: Scenario, d: dict[str, np.ndarray]) -> tuple[pd.DataFrame, dict]:
    """General practice, fully qualified GPs and admin staff, by ICB and role: published against
    projected in the last financial year, from the year ``GP_YEARS_BACK`` before it (or the first)."""
    g = tables.get("gp_workforce")
    if g is None or g.empty:
        return pd.DataFrame(), {"note": "needs the general practice workforce files (iwt data build)"}
    g = g[g["role"].isin(GP_ROLES)]
    wide = g.pivot_table(index=["icb_code", "role"], columns="financial_year", values="fte", aggfunc="sum")
    wide = wide.reindex(columns=sorted(wide.columns))
    frames, first_years = [], []
    last = wide.columns[-1]
    for role, group in GP_ROLES.items():
        sub = wide.xs(role, level="role").dropna(axis=1, how="all")
        fys = list(sub.columns)
        base = fys[max(0, len(fys) - 1 - GP_YEARS_BACK)]
        icbs = [i for i in sub.index if pd.notna(sub.at[i, base]) and pd.notna(sub.at[i, last])]
        s0, s1 = sub.loc[icbs, base], sub.loc[icbs, last]
        y0, y1 = int(base[:4]), int(last[:4])
        R = len(d["gp_leaving_rate"])
        local = calibration.local_term(pd.DataFrame({"icb_code": icbs}), d) * s0.to_numpy()[None, :]
        S = np.broadcast_to(s0.to_numpy()[None, :], (R, len(icbs))).astype(float).copy()
        cells = inp.cells[(inp.cells["sector"] == "primary_care") & (inp.cells["staff_group"] == group)]
        if role == "gp_qualified":
            t = sc.series.gp_training_acceptances
            share = (s0 / s0.sum()).to_numpy()[None, :]
            lv, conv = d["gp_leaving_rate"][:, None], d["gp_training_conversion"][:, None]
            for y in range(y0 + 1, y1 + 1):     # financial year y/y+1: those who accepted training years_to_qualify before
                intake = t.at(y - t.years_to_qualify)
                intake = intake if intake is not None else float(t.values[min(t.values, key=lambda k: abs(int(k) - (y - t.years_to_qualify)))])
                S = S + conv * intake * share - lv * S + local
            basis = ("GPs leave at the rate of NHS England's plan modelling and join as the training acceptances "
                     f"of {y0 + 1 - t.years_to_qualify}-{y1 - t.years_to_qualify} x the plan's conversion (published)")
            synthetic = False
        else:
            rel = float(cells["leave_relative"].iloc[0]) if len(cells) and "leave_relative" in cells else 1.0
            lv = d["backtest.nhs_leaving_rate"][:, None] * rel
            eng, icb = calibration.growth_before(sub, base, months=False)
            growth = _growth(sc, d, eng, icb, icbs, sector="primary_care")
            if growth is not None:
                words = f"growth of the years before {base} (out of sample)"
            else:
                growth = _projection_growth(inp, sc, d, "primary_care", group, icbs)
                words = "projection's growth (no year before the base: in sample)"
            J0 = np.maximum(lv + growth, 0.0) * s0.to_numpy()[None, :]
            for k in range(y1 - y0):
                S = S + J0 * (1 + d["wider_labour_market_growth"][:, None]) ** k - lv * S + local
            basis = f"leaving at the NHS trust admin rate of the period (a stand-in); joiners keep up the {words}"
            synthetic = bool(cells["rates_synthetic"].any()) if len(cells) else True
        frames.append(_table(s0, s1, S, synthetic, basis).assign(role=role, base=base))
        first_years.append(base)
    out = pd.concat(frames, ignore_index=True)
    base = min(first_years)
    return out, {"base": base, "end": last, "years": int(last[:4]) - int(base[:4]),
                 "source": "; ".join(dict.fromkeys(g["source"].astype(str))), "stocks_synthetic": _synthetic_rows(g)}


def mape(table: pd.DataFrame) -> float:
    """Median absolute percentage error of the projected median across the rows (ICBs)."""
    return float(table["error_pct"].abs().median()) if len(table) else float("nan")


__all__ = ["GP_ROLES", "GP_YEARS_BACK", "YEARS_BACK", "gp", "mape", "nhs", "nhs_stocks", "project"]
