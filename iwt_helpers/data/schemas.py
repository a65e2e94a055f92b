"""Pandera schemas of the canonical tables, and one validation entry point.

:func:`validate` checks a table against its schema and raises :class:`TableValidationError`
naming the table (and file, when known), each failing column, the rule it broke and the
first offending rows. Callers validate before writing anything, so a bad table never
reaches disk. The tables are documented in ``docs/data-model.md``.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from . import geography
from iwt_helpers import vocab

MAX_ROWS_SHOWN = 5
# The measure columns of each table (where a missing value matters), for coverage and status.
MEASURES = {
    "workforce": ["headcount", "fte"], "vacancies": ["vacancies", "filled_posts"],
    "flows": ["staff_in_post", "leavers"], "pay": ["pay_gbp_per_hour"], "workforce_age": ["headcount"],
    "ethnicity": ["people"], "population": ["population"], "population_sex": ["population"],
    "population_place": ["population"], "kpi_observations": ["value"],
    "gp_workforce": ["fte", "headcount"], "unpaid_care": ["carers"], "deprivation": ["value"],
    "rurality": ["rural_share_pct"],
    "nhs_staff_monthly": ["headcount", "fte"], "nhs_staff_monthly_icb": ["headcount", "fte"],
}


class TableValidationError(ValueError):
    """A canonical table broke its schema. ``problems`` lists (column, rule, rows) tuples."""

    def __init__(self, message: str, table: str, problems: list[tuple[str, str, list[int]]]):
        super().__init__(message)
        self.table = table
        self.problems = problems


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


def _rate_parts(d: pd.DataFrame) -> pd.Series:
    """A KPI row with both counts behind it is a share of a whole (days lost of days available,
    respondents agreeing of respondents): numerator no more than denominator, value 0-100%."""
    if "numerator" not in d or "denominator" not in d:
        return pd.Series(True, index=d.index)
    both = d["numerator"].notna() & d["denominator"].notna()
    ok = (d["numerator"] <= d["denominator"] * (1 + 1e-9)) & (d["value"].isna() | d["value"].between(0, 100))
    return ~both | ok


def _finite(schema: pa.DataFrameSchema) -> pa.DataFrameSchema:
    """Every number column of ``schema`` also refuses inf and -inf (a missing value stays NaN where allowed)."""
    check = pa.Check(lambda s: ~np.isinf(s.astype(float)), error="a finite number (not inf)")
    return schema.update_columns({name: {"checks": [*col.checks, check]} for name, col in schema.columns.items()
                                  if str(col.dtype).startswith("float")})


def _schemas() -> dict[str, pa.DataFrameSchema]:
    return {name: _finite(schema) for name, schema in _table_schemas().items()}


def _table_schemas() -> dict[str, pa.DataFrameSchema]:
    pct = pa.Column(float, pa.Check.in_range(0, 100, error="a percentage from 0 to 100"))
    return {
        "icb": pa.DataFrameSchema({
            "icb_code": pa.Column(str, pa.Check.str_matches(r"^Q[A-Z0-9]{2}$", error="an ODS code like QOP"), unique=True),
            "icb_code_ons": pa.Column(str, pa.Check.str_matches(r"^E54\d{6}$", error="an E54 code"), unique=True),
            "icb_name": pa.Column(str),
            "region_code": pa.Column(str, pa.Check.str_matches(r"^Y\d{2}$", error="an NHS England region code like Y56")),
            "region_name": pa.Column(str),
            "source": _source(),
        }, coerce=True),
        "lad_icb": pa.DataFrameSchema({
            "lad_vintage": pa.Column(int),
            "lad_code": pa.Column(str, pa.Check.str_matches(r"^E0[6789]\d{6}$", error="an English LAD code")),
            "icb_code": _icb(),
            "share": pa.Column(float, pa.Check.in_range(0, 1, include_min=False, error="a share in (0, 1]")),
            "source": _source(),
        }, coerce=True, checks=[pa.Check(
            lambda d: (d.groupby(["lad_vintage", "lad_code"])["share"].transform("sum") - 1).abs() < 1e-4,
            error="shares of each authority sum to 1")]),
        "workforce": pa.DataFrameSchema({
            "period": _period(),
            "icb_code": _icb(),
            "sector": _sector(),
            "staff_group": _staff_group(),
            "registered": pa.Column(bool),
            "headcount": _count(nullable=True),
            "fte": _count(nullable=True),
            # Optional: the publisher's own headcount of the whole sector in the ICB (all staff groups), where a
            # person in two groups counts once; repeated on each group's row. Sector totals use it.
            "headcount_total": pa.Column(float, pa.Check.ge(0, error="zero or more"), nullable=True, required=False),
            "source": _source(),
        }, coerce=True, unique=["period", "icb_code", "sector", "staff_group", "source"], checks=[pa.Check(
            lambda d: ~(d["fte"] > d["headcount"] * 1.2 + 1).fillna(False),
            error="FTE no more than 1.2 x headcount (+1)")]),
        "vacancies": pa.DataFrameSchema({
            "period": _period(), "icb_code": _icb(), "sector": _sector(), "staff_group": _staff_group(),
            "vacancies": _count(nullable=True), "filled_posts": _count(nullable=True), "source": _source(),
        }, coerce=True, unique=["period", "icb_code", "sector", "staff_group", "source"]),
        "flows": pa.DataFrameSchema({
            "year": _year(), "icb_code": _icb(), "sector": _sector(), "staff_group": _staff_group(),
            "staff_in_post": _count(nullable=True), "joiners": _count(nullable=True),
            "leavers": _count(nullable=True), "leavers_to_other_sector": _count(nullable=True),
            # Optional: how many months the joiners and leavers cover (12 when absent).
            "months": pa.Column(int, pa.Check.in_range(1, 12, error="1 to 12 months"), required=False),
            "source": _source(),
        }, coerce=True, unique=["year", "icb_code", "sector", "staff_group", "source"], checks=[pa.Check(
            lambda d: ~(d["leavers_to_other_sector"] > d["leavers"]).fillna(False),
            error="leavers to the other sector no more than all leavers")]),
        # From record-level extracts (iwt extract load): leaving rates by staff group and age band
        # (rate annualised, x 12 / months), and where leavers went.
        "leaving_rates": pa.DataFrameSchema({
            "year": _year(), "icb_code": _icb(), "sector": _sector(), "staff_group": _staff_group(),
            "age_band": _in(vocab.workforce_age_bands(), "a workforce age band from vocabulary.yaml"),
            "staff_in_post": _count(nullable=True), "leavers": _count(nullable=True),
            "leaving_rate_pct": pa.Column(float, pa.Check.ge(0, error="zero or more"), nullable=True, required=False),
            "months": pa.Column(int, pa.Check.in_range(1, 12, error="1 to 12 months"), required=False),
            "source": _source(),
        }, coerce=True, unique=["year", "icb_code", "sector", "staff_group", "age_band"]),
        "moves": pa.DataFrameSchema({
            "year": _year(), "icb_code": _icb(), "sector": _sector(), "staff_group": _staff_group(),
            "move": _in(["other_organisation", "other_sector_same_family", "other_family", "left"],
                        "other_organisation, other_sector_same_family, other_family or left"),
            "people": _count(nullable=True),
            "months": pa.Column(int, pa.Check.in_range(1, 12, error="1 to 12 months"), required=False),
            "source": _source(),
        }, coerce=True, unique=["year", "icb_code", "sector", "staff_group", "move"]),
        "pay": pa.DataFrameSchema({
            "year": _year(), "icb_code": _icb(), "sector": _sector(), "staff_group": _staff_group(),
            "experience": _in(["all", "new_to_role"], "'all' or 'new_to_role'"),
            "pay_gbp_per_hour": pa.Column(float, pa.Check.in_range(0, 500, include_min=False,
                                                                   error="pounds per hour above 0 and below 500"), nullable=True),
            "source": _source(),
        }, coerce=True, unique=["year", "icb_code", "sector", "staff_group", "experience", "source"]),
        "workforce_age": pa.DataFrameSchema({
            "year": _year(), "icb_code": _icb(), "sector": _sector(), "staff_group": _staff_group(),
            "age_band": _in(vocab.workforce_age_bands(), "a workforce age band from vocabulary.yaml"),
            "headcount": _count(nullable=True), "source": _source(),
        }, coerce=True, unique=["year", "icb_code", "sector", "staff_group", "age_band", "source"]),
        "ethnicity": pa.DataFrameSchema({
            "year": _year(), "icb_code": _icb(),
            "group": _in(["workforce", "residents"], "'workforce' or 'residents'"),
            "sector": _in(vocab.sector_codes() + ["all"], "a sector code or 'all'"),
            "ethnic_group": _in(vocab.ethnic_groups(), "an ethnic group from vocabulary.yaml"),
            "people": _count(nullable=True), "source": _source(),
        }, coerce=True, unique=["year", "icb_code", "group", "sector", "ethnic_group", "source"]),
        # ICB persons by band: estimates (basis 'mid-YYYY estimate') and projections (basis
        # 'YYYY-based'); population.for_year picks one basis, never a mix.
        "population": pa.DataFrameSchema({
            "year": _year(), "icb_code": _icb(),
            "age_band": _in(vocab.population_age_bands(), "a population age band from vocabulary.yaml"),
            "population": _count(),
            "kind": _in(["estimate", "projection"], "'estimate' or 'projection'"),
            "basis": pa.Column(str, required=False),
            "variant": pa.Column(str), "source": _source(),
        }, coerce=True, unique=["year", "icb_code", "age_band", "variant"]),
        # ICB by sex (male, female) and sub-ICB locations by sex (persons too), 2022-based SNPP.
        "population_sex": pa.DataFrameSchema({
            "year": _year(), "icb_code": _icb(),
            "sex": _in(["male", "female"], "'male' or 'female'"),
            "age_band": _in(vocab.population_age_bands(), "a population age band from vocabulary.yaml"),
            "population": _count(), "kind": _in(["estimate", "projection"], "'estimate' or 'projection'"),
            "basis": pa.Column(str), "variant": pa.Column(str), "source": _source(),
        }, coerce=True, unique=["year", "icb_code", "sex", "age_band", "basis"]),
        "population_place": pa.DataFrameSchema({
            "year": _year(),
            "sicb_code": pa.Column(str, pa.Check.str_matches(r"^E38\d{6}$", error="an E38 sub-ICB location code")),
            "sicb_ods": pa.Column(str), "icb_code": _icb(),
            "sex": _in(["male", "female", "persons"], "'male', 'female' or 'persons'"),
            "age_band": _in(vocab.population_age_bands(), "a population age band from vocabulary.yaml"),
            "population": _count(), "kind": _in(["estimate", "projection"], "'estimate' or 'projection'"),
            "basis": pa.Column(str), "variant": pa.Column(str), "source": _source(),
        }, coerce=True, unique=["year", "sicb_code", "sex", "age_band", "basis"]),
        "prevalence": pa.DataFrameSchema({
            "condition": pa.Column(str), "age_band": _in(vocab.population_age_bands(), "a population age band"),
            "prevalence_pct": pct, "source": _source(),
            "sex": pa.Column(str, pa.Check.isin(["persons", "male", "female"], error="persons, male or female"),
                             required=False),
            "lower_pct": pa.Column(float, pa.Check.in_range(0, 100), nullable=True, required=False),
            "upper_pct": pa.Column(float, pa.Check.in_range(0, 100), nullable=True, required=False),
        }, coerce=True),
        "kpi_observations": pa.DataFrameSchema({
            "icb_code": _icb(), "kpi_id": pa.Column(str), "period": _period(),
            "value": pa.Column(float, nullable=True), "target": pa.Column(float, nullable=True),
            # Optional: the counts behind a rate (e.g. FTE days lost and available), where a source has them.
            "numerator": pa.Column(float, pa.Check.ge(0, error="zero or more"), nullable=True, required=False),
            "denominator": pa.Column(float, pa.Check.ge(0, error="zero or more"), nullable=True, required=False),
            "source": _source(),
        }, coerce=True, unique=["icb_code", "kpi_id", "period"], checks=[pa.Check(
            _rate_parts, error="a rate's numerator (e.g. days lost) no more than its denominator (days available), "
                               "and its value from 0 to 100%")]),
        "staff_survey": pa.DataFrameSchema({
            "icb_code": _icb(), "year": _year(), "indicator": pa.Column(str),
            "rate_pct": pa.Column(float, pa.Check.in_range(0, 100, error="a percentage from 0 to 100")),
            "base": _count(), "source": _source(),
        }, coerce=True, unique=["icb_code", "year", "indicator"]),
        "gp_indicators": pa.DataFrameSchema({
            "icb_code": _icb(), "year": _year(), "indicator": pa.Column(str),
            "per_10k_mean_of_quintiles": pa.Column(float, pa.Check.ge(0, error="zero or more"), nullable=True),
            "source": _source(),
        }, coerce=True),
        "gp_workforce": pa.DataFrameSchema({
            "financial_year": pa.Column(str, pa.Check.str_matches(r"^\d{4}/\d{2}$", error="a financial year like 2024/25")),
            "icb_code": _icb(), "role": pa.Column(str), "staff_group": _staff_group(), "in_total": pa.Column(bool),
            "fte": _count(nullable=True), "headcount": _count(nullable=True), "practices": _count(),
            "registered_patients": _count(), "source": _source(),
        }, coerce=True, unique=["financial_year", "icb_code", "role"]),
        # General practice by place (sub-ICB location), PCN, and each ICB's practices with no place
        # ('no_place'): places + no_place = the ICB's gp_workforce figure.
        "gp_workforce_area": pa.DataFrameSchema({
            "financial_year": pa.Column(str, pa.Check.str_matches(r"^\d{4}/\d{2}$", error="a financial year like 2024/25")),
            "area_type": _in(["place", "pcn", "no_place"], "place, pcn or no_place"),
            "area_code": pa.Column(str), "area_name": pa.Column(str, nullable=True),
            "sicb_code": pa.Column(str, nullable=True), "icb_code": _icb(), "role": pa.Column(str),
            "staff_group": _staff_group(), "in_total": pa.Column(bool),
            "fte": _count(nullable=True), "headcount": _count(nullable=True), "practices": _count(),
            "registered_patients": _count(), "source": _source(),
        }, coerce=True, unique=["financial_year", "area_type", "area_code", "icb_code", "role"]),
        "deprivation": pa.DataFrameSchema({
            "year": _year(), "area_type": pa.Column(str, pa.Check.str_matches(r"^(icb|lad\d\d)$", error="'icb' or 'ladYY'")),
            "area_code": pa.Column(str), "area_name": pa.Column(str, nullable=True), "domain": pa.Column(str),
            "measure": pa.Column(str), "value": pa.Column(float, nullable=True), "source": _source(),
        }, coerce=True, unique=["year", "area_type", "area_code", "domain", "measure"]),
        "rurality": pa.DataFrameSchema({
            "year": _year(), "area_type": pa.Column(str), "area_code": pa.Column(str),
            "lsoas": pa.Column(int, pa.Check.gt(0, error="more than zero")), "rural_lsoas": pa.Column(int, pa.Check.ge(0)),
            "rural_share_pct": pa.Column(float, pa.Check.in_range(0, 100, error="a percentage from 0 to 100")),
            "source": _source(),
        }, coerce=True, unique=["year", "area_type", "area_code"]),
        "unpaid_care": pa.DataFrameSchema({
            "year": _year(), "icb_code": _icb(),
            "hours_band": _in(["19h_or_less", "20_49h", "50h_plus"], "an hours band: 19h_or_less, 20_49h or 50h_plus"),
            "carers": _count(), "residents_5plus": _count(), "source": _source(),
        }, coerce=True, unique=["year", "icb_code", "hours_band"]),
        "unpaid_care_la": pa.DataFrameSchema({
            "year": _year(), "lad_code": pa.Column(str, pa.Check.str_matches(r"^E0[6789]\d{6}$", error="an English LAD code")),
            "lad_name": pa.Column(str), "hours_band": _in(["19h_or_less", "20_49h", "50h_plus"], "an hours band"),
            "carers": _count(), "residents_5plus": _count(), "source": _source(),
        }, coerce=True, unique=["year", "lad_code", "hours_band"]),
        "ethnicity_la": pa.DataFrameSchema({
            "year": _year(), "lad_code": pa.Column(str, pa.Check.str_matches(r"^E0[6789]\d{6}$", error="an English LAD code")),
            "lad_name": pa.Column(str), "ethnic_group": _in(vocab.ethnic_groups(), "an ethnic group from vocabulary.yaml"),
            "ethnic_group_detailed": pa.Column(str), "people": _count(), "source": _source(),
        }, coerce=True),
        # NHS Workforce Statistics by organisation and month (sources/nhs_monthly.py): kept out of
        # ``workforce``, which would count the month twice; ICB-employed staff are org_type "icb".
        "nhs_staff_monthly": pa.DataFrameSchema({
            "period": _period(), "org_code": pa.Column(str), "org_name": pa.Column(str), "icb_code": _icb(),
            "org_type": _in(["trust", "icb", "ccg"], "'trust', 'icb' or 'ccg'"),
            "headcount": _count(nullable=True), "fte": _count(nullable=True), "source": _source(),
        }, coerce=True, unique=["period", "org_code"]),
        # Its NHS trust totals by ICB and month, committed as a reference table (iwt reference build).
        "nhs_staff_monthly_icb": pa.DataFrameSchema({
            "period": _period(), "icb_code": _icb(), "headcount": _count(nullable=True), "fte": _count(nullable=True),
            "source": _source(),
        }, coerce=True, unique=["period", "icb_code"]),
        "nhs_trusts": pa.DataFrameSchema({
            "org_code": pa.Column(str, unique=True), "org_name": pa.Column(str), "region_code": pa.Column(str),
            "icb_code": pa.Column(str, pa.Check.isin(geography.icb_codes(), error="one of the 42 ICB ODS codes"), nullable=True),
            "opened": pa.Column("datetime64[ns]", nullable=True), "closed": pa.Column("datetime64[ns]", nullable=True),
            "source": _source(),
        }, coerce=True),
        "readiness_responses": pa.DataFrameSchema({
            # One row per partner x item x round (data/readiness/<ICB>.csv; the demo set's rounds);
            # items in data/reference/readiness_items.yaml; a blank score means not assessed.
            "icb_code": _icb(), "assessment_date": pa.Column("datetime64[ns]"), "partner": pa.Column(str),
            "item_id": _in([str(i["id"]) for i in vocab.load_yaml("readiness_items.yaml")["items"]],
                           "an item id of readiness_items.yaml"),
            "score": pa.Column("Int64", pa.Check.isin(list(vocab.load_yaml("readiness_items.yaml")["scale"]),
                                                      error="a level of the readiness scale (0 to 4)"), nullable=True),
            "evidence": pa.Column(str, nullable=True), "owner": pa.Column(str, nullable=True),
            "due_date": pa.Column("datetime64[ns]", nullable=True),
            "saved_at": pa.Column(str, nullable=True, required=False), "source": _source(),
        }, coerce=True),
    }


@functools.lru_cache(maxsize=1)
def schemas() -> dict[str, pa.DataFrameSchema]:
    return _schemas()


TABLES = ("icb", "lad_icb", "workforce", "vacancies", "flows", "pay", "workforce_age", "ethnicity",
          "population", "population_sex", "population_place", "prevalence", "kpi_observations",
          "readiness_responses", "staff_survey", "gp_indicators", "gp_workforce_area",
          "gp_workforce", "deprivation", "rurality", "unpaid_care", "unpaid_care_la", "ethnicity_la", "nhs_trusts",
          "leaving_rates", "moves", "nhs_staff_monthly", "nhs_staff_monthly_icb")


def validate(table: str, df: pd.DataFrame, file: str | None = None) -> pd.DataFrame:
    """Validate (and coerce) ``df`` as canonical table ``table``; raise a readable error if it fails."""
    if table not in schemas():
        raise KeyError(f"unknown table {table!r}; known tables: {', '.join(TABLES)}")
    where = f"table '{table}'" + (f" in {file}" if file else "")
    schema = schemas()[table]
    missing = [c for c, col in schema.columns.items() if col.required and c not in df.columns]
    if missing:
        raise TableValidationError(
            f"{where}: missing column(s) {', '.join(missing)}; expected columns: {', '.join(schema.columns)}",
            table, [(c, "column present", []) for c in missing])
    try:
        return schema.validate(df, lazy=True)
    except SchemaErrors as err:
        raise _readable(err, table, where, df) from None


def _fmt(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if hasattr(value, "item"):
        value = value.item()
    return repr(value)


def _readable(err: SchemaErrors, table: str, where: str, df: pd.DataFrame) -> TableValidationError:
    fc = err.failure_cases.copy()
    fc["column"] = fc["column"].fillna("(table)").astype(str)
    # A rule of the whole table (a duplicate key, a rule across columns) is reported once, not per column.
    table_rule = fc["schema_context"].eq("DataFrameSchema") if "schema_context" in fc else pd.Series(False, index=fc.index)
    keys = list(schemas()[table].unique or []) if table in schemas() else []
    fc.loc[table_rule, "column"] = fc.loc[table_rule].apply(
        lambda r: ", ".join(keys) if r["check"] == "multiple_fields_uniqueness" else "(table)", axis=1)
    fc.loc[table_rule & fc["check"].eq("multiple_fields_uniqueness"), "check"] = (
        f"no duplicate keys: one row per {', '.join(keys)}" + (" (judged within each source)" if "source" in keys else ""))
    fc = fc.drop_duplicates(subset=["column", "check", "index"])
    lines, problems = [f"{where} failed validation:"], []
    for (column, check), grp in fc.groupby(["column", "check"], sort=False):
        rows = [int(i) for i in pd.to_numeric(grp["index"], errors="coerce").dropna().unique()]
        rule = str(check)
        problems.append((column, rule, rows))
        what = f"columns {column}" if ", " in column else "the table" if column == "(table)" else f"column '{column}'"
        lines.append(f"  {what} {'break' if ', ' in column else 'breaks'} rule '{rule}' in {len(rows) or len(grp)} row(s)")
        shown = [r for r in rows if r in df.index][:MAX_ROWS_SHOWN]
        if shown:
            named = [c for c in df.columns if c != "source"][:9] if column == "(table)" else column.split(", ")
            cols = [c for c in ("icb_code", "kpi_id", "period", "year", "sector", "staff_group", *named) if c in df.columns]
            cols = list(dict.fromkeys(cols))
            lines.append("    first offending rows (row number: values):")
            for r in shown:
                vals = ", ".join(f"{c}={_fmt(df.at[r, c])}" for c in cols)
                lines.append(f"      row {r}: {vals}")
        else:
            cases = ", ".join(repr(v) for v in grp["failure_case"].head(MAX_ROWS_SHOWN))
            lines.append(f"    failing values: {cases}")
    return TableValidationError("\n".join(lines), table, problems)
