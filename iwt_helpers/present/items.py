"""What a theme section shows, item by item: tables, figures, text and headline figures, each
with its provenance.

Theme sections return lists of these; :mod:`iwt_helpers.present.explorer` displays them (and
redraws them for another ICB), and the report runner collects the key tables and headlines with
their provenance for ``tables.xlsx`` and the index pages, rather than working it out again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

# What a figure is. "real" is a measurement: a count or rate a publisher measured; "projection" a
# publisher's projection (ONS population projections), not a count; "modelled" iwt's own estimate or
# scenario result built on published inputs; "synthetic" demonstration data; "mixed" synthetic and
# non-synthetic parts together (``detail`` names them).
STATUS_TEXT = {"real": "real published data (measured)", "projection": "published projection, not a count",
               "modelled": "modelled by iwt from published inputs (an estimate, not a count)",
               "synthetic": "SYNTHETIC demonstration data",
               "mixed": "real and synthetic parts", "missing": "not available in the data used",
               "assumption": "assumptions of iwt's models, each with its source or reasoning (not data)"}
# Short words for a status where space is short (index cards, coverage cells, status columns).
STATUS_WORD = {"real": "measured", "projection": "projection", "modelled": "modelled", "synthetic": "SYNTHETIC",
               "mixed": "partly SYNTHETIC", "missing": "not available", "assumption": "assumption"}
# Combining parts that are none of them synthetic: the figure is as weak as its weakest part.
STATUS_ORDER = ("real", "projection", "assumption", "modelled")


_FILE_NAME = re.compile(r",\s*[^;,]*?\.(csv|xlsx|xls|xlsm|parquet)\b", re.I)


def compact_sources(sources: list[str]) -> str:
    """Sources as a reader needs them under a figure: publications without file names, each once
    (the files are listed in the data-quality section and the build report)."""
    parts = []
    for s in sources:
        parts.extend(p.strip() for p in _FILE_NAME.sub("", s).split(";"))
    return "; ".join(dict.fromkeys(p for p in parts if p))


@dataclass(frozen=True)
class Provenance:
    """Where a figure comes from: its sources, the period it describes and whether it is real,
    synthetic, a mix (``detail`` says which part is which) or missing."""
    source: str
    period: str
    status: str                            # "real", "synthetic", "mixed" or "missing"
    detail: str = ""

    def __post_init__(self):
        if self.status not in STATUS_TEXT:
            raise ValueError(f"provenance status {self.status!r}: expected one of {', '.join(STATUS_TEXT)}")

    @property
    def synthetic(self) -> bool:
        return self.status in ("synthetic", "mixed")

    @property
    def stamp(self) -> bool | str:
        """What a chart's stamp says (``charts.finish``): nothing for real data, synthetic, or "mixed"
        for partly synthetic."""
        return "mixed" if self.status == "mixed" else self.synthetic

    def status_text(self) -> str:
        return STATUS_TEXT[self.status] + (f" ({self.detail})" if self.detail else "")

    def line(self) -> str:
        """One line for under a table or chart: source, period, status."""
        return f"Source: {self.source}. Period: {self.period or 'not stated'}. Status: {self.status_text()}."

    def as_dict(self) -> dict:
        return {"source": self.source, "period": self.period, "status": self.status, "detail": self.detail}

    @staticmethod
    def combine(parts: list[Provenance]) -> Provenance:
        """One provenance for a figure built from several: sources and periods each named once;
        mixed when real and synthetic parts meet, with the detail of each part."""
        parts = [p for p in parts if p is not None]
        if not parts:
            return Provenance("", "", "missing")
        statuses = {p.status for p in parts if p.status != "missing"} or {"missing"}
        if len(statuses) == 1:
            status = statuses.pop()
        elif statuses & {"synthetic", "mixed"}:
            status = "mixed"
        else:                          # measured with projected or modelled parts: the weakest
            status = max(statuses, key=STATUS_ORDER.index)
        join = lambda xs: "; ".join(dict.fromkeys(x for x in xs if x))   # noqa: E731
        detail = join(p.detail for p in parts) if status != "mixed" else join(
            p.detail or f"{STATUS_TEXT[p.status]}: {p.source}" for p in parts if p.status != "missing")
        return Provenance(join(p.source for p in parts), join(p.period for p in parts), status, detail)


# Items that show the figure of a registered measure (``analysis.measures``: one figure per measure, ICB
# and period) say so, so that the runner lists every place a measure is shown (``measures.csv``). A
# figure is anything with the attributes of ``analysis.measures.Value`` (measure, label, icb, period,
# value, status, scope, source); present does not import analysis.
MeasureTags = dict[str, Any]               # column -> the figure (or list of figures) shown in it


@dataclass
class Table:
    df: pd.DataFrame
    caption: str
    columns: dict[str, str] | None = None
    formats: dict[str, str] | None = None
    key: str | None = None                 # export to tables.xlsx under this name (first render)
    suppress: bool = True
    provenance: Provenance | None = None
    measures: MeasureTags | None = None    # column -> the registered figure(s) shown in it


@dataclass
class Figure:
    fig: Any                               # a matplotlib Figure (its footer carries the provenance)
    provenance: Provenance | None = None
    measures: list = field(default_factory=list)   # registered figures drawn as text (in their measure's format)


@dataclass
class Text:
    markdown: str


@dataclass
class Headline:
    name: str
    value: float | str
    unit: str = ""
    fmt: str = "{:,.0f}"
    provenance: Provenance | None = None
    notes: list[str] = field(default_factory=list)
    measure: Any = None                    # the registered figure the headline is (analysis.measures.Value)


Item = Table | Figure | Text | Headline
