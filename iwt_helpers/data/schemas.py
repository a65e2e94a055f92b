"""Pandera schemas of the canonical tables, and one validation entry point.

:func:`validate` checks a table against its schema and raises :class:`TableValidationError`
naming the table (and file, when known), each failing column, the rule it broke and the
first offending rows. Callers validate before writing anything, so a bad table never
reaches disk. The tables are documented in ``docs/data-model.md``.
"""

from __future__ import annotations

import functools

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
    "ethnicity": ["people"], "population": ["population"], "kpi_observations": ["value"],
    "gp_workforce": ["fte", "headcount"], "unpaid_care": ["carers"], "deprivation": ["value"],
    "rurality": ["rural_share_pct"],
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


def _schemas() -> dict[str, pa.DataFrameSchema]:
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
            "source": _source(),
        }, coerce=True, checks=[pa.Check(
            lambda d: ~(d["fte"] > d["headcount"] * 1.2 + 1).fillna(False),
            error="FTE no more than 1.2 x headcount (+1)")]),
        "vacancies": pa.DataFrameSchema({
            "period": _period(), "icb_code": _icb(), "sector": _sector(), "staff_group": _staff_group(),
            "vacancies": _count(nullable=True), "filled_posts": _count(nullable=True), "source": _source(),
        }, coerce=True),
        "flows": pa.DataFrameSchema({
            "year": _year(), "icb_code": _icb(), "sector": _sector(), "staff_group": _staff_group(),
            "staff_in_post": _count(nullable=True), "joiners": _count(nullable=True),
            "leavers": _count(nullable=True), "leavers_to_other_sector": _count(nullable=True),
            # Optional: how many months the joiners and leavers cover (12 when absent).
            "months": pa.Column(int, pa.Check.in_range(1, 12, error="1 to 12 months"), required=False),
            "source": _source(),
        }, coerce=True, checks=[pa.Check(
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
        }, coerce=True),
        "workforce_age": pa.DataFrameSchema({
            "year": _year(), "icb_code": _icb(), "sector": _sector(), "staff_group": _staff_group(),
            "age_band": _in(vocab.workforce_age_bands(), "a workforce age band from vocabulary.yaml"),
            "headcount": _count(nullable=True), "source": _source(),
        }, coerce=True),
        "ethnicity": pa.DataFrameSchema({
            "year": _year(), "icb_code": _icb(),
            "group": _in(["workforce", "residents"], "'workforce' or 'residents'"),
            "sector": _in(vocab.sector_codes() + ["all"], "a sector code or 'all'"),
            "ethnic_group": _in(vocab.ethnic_groups(), "an ethnic group from vocabulary.yaml"),
            "people": _count(nullable=True), "source": _source(),
        }, coerce=True),
        "population": pa.DataFrameSchema({
            "year": _year(), "icb_code": _icb(),
            "age_band": _in(vocab.population_age_bands(), "a population age band from vocabulary.yaml"),
            "population": _count(),
            "kind": _in(["estimate", "projection"], "'estimate' or 'projection'"),
            "variant": pa.Column(str), "source": _source(),
        }, coerce=True, unique=["year", "icb_code", "age_band", "variant"]),
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
        }, coerce=True, unique=["icb_code", "kpi_id", "period"]),
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
          "population", "prevalence", "kpi_observations", "readiness_responses", "staff_survey", "gp_indicators",
          "gp_workforce", "deprivation", "rurality", "unpaid_care", "unpaid_care_la", "ethnicity_la", "nhs_trusts",
          "leaving_rates", "moves")


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
    lines, problems = [f"{where} failed validation:"], []
    for (column, check), grp in fc.groupby(["column", "check"], sort=False):
        rows = [int(i) for i in pd.to_numeric(grp["index"], errors="coerce").dropna().unique()]
        rule = str(check)
        problems.append((column, rule, rows))
        lines.append(f"  column '{column}' breaks rule '{rule}' in {len(rows) or len(grp)} row(s)")
        shown = [r for r in rows if r in df.index][:MAX_ROWS_SHOWN]
        if shown:
            cols = [c for c in ("icb_code", "period", "year", "sector", "staff_group", column) if c in df.columns]
            cols = list(dict.fromkeys(cols))
            lines.append("    first offending rows (row number: values):")
            for r in shown:
                vals = ", ".join(f"{c}={_fmt(df.at[r, c])}" for c in cols)
                lines.append(f"      row {r}: {vals}")
        else:
            cases = ", ".join(repr(v) for v in grp["failure_case"].head(MAX_ROWS_SHOWN))
            lines.append(f"    failing values: {cases}")
    return TableValidationError("\n".join(lines), table, problems)
