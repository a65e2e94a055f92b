"""``tables.xlsx``: one sheet per key table, each saying its own source, period and whether it is
real, synthetic or a mix, plus a notes sheet; board-grade formatting (frozen header row, column
widths, numbers as numbers with rounded display formats, dates as dates, every text as text, never
a formula)."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from iwt_helpers import SYNTHETIC_LABEL, atomic
from iwt_helpers.data import disclosure

from .items import STATUS_TEXT

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T00:00:00(\.000)?)?$")
RED, GREY = "DA291C", "425563"


def sheet_name(theme: str, name: str, used: set[str]) -> str:
    """A unique Excel sheet name (31 characters, no []:*?/\\) for a theme's key table."""
    base = re.sub(r"[\[\]:*?/\\]", "_", f"{theme[:10]}-{name}")[:31]
    candidate, k = base, 2
    while candidate.lower() in used:
        suffix = f"~{k}"
        candidate, k = base[: 31 - len(suffix)] + suffix, k + 1
    used.add(candidate.lower())
    return candidate


def cell_value(value):
    """What a cell holds: numbers and dates stay so, ISO date text becomes a date, anything else is text."""
    if value is None or isinstance(value, bool | int | float | date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return datetime.strptime(value[:10], "%Y-%m-%d").date()
    return str(value)


def number_format(values: list) -> str:
    """A display format for a column: whole numbers with thousands separators, else two decimals."""
    nums = [v for v in values if isinstance(v, float | int) and not isinstance(v, bool)]
    if any(isinstance(v, date) for v in values):
        return "mmm yyyy"
    if nums and all(float(v).is_integer() and 1990 <= v <= 2100 for v in nums):
        return "0"                     # years, not thousands
    if nums and (all(float(v).is_integer() for v in nums) or max(abs(v) for v in nums) >= 1000):
        return "#,##0"                 # counts, and anything in the thousands, to the whole number
    return "#,##0.00" if nums else "@"


def provenance_line(prov: dict | None) -> tuple[str, bool]:
    """The sheet's provenance line, and whether it is (partly) synthetic."""
    if not prov:
        return "About the data used in this report (what each source covers), not a measure of the workforce.", False
    status = STATUS_TEXT.get(prov.get("status"), prov.get("status", ""))
    detail = f" ({prov['detail']})" if prov.get("detail") else ""
    return (f"Source: {prov.get('source') or 'not stated'}. Period: {prov.get('period') or 'not stated'}. "
            f"Status: {status}{detail}.", prov.get("status") in ("synthetic", "mixed"))


def write_tables(dest: Path, icb_label: str, per_theme: dict[str, dict]) -> Path:
    """One sheet per key table of each theme (its provenance under the title), plus a notes sheet."""
    cfg = disclosure.settings()
    tables = [(theme, t) for theme, found in per_theme.items() for t in found.get("tables", [])]
    synthetic = [t["name"] for _, t in tables if (t.get("provenance") or {}).get("status") in ("synthetic", "mixed")]
    notes = [("Report", f"iwt key tables for {icb_label}")]
    if synthetic:
        notes.append(("Data", f"{SYNTHETIC_LABEL}: wholly or partly in {len(synthetic)} of {len(tables)} tables "
                              "(each sheet says which, under its title)"))
    notes.append(("Suppression", f"Counts of 1 to {cfg['min_count'] - 1} people are suppressed: shown as "
                                 f"{cfg['marker']} in the reports and left blank here; 'not available' means "
                                 "the data used have no figure."))
    for theme, found in per_theme.items():
        for n in dict.fromkeys(found.get("caveats", [])):
            notes.append((f"Caveat ({theme})", re.sub(r"\*\*", "", n)))

    def write(tmp: Path) -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Alignment, Font
        from openpyxl.utils import get_column_letter

        wb = Workbook(write_only=True)

        def cell(ws, value, font=None, fmt=None, wrap=False):
            c = WriteOnlyCell(ws, value=cell_value(value))
            if isinstance(c.value, str):
                c.data_type = "s"            # text stays text: a value starting with = is not a formula
            if font:
                c.font = font
            if fmt:
                c.number_format = fmt
            if wrap:
                c.alignment = Alignment(wrap_text=True, vertical="top")
            return c

        ws = wb.create_sheet("notes")
        ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 22, 110
        ws.freeze_panes = "A2"
        ws.append([cell(ws, "Item", Font(bold=True)), cell(ws, "Note", Font(bold=True))])
        for item, note in notes:
            ws.append([cell(ws, item), cell(ws, note, wrap=True)])
        used: set[str] = {"notes"}
        for theme, t in tables:
            ws = wb.create_sheet(sheet_name(theme, t["name"], used))
            columns, rows = t["table"]["columns"], t["table"]["data"]
            values = [[cell_value(v) for v in r] for r in rows]
            for i, col in enumerate(columns):
                longest = max([len(str(col))] + [len(str(r[i])) for r in values[:200]])
                ws.column_dimensions[get_column_letter(i + 1)].width = min(60, max(10, longest + 2))
            ws.freeze_panes = "A5"           # title, provenance, blank line, header row stay in view
            line, partly_synthetic = provenance_line(t.get("provenance"))
            ws.append([cell(ws, t.get("caption") or t["name"], Font(bold=True, size=12))])
            ws.append([cell(ws, line, Font(bold=partly_synthetic, color=RED if partly_synthetic else GREY))])
            ws.append([])
            ws.append([cell(ws, c, Font(bold=True), wrap=True) for c in columns])
            formats = [number_format([r[i] for r in values]) for i in range(len(columns))]
            for r in values:
                ws.append([cell(ws, v, fmt=f) for v, f in zip(r, formats)])
        wb.save(tmp)

    return atomic.write_with(dest, write, suffix=".xlsx")
