"""Back-test: the supply model run from a past base year to the latest year with published staff in
post on both ends, set against what was published, by ICB.

NHS trusts (all HCHS staff): the monthly NHS Workforce Statistics by organisation (``nhs_staff_monthly``,
trust rows summed by ICB; or the committed ICB totals ``nhs_staff_monthly_icb``), from the month seven
years before the latest (or the first month after it) to the latest. General practice: fully qualified
GPs and admin staff from the practice files (``gp_workforce``, annual means), from the first financial
year to the last.

The supply side is the scenario model's, without posts (in the past they are unknown, so nothing
caps recruitment): ``stock(t + dt) = stock(t) + dt x (joiners(t) - leavers(t))``, in monthly steps,
where leavers are those leaving the sector at the cell's base-year rate (scaled as the projection
scales it, less moves within the sector) and joiners are the base-year joiners from outside the
sector (less moves within it) growing by the routes' yearly rates, with the baseline's draws. The
rates are the projection's own (the latest year's, applied backwards in time): for NHS trusts, the
NHS turnover files exclude resident doctors, whom the monthly series includes, so the rates of all
other staff are applied to every HCHS FTE, resident doctors included (their rotations between trusts
are moves within the NHS, which the model takes out with the rest). Where the rates are synthetic,
the table says so: the back-test then tests the method on made-up rates, not the rates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import ROUTES, Scenario
from .inputs import Inputs
from .model import leaving_scale, within_share

YEARS_BACK = 7
GP_ROLES = {"gp_qualified": "doctor", "admin": "infrastructure_admin"}


def nhs_stocks(tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, str]:
    """NHS trust FTE by ICB and month (all HCHS staff, resident doctors included), and its source."""
    m = tables.get("nhs_staff_monthly")
    if m is not None and len(m):
        t = m[m["org_type"] == "trust"].groupby(["period", "icb_code"], as_index=False)["fte"].sum(min_count=1)
        return t, "; ".join(dict.fromkeys(m["source"].astype(str)))
    m = tables.get("nhs_staff_monthly_icb")
    if m is None or m.empty:
        return pd.DataFrame(columns=["period", "icb_code", "fte"]), ""
    return m[["period", "icb_code", "fte"]].copy(), "; ".join(dict.fromkeys(m["source"].astype(str)))


def _rates(inp: Inputs, sector: str, groups: list[str] | None = None) -> pd.DataFrame:
    """Per ICB (and staff group where ``groups`` is given): the observed leaving and joining rates
    (FTE-weighted over the cells), whether any is synthetic and the months they are annualised from."""
    c = inp.cells[(inp.cells["sector"] == sector) & (inp.cells["fte0"] > 0)]
    if groups is not None:
        c = c[c["staff_group"].isin(groups)]
    keys = ["icb_code"] + (["staff_group"] if groups is not None else [])
    c = c.assign(lw=c["leave_rate"] * c["fte0"], jw=c["join_rate"] * c["fte0"],
                 months=c["rate_months"] if "rate_months" in c else 12)
    g = c.groupby(keys, as_index=False).agg(fte0=("fte0", "sum"), lw=("lw", "sum"), jw=("jw", "sum"),
                                            synthetic=("rates_synthetic", "any"), months=("months", "min"))
    g["leave_rate"] = g["lw"] / g["fte0"]
    g["join_rate"] = g["jw"] / g["fte0"]
    g["sector"] = sector
    return g.drop(columns=["lw", "jw"])


def project(stock0: np.ndarray, rates: pd.DataFrame, sc: Scenario, d: dict[str, np.ndarray], years: float) -> np.ndarray:
    """(runs, rows) staff in post ``years`` after ``stock0`` (rows of ``rates``), in monthly steps."""
    cells = rates.assign(rate_months=rates["months"])
    within = within_share(cells, d)                                          # (R, N)
    scale = leaving_scale(cells, d)
    leave_obs = rates["leave_rate"].to_numpy()[None, :]
    exit_rate = leave_obs * scale * (1 - within)
    join_ext = np.maximum(0.0, rates["join_rate"].to_numpy()[None, :] - leave_obs * within)   # per FTE of the base stock
    fam = "social care" if str(rates["sector"].iloc[0]).startswith("asc") else "health"
    share = np.array([sc.assumptions["joiner_routes"][fam][r] for r in ROUTES])
    growth = np.stack([d["newly_qualified_growth"], d["international_growth"], d["wider_labour_market_growth"]], axis=1)
    steps = max(1, int(round(years * 12)))
    dt = years / steps
    s = np.broadcast_to(stock0[None, :], exit_rate.shape).astype(float).copy()
    j0 = join_ext * stock0[None, :]
    for k in range(steps):
        t = k * dt
        route = ((1 + growth) ** t) @ share                                  # (R,)
        s = s + dt * (j0 * route[:, None] - exit_rate * s)
    return s


def _synthetic_rows(df: pd.DataFrame) -> bool:
    if "synthetic" in df:
        return bool(df["synthetic"].astype(bool).any())
    return bool(df["source"].astype(str).str.contains("SYNTHETIC").any()) if "source" in df else False


def _table(base: pd.Series, end: pd.Series, proj: np.ndarray, synthetic: pd.Series) -> pd.DataFrame:
    q = np.quantile(proj, (0.1, 0.5, 0.9), axis=0)
    out = pd.DataFrame({"icb_code": base.index, "base_fte": base.to_numpy(), "published_fte": end.to_numpy(),
                        "projected_p10": q[0], "projected_p50": q[1], "projected_p90": q[2],
                        "rates_synthetic": synthetic.to_numpy()})
    out["error_pct"] = 100 * (out["projected_p50"] / out["published_fte"] - 1)
    out["within_range"] = (out["published_fte"] >= out["projected_p10"]) & (out["published_fte"] <= out["projected_p90"])
    return out


def nhs(tables: dict[str, pd.DataFrame], inp: Inputs, sc: Scenario, d: dict[str, np.ndarray]) -> tuple[pd.DataFrame, dict]:
    """NHS trusts, all HCHS staff, by ICB: published against projected at the latest month."""
    stocks, source = nhs_stocks(tables)
    if stocks.empty:
        return pd.DataFrame(), {"note": "needs the NHS Workforce Statistics monthly series (iwt data build)"}
    stocks["period"] = pd.to_datetime(stocks["period"])
    end_p = stocks["period"].max()
    start_p = stocks.loc[stocks["period"] >= end_p - pd.DateOffset(years=YEARS_BACK), "period"].min()
    wide = stocks.pivot_table(index="icb_code", columns="period", values="fte", aggfunc="sum")
    rates = _rates(inp, "nhs_trust").set_index("icb_code")
    icbs = [i for i in wide.index if i in rates.index and pd.notna(wide.at[i, start_p]) and pd.notna(wide.at[i, end_p])]
    r = rates.loc[icbs].reset_index()
    years = (end_p - start_p).days / 365.25
    proj = project(wide.loc[icbs, start_p].to_numpy(), r, sc, d, years)
    out = _table(wide.loc[icbs, start_p], wide.loc[icbs, end_p], proj, r["synthetic"])
    return out, {"base": start_p.strftime("%B %Y"), "end": end_p.strftime("%B %Y"), "years": years, "source": source,
                 "stocks_synthetic": False,
                 "rate_months": int(r["months"].min()) if len(r) else None}


def gp(tables: dict[str, pd.DataFrame], inp: Inputs, sc: Scenario, d: dict[str, np.ndarray]) -> tuple[pd.DataFrame, dict]:
    """General practice, fully qualified GPs and admin staff, by ICB and role: published against
    projected in the latest financial year, from the first year both roles are published."""
    g = tables.get("gp_workforce")
    if g is None or g.empty:
        return pd.DataFrame(), {"note": "needs the general practice workforce files (iwt data build)"}
    g = g[g["role"].isin(GP_ROLES)]
    years_have = sorted(g["financial_year"].unique())
    first, last = years_have[0], years_have[-1]
    wide = g.pivot_table(index=["icb_code", "role"], columns="financial_year", values="fte", aggfunc="sum")
    rates = _rates(inp, "primary_care", list(GP_ROLES.values()))
    frames = []
    for role, group in GP_ROLES.items():
        r = rates[rates["staff_group"] == group].set_index("icb_code")
        sub = wide.xs(role, level="role")
        icbs = [i for i in sub.index if i in r.index and pd.notna(sub.at[i, first]) and pd.notna(sub.at[i, last])]
        rr = r.loc[icbs].reset_index()
        years = int(last[:4]) - int(first[:4])
        proj = project(sub.loc[icbs, first].to_numpy(), rr, sc, d, years)
        frames.append(_table(sub.loc[icbs, first], sub.loc[icbs, last], proj, rr["synthetic"]).assign(role=role))
    return pd.concat(frames, ignore_index=True), {"base": first, "end": last, "years": int(last[:4]) - int(first[:4]),
                                                  "source": "; ".join(dict.fromkeys(g["source"].astype(str))),
                                                  "stocks_synthetic": _synthetic_rows(g)}


def mape(table: pd.DataFrame) -> float:
    """Median absolute percentage error of the projected median across the rows (ICBs)."""
    return float(table["error_pct"].abs().median()) if len(table) else float("nan")
