"""The whole-system workforce: profiles by sector and staff group, and per-capita comparisons.

Functions take canonical tables (DataFrames) and return tidy tables; the notebooks show them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iwt_helpers import vocab
from iwt_helpers.data import geography, population

from . import indicators, trust_catchment


def latest_period(workforce: pd.DataFrame) -> pd.Timestamp:
    return workforce["period"].max()


def latest_by_sector(workforce: pd.DataFrame) -> pd.DataFrame:
    """Each sector's rows at that sector's latest period (sources of different dates are never
    mixed within a sector; each row keeps its own period)."""
    return workforce[workforce["period"] == workforce.groupby("sector")["period"].transform("max")]


def period_label(period: pd.Timestamp) -> str:
    return f"{period:%B %Y}"


def gp_as_workforce(gp: pd.DataFrame) -> pd.DataFrame:
    """General practice (``gp_workforce``) at its latest financial year as ``workforce`` rows of the
    primary care sector: roles counted in the total, by harmonised staff group. ``period`` is the
    March the financial year ends in; ``period_label`` says it is an annual mean."""
    fy = gp["financial_year"].max()
    d = gp[(gp["financial_year"] == fy) & gp["in_total"]]
    g = d.groupby(["icb_code", "staff_group"], as_index=False).agg(
        headcount=("headcount", lambda s: s.sum(min_count=1)), fte=("fte", "sum"), source=("source", "first"))
    registered = dict(zip(vocab.staff_groups()["code"], vocab.staff_groups()["registered"]))
    g["sector"] = "primary_care"
    g["registered"] = g["staff_group"].map(registered)
    g["period"] = pd.Timestamp(f"{int(fy[:4]) + 1}-03-01")
    g["period_label"] = f"{fy}, annual mean"
    if "synthetic" in gp:
        g["synthetic"] = bool(gp["synthetic"].any())
    return g


def snapshot(workforce: pd.DataFrame, gp: pd.DataFrame | None = None) -> pd.DataFrame:
    """The whole-system workforce as the data stand: each sector at its own latest period, general
    practice from ``gp_workforce`` where given; ``period_label`` names each row's period."""
    wf = latest_by_sector(workforce).copy()
    wf["period_label"] = wf["period"].map(period_label)
    if gp is not None and len(gp):
        wf = pd.concat([wf[wf["sector"] != "primary_care"], gp_as_workforce(gp)], ignore_index=True)
    return wf


def for_icb(df: pd.DataFrame, icb_code: str) -> pd.DataFrame:
    return df[df["icb_code"] == geography.resolve_icb(icb_code)]


def with_labels(df: pd.DataFrame) -> pd.DataFrame:
    """Add sector and staff group labels, sector family and ownership."""
    out = df.copy()
    if "sector" in out:
        s = vocab.sectors().set_index("code")
        out["sector_label"] = out["sector"].map(s["label"])
        out["family"] = out["sector"].map(s["family"])
        out["ownership"] = out["sector"].map(s["ownership"])
    if "staff_group" in out:
        out["staff_group_label"] = out["staff_group"].map(vocab.staff_group_labels())
    return out


def _sum(d: pd.DataFrame, by: list[str], cols: list[str], sort: bool = True) -> pd.DataFrame:
    """Sums that stay missing where every value is missing (a missing headcount is not 0)."""
    return d.groupby(by, as_index=False, sort=sort)[cols].agg(lambda s: s.sum(min_count=1))


def profile(workforce: pd.DataFrame, icb_code: str, period: pd.Timestamp | None = None) -> pd.DataFrame:
    """Headcount and FTE by sector and staff group for one ICB, at ``period`` or else each
    sector's latest period."""
    d = for_icb(workforce, icb_code)
    d = d[d["period"] == period] if period is not None else latest_by_sector(d)
    out = _sum(d, ["sector", "staff_group", "registered"], ["headcount", "fte"])
    order_s = {c: i for i, c in enumerate(vocab.sector_codes())}
    order_g = {c: i for i, c in enumerate(vocab.staff_group_codes())}
    out = out.sort_values(["sector", "staff_group"], key=lambda c: c.map(order_s if c.name == "sector" else order_g))
    return with_labels(out).reset_index(drop=True)


