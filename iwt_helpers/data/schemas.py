"""Pandera schemas of the canonical tables, and one validation entry point.

Each table is declared once in :mod:`iwt_helpers.data.tables` (columns, key, plausibility rules,
sort keys, origin); this module assembles its pandera schema. :func:`validate` checks a table
against its schema and raises :class:`TableValidationError` naming the table (and file, when
known), each failing column, the rule it broke and the first offending rows. Callers validate
before writing anything, so a bad table never reaches disk. The tables are documented in
``docs/data-model.md``.
"""

from __future__ import annotations

import functools

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from iwt_helpers.errors import IwtError

from .tables import SPECS

MAX_ROWS_SHOWN = 5
# The tables with a schema of their own, in the order of tables.SPECS.
TABLES = tuple(s.name for s in SPECS if s.columns is not None)
# The measure columns of each table (where a missing value matters), for coverage and status.
MEASURES = {s.name: list(s.measures) for s in SPECS if s.measures}


class TableValidationError(IwtError, ValueError):
    """A canonical table broke its schema. ``problems`` lists (column, rule, rows) tuples."""

    def __init__(self, message: str, table: str, problems: list[tuple[str, str, list[int]]]):
        super().__init__(message)
        self.table = table
        self.problems = problems


@functools.lru_cache(maxsize=1)
def schemas() -> dict[str, pa.DataFrameSchema]:
    """The schema of each table in TABLES (built once: the columns read the ICB list and vocabularies)."""
    return {s.name: s.schema() for s in SPECS if s.columns is not None}


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
