"""Reading published files as they come: encodings, title rows, suppression markers, separators.

* CSV: UTF-8 (with or without a byte-order mark), falling back to Windows-1252.
* XLSX/XLS: the header row is found by looking for the expected column names in the first
  rows of the sheet, so title and note rows above the table are skipped.
* Numbers: thousands separators and stray spaces are removed; suppression markers (``*``,
  ``-``, ``..``, ``x``, ``c``, blank) become missing with a flag, never zero.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from iwt_helpers.errors import IwtError

# python-calamine reads .xlsx and legacy .xls alike, faster than openpyxl/xlrd (xlrd support is
# deprecated in pandas 3).
ENGINE = "calamine"

SUPPRESSION_MARKERS = {"*", "-", "..", ".", "x", "c", "z", ":", "[c]", "[x]", "[z]", "n/a", "na", "#"}


HEAD_BYTES = 65536          # how much of a file is read to recognise it by its header


class SourceError(IwtError, ValueError):
    """A file that is not what a loader expects: the message names the file, the row or column,
    and what was expected."""


def read_text(path: Path) -> str:
    raw = Path(path).read_bytes()
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise SourceError(f"{path}: not readable as UTF-8 or Windows-1252 text")


def encoding_of(path: Path) -> str:
    raw = Path(path).read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def head_columns(path: Path) -> list[str] | None:
    """Column names of a CSV (its first line), or None if the file is not CSV text."""
    if Path(path).suffix.lower() not in (".csv", ".txt"):
        return None
    with open(path, "rb") as fh:                 # the header only: never the whole file
        head = fh.read(HEAD_BYTES)
    for enc in ("utf-8-sig", "cp1252"):
        try:
            text = head.decode(enc)
            break
        except UnicodeDecodeError as exc:
            if enc == "utf-8-sig" and exc.start > len(head) - 4:     # a character cut at the end of the block
                text = head[:exc.start].decode(enc)
                break
    else:
        return None
    lines = text.splitlines()
    return [c.strip() for c in next(csv.reader([lines[0]]))] if lines else []


def read_csv(path: Path, dtype=str, **kw) -> pd.DataFrame:
    """A CSV with every column as text (numbers are converted by :func:`to_number`)."""
    text = read_text(path)
    try:
        df = pd.read_csv(io.StringIO(text), dtype=dtype, keep_default_na=False, **kw)
    except pd.errors.ParserError as exc:     # e.g. a row with more fields than the header
        line = re.search(r"line (\d+)", str(exc))
        where = f"line {line.group(1)}" if line else "a row"
        raise SourceError(f"{path}: {where}: not a well-formed CSV row ({str(exc).strip()}); each row needs as "
                          "many fields as the header, and every quote its closing quote") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def sheet_names(path: Path) -> list[str]:
    suffix = Path(path).suffix.lower()
    if suffix not in (".xlsx", ".xlsm", ".xls"):
        return []
    try:
        return list(pd.ExcelFile(path, engine=ENGINE).sheet_names)
    except Exception:  # noqa: BLE001 - not a readable workbook: recognisers just say no
        return []


def read_sheet(path: Path, sheet: str, expected: list[str], max_scan: int = 40) -> pd.DataFrame:
    """A worksheet whose header row contains ``expected`` column names (title rows skipped)."""
    raw = pd.read_excel(path, sheet_name=sheet, header=None, dtype=str, nrows=max_scan, engine=ENGINE)
    want = {e.lower() for e in expected}
    for i, row in raw.iterrows():
        cells = {str(v).strip().lower() for v in row.tolist() if pd.notna(v)}
        if want <= cells:
            df = pd.read_excel(path, sheet_name=sheet, header=i, dtype=str, engine=ENGINE)
            df.columns = [str(c).strip() for c in df.columns]
            return df.dropna(how="all")
    raise SourceError(f"{path} [{sheet}]: no header row with columns {', '.join(expected)} in the first "
                      f"{max_scan} rows")


def to_number(values: pd.Series, file: Path | str, column: str) -> tuple[pd.Series, pd.Series]:
    """Numbers from text: returns (numbers, suppressed flag). Unreadable text is an error that
    names the file, column and first offending rows."""
    s = values.astype("string").str.strip()
    low = s.str.lower()
    suppressed = low.isin(SUPPRESSION_MARKERS) | (s == "") | s.isna()
    cleaned = s.str.replace(r"(?<=\d),(?=\d{3}\b)", "", regex=True).str.replace("%", "", regex=False)
    cleaned = cleaned.str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    nums = pd.to_numeric(cleaned.where(~suppressed), errors="coerce")
    bad = nums.isna() & ~suppressed
    if bad.any():
        rows = list(values.index[bad][:5])
        examples = ", ".join(f"row {r + 2}: {values.loc[r]!r}" for r in rows)
        raise SourceError(f"{file}: column '{column}' expected numbers (or a suppression marker such as *), "
                          f"found {int(bad.sum())} unreadable value(s): {examples}")
    return nums.astype(float), suppressed.fillna(True).astype(bool)


def require_columns(df: pd.DataFrame, needed: list[str], file: Path | str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise SourceError(f"{file}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, df.columns[:15]))}")


def month_start(values: pd.Series, file: Path | str, column: str, formats: tuple[str, ...]) -> pd.Series:
    """Dates (any of ``formats``) as first-of-month timestamps; unreadable dates are an error."""
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for fmt in formats:
        parsed = pd.to_datetime(values, format=fmt, errors="coerce")
        out = out.fillna(parsed)
    bad = out.isna()
    if bad.any():
        r = values.index[bad][0]
        raise SourceError(f"{file}: column '{column}' row {r + 2}: expected a date like "
                          f"{' or '.join(formats)}, found {values.loc[r]!r}")
    return out.dt.to_period("M").dt.to_timestamp()


def clean_code(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().str.upper()

