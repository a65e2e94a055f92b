"""One truth per measure: the registry every theme, index card, funnel plot, scenario input and
``tables.xlsx`` sheet takes a measure's figure from.

A *measure* is one quantity of one scope (:data:`REGISTRY`: its id, a label that says the scope, the
unit, the display format and the function deciding its figure). For an ICB that function decides the
figure from the model's inputs (:class:`~iwt_helpers.analysis.system_data.SystemData`, or anything with
its ``t`` tables and ``snapshot``): the published figure where the data folder has it, otherwise the
synthetic (demonstration) one, each returned as a :class:`Value` with its period, status and source.
Two sources of a different scope are two measures whose labels say the scope (NHS trust staff in post
from the turnover benchmarking files, resident doctors excluded, and from the monthly NHS Workforce
Statistics, resident doctors included): never one measure shown with two numbers.

Counts of people are never summed across staff groups where a person can be in two: a headcount is
the publisher's own all-staff-groups count (``headcount_total``) where the rows carry one.

Scenario quantities are quoted as one statistic, the median of the runs: :func:`gap` decides the gap
at a year, :func:`median_runs` picks the runs a waterfall of the median gap is drawn from and
:func:`recentre_on_median` puts a one-way sensitivity (tornado) on that median.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from . import benchmarking, indicators, nhs_trend, pressures, trust_catchment
from .workforce import sector_headcount


class SystemData(Protocol):
    """What a measure's function reads of :class:`~iwt_helpers.analysis.system_data.SystemData` (which
    imports this module, so it is not imported here)."""
    t: dict[str, pd.DataFrame]

    @property
    def snapshot(self) -> pd.DataFrame: ...

    @property
    def nhs_monthly(self) -> pd.DataFrame | None: ...

    @property
    def nhs_attribution(self) -> Any: ...

REAL, SYNTHETIC, MIXED, MODELLED = "real", "synthetic", "mixed", "modelled"
ASC_SECTORS = ("asc_local_authority", "asc_independent", "asc_voluntary")
RESIDENT_DOCTORS_EXCLUDED = "resident doctors excluded"
# NHS trust doctors where the publisher leaves resident doctors out (every theme names them so)
DOCTORS_EXCLUDING_RESIDENTS = "Doctors (excluding resident doctors)"


@dataclass(frozen=True)
class Value:
    """The figure of a measure for an ICB: its value (NaN: not available), the period it describes in
    words, whether it is real (published), synthetic, mixed or modelled, its sources and, where the data
    say, its scope (what it counts)."""
    measure: str
    icb: str
    value: float
    period: str
    status: str
    source: str
    scope: str = ""
    as_of: pd.Timestamp | None = None       # the month it describes (or ends), where one month is meant

    @property
    def label(self) -> str:
        return REGISTRY[self.measure].label

    @property
    def unit(self) -> str:
        return REGISTRY[self.measure].unit

    @property
    def synthetic(self) -> bool:
        return self.status in (SYNTHETIC, MIXED)

    @property
    def available(self) -> bool:
        return self.value is not None and not pd.isna(self.value)

    def text(self, fmt: str | None = None) -> str:
        """The figure as the measure's format (or ``fmt``) writes it; 'not available' when missing."""
        return (fmt or REGISTRY[self.measure].fmt).format(self.value) if self.available else "not available"

    def at(self, icb: str, value: float) -> Value:
        return dataclasses.replace(self, icb=icb, value=float(value))


@dataclass(frozen=True)
class Measure:
    id: str
    label: str                                  # what it counts, with its scope
    unit: str
    fmt: str                                    # how a report writes it
    decide: Callable[..., Value | None]         # (data, icb, **options) -> the figure, real first
    notes: str = ""


def status_of(rows: pd.DataFrame) -> str:
    """real, synthetic or mixed, from the rows' ``synthetic`` flags (real when there are none)."""
    if "synthetic" not in rows or rows.empty:
        return REAL
    syn = rows["synthetic"].astype(bool)
    return SYNTHETIC if syn.all() else (MIXED if syn.any() else REAL)


