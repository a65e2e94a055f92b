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
WRAP_WIDTH = 40          # a column of longer text wraps at this width (characters), its rows made tall enough
LONG_TEXT_WIDTH = 90     # a column of long text (sources, reasoning) is widened up to this, so its rows stay short
PRINT_WIDTH = 220        # the most a sheet's columns add up to (characters) before long-text columns give way
LONG_TABLE_ROWS = 300    # a table longer than this is data for analysis: one line a row, never wrapped
# Wrapped text as LibreOffice Calc and Excel lay it out in the default font: a column of width w (in widths of
# "0") holds about 1.2 w characters of ordinary text a line (measured on LibreOffice's PDF; Excel's are
# a little wider), each line about 14.5 points tall.
CHARS_PER_WIDTH, LINE_PT, MAX_ROW_PT = 1.2, 14.5, 409
FOOTER_LINE, FOOTER_LINES = 110, 2     # the footer's text: lines short enough to stay clear of the page number


THEME_ABBREVIATIONS = {"data": "data", "readiness": "rdy", "governance_metrics": "gov", "case_studies": "cases",
                       "scenarios": "scen"}


def sheet_name(theme: str, name: str, used: set[str]) -> str:
    """A unique Excel sheet name for a theme's key table, by one rule: the table's key (every key
    is at most 31 characters, Excel's limit; a test holds the themes to it); a key that two themes
    share gets the second one's short theme name after it (``..._gov``)."""
    base = re.sub(r"[\[\]:*?/\\]", "_", name)
    candidate = base[:31]
    if candidate.lower() in used:
        abbr = THEME_ABBREVIATIONS.get(theme, theme[:5])
        candidate = f"{base[:30 - len(abbr)]}_{abbr}"
        k = 2
        while candidate.lower() in used:
            candidate, k = f"{base[:28 - len(abbr)]}_{abbr}{k}", k + 1
    used.add(candidate.lower())
    return candidate


def sheet_names(per_theme: dict[str, dict]) -> dict[tuple[str, str], str]:
    """(theme, key) -> the sheet :func:`write_tables` gives each theme's key table (its first, where a
    theme emits one key twice)."""
    used: set[str] = set()
    out: dict[tuple[str, str], str] = {}
    for theme, found in per_theme.items():
        for t in found.get("tables", []):
            out.setdefault((theme, t["name"]), sheet_name(theme, t["name"], used))
    return out


MEASURE_SHEET = "measures"
MEASURE_HEADERS = {"measure": "Measure", "label": "What it counts", "icb_code": "ICB", "period": "Period", "value": "Value",
                   "status": "Status", "theme": "Theme", "shown_in": "Shown in", "scope": "Scope", "source": "Source"}


