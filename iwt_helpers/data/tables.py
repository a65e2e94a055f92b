"""The canonical tables, each declared once in :data:`SPECS`: the one place a new table is added.

A :class:`TableSpec` says what a table is (its columns and their rules, its key, its plausibility
rules across columns, its measures), how a build sorts it, where iwt makes it (a data folder, the
demo set, a committed reference file) and how the data theme reads it. Every list of tables derives
from it: ``schemas.TABLES`` and the pandera schemas, ``build.SORT_KEYS``, ``demo.DEMO_TABLES``,
``datastore.REFERENCE_TABLES`` and ``datastore.SCHEMA_OF``. The tables are documented in
``docs/data-model.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from iwt_helpers import vocab

from . import geography, population

# Where iwt makes a table, in the words of datastore.TableInfo.origin: a data folder (iwt data build
# or iwt extract load), the embedded demo set (iwt data demo), a committed reference file.
ORIGINS = ("data_dir", "demo", "reference")


@dataclass(frozen=True)
class Rule:
    """A plausibility rule across a table's columns: ``holds(df)`` is True on each row that keeps it."""

    description: str
    holds: Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class TableSpec:
    """One canonical table.

    ``columns`` returns its columns and their rules (called on first use: they read the ICB list and
    the vocabularies); None for a table checked against another's schema (``schema_of``) or one the
    build writes unchecked. ``key``: one row per key (within a source when ``source`` is in it).
    ``sort_keys``: the order a build or an extract load writes its rows in. ``split_by``: the column
    whose values a data folder may hold only some of; the data theme takes those from the folder and
    the rest from the demo set (``Dataset.table_by_key``). ``themes``: the theme notebooks that load it
    whole at the start (``"data"``: ``analysis.system_data.SystemData``, its coverage table and its list of synthetic
    tables, in the order of :data:`SPECS`). ``measures``: the columns where a missing value matters
    (coverage and ``iwt data status``).
    """

    name: str
    label: str
    origins: tuple[str, ...]
    columns: Callable[[], dict[str, pa.Column]] | None = None
    key: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    sort_keys: tuple[str, ...] = ()
    reference_file: str | None = None
    schema_of: str | None = None
    split_by: str | None = None
    themes: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not set(self.origins) <= set(ORIGINS) or not self.origins:
            raise ValueError(f"table {self.name!r}: origins {self.origins} must be some of {ORIGINS}")
        if ("reference" in self.origins) != (self.reference_file is not None):
            raise ValueError(f"table {self.name!r}: a reference table names its file, and only a reference table")
        if self.columns is not None and self.schema_of is not None:
            raise ValueError(f"table {self.name!r}: columns of its own or another table's schema, not both")
        if (self.key or self.rules) and self.columns is None:
            raise ValueError(f"table {self.name!r}: a key or rules need columns")

    def schema(self) -> pa.DataFrameSchema | None:
        """The pandera schema: the columns (every number also finite), the key and the rules."""
        if self.columns is None:
            return None
        checks = [pa.Check(r.holds, error=r.description) for r in self.rules]
        return _finite(pa.DataFrameSchema(self.columns(), coerce=True, unique=list(self.key) or None,
                                          checks=checks or None))


def _finite(schema: pa.DataFrameSchema) -> pa.DataFrameSchema:
    """Every number column of ``schema`` also refuses inf and -inf (a missing value stays NaN where allowed)."""
    check = pa.Check(lambda s: ~np.isinf(s.astype(float)), error="a finite number (not inf)")
    return schema.update_columns({name: {"checks": [*col.checks, check]} for name, col in schema.columns.items()
                                  if str(col.dtype).startswith("float")})


# --------------------------------------------------------------------------- columns used by many tables


def _icb() -> pa.Column:
    return pa.Column(str, pa.Check.isin(geography.icb_codes(), error="one of the 42 ICB ODS codes"))


def _source() -> pa.Column:
    return pa.Column(str, pa.Check.str_length(min_value=1, error="non-empty source"))


def _count(nullable: bool = False) -> pa.Column:
    return pa.Column(float, pa.Check.ge(0, error="zero or more"), nullable=nullable)


def _in(values: list, what: str, nullable: bool = False) -> pa.Column:
    return pa.Column(str, pa.Check.isin(values, error=what), nullable=nullable)