def _once(data: SystemData, key: tuple, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per model's inputs where they keep what they worked out
    (:meth:`SystemData.memo <iwt_helpers.analysis.system_data.SystemData.memo>`), else every time. What it
    returns is shared: never change it."""
    memo = getattr(data, "memo", None)
    return compute() if memo is None else memo(key, compute)


def _icb_rows_of(data: SystemData, key: tuple, compute: Callable[[], pd.DataFrame], icb: str) -> pd.DataFrame:
    """One ICB's rows of a table worked out once (:func:`_once`), as ``df[df["icb_code"] == icb]`` gives
    them (same rows, order and index), the table split by ICB once where the inputs keep what they work
    out. What it returns is shared: never change it."""
    if getattr(data, "rows_of", None) is None:
        df = compute()
        return df[df["icb_code"] == icb]
    return data.rows_of(("icb_rows_of", *key), lambda: _once(data, key, compute), icb)


def vacancy_rates(data: SystemData) -> pd.DataFrame:
    """:func:`sector_vacancy_rates` of the model's inputs, worked out once for them (never change it)."""
    return _once(data, ("sector_vacancy_rates",), lambda: sector_vacancy_rates(data.t))


def _sources(rows: pd.DataFrame) -> str:
    return "; ".join(dict.fromkeys(rows["source"].dropna().astype(str))) if "source" in rows else ""


# --------------------------------------------------------------------------- NHS trust staff in post


def _nhs_rows(data: SystemData, icb: str) -> pd.DataFrame:
    snap = data.snapshot
    return snap[(snap["icb_code"] == icb) & (snap["sector"] == "nhs_trust")]


def _nhs_scope(rows: pd.DataFrame) -> str:
    if status_of(rows) == SYNTHETIC:
        return "all staff groups (demonstration data)"
    if RESIDENT_DOCTORS_EXCLUDED in _sources(rows):
        return "all staff groups, resident doctors excluded by the publisher (NHS turnover benchmarking files)"
    return "all HCHS staff groups, resident doctors included"


def nhs_trust_fte(data: SystemData, icb: str) -> Value | None:
    """NHS trust staff in post (FTE) at the staff-in-post snapshot's latest month: the figure of the
    staff-in-post tables, the vacancy table's filled FTE and the scenarios' base year."""
    rows = _nhs_rows(data, icb)
    if rows.empty:
        return None
    return Value("nhs_trust_fte", icb, float(rows["fte"].sum()), str(rows["period_label"].iloc[0]), status_of(rows),
                 _sources(rows), _nhs_scope(rows), pd.Timestamp(rows["period"].max()))


def nhs_trust_headcount(data: SystemData, icb: str) -> Value | None:
    """NHS trust staff in post (headcount) at the snapshot's latest month: the publisher's total."""
    rows = _nhs_rows(data, icb)
    if rows.empty:
        return None
    total = "headcount_total" in rows and rows["headcount_total"].notna().any()
    scope = _nhs_scope(rows) + ("; the publisher's all-staff-groups count (a person in two groups counted once)" if total
                                else "; the sum of the staff groups")
    return Value("nhs_trust_headcount", icb, sector_headcount(rows), str(rows["period_label"].iloc[0]), status_of(rows),
                 _sources(rows), scope, pd.Timestamp(rows["period"].max()))


def _monthly_areas(data: SystemData, icb: str) -> pd.DataFrame | None:
    def compute() -> pd.DataFrame | None:
        monthly = data.nhs_monthly
        if monthly is None:
            return None
        own = getattr(data, "monthly_areas", None)
        areas = own(icb) if own is not None else nhs_trend.by_area(monthly, icb, nhs_trend.series_start())
        return areas[areas["area_type"] == "icb"]
    return _once(data, ("monthly_icb", icb), compute)


def nhs_trust_fte_monthly(data: SystemData, icb: str, period: pd.Timestamp | None = None) -> Value | None:
    """NHS trust staff in post (FTE) in the monthly NHS Workforce Statistics (all HCHS staff, resident
    doctors included), at ``period`` or the series' latest month: the growth tables' figure."""
    areas = _monthly_areas(data, icb)
    if areas is None or areas.empty:
        return None
    when = pd.Timestamp(period) if period is not None else areas["period"].max()
    row = areas[areas["period"] == when]
    value = float(row["fte"].iloc[0]) if len(row) else float("nan")
    return Value("nhs_trust_fte_monthly", icb, value, f"{when:%B %Y}", status_of(areas), _sources(areas),
                 "all HCHS staff groups, resident doctors included; NHS trusts and other core organisations, "
                 "ICB-employed staff left out", when)


def nhs_trust_fte_growth(data: SystemData, icb: str) -> Value | None:
    """Growth (%) in NHS trust staff in post (FTE, monthly series) over the 12 months to its latest month."""
    areas = _monthly_areas(data, icb)
    if areas is None or areas.empty:
        return None
    g = nhs_trend.growth_12m(areas).iloc[0]
    return Value("nhs_trust_fte_growth_12m", icb, float(g["growth_pct"]), str(g["period_label"]), status_of(areas),
                 _sources(areas), "all HCHS staff groups, resident doctors included", pd.Timestamp(g["latest"]))


def nhs_trust_fte_per_head_basis(data: SystemData, icb: str) -> Value | None:
    """NHS trust staff in post (FTE, the snapshot's month) attributed to the ICB under the report's
    ``regional_trusts`` rule: what the per-head figures divide by the population."""
    own = _nhs_rows(data, icb)
    if own.empty:
        return None
    att = data.nhs_attribution
    moved = _once(data, ("nhs_trust_apportioned",),
                  lambda: trust_catchment.apportion(data.snapshot[data.snapshot["sector"] == "nhs_trust"], att.shares))
    value = float(moved.loc[moved["icb_code"] == icb, "fte"].sum())
    return Value("nhs_trust_fte_per_head_basis", icb, value, str(own["period_label"].iloc[0]), status_of(own),
                 _sources(own), f"{_nhs_scope(own)}; {att.text}", pd.Timestamp(own["period"].max()))


# --------------------------------------------------------------------------- vacancy and leaver rates


def _latest_vacancies(vacancies: pd.DataFrame) -> pd.DataFrame:
    return vacancies[vacancies["period"] == vacancies.groupby("sector")["period"].transform("max")]


def _latest_published(kpi_observations: pd.DataFrame | None, kpi_id: str) -> pd.DataFrame:
    """The latest published (not synthetic) observation of a KPI for each ICB: icb_code, period, value,
    source; empty on the demonstration set (or without KPI observations)."""
    if kpi_observations is None:
        return pd.DataFrame(columns=["icb_code", "period", "value", "source"])
    k = kpi_observations
    syn = k["synthetic"].astype(bool) if "synthetic" in k else pd.Series(False, index=k.index)
    k = k[(k["kpi_id"] == kpi_id) & k["value"].notna() & ~syn]
    return k.sort_values("period").groupby("icb_code").tail(1)[["icb_code", "period", "value", "source"]]


def published_asc_vacancy(kpi_observations: pd.DataFrame | None) -> pd.DataFrame:
    """The latest published adult social care vacancy rate of each ICB (Skills for Care)."""
    return _latest_published(kpi_observations, "vacancy_rate_asc")


def sector_vacancy_rates(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The vacancy rate (% of posts) of every ICB and sector, real first: the vacancies table's rate
    (vacancies over filled plus vacant, at the sector's latest period), except adult social care where
    the data have the published rate (Skills for Care, for all adult social care employers together),
    which every adult social care sector then takes. Columns icb_code, sector, rate_pct, period, status,
    source, published (the rate is a published all-sector rate, the counts beside it are not)."""
    v = _latest_vacancies(tables["vacancies"]).copy()
    if "synthetic" not in v:
        v["synthetic"] = False
    g = v.groupby(["icb_code", "sector"], as_index=False).agg(
        vacancies=("vacancies", "sum"), filled=("filled_posts", "sum"), period=("period", "max"),
        synthetic=("synthetic", "any"), source=("source", lambda s: "; ".join(dict.fromkeys(s.dropna().astype(str)))))
    g["rate_pct"] = 100 * g["vacancies"] / (g["vacancies"] + g["filled"]).where(lambda d: d > 0)
    g["status"] = np.where(g["synthetic"], SYNTHETIC, REAL)
    g["published"] = False
    pub = published_asc_vacancy(tables.get("kpi_observations")).set_index("icb_code")
    asc = g["sector"].isin(ASC_SECTORS) & g["icb_code"].isin(pub.index)
    if asc.any():
        codes = g.loc[asc, "icb_code"]
        g.loc[asc, "rate_pct"] = codes.map(pub["value"].to_dict()).astype(float)
        g.loc[asc, "period"] = codes.map(pub["period"].to_dict())
        g.loc[asc, "source"] = codes.map(pub["source"].to_dict())
        g.loc[asc, "status"] = REAL
        g.loc[asc, "published"] = True
    return g[["icb_code", "sector", "rate_pct", "period", "status", "source", "published"]]


def posts_at_vacancy_rates(cells: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """The scenario model's cells (``fte0``, ``posts_per_filled`` per ICB x sector x staff group) with each
    ICB and sector's posts brought to the sector's vacancy rate of :func:`sector_vacancy_rates`, the rate
    every report shows: the groups' vacant posts beyond their staff in post scaled by one factor (their
    split kept), or, where no group has any, every group at the rate. ``vacancies_synthetic`` follows
    the rate's status. Sectors without a rate are unchanged."""
    out = cells.copy()
    r = out[["icb_code", "sector"]].merge(rates[["icb_code", "sector", "rate_pct", "status"]], how="left")
    target = r["rate_pct"].to_numpy(dtype=float) / 100
    key = (out["icb_code"].astype(str) + "|" + out["sector"].astype(str)).to_numpy()
    fte = out["fte0"].fillna(0).to_numpy(dtype=float)
    ppf = out["posts_per_filled"].to_numpy(dtype=float)
    extra = pd.Series(fte * (ppf - 1)).groupby(key).transform("sum").to_numpy()
    total = pd.Series(fte).groupby(key).transform("sum").to_numpy()
    ok = np.isfinite(target) & (target >= 0) & (target < 1) & (total > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = 1 + (total * target / (1 - target)) / extra * (ppf - 1)
        flat = 1 / (1 - target)
    out["posts_per_filled"] = np.where(ok, np.where(extra > 0, scaled, flat), ppf)
    known = ok & r["status"].notna().to_numpy()
    out.loc[known, "vacancies_synthetic"] = (r.loc[known, "status"] != REAL).to_numpy()
    return out


def nhs_vacancy_rate(data: SystemData, icb: str) -> Value | None:
    """NHS trust vacancy rate (% of FTE posts): the vacancies table's (no publisher gives it by ICB)."""
    r = vacancy_rates(data)
    r = r[(r["icb_code"] == icb) & (r["sector"] == "nhs_trust")]
    if r.empty:
        return None
    x = r.iloc[0]
    return Value("nhs_vacancy_rate", icb, float(x["rate_pct"]), f"{pd.Timestamp(x['period']):%B %Y}", x["status"],
                 x["source"], "vacant FTE over filled plus vacant FTE, all staff groups", pd.Timestamp(x["period"]))


def asc_vacancy_rate(data: SystemData, icb: str) -> Value | None:
    """Adult social care vacancy rate (% of posts, all employers): Skills for Care's published rate where
    the data have it, else the vacancies table's, adding the three adult social care sectors."""
    pub = _icb_rows_of(data, ("published_asc_vacancy",), lambda: published_asc_vacancy(data.t["kpi_observations"]), icb)
    if len(pub):
        x = pub.iloc[0]
        return Value("asc_vacancy_rate", icb, float(x["value"]), f"{pd.Timestamp(x['period']):%B %Y}", REAL, str(x["source"]),
                     "all adult social care employers (Skills for Care)", pd.Timestamp(x["period"]))
    v = _icb_rows_of(data, ("latest_vacancies",), lambda: _latest_vacancies(data.t["vacancies"]), icb)
    v = v[v["sector"].isin(ASC_SECTORS)]
    if v.empty:
        return None
    rate = 100 * v["vacancies"].sum() / (v["vacancies"].sum() + v["filled_posts"].sum())
    when = pd.Timestamp(v["period"].max())
    return Value("asc_vacancy_rate", icb, float(rate), f"{when:%B %Y}", status_of(v), _sources(v),
                 "all adult social care employers (the three sectors added)", when)


def group_vacancies_at_family_rate(by_group: pd.DataFrame, family: str, rate: Value | None) -> pd.DataFrame:
    """Vacancy rates by sector family and staff group (:func:`pressures.pressure_by_group`) with one
    family's brought to the registry's published rate for it: its groups' vacancies scaled by one factor,
    so that their vacancies over their posts are the published rate (the synthetic split between groups
    is kept, its level is the published one). Unchanged where the registry's figure is not published."""
    if rate is None or rate.status != REAL or not rate.available:
        return by_group
    out = by_group.copy()
    m = out["family"] == family
    v, f = out.loc[m, "vacancies"], out.loc[m, "filled_posts"]
    if v.sum() > 0:
        share = rate.value / 100
        out.loc[m, "vacancies"] = v * (share / (1 - share) * f.sum()) / v.sum()
        out.loc[m, "vacancy_rate_pct"] = indicators.vacancy_rate_pct(out.loc[m, "vacancies"], out.loc[m, "filled_posts"])
    return out


_WINDOW = re.compile(r"\((\d+) one-month window\(s\), (\w+ \d{4}) to (\w+ \d{4})\)")


def flows_period(rows: pd.DataFrame) -> tuple[str, pd.Timestamp | None]:
    """The period a sector's latest flows describe, in words, and the month they end (where known)."""
    year = int(rows["year"].max())
    months = rows["months"].dropna() if "months" in rows else pd.Series(dtype=float)
    m = _WINDOW.search(_sources(rows))
    if m:
        end = pd.Timestamp(m.group(3))
        return f"{m.group(2)} to {m.group(3)}, annualised from {m.group(1)} one-month windows", end
    if len(months) and months.min() < 12:
        return f"{year}, annualised from {int(months.min())} month(s)", None
    return str(year), None


def sector_leaver_rates(flows: pd.DataFrame, icb: str) -> pd.DataFrame:
    """Leavers a year as % of staff in post (headcount) by sector at each sector's latest year
    (annualised where a source covers fewer than 12 months): the one leaver rate of each sector."""
    return pressures.turnover_rates(flows, icb)[["sector", "staff_in_post", "leavers", "turnover_rate_pct"]]


def nhs_leaver_rate(data: SystemData, icb: str) -> Value | None:
    """NHS trust leaver rate, % a year (leavers over staff in post, headcount, all staff groups)."""
    fl = _icb_rows_of(data, ("latest_flows",), lambda: pressures.latest_flows(data.t["flows"]), icb)
    rows = fl[fl["sector"] == "nhs_trust"]
    if rows.empty:
        return None
    rate = sector_leaver_rates(data.t["flows"], icb).set_index("sector")["turnover_rate_pct"]
    period, end = flows_period(rows)
    scope = "leavers over staff in post (headcount), all staff groups"
    if RESIDENT_DOCTORS_EXCLUDED in _sources(rows):
        scope += ", resident doctors excluded by the publisher"
    return Value("nhs_leaver_rate", icb, float(rate.get("nhs_trust", np.nan)), period, status_of(rows), _sources(rows),
                 scope, end)


ROLE_LEVEL_MEAN = "means of role-level rates"


def published_asc_turnover(kpi_observations: pd.DataFrame | None) -> pd.DataFrame:
    """The latest published adult social care turnover rate of each ICB (Skills for Care)."""
    return _latest_published(kpi_observations, "turnover_asc")


def asc_turnover_rate(data: SystemData, icb: str) -> Value | None:
    """Adult social care turnover, % a year: Skills for Care's published rate where the data have it (with
    its own period; where the publisher's figure is a mean of role-level rates by local authority the scope
    says so: it is not a whole-workforce rate), else the flows table's, adding the three adult social care
    sectors (leavers over staff in post)."""
    pub = _icb_rows_of(data, ("published_asc_turnover",), lambda: published_asc_turnover(data.t["kpi_observations"]), icb)
    if len(pub):
        x = pub.iloc[0]
        scope = ("mean of role-level turnover rates by local authority (Skills for Care), apportioned to the ICB: "
                 "not a whole-workforce rate" if ROLE_LEVEL_MEAN in str(x["source"])
                 else "all adult social care employers (Skills for Care)")
        return Value("asc_turnover_rate", icb, float(x["value"]), f"{pd.Timestamp(x['period']):%B %Y}", REAL,
                     str(x["source"]), scope, pd.Timestamp(x["period"]))
    fl = _icb_rows_of(data, ("latest_flows",), lambda: pressures.latest_flows(data.t["flows"]), icb)
    rows = fl[fl["sector"].isin(ASC_SECTORS)]
    if rows.empty or not rows["staff_in_post"].sum() > 0:
        return None
    rate = indicators.turnover_rate_pct(rows["leavers"].sum(), rows["staff_in_post"].sum())
    period, end = flows_period(rows)
    return Value("asc_turnover_rate", icb, float(rate), period, status_of(rows), _sources(rows),
                 "leavers over staff in post, the three adult social care sectors added", end)


NHS_VACANCY_KPI = "vacancy_rate_nhs"


def nhs_vacancy_rate_kpi_month(data: SystemData, icb: str) -> Value | None:
    """NHS trust vacancy rate in the latest month of the governance KPI's series, as the governance report
    shows it (:func:`kpi_observations`: a synthetic series set to :func:`nhs_vacancy_rate` at that figure's
    month). Another month than :func:`nhs_vacancy_rate`'s where the series runs on, so another measure."""
    mine = data.icb_rows("kpi_observations", icb) if hasattr(data, "icb_rows") else data.t["kpi_observations"]
    obs, _ = kpi_observations(data, mine, icb, only=(NHS_VACANCY_KPI,))        # the ICB's rows are all it reads
    k = obs[(obs["kpi_id"] == NHS_VACANCY_KPI) & (obs["icb_code"] == icb) & obs["value"].notna()]
    if k.empty:
        return None
    x = k.sort_values("period").iloc[-1]
    syn = bool(x["synthetic"]) if "synthetic" in k else False
    return Value("nhs_vacancy_rate_kpi_month", icb, float(x["value"]), f"{pd.Timestamp(x['period']):%B %Y}",
                 SYNTHETIC if syn else REAL, str(x["source"]),
                 "vacant FTE over filled plus vacant FTE, all staff groups; latest month of the governance KPI series",
                 pd.Timestamp(x["period"]))


def nhs_fte_bridge(data: SystemData, icb: str) -> pd.DataFrame | None:
    """The bridge, in FTE, from NHS trust staff in post with resident doctors (the latest file that
    includes them) to the latest turnover-benchmarking month (which excludes them): all doctors out, the
    doctors of the later file (resident doctors excluded) in, and the like-for-like change of the other staff
    groups. Columns step, fte; None where the data lack either file."""
    w = data.t["workforce"]
    w = w[(w["icb_code"] == icb) & (w["sector"] == "nhs_trust")]
    if w.empty or "source" not in w:
        return None
    excl = w["source"].astype(str).str.contains(RESIDENT_DOCTORS_EXCLUDED)
    if "synthetic" in w:
        real = ~w["synthetic"].astype(bool)
        w, excl = w[real], excl[real]
    if not excl.any() or excl.all():
        return None
    late = w[excl & (w["period"] == w.loc[excl, "period"].max())]
    early = w[~excl & (w["period"] == w.loc[~excl, "period"].max())]
    if early["period"].max() >= late["period"].max():
        return None
    a, b = pd.Timestamp(early["period"].max()), pd.Timestamp(late["period"].max())
    doc_a = float(early.loc[early["staff_group"] == "doctor", "fte"].sum())
    doc_b = float(late.loc[late["staff_group"] == "doctor", "fte"].sum())
    other_a = float(early["fte"].sum()) - doc_a
    other_b = float(late["fte"].sum()) - doc_b
    out = pd.DataFrame([
        {"step": f"Staff in post, {a:%B %Y} (all staff groups, resident doctors included)", "fte": other_a + doc_a},
        {"step": f"less all doctors, {a:%B %Y} (resident doctors included)", "fte": -doc_a},
        {"step": f"plus doctors, {b:%B %Y} (resident doctors excluded by the publisher)", "fte": doc_b},
        {"step": f"plus the change in the other staff groups, {a:%B %Y} to {b:%B %Y} (like for like)",
         "fte": other_b - other_a},
        {"step": f"Staff in post, {b:%B %Y} (resident doctors excluded)", "fte": other_b + doc_b},
    ])
    out.attrs.update({"from": a, "to": b, "resident_doctors_est": doc_a - doc_b, "other_from": other_a, "other_to": other_b,
                      "like_for_like_pct": 100 * (other_b - other_a) / other_a if other_a else float("nan")})
    return out


# --------------------------------------------------------------------------- NHS sickness absence


SICKNESS_KPI = "sickness_absence_nhs"


def sickness_12m(kpi_observations: pd.DataFrame, fte: pd.Series | None = None) -> pd.DataFrame:
    """NHS sickness absence over each ICB's last 12 monthly observations: FTE days lost over FTE days
    available where the source gives both for every month, else the mean of the monthly rates (with
    ``fte`` x 365 as the days available, for a funnel's scale). Columns: numerator, denominator,
    rate_pct, start, end, months, synthetic, ratio (True: days lost over days available)."""
    d = kpi_observations[(kpi_observations["kpi_id"] == SICKNESS_KPI) & kpi_observations["value"].notna()]
    last = d.sort_values("period").groupby("icb_code").tail(12)
    rows = []
    for icb, g in last.groupby("icb_code"):
        ratio = {"numerator", "denominator"} <= set(g.columns) and g["numerator"].notna().all() and g["denominator"].notna().all()
        if ratio:
            num, den = float(g["numerator"].sum()), float(g["denominator"].sum())
            rate = 100 * num / den
        else:
            rate = float(g["value"].mean())
            den = float(fte.get(icb, np.nan)) * 365 if fte is not None else np.nan
            num = rate / 100 * den
        rows.append({"icb_code": icb, "numerator": num, "denominator": den, "rate_pct": rate, "start": g["period"].min(),
                     "end": g["period"].max(), "months": len(g), "ratio": bool(ratio),
                     "synthetic": bool(g["synthetic"].astype(bool).any()) if "synthetic" in g else False,
                     "source": "; ".join(dict.fromkeys(g["source"].dropna().astype(str)))})
    return pd.DataFrame(rows).set_index("icb_code") if rows else pd.DataFrame(
        columns=["numerator", "denominator", "rate_pct", "start", "end", "months", "ratio", "synthetic", "source"])


def nhs_sickness_12m(data: SystemData, icb: str) -> Value | None:
    """NHS sickness absence rate (% of FTE days) over the last 12 months: the data and case-study
    tables' and the funnel plot's figure."""
    t = _once(data, ("sickness_12m",), lambda: sickness_12m(data.t["kpi_observations"]))
    if icb not in t.index:
        return None
    r = t.loc[icb]
    how = "FTE days lost over FTE days available" if r["ratio"] else "mean of the monthly rates"
    return Value("nhs_sickness_rate_12m", icb, float(r["rate_pct"]),
                 f"12 months to {pd.Timestamp(r['end']):%B %Y}" if r["months"] == 12 else
                 f"{pd.Timestamp(r['start']):%B %Y} to {pd.Timestamp(r['end']):%B %Y}",
                 SYNTHETIC if r["synthetic"] else REAL, str(r["source"]), how, pd.Timestamp(r["end"]))


def nhs_sickness_month(data: SystemData, icb: str) -> Value | None:
    """NHS sickness absence rate (% of FTE days) in the latest month: the governance KPI's latest value."""
    k = data.t["kpi_observations"]
    k = k[(k["kpi_id"] == SICKNESS_KPI) & (k["icb_code"] == icb) & k["value"].notna()]
    if k.empty:
        return None
    x = k.sort_values("period").iloc[-1]
    return Value("nhs_sickness_rate_month", icb, float(x["value"]), f"{pd.Timestamp(x['period']):%B %Y}",
                 SYNTHETIC if bool(x.get("synthetic", False)) else REAL, str(x["source"]), "FTE days lost over FTE days "
                 "available in the month", pd.Timestamp(x["period"]))


# --------------------------------------------------------------------------- funnels from the registry


def asc_vacancy_funnel(tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The adult social care vacancy funnel of all ICBs from the registry's rate (:func:`asc_vacancy_rate`):
    the published rate where the data have it, its size (posts, filled and vacant) from the vacancies
    table; and the rows it is built from (for their provenance)."""
    v = _latest_vacancies(tables["vacancies"])
    v = v[v["sector"].isin(ASC_SECTORS)]
    g = v.groupby("icb_code")[["vacancies", "filled_posts"]].sum()
    posts = g["vacancies"] + g["filled_posts"]
    pub = published_asc_vacancy(tables["kpi_observations"]).set_index("icb_code")["value"]
    rate = (100 * g["vacancies"] / posts).where(~g.index.isin(pub.index), g.index.map(pub).astype(float))
    table = benchmarking.funnel_table(rate / 100 * posts, posts)
    k = tables["kpi_observations"]
    pub_rows = k[(k["kpi_id"] == "vacancy_rate_asc") & k["value"].notna() & ~k["synthetic"].astype(bool)]
    pub_rows = pub_rows[pub_rows["period"] == pub_rows.groupby("icb_code")["period"].transform("max")]
    # the rates' rows and the sizes' rows: mixed where published rates stand on synthetic sizes
    rows = pd.concat([pub_rows, v], ignore_index=True) if len(pub_rows) else v
    return table, rows


def sickness_funnel(kpi_observations: pd.DataFrame, fte: pd.Series) -> pd.DataFrame:
    """The NHS sickness absence funnel of all ICBs from :func:`sickness_12m` (the registry's 12-month rate)."""
    t = sickness_12m(kpi_observations, fte)
    return benchmarking.funnel_table(t["numerator"], t["denominator"])


# --------------------------------------------------------------------------- scenario quantities


def gap_by_run(run: Any, icb: str, years_ahead: int) -> np.ndarray:
    """The ICB's gap (posts needed less staff in post, FTE) ``years_ahead`` after the base year, per run
    (read-only: worked out once per run, ICB and year, as every section quotes it)."""
    return _by_run(run, icb, years_ahead, "gap")


def _by_run(run: Any, icb: str, years_ahead: int, what: str) -> np.ndarray:
    """Per run, the ICB's posts needed (``what="demand"``) or gap (``"gap"``) ``years_ahead`` after the base
    year, once per run (kept in ``run.memo``), read-only."""
    key = ("icb_sum", what, icb, years_ahead)
    if key not in run.memo:
        m = (run.inputs.cells["icb_code"] == icb).to_numpy()
        demand = run.demand[:, m, years_ahead]
        v = (demand - run.supply[:, m, years_ahead] if what == "gap" else demand).sum(axis=1, dtype=np.float64)
        v.flags.writeable = False
        run.memo[key] = v
    return run.memo[key]


def gap(run: Any, icb: str, years_ahead: int | None = None, status: str = MODELLED) -> Value:
    """The scenario's gap for an ICB at a year: the median of the runs, the one statistic every
    section quotes (headline, tables, waterfall, tornado centre)."""
    h = run.inputs.horizon if years_ahead is None else years_ahead
    year = run.inputs.base_year + h
    return Value("scenario_gap", icb, float(np.median(gap_by_run(run, icb, h))),
                 f"{year}, {run.scenario.label} scenario", status, "iwt scenario model",
                 f"median of {run.n_runs:,} runs")


def gap_pct_of_posts(run: Any, icb: str, years_ahead: int | None = None, status: str = MODELLED) -> Value:
    """The gap as a share of the posts needed, %: the median gap (:func:`gap`) over the median posts needed,
    both over the runs (a ratio of the two medians every table shows beside it, not a median of each run's
    ratio), so that a reader dividing the one by the other gets it."""
    h = run.inputs.horizon if years_ahead is None else years_ahead
    posts = float(np.median(_by_run(run, icb, h, "demand")))
    g = gap(run, icb, h, status)
    return dataclasses.replace(g, measure="scenario_gap_pct_of_posts", value=100 * g.value / posts if posts else float("nan"),
                               scope=f"median gap over median posts needed, {run.n_runs:,} runs")


def gap_against_baseline(run: Any, baseline: Any, icb: str, years_ahead: int | None = None,
                         status: str = MODELLED) -> Value:
    """A scenario's gap against the baseline's, FTE: the scenario's median gap less the baseline's
    (:func:`gap` of each, the difference of the medians the bars show), not the median of the run-by-run
    differences."""
    h = run.inputs.horizon if years_ahead is None else years_ahead
    g = gap(run, icb, h, status)
    return dataclasses.replace(g, measure="scenario_gap_against_baseline",
                               value=g.value - gap(baseline, icb, h, status).value,
                               scope=f"median gap less the {baseline.scenario.label} scenario's median gap, {run.n_runs:,} runs")


def median_runs(run: Any, icb: str, years_ahead: int | None = None) -> Any:
    """The run with only the run(s) at the median of the ICB's gap ``years_ahead`` (default the horizon):
    the middle one, or the middle two of an even number (whose mean is the median), so that a waterfall
    of their mean adds up to the median gap."""
    h = run.inputs.horizon if years_ahead is None else years_ahead
    order = np.argsort(gap_by_run(run, icb, h), kind="stable")
    n = len(order)
    idx = np.sort(order[[n // 2]] if n % 2 else order[[n // 2 - 1, n // 2]])
    sliced = {f.name: getattr(run, f.name)[idx] for f in dataclasses.fields(run)
              if isinstance(getattr(run, f.name), np.ndarray) and getattr(run, f.name).shape[:1] == (n,)}
    if isinstance(run.flows, dict):
        sliced["flows"] = {k: v[idx] for k, v in run.flows.items()}
    return dataclasses.replace(run, n_runs=len(idx), **sliced)


def recentre_on_median(tornado: pd.DataFrame, median: float) -> pd.DataFrame:
    """A one-way sensitivity (``gap_low``, ``gap_high`` with every other assumption at mid-range,
    ``gap_mid``) moved onto the median of the runs: each end becomes the median plus the change the
    assumption makes from the mid-range run, so the tornado is centred on the one gap every section
    quotes. The swings are unchanged."""
    t = tornado.copy()
    shift = median - t["gap_mid"]
    t["gap_low"], t["gap_high"], t["gap_mid"] = t["gap_low"] + shift, t["gap_high"] + shift, median
    return t


# --------------------------------------------------------------------------- the registry


REGISTRY: dict[str, Measure] = {m.id: m for m in (
    Measure("nhs_trust_fte", "NHS trust staff in post, FTE, at the staff-in-post files' latest month (the turnover "
            "benchmarking files: all staff groups, resident doctors excluded)", "FTE", "{:,.0f}", nhs_trust_fte),
    Measure("nhs_trust_headcount", "NHS trust staff in post, headcount: the publisher's all-staff-groups count at the "
            "staff-in-post files' latest month (resident doctors excluded)", "people", "{:,.0f}", nhs_trust_headcount),
    Measure("nhs_trust_fte_monthly", "NHS trust staff in post, FTE, monthly NHS Workforce Statistics (all HCHS staff, "
            "resident doctors included)", "FTE", "{:,.0f}", nhs_trust_fte_monthly),
    Measure("nhs_trust_fte_growth_12m", "Growth in NHS trust staff in post, FTE, over 12 months (monthly NHS Workforce "
            "Statistics, resident doctors included)", "%", "{:+.1f}", nhs_trust_fte_growth),
    Measure("nhs_trust_fte_per_head_basis", "NHS trust staff in post, FTE, attributed to the ICBs the trusts serve (the "
            "per-head figures' numerator; resident doctors excluded)", "FTE", "{:,.0f}", nhs_trust_fte_per_head_basis),
    Measure("nhs_vacancy_rate", "NHS trust vacancy rate, % of FTE posts (all staff groups)", "%", "{:.1f}", nhs_vacancy_rate,
            "no publisher gives it by ICB: synthetic unless the data folder has a vacancies table"),
    Measure("nhs_leaver_rate", "NHS trust leaver rate, % a year: leavers from an organisation (moves between trusts "
            "included) over staff in post, headcount, all staff groups; annualised where the source covers fewer than 12 "
            "months", "%", "{:.1f}", nhs_leaver_rate,
            "not the scenarios' rate of leaving the NHS (analysis.scenarios.calibration), which is another measure"),
    Measure("asc_vacancy_rate", "Adult social care vacancy rate, % of posts (all adult social care employers)", "%", "{:.1f}",
            asc_vacancy_rate),
    Measure("nhs_vacancy_rate_kpi_month", "NHS trust vacancy rate, % of FTE posts (all staff groups), latest month of the "
            "governance KPI series", "%", "{:.1f}", nhs_vacancy_rate_kpi_month,
            "the governance report's latest value; synthetic series are set to nhs_vacancy_rate at its month"),
    Measure("asc_turnover_rate", "Adult social care turnover, % a year (Skills for Care's published rate where the data "
            "have it, with its period and basis)", "%", "{:.1f}", asc_turnover_rate),
    Measure("nhs_sickness_rate_12m", "NHS sickness absence rate, % of FTE days, last 12 months", "%", "{:.2f}",
            nhs_sickness_12m),
    Measure("nhs_sickness_rate_month", "NHS sickness absence rate, % of FTE days, latest month", "%", "{:.2f}",
            nhs_sickness_month),
    Measure("scenario_gap", "Gap between posts needed and staff in post, FTE, whole system (median of the runs)", "FTE",
            "{:,.0f}", gap),
    Measure("scenario_gap_pct_of_posts", "Gap as a share of the posts needed, %, whole system (median gap over median "
            "posts needed)", "%", "{:.1f}", gap_pct_of_posts),
    Measure("scenario_gap_against_baseline", "Gap against the baseline scenario's, FTE, whole system (median gap less "
            "the baseline's median gap)", "FTE", "{:+,.0f}", gap_against_baseline),
)}

# Governance KPIs (kpis.yaml) that are registry measures: the KPI's latest value is the measure's figure.
KPI_MEASURES = {"vacancy_rate_nhs": "nhs_vacancy_rate", "leaver_rate_nhs": "nhs_leaver_rate",
                "vacancy_rate_asc": "asc_vacancy_rate", "sickness_absence_nhs": "nhs_sickness_rate_month",
                "turnover_asc": "asc_turnover_rate"}
# A KPI whose series runs on past its measure's month: its latest value is this other registered measure.
KPI_LATEST_MEASURES = {"vacancy_rate_nhs": "nhs_vacancy_rate_kpi_month"}


def figure(data: SystemData, measure: str, icb: str, **options) -> Value | None:
    """The figure of ``measure`` for ``icb`` (see :data:`REGISTRY`); None where the data have none."""
    if measure not in REGISTRY:
        raise KeyError(f"unknown measure {measure!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[measure].decide(data, icb, **options)


def kpi_observations(data: SystemData, observations: pd.DataFrame, icb: str,
                     only: tuple[str, ...] = ()) -> tuple[pd.DataFrame, dict[str, str]]:
    """The KPI observations with each KPI that is a registry measure brought to the registry's figure
    for ``icb``: a synthetic series where the registry has a published figure is replaced by that one
    observation (a KPI is never shown synthetic while a real figure exists); a synthetic series beside a
    synthetic figure is shifted so that its value at the figure's month is the figure (``only``: these
    KPIs only). Returns the observations and a note per KPI changed."""
    obs = observations
    notes: dict[str, str] = {}
    for kpi_id, measure in KPI_MEASURES.items():
        if only and kpi_id not in only:
            continue
        rows = obs[(obs["kpi_id"] == kpi_id) & (obs["icb_code"] == icb)]
        if rows.empty or not rows["synthetic"].astype(bool).all():
            continue                                     # real observations: the registry's own source
        v = data.measure(measure, icb) if hasattr(data, "measure") else figure(data, measure, icb)   # kept once per ICB
        if v is None or not v.available or v.as_of is None:
            continue
        if v.status == REAL:
            new = pd.DataFrame([{"icb_code": icb, "kpi_id": kpi_id, "period": v.as_of, "value": v.value,
                                 "source": v.source, "synthetic": False}])
            obs = pd.concat([obs.drop(rows.index), new], ignore_index=True)
            notes[kpi_id] = f"published figure, {v.period} ({v.scope}), in place of the synthetic series"
        else:
            at = rows[rows["period"] == v.as_of]
            if at.empty:
                continue
            shift = v.value - float(at["value"].iloc[0])
            obs = obs.copy()
            obs.loc[rows.index, "value"] = rows["value"] + shift
            notes[kpi_id] = (f"synthetic series set to the report's synthetic figure for {v.period} ({v.text()}{v.unit}); "
                             "its latest month is another registered measure where the series runs on")
    return obs, notes


def rows(values: list[Value | None]) -> pd.DataFrame:
    """Figures as a table: measure, label, icb_code, period, value, status, scope, source."""
    out = [{"measure": v.measure, "label": v.label, "icb_code": v.icb, "period": v.period, "value": v.value,
            "status": v.status, "scope": v.scope, "source": v.source} for v in values if v is not None]
    return pd.DataFrame(out, columns=["measure", "label", "icb_code", "period", "value", "status", "scope", "source"])
