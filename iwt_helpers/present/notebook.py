"""Helpers that notebooks call to show things: headers, tables, key tables and headlines.

Key tables and headline figures are emitted as a private MIME type
(``application/vnd.iwt+json``) beside what the reader sees; the report runner collects them
for ``tables.xlsx`` and the index pages and removes them from the HTML. Every table shown or
emitted has small counts suppressed first.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import pandas as pd
from IPython.display import HTML, Markdown, display

from iwt_helpers import IWT_MIME, SYNTHETIC_LABEL, paths
from iwt_helpers.data import disclosure, geography
from iwt_helpers.data.datastore import Dataset

from . import caveats as caveat_file
from . import charts
from .items import STATUS_TEXT, Provenance, compact_sources


def setup() -> None:
    """Chart style and pandas display options for every theme notebook."""
    charts.use_style()
    pd.set_option("display.max_rows", 60)
    pd.set_option("display.max_columns", 30)


class RunParameters(Protocol):
    """What the title block needs of a theme's parameters (``analysis.params.ReportParams``)."""
    icb_code: str
    icb_name: str
    data_dir: object


def header(params: RunParameters, theme: str, ds: Dataset | None = None, synthetic: bool = True,
           synthetic_parts: list[str] | None = None, icb_code: str | None = None, place: str = "") -> None:
    """The report's title block, with the synthetic-data banner where it applies; ``icb_code``
    (default: the parameters' ICB) is the ICB an interactive notebook currently shows; ``place``
    (e.g. 'Bolton (00T)') names a place of the ICB the report is about."""
    icb = geography.resolve_icb(icb_code) if icb_code else params.icb_code
    name = geography.icb_name(icb) if icb_code else params.icb_name
    folder = ("embedded demonstration set" if params.data_dir is None else
              f"data folder {html.escape(str(params.data_dir.name))} (built from published files)")
    lines = [f"## {html.escape(place)}: a place in {name}" if place else f"## {name}",
             f"ICB **{icb}** &middot; NHS England region: {geography.region_name(icb)} &middot; "
             f"data: {folder}"]
    display(Markdown("\n\n".join(lines)))
    if synthetic:
        banner(synthetic_parts if params.data_dir is not None else None)
    _emit("report", {"icb_code": icb, "icb_label": f"{place}, {name} ({icb})" if place else f"{name} ({icb})",
                     "region": geography.region_name(icb), "theme": theme, "synthetic": bool(synthetic),
                     "synthetic_parts": list(synthetic_parts or [])})


def banner(parts: list[str] | None = None) -> None:
    """The synthetic-data warning: the whole report, or (with real data) the parts that fell
    back to the demonstration set."""
    if parts:
        text = ("Part of this report is synthetic demonstration data, not real figures for any ICB: the data folder "
                f"lacks these, so they come from the demonstration set and must not be used for decisions: "
                f"{html.escape(', '.join(parts))}. Every table and chart says whether it is real, synthetic or both.")
    else:
        text = (f"{html.escape(SYNTHETIC_LABEL)}. Figures from the demonstration set are generated and must not be "
                "used for decisions; geography, population, unpaid carers and residents' ethnicity (Census 2021) are real. "
                "Every table and chart says which it is.")
    display(HTML(f'<div style="border:2px solid #DA291C;color:#8A1538;background:#FDECEA;'
                 f'padding:6px 10px;font-weight:bold;margin:6px 0">{text}</div>'))


def _emit(kind: str, payload: dict) -> None:
    display({IWT_MIME: {"kind": kind, **payload}, "text/plain": ""}, raw=True)


TABLE_CSS = ("<style>.iwt-table{border-collapse:collapse;margin:6px 0 14px 0;font-size:12px}"
             ".iwt-table caption{font-weight:bold;text-align:left;color:#003087;padding:2px 0}"
             ".iwt-table th{text-align:left;border-bottom:1px solid #425563;padding:3px 8px}"
             ".iwt-table td{padding:3px 8px;border-bottom:1px solid #E8EDEE;text-align:right}"
             ".iwt-table td.t{text-align:left}.iwt-table th.n{text-align:right}</style>")