def cell_value(value):
    """What a cell holds: numbers and dates stay so, ISO date text becomes a date, anything else is text."""
    if value is None or isinstance(value, bool | int | float | date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return datetime.strptime(value[:10], "%Y-%m-%d").date()
    return str(value)


_NUMBER_TEXT = re.compile(r"^[-+]?\d+(\.\d+)?$")
_MONTH_TEXT = re.compile(r"^\d{4}-\d{2}$")


def typed_column(values: list, column: str) -> list:
    """A column's cells as the type they are: text that is wholly numbers (readiness scores, years) becomes
    numbers and text that is wholly ISO months or dates becomes dates, unless the column holds codes."""
    texts = [v for v in values if isinstance(v, str) and v != ""]
    if not texts or len(texts) != len([v for v in values if v is not None and v != ""]) or "code" in column.lower():
        return values
    if all(_NUMBER_TEXT.match(v) for v in texts):
        return [(float(v) if "." in v else int(v)) if isinstance(v, str) and v else v for v in values]
    if all(_MONTH_TEXT.match(v) or _ISO_DATE.match(v) for v in texts):
        return [datetime.strptime(v[:7] + "-01" if _MONTH_TEXT.match(v) else v[:10], "%Y-%m-%d").date()
                if isinstance(v, str) and v else v for v in values]
    return values


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
    """The sheet's provenance line for its printed footer (status and period first: a long source list
    is what gets cut at Excel's 255 characters, never the status), and whether it is (partly) synthetic."""
    if not prov:
        return "About the data used in this report (what each source covers), not a measure of the workforce.", False
    status = STATUS_TEXT.get(prov.get("status"), prov.get("status", ""))
    return (f"Status: {status}. Period: {prov.get('period') or 'not stated'}. Source: {prov.get('source') or 'not stated'}.",
            prov.get("status") in ("synthetic", "mixed"))


def _escape_hf(text: str, limit: int = 240) -> str:
    """Text for an Excel page header or footer: '&' doubled (it starts a code there), at most
    ``limit`` characters (Excel's limit for a header or footer section is 255)."""
    text = text.replace("&", "&&")
    return text if len(text) <= limit else text[: limit - 40].rsplit(" ", 1)[0] + " ... (in full on the contents sheet)"


def footer_lines(text: str, width: int = FOOTER_LINE, lines: int = FOOTER_LINES) -> str:
    """A printed footer's text in at most ``lines`` lines of at most ``width`` characters, broken by hand:
    a section's text runs across the whole page in LibreOffice, so a long line would run into the page
    number at the right. What does not fit ends '... (in full on the contents sheet)'."""
    import textwrap
    more = " ... (in full on the contents sheet)"
    wrapped = textwrap.wrap(text, width)
    if len(wrapped) > lines:
        wrapped = textwrap.wrap(" ".join(wrapped)[: width * lines - len(more) - 2].rsplit(" ", 1)[0] + more, width)[:lines]
    return "\n".join(w.replace("&", "&&") for w in wrapped)


def _wrapped_lines(text: str, width: int) -> int:
    import textwrap
    return sum(max(1, len(textwrap.wrap(part, width) or [""])) for part in str(text).split("\n"))


def _chars_a_line(width: float) -> int:
    return max(1, int(width * CHARS_PER_WIDTH) - 1)


def column_widths(columns: list, values: list[list]) -> tuple[list[float], tuple[int, ...]]:
    """Each column's width and the columns that wrap: short text at its length (at least 10); longer text
    wraps at 40, widened towards 90 the longer its cells are, so a source or a reasoning is a few lines and
    not a tall narrow strip; the long-text columns give way again where the sheet would grow wider than
    ``PRINT_WIDTH``. A table longer than ``LONG_TABLE_ROWS`` is never wrapped (one line a row)."""
    sample = values[:400]
    longest = [max([len(str(c)) // 2] + [len(str(r[i])) for r in sample]) for i, c in enumerate(columns)]
    long_rows = len(values) > LONG_TABLE_ROWS
    widths, wrap = [], []
    for i, n in enumerate(longest):
        if n + 2 <= WRAP_WIDTH:
            widths.append(max(10, n + 2))
        elif long_rows:
            widths.append(min(LONG_TEXT_WIDTH, n / CHARS_PER_WIDTH + 3))
        else:
            widths.append(min(LONG_TEXT_WIDTH, max(WRAP_WIDTH, (n / 4) ** 0.5 * 8)))
            wrap.append(i)
    excess = sum(widths) - PRINT_WIDTH
    if excess > 0 and wrap:
        room = sum(widths[i] - WRAP_WIDTH for i in wrap)
        for i in wrap:
            widths[i] -= min(excess, room) * (widths[i] - WRAP_WIDTH) / room if room else 0
    return [round(w, 1) for w in widths], tuple(wrap)


def _notes(icb_label: str, per_theme: dict[str, dict], tables: list, run: dict) -> list[tuple[str, str]]:
    """The notes sheet's rows: the run, whether any table is synthetic, the suppression rule, the caveats."""
    cfg = disclosure.settings()
    synthetic = [t["name"] for _, t in tables if (t.get("provenance") or {}).get("status") in ("synthetic", "mixed")]
    notes = [("Report", f"iwt key tables for {icb_label}")]
    for key, label in (("generated", "Run date"), ("version", "iwt version"), ("commit", "Git commit"), ("data", "Data folder")):
        if run.get(key):
            notes.append((label, str(run[key])))
    if synthetic:
        notes.append(("Data", f"{SYNTHETIC_LABEL}: wholly or partly in {len(synthetic)} of {len(tables)} tables "
                              "(the contents sheet says which)"))
    notes.append(("Suppression", f"Counts of 1 to {cfg['min_count'] - 1} people are suppressed: shown as "
                                 f"{cfg['marker']} in the reports and left blank here; 'not available' means "
                                 "the data used have no figure."))
    for theme, found in per_theme.items():
        for n in dict.fromkeys(found.get("caveats", [])):
            notes.append((f"Caveat ({theme})", re.sub(r"\*\*", "", n)))
    return notes


def _fit_rows(ws, header: list[str], widths: list[float], wrap_cols: tuple[int, ...]) -> None:
    """Header and body rows tall enough for their wrapped text (LibreOffice Calc does not grow them)."""
    from openpyxl.styles import Alignment
    hdr_lines = max(_wrapped_lines(h, max(1, int(w) - 1)) for h, w in zip(header, widths))   # bold: no wider
    ws.row_dimensions[1].height = min(MAX_ROW_PT, LINE_PT * hdr_lines + 3)
    if not wrap_cols:
        return
    top, wrap = Alignment(vertical="top"), Alignment(wrap_text=True, vertical="top")
    for r in range(2, ws.max_row + 1):
        lines = 1
        for j in range(len(header)):
            c = ws.cell(row=r, column=j + 1)
            if j in wrap_cols:
                c.alignment = wrap
                lines = max(lines, _wrapped_lines(c.value or "", _chars_a_line(widths[j])))
            else:
                c.alignment = top
        ws.row_dimensions[r].height = min(MAX_ROW_PT, LINE_PT * lines + 3)


def _page_setup(ws, page_title: str, page_foot: str, red: bool) -> None:
    """Landscape A4, one page wide, header row repeated, title and source in the page header and footer."""
    ws.freeze_panes = "A2"
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = False
    ws.oddHeader.left.text = _escape_hf(page_title)
    ws.oddHeader.left.size, ws.oddHeader.left.font = 10, "Arial,Bold"
    ws.oddFooter.left.text = footer_lines(page_foot)
    ws.oddFooter.left.size = 8
    if red:
        ws.oddFooter.left.color = RED
    ws.oddFooter.right.text = "Page &P of &N"


def _add_sheet(wb, title: str, header: list[str], rows: list[list], widths: list[float], page_title: str,
               page_foot: str, red: bool = False, wrap_cols: tuple[int, ...] = ()):
    """A sheet holding one Excel table (header in row 1, filters), its text stored as text, never formula."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    ws = wb.create_sheet(title)
    ws.append([str(h) for h in header])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, r in enumerate(rows, start=ws.max_row + 1):
        ws.append(r)
        for j, v in enumerate(r, start=1):      # the row's own cells (ws[ws.max_row] scans the whole sheet each row)
            if isinstance(v, str):
                ws.cell(row=i, column=j).data_type = "s"     # text stays text: a value starting with = is not a formula
    for i, w in enumerate(widths):
        ws.column_dimensions[get_column_letter(i + 1)].width = w
    _fit_rows(ws, header, widths, wrap_cols)
    ref = f"A1:{get_column_letter(len(header))}{max(ws.max_row, 2)}"
    if ws.max_row == 1:
        ws.append([None] * len(header))
    display = re.sub(r"[^A-Za-z0-9_]", "_", title)
    table = Table(displayName=f"t_{display}"[:250], ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(table)
    _page_setup(ws, page_title, page_foot, red)
    return ws


def _add_table_sheet(wb, name: str, t: dict, line: str, partly_synthetic: bool) -> None:
    """One key table as its own sheet, each column typed and number-formatted."""
    columns, rows = t["table"]["columns"], t["table"]["data"]
    cols = [typed_column([cell_value(r[i]) for r in rows], str(c)) for i, c in enumerate(columns)]
    values = [list(r) for r in zip(*cols)] if cols and rows else []
    widths, wrap = column_widths(columns, values)
    ws = _add_sheet(wb, name, [str(c) for c in columns], values, widths, t.get("caption") or t["name"], line,
                    red=partly_synthetic, wrap_cols=wrap)
    for i in range(len(columns)):
        fmt = number_format([r[i] for r in values])
        if fmt != "@":
            for r in range(2, len(values) + 2):
                ws.cell(row=r, column=i + 1).number_format = fmt


def write_tables(dest: Path, icb_label: str, per_theme: dict[str, dict], run: dict | None = None,
                 measures: list[dict] | None = None) -> Path:
    """One sheet per key table of each theme, its header in the first row as an Excel table with
    filters (so ``pandas.read_excel(path, sheet_name=None)`` gives every table as it is), its title
    and source in the printed page header and footer and on the contents sheet; a notes sheet with the
    run (date, iwt version, git commit, data folder), the suppression rule and the caveats. Every sheet
    prints landscape, one page wide, its header row repeated. ``run``: what the runner knows of the
    run (``generated`` ISO time, ``version``, ``commit``, ``data``); the workbook's own created and
    modified times are the run's, so two runs differ only where the run does. ``measures`` (the rows of
    ``measures.csv``, one per registered figure shown): a sheet after the contents listing each figure
    with where it is shown."""
    run = run or {}
    tables = [(theme, t) for theme, found in per_theme.items() for t in found.get("tables", [])]
    notes = _notes(icb_label, per_theme, tables, run)

    def write(tmp: Path) -> None:
        from openpyxl import Workbook

        wb = Workbook()
        wb.remove(wb.active)
        when = datetime.fromisoformat(run["generated"]) if run.get("generated") else datetime(2000, 1, 1)
        when = when.replace(tzinfo=None)
        wb.properties.created = wb.properties.modified = when
        wb.properties.creator = wb.properties.lastModifiedBy = "iwt"
        wb.properties.title = f"iwt key tables: {icb_label}"
        names: set[str] = {MEASURE_SHEET} if measures else set()
        contents, prepared = [], []
        for theme, t in tables:
            name = sheet_name(theme, t["name"], names)
            line, partly_synthetic = provenance_line(t.get("provenance"))
            prov = t.get("provenance") or {}
            contents.append([name, theme.replace("_", " "), t.get("caption") or t["name"], prov.get("source") or "",
                             prov.get("period") or "", STATUS_TEXT.get(prov.get("status"), prov.get("status") or "")
                             + (f" ({prov['detail']})" if prov.get("detail") else "")])
            prepared.append((name, t, line, partly_synthetic))
        item_width = max(22, min(32, 2 + max(len(i) for i, _ in notes)))      # 'Caveat (governance_metrics)' whole
        _add_sheet(wb, "notes", ["Item", "Note"], [[i, n] for i, n in notes], [item_width, 110], f"iwt key tables: {icb_label}",
                   "Notes: the run, the suppression rule and the caveats", wrap_cols=(0, 1))
        cwidths, cwrap = column_widths(["Sheet", "Theme", "Table", "Source", "Period", "Status"], contents)
        _add_sheet(wb, "contents", ["Sheet", "Theme", "Table", "Source", "Period", "Status"], contents,
                   cwidths, f"iwt key tables: {icb_label}: contents",
                   "Each sheet's table, source, period and status (real, synthetic or both)", wrap_cols=cwrap)
        if measures:
            mrows = [[cell_value(STATUS_TEXT.get(r.get(k), r.get(k)) if k == "status" else r.get(k))
                      for k in MEASURE_HEADERS] for r in measures]
            mwidths, mwrap = column_widths(list(MEASURE_HEADERS.values()), mrows)
            ws = _add_sheet(wb, MEASURE_SHEET, list(MEASURE_HEADERS.values()), mrows,
                            mwidths, f"iwt key tables: {icb_label}: measures",
                            "Each registered measure's figure for the ICB and period, and every place it is shown "
                            "(measures.csv)", wrap_cols=mwrap)
            for r in range(2, len(measures) + 2):
                ws.cell(row=r, column=5).number_format = "#,##0.00"
        for name, t, line, partly_synthetic in prepared:
            _add_table_sheet(wb, name, t, line, partly_synthetic)
        # openpyxl's save() stamps the workbook "modified" now; its ExcelWriter keeps the run's time.
        from zipfile import ZIP_DEFLATED, ZipFile

        from openpyxl.writer.excel import ExcelWriter
        ExcelWriter(wb, ZipFile(tmp, "w", ZIP_DEFLATED, allowZip64=True)).save()

    return atomic.write_with(dest, write, suffix=".xlsx")
