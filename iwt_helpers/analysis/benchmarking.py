"""Benchmarking rates across the 42 ICBs with funnel plots.

A funnel plot puts each ICB's rate against its size (the denominator) with control limits
around the England rate that narrow as size grows, so small systems' noise is not read as
performance. Limits: normal approximation to the binomial at 95% and 99.8%.

Workforce rates between systems usually vary more than chance alone allows (overdispersion),
which makes plain binomial limits flag most systems. By default the limits are widened with
Spiegelhalter's additive random-effects method (Statistics in Medicine 2005; the approach NHS
England's funnel-plot guidance uses): z-scores are winsorised at 10% in each tail, the
dispersion phi = mean(z^2) estimated, and if phi exceeds what chance gives, a between-system
variance tau^2 = max(0, (n phi - (n - 1)) / (sum w - sum w^2 / sum w)), w = 1 / s^2, is added,
so the limits become p +/- z sqrt(s_i^2 + tau^2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iwt_helpers.data import geography

from . import indicators


def _tau2(rate: np.ndarray, se: np.ndarray, p: float) -> tuple[float, float]:
    """Winsorised dispersion phi and additive between-unit variance tau^2 (proportion scale)."""
    z = (rate - p) / se
    lo, hi = np.quantile(z, [0.1, 0.9])
    zw = np.clip(z, lo, hi)
    n = len(z)
    phi = float(np.mean(zw ** 2))
    w = 1 / se ** 2
    tau2 = max(0.0, (n * phi - (n - 1)) / (w.sum() - (w ** 2).sum() / w.sum()))
    return phi, tau2


def funnel_table(numerator: pd.Series, denominator: pd.Series, overdispersion: bool = True) -> pd.DataFrame:
    """Rate, limits and position for each ICB; inputs indexed by ICB code."""
    d = pd.DataFrame({"numerator": numerator, "denominator": denominator}).dropna()
    d = d[d["denominator"] > 0]
    overall = indicators.rate_pct(d["numerator"].sum(), d["denominator"].sum())
    p = overall / 100
    d["rate_pct"] = indicators.rate_pct(d["numerator"], d["denominator"])
    se = np.sqrt(p * (1 - p) / d["denominator"].to_numpy())
    phi, tau2 = _tau2(d["rate_pct"].to_numpy() / 100, se, p) if overdispersion and len(d) > 2 else (1.0, 0.0)
    total_se = np.sqrt(se ** 2 + tau2)
    for name, z in (("95", 1.959964), ("998", 3.090232)):
        d[f"lo{name}"] = np.clip(p - z * total_se, 0, 1) * 100
        d[f"hi{name}"] = np.clip(p + z * total_se, 0, 1) * 100
    rate = d["rate_pct"].to_numpy()
    pos = np.full(len(d), "within", dtype=object)
    pos[rate > d["hi95"].to_numpy()] = "above 95%"
    pos[rate > d["hi998"].to_numpy()] = "above 99.8%"
    pos[rate < d["lo95"].to_numpy()] = "below 95%"
    pos[rate < d["lo998"].to_numpy()] = "below 99.8%"
    d["position"] = pos
    d.attrs.update({"overall_pct": overall, "phi": phi, "tau2": tau2, "overdispersion": overdispersion and tau2 > 0})
    names = geography.icbs().set_index("icb_code")["icb_short_name"]
    d["icb_name"] = d.index.map(names)
    return d


def funnel_curve(table: pd.DataFrame, n_points: int = 120) -> pd.DataFrame:
    """The limit lines across the range of denominators, for drawing."""
    p = table.attrs["overall_pct"] / 100
    x = np.geomspace(max(table["denominator"].min() * 0.8, 1), table["denominator"].max() * 1.2, n_points)
    se = np.sqrt(p * (1 - p) / x + table.attrs["tau2"])
    out = pd.DataFrame({"denominator": x})
    for name, z in (("95", 1.959964), ("998", 3.090232)):
        out[f"lo{name}"] = np.clip(p - z * se, 0, 1) * 100
        out[f"hi{name}"] = np.clip(p + z * se, 0, 1) * 100
    return out


def vacancy_funnel(vacancies: pd.DataFrame, families: tuple[str, ...] = ("social care",)) -> pd.DataFrame:
    from .workforce import with_labels
    v = with_labels(vacancies[vacancies["period"] == vacancies["period"].max()])
    v = v[v["family"].isin(families)]
    g = v.groupby("icb_code")[["vacancies", "filled_posts"]].sum()
    return funnel_table(g["vacancies"], g["vacancies"] + g["filled_posts"])


def turnover_funnel(flows: pd.DataFrame, families: tuple[str, ...] = ("social care",)) -> pd.DataFrame:
    from .pressures import latest_flows
    from .workforce import with_labels
    f = with_labels(latest_flows(flows))
    f = f[f["family"].isin(families)]
    g = f.groupby("icb_code")[["leavers", "staff_in_post"]].sum()
    # Leavers can exceed a rate's binomial sense only if turnover > 100%; cap for the limits.
    return funnel_table(np.minimum(g["leavers"], g["staff_in_post"]), g["staff_in_post"])


def kpi_funnel(kpi_observations: pd.DataFrame, kpi_id: str, denominators: pd.Series) -> pd.DataFrame:
    """Funnel of a percentage KPI (mean of the last 12 months) against a size denominator.

    Used for NHS sickness absence: the numerator is reconstructed as rate x denominator, so the
    denominator should be the NHS workforce (FTE) the rate applies to.
    """
    d = kpi_observations[kpi_observations["kpi_id"] == kpi_id].sort_values("period")
    last12 = d.groupby("icb_code").tail(12)
    if {"numerator", "denominator"} <= set(last12.columns) and last12["denominator"].notna().all() and len(last12):
        # The source gave the counts behind the rate (e.g. FTE days lost and available): use them.
        g = last12.groupby("icb_code")[["numerator", "denominator"]].sum()
        return funnel_table(g["numerator"], g["denominator"])
    last = last12.groupby("icb_code")["value"].mean()
    den = denominators.reindex(last.index)
    return funnel_table(last / 100 * den, den)


def positions(funnels, icb_code: str) -> pd.DataFrame:
    """The ICB's rate, England's and the 95% limits on each funnel (``(label, table, ...)`` as
    :attr:`iwt_helpers.analysis.system_data.SystemData.funnels` gives them): one row per funnel the ICB is on."""
    rows = []
    for label, table, *_ in funnels:
        if icb_code in table.index:
            r = table.loc[icb_code]
            rows.append({"measure": label, "rate_pct": r["rate_pct"], "england_pct": table.attrs["overall_pct"],
                         "lo95": r["lo95"], "hi95": r["hi95"], "position": r["position"]})
    return pd.DataFrame(rows)
