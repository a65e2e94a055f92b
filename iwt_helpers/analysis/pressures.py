"""Pressure points: vacancies, turnover, pay gap, cross-sector flows, sickness and agency use.

Rates are always aggregated from counts (sum of vacancies over sum of posts), never by
averaging rates, so that large and small groups carry their proper weight.
"""

from __future__ import annotations

import pandas as pd

from iwt_helpers import vocab
from iwt_helpers.data import geography

from . import indicators
from .workforce import with_labels


def _latest(df: pd.DataFrame, col: str) -> pd.DataFrame:
    return df[df[col] == df[col].max()]


def latest_flows(flows: pd.DataFrame) -> pd.DataFrame:
    """Each sector's latest year of flows, with joiners and leavers as 12-month equivalents.

    Sources may cover fewer than 12 months (``months``; e.g. NHS turnover benchmarking's
    one-month windows): their counts are scaled by 12 / months, so a rate over a short window is
    an annualised rate. Sectors may have different latest years; each keeps its own.
    """
    d = flows[flows["year"] == flows.groupby("sector")["year"].transform("max")].copy()
    months = d["months"].fillna(12) if "months" in d else 12
    for c in ("joiners", "leavers", "leavers_to_other_sector"):
        d[c] = d[c] * 12 / months
    return d


def latest_vacancies(vacancies: pd.DataFrame) -> pd.DataFrame:
    """The vacancies of the table's latest period (what :func:`vacancy_rates` reads)."""
    return _latest(vacancies, "period")


def vacancy_rates(vacancies: pd.DataFrame, icb_code: str, by: list[str] | None = None,
                  latest: pd.DataFrame | None = None) -> pd.DataFrame:
    """Vacancy rate (%) at the latest period for one ICB, by the given columns (default sector).
    ``latest``: :func:`latest_vacancies` of ``vacancies`` (all ICBs' rows or the ICB's), where the
    caller has it already."""
    by = by or ["sector"]
    d = latest_vacancies(vacancies) if latest is None else latest
    d = d[d["icb_code"] == geography.resolve_icb(icb_code)]
    out = d.groupby(by, as_index=False)[["vacancies", "filled_posts"]].sum()
    out["vacancy_rate_pct"] = indicators.vacancy_rate_pct(out["vacancies"], out["filled_posts"])
    return with_labels(out)


def turnover_rates(flows: pd.DataFrame, icb_code: str, by: list[str] | None = None,
                   latest: pd.DataFrame | None = None) -> pd.DataFrame:
    """Leavers as % of staff in post over each sector's latest year (annualised), for one ICB.
    ``latest``: :func:`latest_flows` of ``flows`` (all ICBs' rows or the ICB's), where the caller has
    it already."""
    by = by or ["sector"]
    d = latest_flows(flows) if latest is None else latest
    d = d[d["icb_code"] == geography.resolve_icb(icb_code)]
    out = d.groupby(by, as_index=False)[["staff_in_post", "leavers", "joiners", "leavers_to_other_sector"]].sum(min_count=1)
    out["turnover_rate_pct"] = indicators.turnover_rate_pct(out["leavers"], out["staff_in_post"])
    out["to_other_sector_pct_of_leavers"] = indicators.share_pct(out["leavers_to_other_sector"], out["leavers"])
    return with_labels(out)