def _period() -> pa.Column:
    return pa.Column("datetime64[ns]", pa.Check(lambda s: s.dt.day == 1, element_wise=False,
                                                error="first day of a month"))


def _year() -> pa.Column:
    return pa.Column(int, pa.Check.in_range(1990, 2100, error="a year between 1990 and 2100"))


def _sector() -> pa.Column:
    return _in(vocab.sector_codes(), "a sector code from vocabulary.yaml")


def _staff_group() -> pa.Column:
    return _in(vocab.staff_group_codes(), "a staff group code from vocabulary.yaml")


def _months() -> pa.Column:
    return pa.Column(int, pa.Check.in_range(1, 12, error="1 to 12 months"), required=False)


def _lad_code() -> pa.Column:
    return pa.Column(str, pa.Check.str_matches(r"^E0[6789]\d{6}$", error="an English LAD code"))


def _financial_year() -> pa.Column:
    return pa.Column(str, pa.Check.str_matches(r"^\d{4}/\d{2}$", error="a financial year like 2024/25"))


def _workforce_age_band() -> pa.Column:
    return _in(vocab.workforce_age_bands(), "a workforce age band from vocabulary.yaml")


def _population_age_band() -> pa.Column:
    return _in(vocab.population_age_bands(), "a population age band from vocabulary.yaml")


def _kind() -> pa.Column:
    return _in(["estimate", "projection"], "'estimate' or 'projection'")


def _cell() -> dict[str, pa.Column]:
    """The year, ICB, sector and staff group that key most workforce tables."""
    return {"year": _year(), "icb_code": _icb(), "sector": _sector(), "staff_group": _staff_group()}


# --------------------------------------------------------------------------- plausibility rules


def _rate_parts(d: pd.DataFrame) -> pd.Series:
    """A KPI row with both counts behind it is a share of a whole (days lost of days available,
    respondents agreeing of respondents): numerator no more than denominator, value 0-100%."""
    if "numerator" not in d or "denominator" not in d:
        return pd.Series(True, index=d.index)
    both = d["numerator"].notna() & d["denominator"].notna()
    ok = (d["numerator"] <= d["denominator"] * (1 + 1e-9)) & (d["value"].isna() | d["value"].between(0, 100))
    return ~both | ok


SHARES_SUM_TO_ONE = Rule(
    "shares of each authority sum to 1",
    lambda d: (d.groupby(["lad_vintage", "lad_code"])["share"].transform("sum") - 1).abs() < 1e-4)
FTE_WITHIN_HEADCOUNT = Rule(
    "FTE no more than 1.2 x headcount (+1)", lambda d: ~(d["fte"] > d["headcount"] * 1.2 + 1).fillna(False))
OTHER_SECTOR_WITHIN_LEAVERS = Rule(
    "leavers to the other sector no more than all leavers",
    lambda d: ~(d["leavers_to_other_sector"] > d["leavers"]).fillna(False))
RATE_WITHIN_ITS_PARTS = Rule(
    "a rate's numerator (e.g. days lost) no more than its denominator (days available), and its value from 0 to 100%",
    _rate_parts)


# --------------------------------------------------------------------------- geography


def _icb_columns() -> dict[str, pa.Column]:
    return {
        "icb_code": pa.Column(str, pa.Check.str_matches(r"^Q[A-Z0-9]{2}$", error="an ODS code like QOP"), unique=True),
        "icb_code_ons": pa.Column(str, pa.Check.str_matches(r"^E54\d{6}$", error="an E54 code"), unique=True),
        "icb_name": pa.Column(str),
        "region_code": pa.Column(str, pa.Check.str_matches(r"^Y\d{2}$", error="an NHS England region code like Y56")),
        "region_name": pa.Column(str),
        "source": _source(),
    }


def _lad_icb_columns() -> dict[str, pa.Column]:
    return {
        "lad_vintage": pa.Column(int), "lad_code": _lad_code(), "icb_code": _icb(),
        "share": pa.Column(float, pa.Check.in_range(0, 1, include_min=False, error="a share in (0, 1]")),
        "source": _source(),
    }


# --------------------------------------------------------------------------- workforce


