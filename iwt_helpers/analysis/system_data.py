"""The model's inputs for one notebook or command: the tables the themes and the scenario model read,
each row flagged synthetic or not, and what is worked out from them once, whatever ICB is shown (the
whole-system snapshot, the base year, the funnel tables of all 42 ICBs, NHS trusts attributed to the
ICBs they serve, the inputs of the places table).

The themes read their figures from a :class:`SystemData` and word and lay them out; ``iwt scenarios
run`` builds the scenario model's inputs from the same object, so a report and the command start from
the same staff in post. Loading is the only part that reads the data folder (through its
:class:`~iwt_helpers.data.datastore.Dataset`); everything else is computed from the tables loaded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from iwt_helpers.data import places, population, tables
from iwt_helpers.data import trust_catchment as catchment_table
from iwt_helpers.data.datastore import Dataset

from . import benchmarking, kept, measures, nhs_trend, pressures, trust_catchment, workforce
from . import places as place_analysis
from .params import ReportParams

# Tables whose rows come from the data folder where it has them, and from the demo set for the
# keys it lacks (each row flagged synthetic or not).
BY_KEY = tables.SPLIT_BY                 # table -> the column a theme splits it by (data/tables.py)
TABLES = tables.loaded_by("data")        # the tables the data theme reads, in its order


def _tables(ds: Dataset) -> dict[str, pd.DataFrame]:
    """The tables of :data:`TABLES`, each row flagged synthetic or not."""
    t = {}
    for name in TABLES:
        df = ds.table_by_key(name, BY_KEY[name]) if name in BY_KEY else ds.table(name)
        if "synthetic" not in df:
            df["synthetic"] = bool(df.attrs.get("synthetic", ds.info(name).synthetic))
        t[name] = df
    return t


def split_by_icb(df: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """``df``'s rows by ICB, each as ``df[df["icb_code"] == icb]`` gives them (same rows, order and index),
    and its empty frame for an ICB without rows."""
    return dict(tuple(df.groupby("icb_code", sort=False))), df.iloc[0:0]


@dataclass(frozen=True)
class PlaceInputs:
    """What the places table reads, once per report."""
    pop_place: pd.DataFrame                 # population by place, persons (the data folder's, else the committed one)
    pop_icb: pd.DataFrame                   # ICB population on the same projection basis
    gp_area: pd.DataFrame | None            # general practice by place (the build's, else the demo's split by population)
    shares: pd.DataFrame                    # female share by ICB and age band (dementia rates are by sex)

    @property
    def gp_synthetic(self) -> bool:
        return self.gp_area is not None and bool(self.gp_area["synthetic"].astype(bool).any())


def kept_property(f: Callable[[SystemData], Any]) -> property:
    """A property worked out once from the tables and kept with the rest (:meth:`SystemData.memo`)."""
    return property(functools.wraps(f)(lambda self: self.memo(("property", f.__name__), lambda: f(self))))


_KEPT = kept.Kept()
# The parameters what is worked out from the tables may depend on (and so part of the key it is kept under);
# anything else it depends on (an ICB, a year) is in the key it is kept under (:meth:`SystemData.memo`).
KEPT_PARAMETERS = ("projection_years", "regional_trusts")


@dataclass
class SystemData:
    """The tables a report stands on (``t``, by name) and the figures worked out from them once: kept by the
    process for the next report over the same data and parameters but the ICB (:mod:`.kept`)."""
    ds: Dataset
    params: ReportParams
    t: dict[str, pd.DataFrame] = field(default_factory=dict)
    _store: dict = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, ds: Dataset, params: ReportParams) -> SystemData:
        """The tables of ``ds``, read once for every report of this process over the same files and the same
        :data:`KEPT_PARAMETERS` (every theme's reports: the other parameters are the themes' own), with what
        was worked out from them."""
        store = _KEPT.store(("system_data", *ds.version(), tuple(getattr(params, p) for p in KEPT_PARAMETERS)))
        return cls(ds, params, kept.once(ds, store, ("tables",), lambda: _tables(ds)), store)

    @property
    def real_folder(self) -> bool:
        return self.ds.data_dir is not None

    def synthetic(self, *tables: str) -> bool:
        """True when any row of these tables is synthetic (a table may mix real and demo rows)."""
        return any(bool(self.t[t]["synthetic"].any()) for t in tables)

    def synthetic_tables(self) -> list[str]:
        return [t for t in TABLES if self.synthetic(t)]

    def sources(self, *tables: str) -> list[str]:
        """The sources of the rows loaded (real and synthetic alike), table by table; the table's
        registered source (or its name) where its rows name none."""
        parts = []
        for t in tables:
            df = self.t[t]
            parts.extend(df["source"].dropna().unique().tolist() if "source" in df and len(df) else
                         [self.ds.info(t).source or t])
        return parts

    @kept_property
    def gp(self) -> pd.DataFrame:
        return self.t["gp_workforce"]

    @kept_property
    def snapshot(self) -> pd.DataFrame:
        """The whole-system workforce: each sector at its latest period; general practice from the
        practice-level files where the data folder has them (real)."""
        gp = self.gp if not self.gp["synthetic"].any() else None
        return workforce.snapshot(self.t["workforce"], gp)

    def memo(self, key: tuple, compute):
        """``compute()`` once for these tables (they are not changed once loaded): what every redraw of an
        interactive notebook, and every later report of the process over the same data (:meth:`load`),
        would otherwise work out again, the figures of all ICBs or one ICB's rows. ``key`` names it, with the
        ICB where it is one ICB's, and anything else it depends on beyond the tables and
        :data:`KEPT_PARAMETERS` (a place, a KPI, a year). What it returns is shared: never change it."""
        return kept.once(self.ds, self._store, key, compute)

    def icb_rows(self, name: str, icb: str) -> pd.DataFrame:
        """One ICB's rows of a table (``"snapshot"``: of the snapshot), as ``df[df["icb_code"] == icb]``
        gives them (same rows, order and index), the table split by ICB once. Never change them."""
        return self.rows_of(("by_icb", name), lambda: self.snapshot if name == "snapshot" else self.t[name], icb)

    def rows_of(self, key: tuple, frame, icb: str) -> pd.DataFrame:
        """One ICB's rows of ``frame()`` (a table, or one worked out from the tables), as
        ``df[df["icb_code"] == icb]`` gives them, the frame made and split by ICB once under ``key``.
        Never change them."""
        groups, empty = self.memo(key, lambda: split_by_icb(frame()))
        return groups.get(icb, empty)

    def sector_rows(self, icb: str) -> pd.DataFrame:
        """The ICB's rows of the snapshot."""
        return self.icb_rows("snapshot", icb)

    @property
    def latest_flows(self) -> pd.DataFrame:
        """Each sector's latest flows, annualised (:func:`pressures.latest_flows`), worked out once: never
        change them."""
        return self.memo(("latest_flows",), lambda: pressures.latest_flows(self.t["flows"]))

    def latest_pressure_rows(self, icb: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The ICB's vacancies at the table's latest period and its flows at each sector's latest year
        (annualised): the ``latest`` of the :mod:`pressures` functions, shared: never change them."""
        vac = self.rows_of(("latest_period_vacancies",), lambda: pressures.latest_vacancies(self.t["vacancies"]), icb)
        return vac, self.rows_of(("icb_rows_of", "latest_flows"), lambda: self.latest_flows, icb)

    def monthly_areas(self, icb: str) -> pd.DataFrame | None:
        """NHS trust staff in post by month for the ICB, its region and England from the KPI's first month
        (:func:`nhs_trend.by_area`); None when the data have no monthly series."""
        monthly = self.nhs_monthly
        if monthly is None:
            return None
        return self.memo(("monthly_areas", icb), lambda: nhs_trend.by_area(monthly, icb, nhs_trend.series_start(), self.memo))

    @property
    def base_year(self) -> int:
        """The workforce snapshot year, or the nearest year the population figures cover."""
        wanted = int(workforce.latest_period(self.t["workforce"]).year)
        years = sorted(self.t["population"]["year"].unique())
        latest_start = max(years) - max(self.params.projection_years)
        candidates = [y for y in years if y <= latest_start] or years
        return int(min(candidates, key=lambda y: (abs(y - wanted), -y)))

    def measure(self, measure: str, icb: str, **options) -> measures.Value | None:
        """The figure of a registered measure for an ICB (:mod:`analysis.measures`: real first,
        synthetic else), computed once; None where the data have none."""
        return self.memo(("figure", measure, icb, tuple(sorted(options.items()))),
                         lambda: measures.figure(self, measure, icb, **options))

    @kept_property
    def funnels(self) -> list[tuple[str, pd.DataFrame, pd.DataFrame, str]]:
        """Funnel tables for all 42 ICBs (computed once, whatever ICB is shown): label, table, curve
        and what the x axis counts. Each ICB's rate is the registry's figure (:mod:`analysis.measures`):
        the published adult social care vacancy rate where the data have it, the 12-month NHS
        sickness absence rate."""
        vac, _ = measures.asc_vacancy_funnel(self.t)
        tur = benchmarking.turnover_funnel(self.t["flows"])
        snap = self.snapshot
        nhs_fte = snap[snap["sector"] == "nhs_trust"].groupby("icb_code")["fte"].sum()
        # Denominator where the source gives no days: FTE days available over the 12 months (FTE x 365).
        sick = measures.sickness_funnel(self.t["kpi_observations"], nhs_fte)
        return [("Social care vacancy rate", vac, benchmarking.funnel_curve(vac), "Posts (filled + vacant)"),
                ("Social care turnover", tur, benchmarking.funnel_curve(tur), "Staff in post"),
                ("NHS sickness absence", sick, benchmarking.funnel_curve(sick), "FTE days available")]

    @kept_property
    def funnel_rows(self) -> dict[str, pd.DataFrame]:
        """The rows behind each funnel, by its label (for their provenance): adult social care vacancy
        rates (published, with the vacancies table's posts as their size) or vacancies, social care flows
        at each sector's latest year, NHS sickness absence over each ICB's last 12 months."""
        k = self.t["kpi_observations"]
        fl = self.latest_flows
        sick = k[k["kpi_id"] == measures.SICKNESS_KPI].sort_values("period").groupby("icb_code").tail(12)
        return {"Social care vacancy rate": measures.asc_vacancy_funnel(self.t)[1],
                "Social care turnover": fl[fl["sector"].str.startswith("asc")],
                "NHS sickness absence": sick}

    @kept_property
    def nhs_monthly(self) -> pd.DataFrame | None:
        """NHS staff in post by month (:func:`nhs_trend.monthly_table`); None when the data have none."""
        return nhs_trend.monthly_table(self.ds)

    @kept_property
    def nhs_attribution(self) -> trust_catchment.Attribution:
        """NHS trust staff attributed to ICBs under the report's ``regional_trusts`` rule (organisation
        FTE from the data folder's ``nhs_staff_monthly``; host attribution without it, said so)."""
        return trust_catchment.attribute(self.nhs_monthly, catchment_table.catchment(), self.params.regional_trusts)

    @kept_property
    def residents(self) -> pd.DataFrame:
        """Residents' ethnicity: the data folder's own rows where it has them, else the committed
        Census 2021 reference table (real in both cases)."""
        eth = self.t["ethnicity"]
        own = eth[(eth["group"] == "residents") & ~eth["synthetic"].astype(bool)]
        return own if len(own) else self.t["residents_ethnicity"]

    @kept_property
    def place_inputs(self) -> PlaceInputs:
        """Population by place (the data folder's, else the committed one), general practice by
        place (the build's, else the demo's split by population, synthetic) and the female shares."""
        pp = self.ds.optional_table("population_place")
        pp = places.place_population() if pp is None else pp[pp["sex"] == "persons"]
        area = self.ds.optional_table("gp_workforce_area")
        if area is None and self.gp["synthetic"].astype(bool).any():
            area = place_analysis.synthetic_gp_by_place(self.gp, pp)
        elif area is not None:
            area = area.assign(synthetic=False)
        ps = self.ds.optional_table("population_sex")
        shares = population.female_shares(ps) if ps is not None else population.sex_shares()
        return PlaceInputs(pp, population.projection_rows(self.t["population"]), area, shares)

    def place_frame(self, icb: str) -> pd.DataFrame:
        """The ICB's places beside the ICB and England (:func:`places.place_table`), from the base
        year to the furthest projection year, with people with dementia per 1,000 aged 65+ (worked out
        once per ICB: never change it)."""
        return self.memo(("place_frame", icb), lambda: self._place_frame(icb))

    def _place_frame(self, icb: str) -> pd.DataFrame:
        inputs = self.place_inputs
        base = self.base_year
        end = base + max(self.params.projection_years)
        gp_area = inputs.gp_area if inputs.gp_area is not None else pd.DataFrame(
            columns=["financial_year", "icb_code", "area_type", "area_code", "role", "fte", "registered_patients"])
        prev = self.t["prevalence"]
        england = self.memo(("place_england", base, end), lambda: place_analysis.england_population_figures(
            inputs.pop_icb, prev, inputs.shares, base, end))
        t = place_analysis.place_table(icb, inputs.pop_place, inputs.pop_icb, places.place_facts(), gp_area, self.gp,
                                       prev, inputs.shares, base, end, self.ds.table("deprivation"),
                                       self.ds.table("rurality"), england)
        return place_analysis.with_dementia_rate(t, inputs.pop_place, inputs.pop_icb, icb, base)
