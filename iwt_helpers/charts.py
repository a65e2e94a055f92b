"""Every figure in iwt. The NHS identity palette and the sector colours are defined once here.

Each chart function takes a tidy table and returns a matplotlib Figure with a title that states
the finding, labelled axes with units, a source line and, for synthetic data, a visible label.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
import seaborn as sns

from . import SYNTHETIC_LABEL, vocab

# NHS identity colours (NHS England brand guidelines).
NHS = {
    "blue": "#005EB8", "dark_blue": "#003087", "bright_blue": "#0072CE", "light_blue": "#41B6E6",
    "aqua_green": "#00A499", "green": "#009639", "warm_yellow": "#FFB81C", "orange": "#ED8B00",
    "red": "#DA291C", "dark_red": "#8A1538", "purple": "#330072", "dark_pink": "#7C2855",
    "pink": "#AE2573", "dark_grey": "#425563", "mid_grey": "#768692", "pale_grey": "#E8EDEE",
    "black": "#231F20", "white": "#FFFFFF",
}

# One colour per sector, used by every chart: blues for health, purples/pinks/yellow for social care.
SECTOR_COLOURS = {
    "nhs_trust": NHS["blue"],
    "primary_care": NHS["light_blue"],
    "asc_local_authority": NHS["purple"],
    "asc_independent": NHS["pink"],
    "asc_voluntary": NHS["warm_yellow"],
    "whole_system": NHS["dark_grey"],
}
FAMILY_COLOURS = {"health": NHS["blue"], "social care": NHS["pink"], "social_care": NHS["pink"],
                  "whole system": NHS["dark_grey"], "whole_system": NHS["dark_grey"]}
HIGHLIGHT = NHS["orange"]
BASE_FONT = 10


def use_style() -> None:
    """Board-paper defaults: white background, readable fonts, no chart junk."""
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.95,
                  rc={"axes.edgecolor": NHS["mid_grey"], "grid.color": NHS["pale_grey"],
                      "axes.titleweight": "bold", "axes.titlesize": 12, "axes.titlelocation": "left",
                      "figure.dpi": 100, "savefig.dpi": 110, "axes.spines.top": False,
                      "axes.spines.right": False, "font.family": "DejaVu Sans"})


def sector_colour(code: str) -> str:
    return SECTOR_COLOURS.get(code, NHS["mid_grey"])


def finish(fig: plt.Figure, title: str, source: str, synthetic: bool, note: str | None = None) -> plt.Figure:
    """Title (the finding), footnote with source and caveats, and the synthetic label."""
    fig.suptitle(textwrap.fill(title, 90), x=0.01, ha="left", fontsize=12.5, fontweight="bold",
                 color=NHS["dark_blue"])
    foot = f"Source: {source}"
    if note:
        foot += f"  |  {note}"
    lines = textwrap.fill(foot, 140)
    n = lines.count("\n") + 1
    fig.text(0.01, 0.01, lines, fontsize=8, color=NHS["dark_grey"], ha="left", va="bottom")
    if synthetic:
        fig.text(0.99, 0.01 + 0.03 * n, SYNTHETIC_LABEL.upper(), fontsize=8.5, color=NHS["red"],
                 ha="right", va="bottom", fontweight="bold")
    fig.tight_layout(rect=(0, 0.05 + 0.025 * n, 1, 0.93))
    return fig


def thousands(ax, axis: str = "x") -> None:
    fmt = mticker.FuncFormatter(lambda v, _: f"{v:,.0f}")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def fte_by_sector(by_sector: pd.DataFrame, icb_name: str, source: str, synthetic: bool) -> plt.Figure:
    """Horizontal bars of FTE by sector (whole-system row excluded), labelled with values."""
    d = by_sector[by_sector["sector"] != "whole_system"]
    fig, ax = plt.subplots(figsize=(9, 3.8))
    ax.barh(d["sector_label"], d["fte"], color=[sector_colour(s) for s in d["sector"]])
    ax.invert_yaxis()
    for y, (v, sh) in enumerate(zip(d["fte"], d["share_of_fte_pct"])):
        ax.text(v, y, f"  {v:,.0f} ({sh:.0f}%)", va="center", fontsize=9, color=NHS["black"])
    ax.set_xlabel("Full-time equivalent staff (FTE)")
    ax.set_ylabel("")
    ax.set_xlim(0, d["fte"].max() * 1.3)
    thousands(ax)
    total = by_sector.loc[by_sector["sector"] == "whole_system", "fte"].iloc[0]
    health = d.loc[d["family"] == "health", "fte"].sum()
    title = (f"{icb_name}: {total:,.0f} FTE across health and adult social care; "
             f"{100 * (1 - health / total):.0f}% work in adult social care")
    return finish(fig, title, source, synthetic)


def staff_groups_by_sector(profile: pd.DataFrame, icb_name: str, source: str, synthetic: bool) -> plt.Figure:
    """Stacked horizontal bars: FTE in each harmonised staff group, split by sector."""
    piv = profile.pivot_table(index="staff_group_label", columns="sector", values="fte", aggfunc="sum", fill_value=0)
    piv = piv.loc[piv.sum(axis=1).sort_values().index]
    cols = [c for c in vocab.sector_codes() if c in piv.columns]
    fig, ax = plt.subplots(figsize=(9, 4.8))
    left = pd.Series(0.0, index=piv.index)
    labels = vocab.sector_labels()
    for c in cols:
        ax.barh(piv.index, piv[c], left=left, color=sector_colour(c), label=labels[c])
        left += piv[c]
    ax.set_xlabel("Full-time equivalent staff (FTE)")
    ax.set_ylabel("")
    thousands(ax)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    top = piv.sum(axis=1).idxmax()
    title = f"{icb_name}: {top.split(' (')[0].lower()} are the largest staff group across the system"
    return finish(fig, title, source, synthetic)


def per_capita_bars(comp: pd.DataFrame, measure_col: str, unit_label: str, source: str,
                    synthetic: bool, title: str) -> plt.Figure:
    """Grouped bars comparing the ICB with its region and England, one group per sector family."""
    fig, ax = plt.subplots(figsize=(9, 3.8))
    areas = list(dict.fromkeys(comp["area"]))
    shades = [HIGHLIGHT, NHS["mid_grey"], NHS["dark_grey"]]
    sns.barplot(data=comp, x="measure", y=measure_col, hue="area", hue_order=areas,
                palette=shades[: len(areas)], ax=ax)
    for cont in ax.containers:
        ax.bar_label(cont, fmt="%.1f", fontsize=8, padding=2)
    ax.set_xlabel("")
    ax.set_ylabel(unit_label)
    ax.legend(title="", fontsize=8, frameon=False, loc="upper left")
    ax.set_ylim(0, comp[measure_col].max() * 1.18)
    return finish(fig, title, source, synthetic)