def _workforce_columns() -> dict[str, pa.Column]:
    return {
        "period": _period(), "icb_code": _icb(), "sector": _sector(), "staff_group": _staff_group(),
        "registered": pa.Column(bool), "headcount": _count(nullable=True), "fte": _count(nullable=True),
        # Optional: the publisher's own headcount of the whole sector in the ICB (all staff groups), where a
        # person in two groups counts once; repeated on each group's row. Sector totals use it.
        "headcount_total": pa.Column(float, pa.Check.ge(0, error="zero or more"), nullable=True, required=False),
        "source": _source(),
    }


def _vacancies_columns() -> dict[str, pa.Column]:
    return {
        "period": _period(), "icb_code": _icb(), "sector": _sector(), "staff_group": _staff_group(),
        "vacancies": _count(nullable=True), "filled_posts": _count(nullable=True), "source": _source(),
    }


def _flows_columns() -> dict[str, pa.Column]:
    return {
        **_cell(), "staff_in_post": _count(nullable=True), "joiners": _count(nullable=True),
        "leavers": _count(nullable=True), "leavers_to_other_sector": _count(nullable=True),
        "months": _months(),        # optional: how many months the joiners and leavers cover (12 when absent)
        "source": _source(),
    }


def _leaving_rates_columns() -> dict[str, pa.Column]:
    return {
        **_cell(), "age_band": _workforce_age_band(),
        "staff_in_post": _count(nullable=True), "leavers": _count(nullable=True),
        "leaving_rate_pct": pa.Column(float, pa.Check.ge(0, error="zero or more"), nullable=True, required=False),
        "months": _months(), "source": _source(),
    }


def _moves_columns() -> dict[str, pa.Column]:
    return {
        **_cell(),
        "move": _in(["other_organisation", "other_sector_same_family", "other_family", "left"],
                    "other_organisation, other_sector_same_family, other_family or left"),
        "people": _count(nullable=True), "months": _months(), "source": _source(),
    }


def _pay_columns() -> dict[str, pa.Column]:
    return {
        **_cell(), "experience": _in(["all", "new_to_role"], "'all' or 'new_to_role'"),
        "pay_gbp_per_hour": pa.Column(float, pa.Check.in_range(0, 500, include_min=False,
                                                               error="pounds per hour above 0 and below 500"), nullable=True),
        "source": _source(),
    }


def _workforce_age_columns() -> dict[str, pa.Column]:
    return {**_cell(), "age_band": _workforce_age_band(), "headcount": _count(nullable=True), "source": _source()}


def _ethnicity_columns() -> dict[str, pa.Column]:
    return {
        "year": _year(), "icb_code": _icb(),
        "group": _in(["workforce", "residents"], "'workforce' or 'residents'"),
        "sector": _in(vocab.sector_codes() + ["all"], "a sector code or 'all'"),
        "ethnic_group": _in(vocab.ethnic_groups(), "an ethnic group from vocabulary.yaml"),
        "people": _count(nullable=True), "source": _source(),
    }


def _gp_workforce_columns() -> dict[str, pa.Column]:
    return {
        "financial_year": _financial_year(), "icb_code": _icb(), "role": pa.Column(str),
        "staff_group": _staff_group(), "in_total": pa.Column(bool),
        "fte": _count(nullable=True), "headcount": _count(nullable=True), "practices": _count(),
        "registered_patients": _count(), "source": _source(),
    }


def _gp_workforce_area_columns() -> dict[str, pa.Column]:
    """By place (sub-ICB location), PCN, and each ICB's practices with no place ('no_place'):
    places + no_place = the ICB's gp_workforce figure."""
    return {
        "financial_year": _financial_year(),
        "area_type": _in(["place", "pcn", "no_place"], "place, pcn or no_place"),
        "area_code": pa.Column(str), "area_name": pa.Column(str, nullable=True),
        "sicb_code": pa.Column(str, nullable=True), "icb_code": _icb(), "role": pa.Column(str),
        "staff_group": _staff_group(), "in_total": pa.Column(bool),
        "fte": _count(nullable=True), "headcount": _count(nullable=True), "practices": _count(),
        "registered_patients": _count(), "source": _source(),
    }


