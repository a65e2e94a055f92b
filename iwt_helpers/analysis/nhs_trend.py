"""NHS trust staff in post by month: an ICB against its NHS England region and England, its growth
over 12 months, and the month-on-month change read as a KPI.

Works on ``nhs_staff_monthly`` (NHS Workforce Statistics by organisation and month, built by
``iwt data build``) or on its committed ICB-level totals ``nhs_staff_monthly_icb`` (``iwt reference
build``). NHS trusts and other core organisations only: staff the ICBs employ (and the CCGs before
them) are kept apart, so moving commissioners into ICBs in July 2022 is no break in the series.
Region and England are sums over the ICBs of the region (organisations sit in the ICS they belonged
to at the file's latest month). Headcount adds organisations' headcounts, so a person working for
two trusts counts in each.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iwt_helpers.data import geography
from iwt_helpers.data.sources.nhs_monthly import trust_totals_by_icb

from . import kpis

KPI_ID = "nhs_trust_staff_mom_pct"


def series_start() -> pd.Timestamp | None:
    """The first month of the trend and of the KPI (``series_from`` of the KPI in kpis.yaml)."""
    defs = kpis.definitions().set_index("id")
    if KPI_ID not in defs.index or "series_from" not in defs or pd.isna(defs.at[KPI_ID, "series_from"]):
        return None
    return pd.Timestamp(str(defs.at[KPI_ID, "series_from"])).to_period("M").to_timestamp()


def _full_months(p: pd.DataFrame) -> pd.DataFrame:
    """Headcount and FTE by month of one area's rows, over the months where every one of its ICBs has
    figures (England and a region; an ICB has them in every month it has)."""
    n = p.groupby("period")["icb_code"].nunique()
    full = n[n == n.max()].index
    return p[p["period"].isin(full)].groupby(["period", "area_type", "area"], as_index=False)[["headcount", "fte"]].sum(min_count=1)


def by_area(monthly: pd.DataFrame, icb_code: str, since: pd.Timestamp | None = None, once=None) -> pd.DataFrame:
    """NHS trust staff in post (headcount, FTE) by month for the ICB, its NHS England region and
    England: columns period, area_type ("icb", "region", "england"), area, headcount, fte, source.
    ``once(key, compute)`` (e.g. ``SystemData.memo``) keeps what every ICB shares (the trust totals, the
    region's and England's rows, the sources) across calls for the same ``monthly``."""
    once = once or (lambda key, compute: compute())
    icb_code = geography.resolve_icb(icb_code)
    t = once(("nhs_trend_totals", since), lambda: _since(trust_totals_by_icb(monthly), since))
    region = geography.region_of(icb_code)

    def in_region() -> pd.DataFrame:
        regions = geography.icbs().set_index("icb_code")["region_code"]
        return _full_months(t[t["icb_code"].map(regions) == region].assign(area_type="region",
                                                                             area=geography.region_name(icb_code)))
    out = pd.concat([_full_months(t[t["icb_code"] == icb_code].assign(area_type="icb", area=geography.icb_name(icb_code))),
                     once(("nhs_trend_region", region, since), in_region),
                     once(("nhs_trend_england", since), lambda: _full_months(t.assign(area_type="england", area="England")))],
                    ignore_index=True)
    out["source"] = once(("nhs_trend_sources",), lambda: "; ".join(monthly["source"].dropna().unique() if "source" in monthly else []))
    if "synthetic" in monthly:
        out["synthetic"] = once(("nhs_trend_synthetic",), lambda: bool(monthly["synthetic"].astype(bool).any()))
    return out


def _since(t: pd.DataFrame, since: pd.Timestamp | None) -> pd.DataFrame:
    return t if since is None else t[t["period"] >= since]


def indexed(areas: pd.DataFrame, measure: str = "fte") -> pd.DataFrame:
    """``by_area`` with each area's ``measure`` as an index (first month = 100) and as % change
    since the first month."""
    first = areas.sort_values("period").groupby("area")[measure].transform("first")
    return areas.assign(index_100=(100 * areas[measure] / first).round(3),
                        change_since_start_pct=(100 * (areas[measure] / first - 1)).round(3))


def growth_12m(areas: pd.DataFrame, measure: str = "fte") -> pd.DataFrame:
    """Growth over the 12 months to each area's latest month: one row per area with ``latest``,
    ``year_before``, the values then and now, ``growth_pct`` and ``period_label`` (e.g. "12 months to
    March 2025"). Missing (not 0) when the month a year before is not in the data."""
    rows = []
    for (area_type, area), g in areas.groupby(["area_type", "area"], sort=False):
        s = g.set_index("period")[measure].sort_index()
        latest = s.index.max()
        before = latest - pd.DateOffset(years=1)
        now, then = s.get(latest, np.nan), s.get(before, np.nan)
        rows.append({"area_type": area_type, "area": area, "latest": latest, "year_before": before,
                     f"{measure}_year_before": then, f"{measure}_latest": now,
                     "growth_pct": 100 * (now / then - 1) if then and not pd.isna(then) else np.nan,
                     "period_label": f"12 months to {latest:%B %Y}"})
    order = {"icb": 0, "region": 1, "england": 2}
    return pd.DataFrame(rows).sort_values("area_type", key=lambda s: s.map(order)).reset_index(drop=True)


def kpi_observations(monthly: pd.DataFrame, since: pd.Timestamp | None = None) -> pd.DataFrame:
    """The KPI ``nhs_trust_staff_mom_pct`` for every ICB: month-on-month % change in NHS trust staff
    in post (FTE), as ``kpi_observations`` rows. A month whose previous month is missing has no value
    (never a change over two months). The row has no numerator or denominator: it is a change, not
    a rate of a part to its whole (the schema checks that those never exceed their whole)."""
    t = trust_totals_by_icb(monthly).sort_values(["icb_code", "period"])
    prev = t.groupby("icb_code")["fte"].shift(1)
    prev_period = t.groupby("icb_code")["period"].shift(1)
    consecutive = prev_period == t["period"] - pd.DateOffset(months=1)
    t = t.assign(denominator=prev.where(consecutive))
    t = t[t["denominator"].notna() & (t["denominator"] > 0)]
    if since is not None:
        t = t[t["period"] > since]          # changes within the series from ``since`` on
    src = "; ".join(monthly["source"].dropna().unique()) if "source" in monthly else ""
    return pd.DataFrame({"icb_code": t["icb_code"], "kpi_id": KPI_ID, "period": t["period"],
                         "value": (100 * (t["fte"] / t["denominator"] - 1)).round(4), "target": np.nan,
                         "numerator": np.nan, "denominator": np.nan,
                         "source": f"{src} (month-on-month change in NHS trust FTE)"}).reset_index(drop=True)


def monthly_table(ds) -> pd.DataFrame | None:
    """``nhs_staff_monthly`` of the data folder, else the committed ICB totals ``nhs_staff_monthly_icb``
    (real), with a ``synthetic`` column; None when neither is there."""
    for name in ("nhs_staff_monthly", "nhs_staff_monthly_icb"):
        df = ds.optional_table(name)
        if df is not None:
            return df.assign(synthetic=bool(df.attrs.get("synthetic", False)))
    return None


def icb_employed_fte(monthly: pd.DataFrame) -> tuple[pd.Timestamp, float] | None:
    """Staff employed by the ICBs themselves (org_type ``icb``) in England at the latest month, and
    that month; None when the table has no organisation types or no such staff."""
    if "org_type" not in monthly:
        return None
    last = monthly[monthly["period"] == monthly["period"].max()]
    fte = last.loc[last["org_type"] == "icb", "fte"].sum(min_count=1)
    return None if pd.isna(fte) else (last["period"].max(), fte)