NOT_AVAILABLE = "not available"


def _cell(value, fmt: str | None, suppressed: bool = False, blank: bool = False) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "" if blank else html.escape(disclosure.settings()["marker"]) if suppressed else NOT_AVAILABLE
    if fmt:
        try:
            return html.escape(fmt.format(value))
        except (ValueError, TypeError):
            pass
    if isinstance(value, float):
        return html.escape(f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) < 1e15 else str(value))
    return html.escape(str(value))


def table_html(df: pd.DataFrame, caption: str, columns: dict[str, str] | None = None,
               formats: dict[str, str] | None = None, suppress: bool = True,
               provenance: Provenance | None = None) -> tuple[str, pd.DataFrame]:
    """A table as plain HTML (small counts suppressed first), and the table as shown.

    Written directly rather than through pandas' Styler (ten times slower), which matters when
    the ICB dropdown redraws a dozen tables at once.
    """
    out = disclosure.suppress_small_counts(df) if suppress else df.copy()
    if "suppressed" in out.columns and out["suppressed"].isna().all():
        out = out.drop(columns="suppressed")
    hidden = [set(str(v).split(",")) if isinstance(v, str) else set() for v in
              (out["suppressed"] if "suppressed" in out.columns else [None] * len(out))]
    if "suppressed" in out.columns:           # the raw column names ('fte') in words, as the headers show them
        out["suppressed"] = [suppressed_text(h, columns) or None for h in hidden]
    if columns:
        keep = [c for c in columns if c in out.columns] + (["suppressed"] if "suppressed" in out.columns else [])
        out = out[keep].rename(columns=columns)
    out = out.rename(columns={"suppressed": SUPPRESSED_HEADER})
    fmt = {columns.get(k, k) if columns else k: v for k, v in (formats or {}).items()}
    text = {c for c in out.columns if out[c].dtype.kind not in "iufcM"}
    head = "".join(f'<th{"" if c in text else " class=n"}>{html.escape(str(c))}</th>' for c in out.columns)
    original = {columns.get(k, k): k for k in columns} if columns else {}
    body = []
    for row, hide in zip(out.itertuples(index=False), hidden):
        cells = "".join(f'<td{" class=t" if c in text else ""}>{_cell(v, fmt.get(c), original.get(c, c) in hide, c == SUPPRESSED_HEADER)}</td>'
                        for c, v in zip(out.columns, row))
        body.append(f"<tr>{cells}</tr>")
    foot = provenance_html(provenance) if provenance is not None else ""
    page = (f'{TABLE_CSS}<table class="iwt-table"><caption>{html.escape(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{foot}")
    return page, out


SUPPRESSED_HEADER = "Suppressed"


def suppressed_text(raw: set[str] | str | None, columns: dict[str, str] | None = None) -> str:
    """What a row's ``suppressed`` flags (raw column names, e.g. {'fte'} or 'headcount,fte') say in
    words, with the column headers as the table shows them: 'FTE under 5 suppressed'; '' for none."""
    names = sorted(raw) if isinstance(raw, set) else [n for n in str(raw or "").split(",")]
    shown = list(dict.fromkeys((columns or {}).get(n, n) for n in (n.strip() for n in names) if n))
    if not shown:
        return ""
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    return f"{listed} under {disclosure.settings()['min_count']} suppressed"


# A source line longer than this (about two lines at 1280 px) is shown compact, the whole line one click away.
PROVENANCE_COMPACT_OVER = 400
COMPACT_SOURCES_CHARS = 160          # the compact line names sources up to about this length, then counts the rest


def _status_parts(provenance: Provenance) -> str:
    """Which part is real and which synthetic, from a mixed provenance's detail ('real: NHS trusts;
    synthetic: Adult social care: ...'), without the per-source detail."""
    parts = [p.strip() for p in provenance.detail.split("; ")
             if p.strip().startswith(("real: ", "synthetic: ", "projection: ", "modelled: "))]
    return "; ".join(parts)


def compact_provenance(provenance: Provenance) -> str:
    """A long provenance line made short: the first sources and how many more, the period, and the
    status (for a mixed one, which part is real and which synthetic). Nothing is dropped from the
    page: :func:`provenance_html` shows the full line beside it."""
    sources = [p.strip() for p in provenance.source.split("; ") if p.strip()]
    named, length = [], 0
    for src in sources:
        if named and length + len(src) > COMPACT_SOURCES_CHARS:
            break
        named.append(src)
        length += len(src) + 2
    more = len(sources) - len(named)
    text = "; ".join(named) + (f"; and {more} more" if more else "")
    status = STATUS_TEXT[provenance.status]
    parts = _status_parts(provenance) if provenance.status == "mixed" else ""
    return (f"Source: {text or 'not stated'}. Period: {provenance.period or 'not stated'}. "
            f"Status: {status}{f' ({parts})' if parts else ''}.")


def provenance_html(provenance: Provenance) -> str:
    """The source line under a table: the whole line when short; when long, a compact line that opens
    (``<details>``) on the whole line, every source and the full status, so none is dropped."""
    colour = "#DA291C" if provenance.synthetic else "#425563"
    style = f"font-size:11px;color:{colour};margin:-10px 0 14px 0"
    full = provenance.line()
    if len(full) <= PROVENANCE_COMPACT_OVER:
        return f'<div class="iwt-prov" style="{style}">{html.escape(full)}</div>'
    return (f'<details class="iwt-prov" style="{style}"><summary style="cursor:pointer">'
            f'{html.escape(compact_provenance(provenance))} <span style="text-decoration:underline">Every source '
            f'and the full status</span></summary><div style="margin-top:2px">{html.escape(full)}</div></details>')


def show(df: pd.DataFrame, caption: str, columns: dict[str, str] | None = None,
         formats: dict[str, str] | None = None, key: str | None = None, suppress: bool = True,
         provenance: Provenance | None = None, measures: dict | None = None) -> pd.DataFrame:
    """Display a table (small counts suppressed) with its provenance line; with ``key`` also export
    it to tables.xlsx; ``measures`` (column -> registered figure) tells the runner what it shows."""
    page, out = table_html(df, caption, columns, formats, suppress, provenance)
    display(HTML(page))
    if key:
        key_table(key, out, caption, provenance)
    emit_measures("table", caption, table_measure_rows(measures, columns, formats), key)
    return out


class SVGChart:
    """A chart as inline SVG, displayable, and usable to update a display in place."""

    def __init__(self, svg: str, title: str):
        self.svg, self.title = svg, title

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"image/svg+xml": self.svg, "text/plain": f"Chart: {self.title}"}