def _unpaid_care_columns() -> dict[str, pa.Column]:
    return {
        "year": _year(), "icb_code": _icb(),
        "hours_band": _in(["19h_or_less", "20_49h", "50h_plus"], "an hours band: 19h_or_less, 20_49h or 50h_plus"),
        "carers": _count(), "residents_5plus": _count(), "source": _source(),
    }


def _unpaid_care_la_columns() -> dict[str, pa.Column]:
    return {
        "year": _year(), "lad_code": _lad_code(), "lad_name": pa.Column(str),
        "hours_band": _in(["19h_or_less", "20_49h", "50h_plus"], "an hours band"),
        "carers": _count(), "residents_5plus": _count(), "source": _source(),
    }


def _ethnicity_la_columns() -> dict[str, pa.Column]:
    return {
        "year": _year(), "lad_code": _lad_code(), "lad_name": pa.Column(str),
        "ethnic_group": _in(vocab.ethnic_groups(), "an ethnic group from vocabulary.yaml"),
        "ethnic_group_detailed": pa.Column(str), "people": _count(), "source": _source(),
    }


def _nhs_trusts_columns() -> dict[str, pa.Column]:
    return {
        "org_code": pa.Column(str, unique=True), "org_name": pa.Column(str), "region_code": pa.Column(str),
        "icb_code": pa.Column(str, pa.Check.isin(geography.icb_codes(), error="one of the 42 ICB ODS codes"), nullable=True),
        "opened": pa.Column("datetime64[ns]", nullable=True), "closed": pa.Column("datetime64[ns]", nullable=True),
        "source": _source(),
    }


def _nhs_staff_monthly_columns() -> dict[str, pa.Column]:
    return {
        "period": _period(), "org_code": pa.Column(str), "org_name": pa.Column(str), "icb_code": _icb(),
        "org_type": _in(["trust", "icb", "ccg"], "'trust', 'icb' or 'ccg'"),
        "headcount": _count(nullable=True), "fte": _count(nullable=True), "source": _source(),
    }


def _nhs_staff_monthly_icb_columns() -> dict[str, pa.Column]:
    return {"period": _period(), "icb_code": _icb(), "headcount": _count(nullable=True), "fte": _count(nullable=True),
            "source": _source()}


# --------------------------------------------------------------------------- population need


def _population_columns() -> dict[str, pa.Column]:
    """ICB persons by band: estimates (basis 'mid-YYYY estimate') and projections (basis
    'YYYY-based'); population.for_year picks one basis, never a mix."""
    return {
        "year": _year(), "icb_code": _icb(), "age_band": _population_age_band(),
        "population": _count(), "kind": _kind(), "basis": pa.Column(str, required=False),
        "variant": pa.Column(str), "source": _source(),
    }


def _population_sex_columns() -> dict[str, pa.Column]:
    return {
        "year": _year(), "icb_code": _icb(), "sex": _in(["male", "female"], "'male' or 'female'"),
        "age_band": _population_age_band(), "population": _count(), "kind": _kind(),
        "basis": pa.Column(str), "variant": pa.Column(str), "source": _source(),
    }


def _population_place_columns() -> dict[str, pa.Column]:
    return {
        "year": _year(),
        "sicb_code": pa.Column(str, pa.Check.str_matches(r"^E38\d{6}$", error="an E38 sub-ICB location code")),
        "sicb_ods": pa.Column(str), "icb_code": _icb(),
        "sex": _in(["male", "female", "persons"], "'male', 'female' or 'persons'"),
        "age_band": _population_age_band(), "population": _count(), "kind": _kind(),
        "basis": pa.Column(str), "variant": pa.Column(str), "source": _source(),
    }


def _prevalence_columns() -> dict[str, pa.Column]:
    return {
        "condition": pa.Column(str), "age_band": _in(vocab.population_age_bands(), "a population age band"),
        "prevalence_pct": pa.Column(float, pa.Check.in_range(0, 100, error="a percentage from 0 to 100")),
        "source": _source(),
        "sex": pa.Column(str, pa.Check.isin(["persons", "male", "female"], error="persons, male or female"),
                         required=False),
        "lower_pct": pa.Column(float, pa.Check.in_range(0, 100), nullable=True, required=False),
        "upper_pct": pa.Column(float, pa.Check.in_range(0, 100), nullable=True, required=False),
    }


# --------------------------------------------------------------------------- place