def pressure_by_group(vacancies: pd.DataFrame, flows: pd.DataFrame, icb_code: str,
                      latest: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Vacancy and turnover rates by sector family and staff group, side by side (``latest``: the
    tables' latest rows, :func:`latest_vacancies` and :func:`latest_flows`, where the caller has them)."""
    lv, lf = latest or (None, None)
    v = vacancy_rates(vacancies, icb_code, ["sector", "staff_group"], lv)
    t = turnover_rates(flows, icb_code, ["sector", "staff_group"], lf)
    vg = v.groupby(["family", "staff_group"], as_index=False)[["vacancies", "filled_posts"]].sum()
    tg = t.groupby(["family", "staff_group"], as_index=False)[["leavers", "staff_in_post"]].sum()
    out = vg.merge(tg, on=["family", "staff_group"], how="outer")
    out["vacancy_rate_pct"] = indicators.vacancy_rate_pct(out["vacancies"], out["filled_posts"])
    out["turnover_rate_pct"] = indicators.turnover_rate_pct(out["leavers"], out["staff_in_post"])
    out["staff_group_label"] = out["staff_group"].map(vocab.staff_group_labels())
    out = out[out["staff_group"] != "unknown"]          # a group of unclassified records, not a staff group
    return out.sort_values(["family", "staff_in_post"], ascending=[True, False]).reset_index(drop=True)


def _hca_and_care_worker(d: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The NHS reference rows and the care worker rows of :func:`pay_gap`."""
    nhs = d[(d["sector"] == "nhs_trust") & (d["staff_group"] == "support_to_clinical") & (d["experience"] == "new_to_role")]
    cw = d[d["sector"].str.startswith("asc_") & (d["staff_group"] == "care_worker") & (d["experience"] == "all")]
    return nhs, cw


def _gap(year: int, nhs: pd.Series | None, cw: pd.Series | None) -> dict:
    """One year's gap from the two groups' hourly pay (None or empty: not available)."""
    if nhs is None or cw is None or nhs.empty or cw.empty:
        return {"year": year, "nhs_hca_new_gbp": float("nan"), "care_worker_gbp": float("nan"),
                "gap_gbp_per_hour": float("nan"), "gap_pct": float("nan")}
    ref, comp = float(nhs.mean()), float(cw.mean())
    return {"year": year, "nhs_hca_new_gbp": ref, "care_worker_gbp": comp, **indicators.pay_gap(ref, comp)}


def pay_gap(pay: pd.DataFrame, icb_code: str, year: int | None = None) -> dict:
    """Care workers' average pay against NHS healthcare assistants new to their role.

    NHS reference: ``support_to_clinical`` in NHS trusts, ``new_to_role``; comparator: care
    workers in all adult social care sectors (``all`` experience), averaged across sectors.
    """
    icb_code = geography.resolve_icb(icb_code)
    year = year or int(pay["year"].max())
    nhs, cw = _hca_and_care_worker(pay[(pay["year"] == year) & (pay["icb_code"] == icb_code)])
    return _gap(year, nhs["pay_gbp_per_hour"], cw["pay_gbp_per_hour"])


def pay_gaps(pay: pd.DataFrame, icb_codes: list[str], year: int | None = None) -> list[dict]:
    """:func:`pay_gap` of each ICB (the same figures), the year's rows picked once for all of them."""
    year = year or int(pay["year"].max())
    nhs, cw = _hca_and_care_worker(pay[pay["year"] == year])
    nhs, cw = (dict(tuple(g.groupby("icb_code", sort=False)["pay_gbp_per_hour"])) for g in (nhs, cw))
    return [_gap(year, nhs.get(c), cw.get(c)) for c in (geography.resolve_icb(c) for c in icb_codes)]


def pay_gap_trend(pay: pd.DataFrame, icb_code: str) -> pd.DataFrame:
    """:func:`pay_gap` of every year of ``pay``."""
    icb_code = geography.resolve_icb(icb_code)
    nhs, cw = _hca_and_care_worker(pay[pay["icb_code"] == icb_code])
    nhs, cw = (dict(tuple(g.groupby("year")["pay_gbp_per_hour"])) for g in (nhs, cw))
    return pd.DataFrame([_gap(int(y), nhs.get(y), cw.get(y)) for y in sorted(pay["year"].unique())])


def cross_sector_flows(flows: pd.DataFrame, icb_code: str, latest: pd.DataFrame | None = None) -> pd.DataFrame:
    """Leavers moving from social care to health and from health to social care (latest year),
    counted only over the sectors whose source records where leavers go (``sectors`` names them;
    ``latest``: :func:`latest_flows` of ``flows``, where the caller has it)."""
    t = turnover_rates(flows, icb_code, ["sector"], latest)
    t = t[t["leavers_to_other_sector"].notna()]
    by = t.groupby("family")
    g = by[["leavers", "leavers_to_other_sector"]].sum().assign(sectors=by["sector_label"].agg(", ".join)).reset_index()
    g["direction"] = g["family"].map({"social care": "Social care to health", "health": "Health to social care"})
    g["share_of_leavers_pct"] = indicators.share_pct(g["leavers_to_other_sector"], g["leavers"])
    return g[["direction", "sectors", "leavers", "leavers_to_other_sector", "share_of_leavers_pct"]]


def kpi_latest_year(kpi_observations: pd.DataFrame, icb_code: str, kpi_ids: list[str]) -> pd.DataFrame:
    """Mean of the last 12 monthly values of each KPI for one ICB (sickness, agency use)."""
    d = kpi_observations[(kpi_observations["icb_code"] == geography.resolve_icb(icb_code))
                         & kpi_observations["kpi_id"].isin(kpi_ids)]
    rows = []
    for kpi, g in d.sort_values("period").groupby("kpi_id"):
        last = g.tail(12)
        rows.append({"kpi_id": kpi, "from": last["period"].min(), "to": last["period"].max(),
                     "mean_last_12_months": last["value"].mean(), "months": int(last["value"].notna().sum())})
    return pd.DataFrame(rows, columns=["kpi_id", "from", "to", "mean_last_12_months", "months"])


def vacancy_and_turnover(vacancies: pd.DataFrame, flows: pd.DataFrame, icb_code: str,
                         latest: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Vacancy and turnover rates by sector side by side (an outer merge: a sector with only one of
    them keeps its row), with the sectors' labels (``latest`` as for :func:`pressure_by_group`)."""
    lv, lf = latest or (None, None)
    v = vacancy_rates(vacancies, icb_code, latest=lv)
    t = turnover_rates(flows, icb_code, latest=lf)
    both = v[["sector", "sector_label", "vacancies", "filled_posts", "vacancy_rate_pct"]].merge(
        t[["sector", "staff_in_post", "leavers", "turnover_rate_pct"]], on="sector", how="outer")
    both["sector_label"] = both["sector"].map(vocab.sector_labels())
    return both


def family_vacancy_rate(vacancies: pd.DataFrame, icb_code: str, family: str = "social care") -> float:
    """One vacancy rate (%) for a sector family at the latest period: its vacancies over its posts."""
    v = vacancy_rates(vacancies, icb_code)
    f = v[v["family"] == family]
    return 100 * f["vacancies"].sum() / (f["vacancies"].sum() + f["filled_posts"].sum())


def months_by_sector(flows: pd.DataFrame) -> pd.Series:
    """The months each sector's flows cover (12 where a source says nothing)."""
    return flows.groupby("sector")["months"].first() if "months" in flows else pd.Series(dtype=float)


def latest_published(kpi_observations: pd.DataFrame, icb_code: str, kpi_ids) -> pd.DataFrame:
    """The latest published (real, not synthetic) observation of each KPI for the ICB, one row per KPI
    (none on the demo set)."""
    k = kpi_observations
    k = k[(k["icb_code"] == icb_code) & k["kpi_id"].isin(list(kpi_ids)) & ~k["synthetic"].astype(bool)]
    return k.sort_values("period").groupby("kpi_id").tail(1)


def kpi_latest_year_rows(kpi_observations: pd.DataFrame, icb_code: str, kpi_ids) -> pd.DataFrame:
    """The ICB's observations of these KPIs in the 12 months to each one's latest month (the rows
    behind :func:`kpi_latest_year`)."""
    k = kpi_observations
    kr = k[(k["icb_code"] == icb_code) & k["kpi_id"].isin(list(kpi_ids))]
    return kr[kr["period"] > kr.groupby("kpi_id")["period"].transform("max") - pd.DateOffset(months=12)]


def nhs_staff_groups(nhs: pd.DataFrame, flows: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """NHS trust staff by staff group (``nhs``: the ICB's NHS trust rows of the snapshot) with joining
    and leaving rates from ``flows`` (its latest NHS trust flows, annualised). A rate of a count below
    ``min_count`` (the disclosure threshold) is left missing: it would give the suppressed count back.
    Largest FTE first."""
    g = nhs.groupby("staff_group", as_index=False).agg(headcount=("headcount", lambda s: s.sum(min_count=1)), fte=("fte", "sum"))
    f = flows.groupby("staff_group", as_index=False)[["staff_in_post", "joiners", "leavers"]].sum(min_count=1)
    out = g.merge(f, on="staff_group", how="left")
    for count, rate in (("joiners", "joining_rate_pct"), ("leavers", "leaving_rate_pct")):
        out[rate] = (100 * out[count] / out["staff_in_post"]).where(~out[count].between(1, min_count - 1, inclusive="both"))
    out["staff_group_label"] = out["staff_group"].map(vocab.staff_group_labels())
    if "resident doctors excluded" in " ".join(nhs["source"].unique()):
        out.loc[out["staff_group"] == "doctor", "staff_group_label"] = "Doctors (excluding resident doctors)"
    return out.sort_values("fte", ascending=False)
