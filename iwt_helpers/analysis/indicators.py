"""Indicators: rates, per-capita figures, growth, need estimates and funnel-plot limits.

Pure functions on numbers, Series or DataFrames; no I/O. Rates are percentages (``_pct``),
per-capita figures are per 1,000 people. A zero or missing denominator gives NaN, never 0
or an error, so an ICB without data shows as missing rather than as perfect.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _div(num, den):
    """num / den with NaN (not inf) where den is 0; keeps pandas objects and scalars as they are."""
    if not isinstance(num, (pd.Series, pd.DataFrame)):
        num = np.asarray(num, dtype=float)
    if not isinstance(den, (pd.Series, pd.DataFrame)):
        den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    if isinstance(out, (pd.Series, pd.DataFrame)):
        return out.astype(float).replace([np.inf, -np.inf], np.nan)
    out = np.where(np.isinf(out), np.nan, out)
    return float(out) if out.ndim == 0 else out


def rate_pct(numerator, denominator):
    """100 x numerator / denominator; NaN where the denominator is 0 or missing."""
    return 100 * _div(numerator, denominator)


def vacancy_rate_pct(vacancies, filled_posts):
    """Vacancies as a percentage of all posts (vacant + filled), as NHS England and Skills for Care do."""
    return rate_pct(vacancies, np.add(vacancies, filled_posts))


def turnover_rate_pct(leavers, staff_in_post):
    """Leavers over a year as a percentage of (average) staff in post."""
    return rate_pct(leavers, staff_in_post)


def per_1000(count, population):
    """Count per 1,000 people."""
    return 1000 * _div(count, population)


def growth_pct(new, old):
    """Percentage change from ``old`` to ``new``."""
    return 100 * (_div(new, old) - 1)


def share_pct(part, whole):
    return rate_pct(part, whole)


def pay_gap(reference_gbp: float, comparator_gbp: float) -> dict[str, float]:
    """Gap of ``comparator`` below ``reference`` in pounds per hour and as % of the reference."""
    gap = reference_gbp - comparator_gbp
    return {"gap_gbp_per_hour": gap, "gap_pct": rate_pct(gap, reference_gbp)}


def need_estimates(population: pd.DataFrame, prevalence: pd.DataFrame,
                   by: list[str] | None = None, on: list[str] | None = None) -> pd.DataFrame:
    """POPPI/PANSI-style need: people in each age band x published prevalence rate, summed.

    ``population`` has ``age_band`` and ``population`` (plus any ``by`` columns such as year, and
    the ``on`` columns, such as sex, that the rates are also given by); ``prevalence`` has
    ``condition``, ``age_band``, ``prevalence_pct`` and, where the source gives an interval,
    ``lower_pct`` and ``upper_pct``. Age bands with no rate for a condition contribute nothing.
    """
    by, on = list(by or []), list(on or [])
    rates = [c for c in ("prevalence_pct", "lower_pct", "upper_pct") if c in prevalence]
    m = population.merge(prevalence[["condition", "age_band", *on, *rates]], on=["age_band", *on], how="inner")
    m["people_with_need"] = m["population"] * m["prevalence_pct"] / 100
    out_cols = ["people_with_need"]
    for c, name in (("lower_pct", "people_lower"), ("upper_pct", "people_upper")):
        if c in m:
            m[name] = m["population"] * m[c] / 100
            out_cols.append(name)
    return m.groupby(["condition", *by], as_index=False)[out_cols].sum(min_count=1)


def funnel_limits(denominator, target_pct: float, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Funnel-plot control limits for a proportion (normal approximation to the binomial).

    Limits = p +/- z * sqrt(p (1 - p) / n), with p = target_pct / 100, clipped to 0-100%.
    z = 1.96 gives 95% limits, z = 3.09 gives 99.8% limits (Spiegelhalter 2005).
    """
    n = np.asarray(denominator, dtype=float)
    p = target_pct / 100
    with np.errstate(divide="ignore", invalid="ignore"):
        half = z * np.sqrt(p * (1 - p) / n)
    lo = np.clip(p - half, 0, 1) * 100
    hi = np.clip(p + half, 0, 1) * 100
    return lo, hi


def funnel_position(rate, denominator, overall_pct: float) -> np.ndarray:
    """Classify each unit against 95% and 99.8% funnel limits.

    Returns one of 'above 99.8%', 'above 95%', 'within', 'below 95%', 'below 99.8%'.
    """
    rate = np.asarray(rate, dtype=float)
    lo95, hi95 = funnel_limits(denominator, overall_pct, 1.959964)
    lo998, hi998 = funnel_limits(denominator, overall_pct, 3.090232)
    out = np.full(rate.shape, "within", dtype=object)
    out[rate > hi95] = "above 95%"
    out[rate > hi998] = "above 99.8%"
    out[rate < lo95] = "below 95%"
    out[rate < lo998] = "below 99.8%"
    out[np.isnan(rate)] = "no data"
    return out