def _deprivation_columns() -> dict[str, pa.Column]:
    return {
        "year": _year(), "area_type": pa.Column(str, pa.Check.str_matches(r"^(icb|lad\d\d)$", error="'icb' or 'ladYY'")),
        "area_code": pa.Column(str), "area_name": pa.Column(str, nullable=True), "domain": pa.Column(str),
        "measure": pa.Column(str), "value": pa.Column(float, nullable=True), "source": _source(),
    }


def _rurality_columns() -> dict[str, pa.Column]:
    return {
        "year": _year(), "area_type": pa.Column(str), "area_code": pa.Column(str),
        "lsoas": pa.Column(int, pa.Check.gt(0, error="more than zero")), "rural_lsoas": pa.Column(int, pa.Check.ge(0)),
        "rural_share_pct": pa.Column(float, pa.Check.in_range(0, 100, error="a percentage from 0 to 100")),
        "source": _source(),
    }


# --------------------------------------------------------------------------- governance and readiness


def _kpi_observations_columns() -> dict[str, pa.Column]:
    return {
        "icb_code": _icb(), "kpi_id": pa.Column(str), "period": _period(),
        "value": pa.Column(float, nullable=True), "target": pa.Column(float, nullable=True),
        # Optional: the counts behind a rate (e.g. FTE days lost and available), where a source has them.
        "numerator": pa.Column(float, pa.Check.ge(0, error="zero or more"), nullable=True, required=False),
        "denominator": pa.Column(float, pa.Check.ge(0, error="zero or more"), nullable=True, required=False),
        "source": _source(),
    }


def _staff_survey_columns() -> dict[str, pa.Column]:
    return {
        "icb_code": _icb(), "year": _year(), "indicator": pa.Column(str),
        "rate_pct": pa.Column(float, pa.Check.in_range(0, 100, error="a percentage from 0 to 100")),
        "base": _count(), "source": _source(),
    }


def _gp_indicators_columns() -> dict[str, pa.Column]:
    return {
        "icb_code": _icb(), "year": _year(), "indicator": pa.Column(str),
        "per_10k_mean_of_quintiles": pa.Column(float, pa.Check.ge(0, error="zero or more"), nullable=True),
        "source": _source(),
    }


def _readiness_responses_columns() -> dict[str, pa.Column]:
    """One row per partner x item x round (data/readiness/<ICB>.csv; the demo set's rounds); items in
    data/reference/readiness_items.yaml; a blank score means not assessed."""
    bank = vocab.load_yaml("readiness_items.yaml")
    return {
        "icb_code": _icb(), "assessment_date": pa.Column("datetime64[ns]"), "partner": pa.Column(str),
        "item_id": _in([str(i["id"]) for i in bank["items"]], "an item id of readiness_items.yaml"),
        "score": pa.Column("Int64", pa.Check.isin(list(bank["scale"]), error="a level of the readiness scale (0 to 4)"),
                           nullable=True),
        "evidence": pa.Column(str, nullable=True), "owner": pa.Column(str, nullable=True),
        "due_date": pa.Column("datetime64[ns]", nullable=True),
        "saved_at": pa.Column(str, nullable=True, required=False), "source": _source(),
    }


# --------------------------------------------------------------------------- the tables

_CELL = ("year", "icb_code", "sector", "staff_group")
_BUILT, _DEMO, _REFERENCE = ("data_dir",), ("demo",), ("reference",)

