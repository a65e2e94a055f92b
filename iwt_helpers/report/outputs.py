"""Report-set files besides the notebooks: tables.xlsx, index pages and the manifest."""

from __future__ import annotations

import html
import json
import string
from pathlib import Path
from typing import TYPE_CHECKING

from iwt_helpers import IWT_MIME, SYNTHETIC_LABEL, atomic

if TYPE_CHECKING:
    import nbformat


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """A run notebook, as version 4. nbformat is imported here, not at the top: with jsonschema's format
    checkers it takes one to three seconds, which only what reads a notebook should pay."""
    import nbformat

    return nbformat.read(path, as_version=4)


def collect(nb: nbformat.NotebookNode) -> dict:
    """Key tables, headline figures and caveats a notebook emitted."""
    found = {"tables": [], "headlines": [], "caveats": [], "measures": [], "report": {}}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            payload = o.get("data", {}).get(IWT_MIME) or {}
            kind = payload.get("kind")
            if kind in ("table", "headline"):
                found[f"{kind}s"].append(payload)
            elif kind == "measures":                # registered figures an item shows (measures.csv)
                found["measures"].append(payload)
            elif kind == "caveats":
                found["caveats"].extend(payload.get("notes", []))
            elif kind == "report":                 # what the notebook says of itself: ICB, region, synthetic
                found["report"] = payload
    return found


# The ICB and run index pages: title and body go into $title and $body.
PAGE = string.Template((Path(__file__).resolve().parent / "templates" / "index_page.html").read_text(encoding="utf-8"))


def _footer(run: dict | None) -> str:
    from .export import run_footer
    return run_footer(run)


# Words a headline's name has only beside the theme's other cards ("Not included above: adult social
# care ...", after the card of the real sectors), and a status its list already gives: listed on its own
# under "Demonstration figures", a synthetic figure is named as a figure in its own right.
BESIDE_OTHERS = {"Not included above: ": "Workforce in "}
STATUS_SUFFIXES = (" (synthetic demonstration data)", " (synthetic)")


def own_name(name: str) -> str:
    """A synthetic headline's name as its own figure: 'Not included above: adult social care (September
    2024) (synthetic demonstration data)' -> 'Workforce in adult social care (September 2024)'."""
    for before, after in BESIDE_OTHERS.items():
        if name.startswith(before):
            name = after + name[len(before):]
    for suffix in STATUS_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name[:1].upper() + name[1:]


def icb_index(dest: Path, icb_label: str, entries: list[dict], synthetic: bool, run: dict | None = None,
              places: list[tuple[str, str, str]] | None = None, up: str | None = None) -> Path:
    """An ICB's (or a place's) index page: its reports with their headlines, and links to its places'
    own pages (``places``: link, label, status); ``up``: the links above it (HTML)."""
    parts = [f"<h1>iwt reports: {html.escape(icb_label)}</h1>"]
    if synthetic:
        parts.append('<p class="synthetic">Synthetic demonstration data in some or all figures, which are not real figures '
                     'for any ICB: each figure below says whether it is real, synthetic or both.</p>')
    links = up or '<a href="../index.html">All ICBs</a>'
    parts.append(f'<p>{links} &middot; <a href="tables.xlsx">Key tables (Excel)</a></p>')
    for e in entries:
        status = '<span class="ok">complete</span>' if e["status"] == "ok" else '<span class="failed">FAILED</span>'
        parts.append(f'<h2><a href="{html.escape(e["theme"])}.html">{html.escape(e["title"])}</a> ({status})</h2>')
        if e["status"] != "ok":
            parts.append(f"<p>Error: <code>{html.escape(e.get('error') or '')}</code></p>")
        heads = e.get("headlines", [])
        made_up = [h for h in heads if (h.get("provenance") or {}).get("status") == "synthetic"]
        for h in heads:
            if any(h is m for m in made_up):
                continue
            prov = h.get("provenance") or {}
            tag = {"real": f"measured, {prov.get('period', '')}", "projection": f"projection, {prov.get('period', '')}",
                   "modelled": f"modelled by iwt, {prov.get('period', '')}", "synthetic": "SYNTHETIC",
                   "mixed": "partly SYNTHETIC: real and synthetic parts"}.get(prov.get("status"), "source not recorded")
            parts.append(f'<div class="headline"><div>{html.escape(h["name"])}</div><div class="v">{html.escape(h["text"])}</div>'
                         f'<div class="p{" syn" if prov.get("status") in ("synthetic", "mixed") else ""}">{html.escape(tag)}</div></div>')
        if made_up and len(made_up) < len(heads):
            # beside real headlines, a synthetic figure is no headline: listed plainly under its own heading
            parts.append('<h3 class="demo">Demonstration figures (synthetic: not figures for this ICB, no finding drawn)</h3>'
                         '<ul class="demo">' + "".join(
                             f'<li>{html.escape(own_name(h["name"]))}: {html.escape(h["text"])} (SYNTHETIC)</li>' for h in made_up)
                         + "</ul>")
        elif made_up:                       # every headline synthetic (the demonstration set): shown as before, tagged
            for h in made_up:
                parts.append(f'<div class="headline"><div>{html.escape(h["name"])}</div><div class="v">'
                             f'{html.escape(h["text"])}</div><div class="p syn">SYNTHETIC</div></div>')
    if places:
        parts.append("<h2>Places</h2><ul>" + "".join(
            f'<li><a href="{html.escape(link)}">{html.escape(name)}</a>'
            f'{"" if status == "ok" else " <span class=failed>FAILED</span>"}</li>' for link, name, status in places) + "</ul>")
    parts.append(_footer(run))
    return atomic.write_text(dest, PAGE.substitute(title=f"iwt: {html.escape(icb_label)}", body="\n".join(parts)))


