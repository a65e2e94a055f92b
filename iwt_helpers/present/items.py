"""What a theme section shows, item by item: tables, figures, text and headline figures.

Theme sections return lists of these; :mod:`iwt_helpers.present.explorer` displays them (and
redraws them for another ICB), and the report runner collects the key tables and headlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass
class Table:
    df: pd.DataFrame
    caption: str
    columns: dict[str, str] | None = None
    formats: dict[str, str] | None = None
    key: str | None = None                 # export to tables.xlsx under this name (first render)
    suppress: bool = True


@dataclass
class Figure:
    fig: Any                               # a matplotlib Figure


@dataclass
class Text:
    markdown: str


@dataclass
class Headline:
    name: str
    value: float | str
    unit: str = ""
    fmt: str = "{:,.0f}"


Item = Table | Figure | Text | Headline