SPECS: tuple[TableSpec, ...] = (
    # Geography
    TableSpec("icb", "Integrated care boards", _REFERENCE, _icb_columns, reference_file=geography.ICB_FILE),
    TableSpec("lad_icb", "Local authorities in each ICB", (*_BUILT, *_REFERENCE), _lad_icb_columns,
              rules=(SHARES_SUM_TO_ONE,), sort_keys=("lad_vintage", "lad_code", "icb_code"),
              reference_file=geography.LAD_ICB_FILE),
    # Workforce
    TableSpec("workforce", "Staff in post", (*_BUILT, *_DEMO), _workforce_columns,
              key=("period", "icb_code", "sector", "staff_group", "source"), rules=(FTE_WITHIN_HEADCOUNT,),
              sort_keys=("period", "icb_code", "sector", "staff_group"), split_by="sector", themes=("data",),
              measures=("headcount", "fte")),
    TableSpec("vacancies", "Vacancies", _DEMO, _vacancies_columns,
              key=("period", "icb_code", "sector", "staff_group", "source"), themes=("data",),
              measures=("vacancies", "filled_posts")),
    TableSpec("flows", "Joiners and leavers", (*_BUILT, *_DEMO), _flows_columns, key=(*_CELL, "source"),
              rules=(OTHER_SECTOR_WITHIN_LEAVERS,), sort_keys=_CELL, split_by="sector", themes=("data",),
              measures=("staff_in_post", "leavers")),
    # From record-level extracts (iwt extract load): leaving rates by staff group and age band (rate
    # annualised, x 12 / months), and where leavers went.
    TableSpec("leaving_rates", "Leaving rates by age", _BUILT, _leaving_rates_columns, key=(*_CELL, "age_band"),
              sort_keys=(*_CELL, "age_band")),
    TableSpec("moves", "Where leavers went", _BUILT, _moves_columns, key=(*_CELL, "move"), sort_keys=(*_CELL, "move")),
    TableSpec("pay", "Pay", _DEMO, _pay_columns, key=(*_CELL, "experience", "source"), themes=("data",),
              measures=("pay_gbp_per_hour",)),
    TableSpec("workforce_age", "Staff by age", (*_BUILT, *_DEMO), _workforce_age_columns,
              key=(*_CELL, "age_band", "source"), sort_keys=(*_CELL, "age_band"), themes=("data",),
              measures=("headcount",)),
    TableSpec("ethnicity", "Ethnicity of staff and residents", (*_BUILT, *_DEMO), _ethnicity_columns,
              key=("year", "icb_code", "group", "sector", "ethnic_group", "source"),
              sort_keys=("year", "icb_code", "group", "sector", "ethnic_group"), split_by="group", themes=("data",),
              measures=("people",)),
    # Population need
    TableSpec("population", "Population", (*_BUILT, *_REFERENCE), _population_columns,
              key=("year", "icb_code", "age_band", "variant"),
              sort_keys=("year", "icb_code", "basis", "age_band", "variant"),
              reference_file=population.POPULATION_FILE, themes=("data",), measures=("population",)),
    TableSpec("population_sex", "Population by sex", (*_BUILT, *_REFERENCE), _population_sex_columns,
              key=("year", "icb_code", "sex", "age_band", "basis"), sort_keys=("year", "icb_code", "sex", "age_band"),
              reference_file=population.SEX_FILE, measures=("population",)),
    TableSpec("population_place", "Population of places", _BUILT, _population_place_columns,
              key=("year", "sicb_code", "sex", "age_band", "basis"), sort_keys=("year", "sicb_code", "sex", "age_band"),
              measures=("population",)),
    # Governance (before prevalence: the data theme lists them in this order)
    TableSpec("kpi_observations", "Workforce KPIs", (*_BUILT, *_DEMO), _kpi_observations_columns,
              key=("icb_code", "kpi_id", "period"), rules=(RATE_WITHIN_ITS_PARTS,),
              sort_keys=("kpi_id", "icb_code", "period"), split_by="kpi_id", themes=("data",), measures=("value",)),
    TableSpec("prevalence", "Prevalence of conditions by age", _REFERENCE, _prevalence_columns,
              reference_file="prevalence.csv", themes=("data",)),
    TableSpec("readiness_responses", "Readiness self-assessments", _DEMO, _readiness_responses_columns),
    TableSpec("staff_survey", "NHS Staff Survey", _BUILT, _staff_survey_columns, key=("icb_code", "year", "indicator"),
              sort_keys=("indicator", "icb_code", "year")),
    TableSpec("gp_indicators", "General practice staff by deprivation", _BUILT, _gp_indicators_columns,
              sort_keys=("indicator", "icb_code", "year")),
    # General practice
    TableSpec("gp_workforce_area", "General practice staff by place and PCN", _BUILT, _gp_workforce_area_columns,
              key=("financial_year", "area_type", "area_code", "icb_code", "role"),
              sort_keys=("financial_year", "area_type", "icb_code", "area_code", "role")),
    TableSpec("gp_workforce", "General practice staff", (*_BUILT, *_DEMO), _gp_workforce_columns,
              key=("financial_year", "icb_code", "role"), sort_keys=("financial_year", "icb_code", "role"),
              themes=("data",), measures=("fte", "headcount")),
    # Place and residents (IoD 2025, the rural-urban classification, Census 2021)
    TableSpec("deprivation", "Deprivation (IoD 2025)", (*_BUILT, *_REFERENCE), _deprivation_columns,
              key=("year", "area_type", "area_code", "domain", "measure"),
              sort_keys=("area_type", "area_code", "domain", "measure"), reference_file="deprivation_icb.csv",
              measures=("value",)),
    TableSpec("rurality", "Rurality", (*_BUILT, *_REFERENCE), _rurality_columns, key=("year", "area_type", "area_code"),
              sort_keys=("area_type", "area_code"), reference_file="rurality_icb.csv", measures=("rural_share_pct",)),
    TableSpec("unpaid_care", "Unpaid carers", (*_BUILT, *_REFERENCE), _unpaid_care_columns,
              key=("year", "icb_code", "hours_band"), sort_keys=("icb_code", "hours_band"),
              reference_file="unpaid_care.csv", themes=("data",), measures=("carers",)),
    TableSpec("unpaid_care_la", "Unpaid carers by local authority", _BUILT, _unpaid_care_la_columns,
              key=("year", "lad_code", "hours_band"), sort_keys=("lad_code", "hours_band")),
    TableSpec("ethnicity_la", "Residents' ethnicity by local authority", _BUILT, _ethnicity_la_columns,
              sort_keys=("lad_code", "ethnic_group_detailed")),
    # ICB residents' ethnicity: rows of ``ethnicity`` (group 'residents'), committed as a reference table.
    TableSpec("residents_ethnicity", "Residents' ethnicity (Census 2021)", _REFERENCE,
              reference_file="residents_ethnicity.csv", schema_of="ethnicity", themes=("data",)),
    # NHS organisations and NHS Workforce Statistics by organisation and month (sources/nhs_monthly.py):
    # kept out of ``workforce``, which would count the month twice; ICB-employed staff are org_type "icb".
    TableSpec("nhs_trusts", "NHS trusts", _BUILT, _nhs_trusts_columns, sort_keys=("org_code",)),
    TableSpec("nhs_staff_monthly", "NHS staff by organisation and month", _BUILT, _nhs_staff_monthly_columns,
              key=("period", "org_code"), sort_keys=("period", "icb_code", "org_code"), measures=("headcount", "fte")),
    # Its NHS trust totals by ICB and month (iwt reference build), for the data theme's trend and the
    # governance KPI when a data folder has no nhs_staff_monthly.
    TableSpec("nhs_staff_monthly_icb", "NHS trust staff by ICB and month", _REFERENCE, _nhs_staff_monthly_icb_columns,
              key=("period", "icb_code"), reference_file="nhs_staff_monthly_icb.csv", measures=("headcount", "fte")),
    # What a build writes beside the tables, unchecked: authority code changes (geography reads the
    # committed copy itself), organisations it could not place in an ICB, and each file's own totals.
    TableSpec("lad_code_changes", "Local authority code changes", _BUILT, sort_keys=("effective", "old_code")),
    TableSpec("unmapped_organisations", "Organisations not placed in an ICB", _BUILT,
              sort_keys=("source", "period", "org_code")),
    TableSpec("source_totals", "Each file's own totals", _BUILT, sort_keys=("source", "file", "period")),
)
BY_NAME: dict[str, TableSpec] = {s.name: s for s in SPECS}


def made_in(origin: str) -> tuple[str, ...]:
    """The tables iwt makes in ``origin`` (``data_dir``, ``demo`` or ``reference``), in the order of SPECS."""
    if origin not in ORIGINS:
        raise ValueError(f"origin {origin!r}: one of {', '.join(ORIGINS)}")
    return tuple(s.name for s in SPECS if origin in s.origins)


def loaded_by(theme: str) -> tuple[str, ...]:
    """The tables a theme notebook loads whole at the start, in the order of SPECS."""
    return tuple(s.name for s in SPECS if theme in s.themes)


SPLIT_BY: dict[str, str] = {s.name: s.split_by for s in SPECS if s.split_by}