def sector_headcount(rows: pd.DataFrame) -> float:
    """People in post in one sector's rows at one period: the publisher's own all-staff-groups count
    (``headcount_total``) where the rows carry it, since a person may be in two staff groups; else the
    sum of the staff groups (missing where none is published)."""
    if "headcount_total" in rows and rows["headcount_total"].notna().any():
        return float(rows["headcount_total"].dropna().iloc[0])
    return float(rows["headcount"].sum(min_count=1))


def _publisher_headcount(s: pd.DataFrame, workforce: pd.DataFrame, icb_code: str, period) -> pd.DataFrame:
    """Sector headcounts from the publisher's own all-staff-groups count where the rows carry it
    (``headcount_total``): summing staff groups counts a person in two groups twice."""
    if "headcount_total" not in workforce:
        return s
    w = for_icb(workforce, icb_code)
    w = w[w["period"] == period] if period is not None else latest_by_sector(w)
    total = w.dropna(subset=["headcount_total"]).groupby("sector")["headcount_total"].first()
    s = s.copy()
    s["headcount"] = s["sector"].map(total).fillna(s["headcount"])
    return s


def by_sector(workforce: pd.DataFrame, icb_code: str, period: pd.Timestamp | None = None,
              profile_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Headcount, FTE and share of the whole-system FTE by sector, with a whole-system total row
    (``profile_table``: :func:`profile` of the same arguments, where the caller has it already)."""
    p = profile(workforce, icb_code, period) if profile_table is None else profile_table
    s = _sum(p, ["sector"], ["headcount", "fte"], sort=False)
    s = _publisher_headcount(s, workforce, icb_code, period)
    s["share_of_fte_pct"] = indicators.share_pct(s["fte"], s["fte"].sum())
    s = with_labels(s)
    total = pd.DataFrame([{"sector": "whole_system", "sector_label": "Whole system",
                           "headcount": s["headcount"].sum(min_count=len(s)), "fte": s["fte"].sum(),
                           "share_of_fte_pct": 100.0, "family": "all", "ownership": "all"}])
    return pd.concat([s, total], ignore_index=True)


def _overlapping_sectors(workforce: pd.DataFrame, icb_code: str, period) -> set[str]:
    """Sectors whose publisher counts people across staff groups itself (``headcount_total``): a person
    may be in two of their staff groups, so their groups' headcounts do not add up to people."""
    if "headcount_total" not in workforce:
        return set()
    w = for_icb(workforce, icb_code)
    w = w[w["period"] == period] if period is not None else latest_by_sector(w)
    return set(w.loc[w["headcount_total"].notna(), "sector"])


def by_dimension(workforce: pd.DataFrame, icb_code: str, dimension: str, period: pd.Timestamp | None = None,
                 profile_table: pd.DataFrame | None = None, sector_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """FTE and headcount split by 'registered', 'ownership' or 'family' for one ICB. Headcounts are
    never added across staff groups where a person can be in two: a split of whole sectors (ownership,
    family) adds the sectors' own headcounts (the publisher's totals, :func:`by_sector`); a split by
    staff group (registered) leaves the headcount missing where such a sector is part of it.
    ``profile_table`` and ``sector_table``: :func:`profile` and :func:`by_sector` of the same arguments,
    where the caller has them already."""
    p = profile(workforce, icb_code, period) if profile_table is None else profile_table
    out = _sum(p, [dimension], ["headcount", "fte"])
    if dimension in ("ownership", "family"):
        s = by_sector(workforce, icb_code, period, p) if sector_table is None else sector_table
        s = s[s["sector"] != "whole_system"]
        out["headcount"] = out[dimension].map(s.groupby(dimension)["headcount"].agg(lambda x: x.sum(min_count=1)))
    else:
        overlap = _overlapping_sectors(workforce, icb_code, period)
        if overlap:
            parts = p[p["sector"].isin(overlap)].groupby(dimension).size()
            out.loc[out[dimension].isin(parts.index), "headcount"] = float("nan")
    out["share_of_fte_pct"] = indicators.share_pct(out["fte"], out["fte"].sum())
    return out


def area_totals(workforce: pd.DataFrame, pop: pd.DataFrame, period: pd.Timestamp | None = None,
                year: int | None = None) -> pd.DataFrame:
    """FTE by ICB and sector family (each sector at ``period`` or its latest), with population and
    population aged 65+ (the year nearest the latest period)."""
    w = with_labels(workforce[workforce["period"] == period] if period is not None else latest_by_sector(workforce))
    period = w["period"].max()
    fam = w.pivot_table(index="icb_code", columns="family", values="fte", aggfunc="sum").add_prefix("fte_")
    fam.columns = [c.replace(" ", "_") for c in fam.columns]
    fam["fte_whole_system"] = fam.sum(axis=1)
    year = year or _nearest_year(pop, period.year)
    p = population.for_year(pop, year)
    tot = p.groupby("icb_code")["population"].sum().rename("population")
    old = p[p["age_band"].isin(population.bands_at_least(65))].groupby("icb_code")["population"].sum().rename("population_65_plus")
    out = fam.join(tot).join(old).reset_index()
    icb = geography.icbs()[["icb_code", "icb_short_name", "region_code", "region_name"]]
    out = out.merge(icb, on="icb_code", how="left")
    out.attrs["population_year"] = year
    return out


def _nearest_year(pop: pd.DataFrame, year: int) -> int:
    years = sorted(pop["year"].unique())
    return min(years, key=lambda y: (abs(y - year), -y))


def apportioned_totals(workforce: pd.DataFrame, pop: pd.DataFrame, nhs_shares: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`area_totals` of every ICB with NHS trust staff moved to the ICBs their trusts serve
    (``nhs_shares``; None: counted in their host ICB): what :func:`per_capita_comparison` reads."""
    return area_totals(trust_catchment.apportion(workforce, nhs_shares), pop)


def per_capita_comparison(workforce: pd.DataFrame, pop: pd.DataFrame, icb_code: str,
                          nhs_shares: pd.DataFrame | None = None, nhs_rule: str = "",
                          totals: pd.DataFrame | None = None) -> pd.DataFrame:
    """FTE per 1,000 population and per 1,000 aged 65+ for the ICB, its NHS region and England.

    ``nhs_shares`` (host_icb_code, icb_code, share; :func:`trust_catchment.icb_attribution`) moves NHS
    trust staff from the ICB each trust sits in to the ICBs it serves before the rates are taken;
    None counts them in their host ICB, as published. ``attrs["nhs_rule"]`` says which (``nhs_rule``,
    else a default sentence). ``totals``: :func:`apportioned_totals` of the same arguments, where the
    caller has it already (it is the same whatever the ICB)."""
    icb_code = geography.resolve_icb(icb_code)
    t = apportioned_totals(workforce, pop, nhs_shares) if totals is None else totals
    region = t.loc[t["icb_code"] == icb_code, "region_code"].iloc[0]
    areas = {
        t.loc[t["icb_code"] == icb_code, "icb_short_name"].iloc[0]: t[t["icb_code"] == icb_code],
        f"{t.loc[t['region_code'] == region, 'region_name'].iloc[0]} region": t[t["region_code"] == region],
        "England": t,
    }
    fte_cols = [c for c in t.columns if c.startswith("fte_")]
    rows = []
    for name, d in areas.items():
        sums = d[fte_cols + ["population", "population_65_plus"]].sum()
        for c in fte_cols:
            rows.append({"area": name, "measure": c.removeprefix("fte_").replace("_", " "),
                         "fte": sums[c],
                         "fte_per_1000_population": indicators.per_1000(sums[c], sums["population"]),
                         "fte_per_1000_aged_65_plus": indicators.per_1000(sums[c], sums["population_65_plus"])})
    out = pd.DataFrame(rows)
    out.attrs["population_year"] = t.attrs["population_year"]
    out.attrs["nhs_rule"] = nhs_rule or ("NHS trust staff apportioned to the ICBs their trusts serve" if nhs_shares is not None
                                         else "NHS trusts counted wholly in the ICB they sit in (host), as published")
    return out


def age_profile(workforce_age: pd.DataFrame, icb_code: str) -> pd.DataFrame:
    """Headcount by staff group and age band (latest year), with the share aged 55 and over."""
    d = workforce_age[(workforce_age["year"] == workforce_age["year"].max())
                      & (workforce_age["icb_code"] == geography.resolve_icb(icb_code))]
    piv = d.pivot_table(index="staff_group", columns="age_band", values="headcount", aggfunc="sum", fill_value=0)
    piv = piv.reindex(columns=[b for b in vocab.workforce_age_bands() if b in piv.columns])
    out = piv.reset_index()
    total = piv.sum(axis=1).to_numpy()
    older = piv[[c for c in ("55_64", "65_plus") if c in piv.columns]].sum(axis=1).to_numpy()
    out["headcount"] = total
    out["aged_55_plus"] = older
    out["share_55_plus_pct"] = indicators.share_pct(older, total)
    out["staff_group_label"] = out["staff_group"].map(vocab.staff_group_labels())
    return out.sort_values("share_55_plus_pct", ascending=False).reset_index(drop=True)


def ethnicity_comparison(ethnicity: pd.DataFrame, icb_code: str) -> pd.DataFrame:
    """Share of each ethnic group in the workforce (by sector family) and among residents.

    Shares of known ethnicity exclude the unknowns; the unknown share of all records is shown
    separately, so a high unknown share is visible rather than hidden in the percentages.
    """
    latest = ethnicity["year"] == ethnicity.groupby("group")["year"].transform("max")     # residents 2021, staff later
    d = ethnicity[latest & (ethnicity["icb_code"] == geography.resolve_icb(icb_code))].copy()
    fam = vocab.sectors().set_index("code")["family"]
    d["who"] = ["Residents" if group == "residents" else f"Workforce: {fam.get(sector, sector)}"
                for group, sector in zip(d["group"], d["sector"])]
    g = d.groupby(["who", "ethnic_group"], as_index=False)["people"].sum()
    tot = g.groupby("who")["people"].transform("sum")
    known = g[g["ethnic_group"] != "unknown"].groupby("who")["people"].sum()
    g["share_of_known_pct"] = np.where(g["ethnic_group"] == "unknown", np.nan,
                                       indicators.share_pct(g["people"], g["who"].map(known)))
    g["share_of_all_pct"] = indicators.share_pct(g["people"], tot)
    return g


def headcount_by_sector(rows: pd.DataFrame) -> pd.DataFrame:
    """Headcount of each sector of snapshot rows (:func:`sector_headcount`: the publisher's all-staff-groups
    count where it has one; missing, not 0, where none is published), with the sector's period label and
    whether it is synthetic."""
    g = rows.groupby("sector", sort=True)
    out = g.agg(synthetic=("synthetic", "first"), period=("period_label", "first"))
    out.insert(0, "headcount", pd.Series({s: sector_headcount(d) for s, d in g}))
    return out.reset_index()


def share_aged_55_plus(age_profile_table: pd.DataFrame) -> float:
    """Share (%) of the headcount of :func:`age_profile` aged 55 or over."""
    return 100 * age_profile_table["aged_55_plus"].sum() / age_profile_table["headcount"].sum()


def minority_share(comparison: pd.DataFrame) -> pd.Series:
    """Share of known ethnicity (%) in ethnic minority groups (Asian, Black, mixed, other), by ``who``
    (workforce, residents), from :func:`ethnicity_comparison`."""
    e = comparison
    return e[(e["ethnic_group"].isin(["asian", "black", "mixed", "other"]))].groupby("who")["share_of_known_pct"].sum()


def per_capita_basis(snapshot: pd.DataFrame, icb_code: str) -> pd.DataFrame:
    """The snapshot rows per-head figures are computed from: where the ICB's sectors mix real and
    synthetic figures, the real sectors only (a rate of real and synthetic staff together would be
    neither); otherwise every row."""
    syn = snapshot.loc[snapshot["icb_code"] == icb_code, "synthetic"].astype(bool)
    return snapshot[~snapshot["synthetic"].astype(bool)] if syn.any() and not syn.all() else snapshot
