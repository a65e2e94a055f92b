"""Provenance of what a report shows, computed from the rows a figure is built from: the sources
(publications, without file names), the period in words, and whether the rows are real,
synthetic or both (and then which part is which). Beside :mod:`iwt_helpers.present.items`, whose
:class:`~iwt_helpers.present.items.Provenance` it builds, so that every theme computes it one way."""

from __future__ import annotations

import pandas as pd

from iwt_helpers.present.items import Provenance, compact_sources


def period_of(rows: pd.DataFrame) -> str:
    """The period rows describe, in words: months, years or financial years, each named once."""
    if "period_label" in rows:
        return "; ".join(dict.fromkeys(rows["period_label"].dropna()))
    if "period" in rows and rows["period"].notna().any():
        ps = sorted(rows["period"].dropna().unique())
        if len(ps) <= 3:
            return "; ".join(f"{pd.Timestamp(p):%B %Y}" for p in ps)
        return f"{pd.Timestamp(ps[0]):%b %Y} to {pd.Timestamp(ps[-1]):%b %Y}"
    if "financial_year" in rows:
        fys = sorted(rows["financial_year"].unique())
        return fys[0] if len(fys) == 1 else f"{fys[0]} to {fys[-1]}"
    if "year" in rows:
        ys = sorted(rows["year"].unique())
        return str(ys[0]) if len(ys) == 1 else f"{ys[0]} to {ys[-1]}"
    return ""


def provenance_of(rows: pd.DataFrame | None, period: str | None = None, by: str | None = None,
                  labels: dict | None = None) -> Provenance:
    """Provenance of ``rows`` (a ``synthetic`` column marks demo rows): real, synthetic, mixed or,
    for no rows, missing. For mixed rows, ``by`` names the column whose values (through
    ``labels``) say which part is real and which synthetic."""
    if rows is None or rows.empty:
        return Provenance("", period or "", "missing")
    syn = rows["synthetic"].astype(bool) if "synthetic" in rows else pd.Series(False, index=rows.index)
    status = "mixed" if syn.any() and not syn.all() else ("synthetic" if syn.all() else "real")
    if status == "real" and "kind" in rows and (rows["kind"] == "projection").all():
        status = "projection"          # e.g. ONS population projections: published, but not a count
    detail = ""
    if status == "mixed" and by:
        names = rows[by].map(labels or {}).fillna(rows[by]).astype(str)
        detail = (f"real: {', '.join(dict.fromkeys(names[~syn]))}; "
                  f"synthetic: {', '.join(dict.fromkeys(names[syn]))}")
    return Provenance(compact_sources(rows["source"].dropna().unique().tolist()), period or period_of(rows), status, detail)


def footer_text(prov: Provenance) -> str:
    """A chart footer's source text: sources, period and, where it matters, which part is synthetic."""
    text = f"{prov.source} ({prov.period})" if prov.period else prov.source
    status = prov.status_text()
    return text + (f". {status[:1].upper()}{status[1:]}" if prov.status in ("mixed", "real", "projection", "modelled") else "")
