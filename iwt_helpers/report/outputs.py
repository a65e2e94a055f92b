"""Report-set files besides the notebooks: tables.xlsx, index pages and the manifest."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat

from iwt_helpers import IWT_MIME, SYNTHETIC_LABEL, atomic
from iwt_helpers.data import disclosure


def collect(nb: nbformat.NotebookNode) -> dict:
    """Key tables, headline figures and caveats a notebook emitted."""
    found = {"tables": [], "headlines": [], "caveats": []}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            payload = o.get("data", {}).get(IWT_MIME)
            if not payload:
                continue
            kind = payload.get("kind")
            if kind == "table":
                found["tables"].append(payload)
            elif kind == "headline":
                found["headlines"].append(payload)
            elif kind == "caveats":
                found["caveats"].extend(payload.get("notes", []))
    return found


def warm_up() -> None:
    """Import and exercise the Excel writer now (about 0.15 s) rather than with the first ICB."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        write_tables_xlsx(Path(tmp) / "warm-up.xlsx", "warm-up", {"t": {"tables": [
            {"name": "t", "caption": "c", "table": {"columns": ["a"], "data": [[1]]}}]}}, True)


def _sheet_name(theme: str, name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", f"{theme[:10]}-{name}")[:31]
    candidate, k = base, 2
    while candidate.lower() in used:
        suffix = f"~{k}"
        candidate, k = base[: 31 - len(suffix)] + suffix, k + 1
    used.add(candidate.lower())
    return candidate


def write_tables_xlsx(dest: Path, icb_label: str, per_theme: dict[str, dict], synthetic: bool) -> Path:
    """One sheet per key table of each theme, plus a notes sheet (sources, caveats, suppression)."""
    cfg = disclosure.settings()
    notes = [("Report", f"iwt key tables for {icb_label}")]
    if synthetic:
        notes.append(("Data", SYNTHETIC_LABEL))
    notes.append(("Suppression", f"Counts of 1 to {cfg['min_count'] - 1} people are suppressed (blank) in every table."))
    for theme, found in per_theme.items():
        for n in dict.fromkeys(found.get("caveats", [])):
            notes.append((f"Caveat ({theme})", re.sub(r"\*\*", "", n)))

    def write(tmp: Path) -> None:
        # openpyxl's write-only mode streams rows straight to the file: about five times
        # faster than going through pandas' ExcelWriter, which matters over 42 ICBs.
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        wb = Workbook(write_only=True)
        bold, title_font, red = Font(bold=True), Font(bold=True, size=12), Font(bold=True, color="DA291C")

        def sheet(name: str):
            ws = wb.create_sheet(name)
            ws.column_dimensions["A"].width = 34
            for col in "BCDEFGH":
                ws.column_dimensions[col].width = 18
            return ws

        def styled(ws, value, font):
            c = WriteOnlyCell(ws, value=value)
            c.font = font
            return c

        ws = sheet("notes")
        ws.append([styled(ws, "item", bold), styled(ws, "note", bold)])
        for item, note in notes:
            ws.append([item, note])
        used: set[str] = {"notes"}
        for theme, found in per_theme.items():
            for t in found.get("tables", []):
                ws = sheet(_sheet_name(theme, t["name"], used))
                ws.append([styled(ws, t.get("caption") or t["name"], title_font)])
                ws.append([styled(ws, SYNTHETIC_LABEL, red)] if synthetic else [])
                ws.append([])
                ws.append([styled(ws, str(c), bold) for c in t["table"]["columns"]])
                for row in t["table"]["data"]:
                    ws.append(row)
        wb.save(tmp)

    return atomic.write_with(dest, write, suffix=".xlsx")


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: Arial, Helvetica, sans-serif; margin: 24px 40px; color: #231F20; }}
h1 {{ color: #003087; }} h2 {{ color: #005EB8; }}
table {{ border-collapse: collapse; margin: 8px 0 20px 0; }}
th, td {{ border-bottom: 1px solid #E8EDEE; padding: 6px 12px; text-align: left; }}
th {{ background: #005EB8; color: #fff; }}
.ok {{ color: #009639; font-weight: bold; }} .failed {{ color: #DA291C; font-weight: bold; }}
.synthetic {{ border: 2px solid #DA291C; background: #FDECEA; color: #8A1538; padding: 6px 10px; font-weight: bold; }}
.headline {{ display: inline-block; border-left: 6px solid #005EB8; background: #F0F4F5; padding: 8px 14px; margin: 4px 8px 4px 0; }}
.headline .v {{ font-size: 20px; font-weight: bold; color: #003087; }}
</style></head><body>{body}</body></html>
"""


def icb_index(dest: Path, icb_label: str, entries: list[dict], synthetic: bool) -> Path:
    parts = [f"<h1>iwt reports: {html.escape(icb_label)}</h1>"]
    if synthetic:
        parts.append(f'<p class="synthetic">{html.escape(SYNTHETIC_LABEL)}</p>')
    parts.append('<p><a href="../index.html">All ICBs</a> &middot; <a href="tables.xlsx">Key tables (Excel)</a></p>')
    for e in entries:
        status = '<span class="ok">complete</span>' if e["status"] == "ok" else '<span class="failed">FAILED</span>'
        parts.append(f'<h2><a href="{html.escape(e["theme"])}.html">{html.escape(e["title"])}</a> ({status})</h2>')
        if e["status"] != "ok":
            parts.append(f"<p>Error: <code>{html.escape(e.get('error') or '')}</code></p>")
        for h in e.get("headlines", []):
            parts.append(f'<div class="headline"><div>{html.escape(h["name"])}</div><div class="v">{html.escape(h["text"])}</div></div>')
    return atomic.write_text(dest, PAGE.format(title=f"iwt: {html.escape(icb_label)}", body="\n".join(parts)))


def top_index(dest: Path, rows: list[dict], synthetic: bool) -> Path:
    parts = ["<h1>iwt report set</h1>"]
    if synthetic:
        parts.append(f'<p class="synthetic">{html.escape(SYNTHETIC_LABEL)}</p>')
    parts.append("<table><tr><th>ICB</th><th>Code</th><th>Region</th><th>Themes</th><th>Status</th></tr>")
    for r in rows:
        status = '<span class="ok">complete</span>' if r["failed"] == 0 else f'<span class="failed">{r["failed"]} failed</span>'
        parts.append(f'<tr><td><a href="{r["icb_code"]}/index.html">{html.escape(r["name"])}</a></td>'
                     f'<td>{r["icb_code"]}</td><td>{html.escape(r["region"])}</td><td>{r["themes"]}</td><td>{status}</td></tr>')
    parts.append("</table>")
    return atomic.write_text(dest, PAGE.format(title="iwt report set", body="\n".join(parts)))


def read_manifest(path: Path) -> dict:
    if path.exists():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return {}
    return {}


def write_manifest(path: Path, manifest: dict) -> Path:
    return atomic.write_text(path, json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
