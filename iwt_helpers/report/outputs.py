"""Report-set files besides the notebooks: tables.xlsx, index pages and the manifest."""

from __future__ import annotations

import html
import json
import re
import string
from pathlib import Path

import nbformat

from iwt_helpers import IWT_MIME, SYNTHETIC_LABEL, atomic
from iwt_helpers.data import disclosure


def collect(nb: nbformat.NotebookNode) -> dict:
    """Key tables, headline figures and caveats a notebook emitted."""
    found = {"tables": [], "headlines": [], "caveats": []}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            payload = o.get("data", {}).get(IWT_MIME) or {}
            kind = payload.get("kind")
            if kind in ("table", "headline"):
                found[f"{kind}s"].append(payload)
            elif kind == "caveats":
                found["caveats"].extend(payload.get("notes", []))
    return found


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
        # openpyxl's write-only mode streams rows straight to the file.
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


# The ICB and run index pages: title and body go into $title and $body.
PAGE = string.Template((Path(__file__).resolve().parent / "templates" / "index_page.html").read_text(encoding="utf-8"))


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
    return atomic.write_text(dest, PAGE.substitute(title=f"iwt: {html.escape(icb_label)}", body="\n".join(parts)))


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
    return atomic.write_text(dest, PAGE.substitute(title="iwt report set", body="\n".join(parts)))


def read_manifest(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def write_manifest(path: Path, manifest: dict) -> Path:
    return atomic.write_text(path, json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