def figure_bundle(fig) -> SVGChart:
    """Render a matplotlib figure as SVG (crisp at any size, text kept as text, about twice as
    fast as PNG), titled with the chart's finding for screen readers, and free the figure. A chart
    drawn before from the same inputs (``charts.DrawnChart``) is shown as it was drawn; a chart being
    drawn beside the kernel (``charts.PendingChart``, :mod:`.beside`) as it comes back, or drawn here
    when it does not."""
    if isinstance(fig, charts.DrawnChart):
        return SVGChart(fig.svg, fig.title)
    if isinstance(fig, charts.PendingChart):
        drawn = fig.drawing()
        if drawn is None:
            fig = fig.figure()
        else:
            svg, title, suptitle = drawn
            charts.remember_drawing(fig.key, svg, title, suptitle)
            return SVGChart(svg, title)
    svg, title, suptitle = svg_of(fig)
    key = charts.drawn_key(fig)
    if key is not None:
        charts.remember_drawing(key, svg, title, suptitle)
    return SVGChart(svg, title)


def svg_of(fig) -> tuple[str, str, str]:
    """A figure's SVG as :func:`figure_bundle` shows it, its title for screen readers and its suptitle;
    the figure is closed."""
    import io
    import re

    import matplotlib.pyplot as plt

    buf = io.StringIO()
    with plt.rc_context(SVG_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    suptitle = fig.get_suptitle()
    title = suptitle.replace("\n", " ") or "Chart"
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]                               # drop the XML prolog and DOCTYPE
    svg = re.sub(r"<svg ", f'<svg role="img" aria-label="{html.escape(title)}" ', svg, count=1)
    svg = re.sub(r"(<svg[^>]*>)", lambda m: m.group(1) + f"<title>{html.escape(title)}</title>", svg, count=1)
    return svg, title, suptitle


SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "iwt"}     # text as text; stable ids: same input, same bytes


def figure(fig) -> None:
    """Show a chart (see :func:`figure_bundle`)."""
    display(figure_bundle(fig))


def close(fig) -> None:
    import matplotlib.pyplot as plt
    plt.close(fig)


def key_table(name: str, df: pd.DataFrame, caption: str = "", provenance: Provenance | None = None) -> None:
    """Export a table (as shown) to tables.xlsx, with its source, period and real/synthetic status."""
    payload = key_table_payload(name, df, caption, provenance)
    _emit(payload.pop("kind"), payload)


def key_table_payload(name: str, df: pd.DataFrame, caption: str = "", provenance: Provenance | None = None) -> dict:
    """What :func:`key_table` emits for the runner."""
    data = json.loads(df.to_json(orient="split", date_format="iso", index=False))
    return {"kind": "table", "name": name, "caption": caption, "table": data,
            **({"provenance": provenance.as_dict()} if provenance else {})}


def measure_row(value, column: str = "", text: str | None = None) -> dict:
    """One registered figure (``analysis.measures.Value``) as an item shows it: the measure, ICB,
    period, value, status and, as the reader sees it, the column it is in and its text."""
    missing = value.value is None or pd.isna(value.value)
    return {"measure": value.measure, "label": value.label, "icb_code": value.icb, "period": value.period,
            "value": None if missing else float(value.value), "status": value.status, "scope": value.scope,
            "source": compact_sources([value.source]) if value.source else "", "column": column,
            "text": text if text is not None else value.text()}


def table_measure_rows(tags: dict | None, columns: dict[str, str] | None = None,
                       formats: dict[str, str] | None = None) -> list[dict]:
    """The figures a table's ``measures`` tags (column -> figure or figures), each with the column's
    header and format as shown."""
    rows = []
    for col, values in (tags or {}).items():
        for v in (values if isinstance(values, list | tuple) else [values]):
            if v is None:
                continue
            fmt = (formats or {}).get(col)
            text = NOT_AVAILABLE if v.value is None or pd.isna(v.value) else (fmt.format(v.value) if fmt else v.text())
            rows.append(measure_row(v, (columns or {}).get(col, col), text))
    return rows


def measures_payload(item: str, name: str, rows: list[dict], key: str | None = None) -> dict:
    """What :func:`emit_measures` emits for the runner: where the figures are shown (a table by its key
    and caption, a headline by its name, a chart by its title) and the figures."""
    return {"kind": "measures", "item": item, "name": name, "key": key, "rows": rows}


def emit_measures(item: str, name: str, rows: list[dict], key: str | None = None) -> None:
    """Tell the runner which registered figures an item shows (for ``measures.csv``); nothing is displayed."""
    if rows:
        payload = measures_payload(item, name, rows, key)
        _emit(payload.pop("kind"), payload)


def headline(name: str, value: float | str, unit: str = "", fmt: str = "{:,.0f}",
             provenance: Provenance | None = None) -> None:
    """A headline figure for the index page (not shown in a report itself; an interactive notebook
    shows it, see :func:`headline_html`), with its provenance."""
    payload = headline_payload(name, value, unit, fmt, provenance)
    _emit(payload.pop("kind"), payload)


def headline_payload(name: str, value: float | str, unit: str = "", fmt: str = "{:,.0f}",
                     provenance: Provenance | None = None) -> dict:
    """What :func:`headline` emits for the runner: the figure, its text and provenance."""
    missing = value is None or (isinstance(value, float) and pd.isna(value))
    text = NOT_AVAILABLE if missing else (fmt.format(value) if isinstance(value, (int, float)) else str(value))
    return {"kind": "headline", "name": name,
            "value": None if missing else (value if isinstance(value, (int, float, str)) else str(value)),
            "text": text if missing else f"{text}{'' if unit in ('', '%') else ' '}{unit}",
            **({"provenance": provenance.as_dict()} if provenance else {})}