def top_index(dest: Path, rows: list[dict], synthetic: bool, run: dict | None = None, partly: bool = False) -> Path:
    """The run's index page. ``synthetic``: some report shows synthetic figures; ``partly``: every such
    report stands on a data folder and only part of it is synthetic (each report says which part)."""
    parts = ["<h1>iwt report set</h1>"]
    if synthetic and partly:
        parts.append('<p class="synthetic">Part of each report is synthetic demonstration data, where the data folder '
                     'lacks a source: each report, table and chart says which figures are real and which synthetic.</p>')
    elif synthetic:
        parts.append(f'<p class="synthetic">{html.escape(SYNTHETIC_LABEL)}</p>')
    parts.append("<table><tr><th>ICB</th><th>Code</th><th>Region</th><th>Themes</th><th>Place reports</th><th>Status</th></tr>")
    for r in rows:
        status = '<span class="ok">complete</span>' if r["failed"] == 0 else f'<span class="failed">{r["failed"]} failed</span>'
        parts.append(f'<tr><td><a href="{r["icb_code"]}/index.html">{html.escape(r["name"])}</a></td>'
                     f'<td>{r["icb_code"]}</td><td>{html.escape(r["region"])}</td><td>{r["themes"]}</td><td>{r.get("places") or ""}</td>'
                     f'<td>{status}</td></tr>')
    parts.append("</table>")
    parts.append(_footer(run))
    return atomic.write_text(dest, PAGE.substitute(title="iwt report set", body="\n".join(parts)))


def read_json(path: Path) -> dict:          # a report's record or the manifest; {} if missing or unreadable
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return {}


def write_json(path: Path, data: dict) -> Path:
    return atomic.write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


# measures.csv: one row per registered figure shown, and where (analysis.measures: one figure per
# measure, ICB and period, so the rows of one measure, ICB and period agree on their value).
MEASURE_COLUMNS = ["measure", "icb_code", "period", "value", "text", "status", "theme", "shown_in", "item", "name",
                   "column", "page", "sheet", "label", "scope", "source"]


def measure_rows(per_theme: dict[str, dict], sheets: dict[tuple[str, str], str] | None = None) -> list[dict]:
    """The registered figures each theme's report shows, one row each with where it is shown: the page
    (the theme's HTML; the ICB's index page for a headline, which is shown there), the item and column,
    and the tables.xlsx sheet of a key table (``sheets``: (theme, key) -> sheet name)."""
    out = []
    for theme, found in per_theme.items():
        for p in found.get("measures", []):
            page = "index.html" if p["item"] == "headline" else f"{theme}.html"
            sheet = (sheets or {}).get((theme, p.get("key") or ""), "")
            for r in p["rows"]:
                where = {"table": "table", "headline": "index card", "figure": "chart"}[p["item"]]
                shown = f"{page}: {where} '{p['name']}'" + (f", column '{r['column']}'" if r.get("column") else "")
                out.append({**{c: r.get(c, "") for c in ("measure", "icb_code", "period", "value", "text", "status",
                                                          "label", "scope", "source", "column")},
                            "theme": theme, "shown_in": shown + (f"; tables.xlsx sheet {sheet}" if sheet else ""),
                            "item": p["item"], "name": p["name"], "page": page, "sheet": sheet})
    return out


def write_measures(dest: Path, rows: list[dict]) -> Path:
    """``measures.csv``: the rows of :func:`measure_rows` (columns MEASURE_COLUMNS)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=MEASURE_COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in MEASURE_COLUMNS})
    return atomic.write_text(dest, buf.getvalue())