def headline_html(payload: dict) -> str:
    """A headline as an interactive notebook shows it: a ``div.iwt-headline`` with the name, the
    figure and, where synthetic, the label."""
    prov = payload.get("provenance") or {}
    synthetic = prov.get("status") in ("synthetic", "mixed")
    label = "synthetic" if prov.get("status") == "synthetic" else "partly synthetic"
    note = f' <span style="font-size:11px;color:#DA291C;margin-left:8px">({label})</span>' if synthetic else ""
    return ('<div class="iwt-headline" style="display:inline-block;border-left:4px solid #005EB8;background:#F0F4F5;'
            'padding:4px 10px;margin:3px 0">'
            f'<span class="iwt-headline-name" style="font-size:12px;color:#425563">{html.escape(str(payload["name"]))}</span>: '
            f'<strong class="iwt-headline-value" style="font-size:15px;color:#003087">{html.escape(str(payload["text"]))}</strong>'
            f"{note}</div>")


def caveat_notes(ds: Dataset, notes: Iterable[str] = ()) -> list[str]:
    """The theme's caveats ``notes`` with those every report shows (data/reference/caveats.yaml): the
    synthetic data first when any table is synthetic (A8), then small counts (A7) and the record-level
    rule of a folder built from extracts (A7.record_level)."""
    items = list(notes)
    cfg = disclosure.settings()
    items.append(caveat_file.text("A7", largest_suppressed=cfg["min_count"] - 1, marker=cfg["marker"]))
    record_rule = disclosure.folder_rule(ds.data_dir)
    if record_rule:                       # tables built from record-level extracts (iwt extract load)
        items.append(caveat_file.text("A7.record_level", rule=record_rule))
    if ds.any_synthetic:
        items.insert(0, caveat_file.text("A8", label=SYNTHETIC_LABEL))
    return items


def table_sources(listed: str, file: str, origin: str) -> list[str]:
    """A data-folder table's sources in full, one per source. The folder's manifest keeps only the first
    500 characters of them (``data.build``), which cut lists mid-word ('(2024 lookup', 'Open Gov'); the
    table's own ``source`` column has every one. Other tables: ``[listed]``."""
    path = Path(file) if Path(file).is_absolute() else paths.ROOT / file
    if origin != "data_dir" or path.suffix != ".parquet" or not path.exists():
        return [listed]
    try:
        rows = pd.read_parquet(path, columns=["source"])["source"]
    except (KeyError, ValueError, OSError):           # a table without a source column
        return [listed]
    found = sorted(set(rows.dropna().astype(str)))
    whole = "; ".join(found)                          # as the build joins them before cutting
    return found if len(whole) > len(listed) and whole.startswith(listed[:100]) else [listed]


def full_source(listed: str, file: str, origin: str) -> str:
    """A table's sources as the sources table shows them: each source compacted on its own (so that a
    part two sources share, such as 'OGL v3)', stays in both), every one named once."""
    return "; ".join(dict.fromkeys(compact_sources([s]) for s in table_sources(listed, file, origin)))


def caveats(ds: Dataset, notes: Iterable[str] = ()) -> pd.DataFrame:
    """Sources actually used (with synthetic flags) and the caveats that apply, as a table."""
    prov = ds.provenance()
    prov["source"] = [full_source(s, f, o) for s, f, o in zip(prov["source"], prov["file"], prov["origin"])]
    display(Markdown("## Sources and caveats"))
    show(prov, "Data used in this report", columns={
        "table": "Table", "origin": "Came from", "synthetic": "Synthetic?",
        "fell_back_to_demo": "Fell back to demo data?", "source": "Source"}, suppress=False, key="sources")
    items = caveat_notes(ds, notes)
    display(Markdown("\n".join(f"- {n}" for n in items)))
    _emit("caveats", {"notes": items})
    return prov
