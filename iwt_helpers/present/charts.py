"""Every figure in iwt. The NHS identity palette and the sector colours are defined once here.

Each chart function takes a tidy table and returns a matplotlib Figure with a title that states
the finding, labelled axes with units, a source line and, for synthetic data, a visible label.

A chart's figure is final: what it shows is decided by the function's arguments (pass an option,
never change the figure afterwards). Under :func:`reuse_drawings` (the interactive explorer's
redraws) a chart function called with the same inputs as a chart drawn before returns that drawing
(:class:`DrawnChart`, which has no axes to change) instead of building the figure again; a figure
changed after its function returned it (axes, artists, limits, labels, titles) is drawn as it is and
its drawing is not kept. Under :func:`draw_beside` as well, a chart function hands its inputs to be
built and drawn in another process (:mod:`.beside`) and returns a :class:`PendingChart`.
"""

from __future__ import annotations

import functools
import hashlib
import html
import textwrap
import weakref
from collections import OrderedDict
from contextlib import contextmanager

import matplotlib as mpl
import matplotlib.category as mcategory
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

from iwt_helpers import SYNTHETIC_LABEL, vocab

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
                      "axes.spines.right": False, "font.family": "DejaVu Sans",
                      # Panel titles sit just above the axes (where matplotlib's automatic
                      # placement puts them when nothing is drawn above the plot, as here),
                      # which saves measuring every tick label on every draw (a third of
                      # the SVG time of the 12-panel SPC grid). Nothing can then collide
                      # with a title: no offset or "1e6" multiplier text on any axis (board
                      # readers should see the numbers themselves anyway).
                      "axes.titley": 1.0, "axes.formatter.useoffset": False,
                      "axes.formatter.limits": (-9, 12)})


# --------------------------------------------------------------------------- drawings reused by their inputs


class DrawnChart:
    """A chart drawn before from the same inputs: its SVG (``notebook.figure_bundle`` shows it as it is)
    and its title. What a chart function returns, in place of a figure, for inputs already drawn under
    :func:`reuse_drawings`."""

    def __init__(self, svg: str, title: str, suptitle: str):
        self.svg, self.title, self._suptitle = svg, title, suptitle

    def get_suptitle(self) -> str:
        return self._suptitle


class PendingChart:
    """A chart being built and drawn in another process (:func:`draw_beside`), from the inputs given to
    its chart function: :meth:`drawing` waits for its SVG; anything else asked of it (an attribute of
    the figure) builds the figure here first, from the same inputs, and asks the figure."""

    def __init__(self, fn, args: tuple, kwargs: dict, key: bytes, future):
        self._fn, self._args, self._kwargs, self._future = fn, args, kwargs, future
        self.key = key
        self._fig = None

    def drawing(self) -> tuple[str, str, str] | None:
        """(svg, title, suptitle) as ``notebook.figure_bundle`` makes them, once drawn; None when it was
        not (the other process failed, refused or stopped) or when the figure was built here."""
        if self._fig is not None:
            return None
        try:
            return self._future.result()
        except Exception:                  # any failure there: the figure is built here instead
            return None

    def done(self) -> bool:
        return self._fig is not None or self._future.done()

    def figure(self):
        """The figure, built here (as the chart function builds it outside :func:`draw_beside`)."""
        if self._fig is None:
            self._future.cancel()
            self._fig = self._fn(*self._args, **self._kwargs)
            if _DRAWINGS.active:
                _DRAWINGS.pending[self._fig] = (self.key, _outline(self._fig))
        return self._fig

    def __getattr__(self, name: str):
        if name.startswith("__") or name in ("_fn", "_args", "_kwargs", "_future", "_fig", "key"):
            raise AttributeError(name)
        return getattr(self.figure(), name)


class _Drawings:
    """SVG drawings by the inputs of the chart function that built them (the last ``size``), and the
    inputs of the figures built but not drawn yet."""

    def __init__(self, size: int = 160):
        self.size = size
        self.svgs: OrderedDict[bytes, tuple[str, str, str]] = OrderedDict()
        self.pending: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.active = 0
        self.style = b""
        self.beside = None          # under draw_beside: submit(fn, args, kwargs) -> a future, or None


_DRAWINGS = _Drawings()


@contextmanager
def reuse_drawings():
    """Within the block, a chart function called with the same inputs (tables by their contents) and
    the same matplotlib settings as a chart drawn before returns its drawing (:class:`DrawnChart`)
    rather than a new figure; figures built are remembered by their inputs when
    ``notebook.figure_bundle`` draws them."""
    if not _DRAWINGS.active:
        _DRAWINGS.style = style_digest()
    _DRAWINGS.active += 1
    try:
        yield
    finally:
        _DRAWINGS.active -= 1


def style_settings() -> dict:
    """matplotlib's current settings but the backend (which does not change an SVG drawn)."""
    return {k: v for k, v in mpl.rcParams.items() if k != "backend"}


def style_digest() -> bytes:
    """A digest of :func:`style_settings`: charts of the same inputs under the same digest are the same
    drawing."""
    return hashlib.blake2b(repr(sorted(style_settings().items())).encode(), digest_size=16).digest()


@contextmanager
def draw_beside(submit):
    """Within the block (and :func:`reuse_drawings`), a chart function whose inputs can be keyed hands
    them to ``submit(fn, args, kwargs)``, which returns a future of the drawing (``notebook.svg_of``'s
    (svg, title, suptitle)) or None to build the figure here; the function returns a
    :class:`PendingChart` of that future."""
    before, _DRAWINGS.beside = _DRAWINGS.beside, submit
    try:
        yield
    finally:
        _DRAWINGS.beside = before


def forget_drawings() -> None:
    """Forget every drawing kept (they are drawn again the next time)."""
    _DRAWINGS.svgs.clear()


def drawn_key(fig) -> bytes | None:
    """The inputs a figure was built from, when it was built under :func:`reuse_drawings` and not
    changed since the chart function returned it (once); None otherwise."""
    try:
        built = _DRAWINGS.pending.pop(fig, None)
    except TypeError:                      # not weakly referenceable: never registered
        return None
    if built is None:
        return None
    key, outline = built
    return key if _outline(fig) == outline else None


def _outline(fig) -> tuple:
    """What a change to a figure after its chart function returned it would most likely touch (its axes,
    their artists, limits, labels and titles, the figure's texts and legends): a figure whose outline
    changed is drawn but its drawing is not kept for reuse."""
    return (fig.get_size_inches().tolist(), len(fig.texts), len(fig.legends), fig.get_suptitle(),
            [(len(ax.get_children()), ax.get_xlim(), ax.get_ylim(), ax.get_xlabel(), ax.get_ylabel(),
              ax.get_title(), ax.get_title(loc="left"), ax.get_visible()) for ax in fig.axes])


def remember_drawing(key: bytes, svg: str, title: str, suptitle: str) -> None:
    """Keep the SVG drawn of a figure built from the inputs ``key``."""
    _DRAWINGS.svgs[key] = (svg, title, suptitle)
    _DRAWINGS.svgs.move_to_end(key)
    while len(_DRAWINGS.svgs) > _DRAWINGS.size:
        _DRAWINGS.svgs.popitem(last=False)


class _Unkeyable(Exception):
    pass


_PLAIN = (str, int, float, bool, type(None), np.generic, pd.Timestamp, pd.Timedelta, pd.Period)


def _feed(h, x) -> None:
    """Add ``x`` to the hash ``h`` by content (tables by their values, index, columns, types and attrs)."""
    if isinstance(x, _PLAIN):
        h.update(f"{type(x).__name__}:{x!r};".encode())
    elif isinstance(x, pd.DataFrame | pd.Series):
        h.update(f"{type(x).__name__}{list(x.columns) if isinstance(x, pd.DataFrame) else x.name!r}"
                 f"{list(x.dtypes) if isinstance(x, pd.DataFrame) else x.dtype}{x.index.names!r}{len(x)};".encode())
        try:
            h.update(pd.util.hash_pandas_object(x, index=True).to_numpy().tobytes())
        except TypeError as err:           # unhashable cells (lists)
            raise _Unkeyable from err
        _feed(h, x.attrs)
    elif isinstance(x, np.ndarray) and x.dtype != object:
        h.update(f"nd{x.dtype}{x.shape};".encode())
        h.update(np.ascontiguousarray(x).tobytes())
    elif isinstance(x, list | tuple):
        h.update(f"{type(x).__name__}{len(x)}(".encode())
        for v in x:
            _feed(h, v)
        h.update(b")")
    elif isinstance(x, dict):
        h.update(f"dict{len(x)}(".encode())
        for k, v in x.items():
            _feed(h, k)
            _feed(h, v)
        h.update(b")")
    elif isinstance(x, set | frozenset):
        try:
            _feed(h, sorted(x))
        except TypeError as err:
            raise _Unkeyable from err
    else:
        raise _Unkeyable(type(x).__name__)


def _inputs_key(fn, args: tuple, kwargs: dict) -> bytes | None:
    h = hashlib.blake2b(fn.__qualname__.encode(), digest_size=20)
    h.update(_DRAWINGS.style)
    try:
        _feed(h, args)
        _feed(h, sorted(kwargs.items()))
    except (_Unkeyable, TypeError, ValueError):       # inputs not compared by content: built and drawn each time
        return None
    return h.digest()


def reusable(fn):
    """A chart function whose drawing is reused for the same inputs under :func:`reuse_drawings`."""
    @functools.wraps(fn)
    def chart(*args, **kwargs):
        if not _DRAWINGS.active:
            return fn(*args, **kwargs)
        key = _inputs_key(fn, args, kwargs)
        if key is not None and key in _DRAWINGS.svgs:
            _DRAWINGS.svgs.move_to_end(key)
            return DrawnChart(*_DRAWINGS.svgs[key])
        if key is not None and _DRAWINGS.beside is not None:
            future = _DRAWINGS.beside(fn, args, kwargs)
            if future is not None:
                return PendingChart(fn, args, kwargs, key, future)
        fig = fn(*args, **kwargs)
        if key is not None:
            _DRAWINGS.pending[fig] = (key, _outline(fig))
        return fig
    return chart


MAX_FOOT_LINES = 4        # a longer source list is cut, so that it never squashes the chart


def footer_lines(source: str, note: str | None = None) -> str:
    foot = f"Source: {source}" + (f"  |  {note}" if note else "")
    return textwrap.fill(foot, 140, max_lines=MAX_FOOT_LINES, placeholder=" ... (full list under Sources and caveats)")


def footer_height(source: str, note: str | None, synthetic: bool) -> float:
    """Inches the footer (source lines and the synthetic label) takes at the bottom of a figure."""
    return 0.1 + 0.15 * (footer_lines(source, note).count("\n") + 1) + (0.22 if synthetic else 0.0)


def sector_colour(code: str) -> str:
    return SECTOR_COLOURS.get(code, NHS["mid_grey"])


PARTLY_SYNTHETIC_LABEL = "Partly synthetic demonstration data: the source line says which part"


def finish(fig: plt.Figure, title: str, source: str, synthetic: bool | str, note: str | None = None,
           layout: bool | str = "fast", right_in: float = 0.3, bottom_extra_in: float = 0.0,
           legend_below: bool = False) -> plt.Figure:
    """Title (the finding), footnote with source and caveats, and the synthetic label.

    Positions are set in inches so that tall and short figures get the same margins.
    ``layout="fast"`` sets the margins from the tick-label and axis-label texts directly
    (:func:`fast_layout`), about ten times cheaper than ``tight_layout`` (``layout=True``),
    which matters when a report draws a dozen charts or the ICB dropdown redraws them all.
    ``layout=False`` leaves the layout to the caller. ``legend_below=True`` puts one legend of the
    axes' labelled artists under the x axis, above the source line, where it cannot cover data.
    """
    height = fig.get_size_inches()[1]
    wrapped = textwrap.fill(title, 82)
    fig.suptitle(wrapped, x=0.01, y=1 - 0.08 / height, ha="left", va="top",
                 fontsize=12.5, fontweight="bold", color=NHS["dark_blue"])
    lines = footer_lines(source, note)
    fig.text(0.01, 0.06 / height, lines, fontsize=8, color=NHS["dark_grey"], ha="left", va="bottom")
    foot_in = footer_height(source, note, False)
    if synthetic:
        label = PARTLY_SYNTHETIC_LABEL if synthetic == "mixed" else SYNTHETIC_LABEL
        fig.text(0.99, foot_in / height, label.upper(), fontsize=8.5, color=NHS["red"],
                 ha="right", va="bottom", fontweight="bold")
        foot_in += 0.22
    if legend_below:
        bottom_extra_in += _legend_below(fig, foot_in)
    if layout == "fast":
        fast_layout(fig, top_in=0.2 + 0.25 * (wrapped.count("\n") + 1), bottom_in=foot_in + bottom_extra_in,
                    right_in=right_in)
    elif layout:   # tight_layout reserves room for the suptitle itself
        fig.tight_layout(rect=(0, (foot_in + 0.1) / height, 1, 1 - 0.05 / height))
    return fig


def _legend_below(fig: plt.Figure, foot_in: float, size_pt: float = 8) -> float:
    """One figure legend of every axes' labelled artists (first label wins), centred above the
    footer in as many columns as fit; returns the height it takes in inches."""
    seen: dict = {}
    for ax in fig.axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    if not seen:
        return 0.0
    width, height = fig.get_size_inches()
    col_in = 0.55 + _text_width_in(list(seen), size_pt)
    ncol = max(1, min(len(seen), int((width - 0.3) // col_in)))
    rows = -(-len(seen) // ncol)
    fig.legend(list(seen.values()), list(seen), loc="lower center", ncol=ncol, fontsize=size_pt, frameon=False,
               bbox_to_anchor=(0.5, (foot_in + 0.02) / height))
    return 0.08 + rows * 0.2


def _text_width_in(texts: list[str], size_pt: float) -> float:
    """Width of the longest text in inches, from a per-character estimate for DejaVu Sans
    (0.6 em covers mixed-case labels; wider than exact, so labels never collide)."""
    longest = max((len(line) for t in texts for line in str(t).split("\n")), default=0)   # wrapped: its longest line
    return longest * 0.6 * size_pt / 72


def _tick_texts(axis, ax) -> list[str]:
    """Tick label texts without drawing: category names, or the formatted axis limits."""
    if isinstance(axis.get_major_formatter(), mcategory.StrCategoryFormatter):     # categorical axis
        return [t.get_text() for t in axis.get_majorticklabels()]
    fmt = axis.get_major_formatter()
    lo, hi = (ax.get_ylim() if axis is ax.yaxis else ax.get_xlim())
    out = []
    for v in (lo, hi, (lo + hi) / 2):
        try:
            out.append(str(fmt(v)) if not isinstance(fmt, mticker.ScalarFormatter) else f"{v:,.1f}")
        except Exception:  # noqa: BLE001 - a formatter that needs a draw: fall back to the number
            out.append(f"{v:,.1f}")
    labels = [t.get_text() for t in (axis.get_ticklabels() if axis.get_major_locator().__class__.__name__ == "FixedLocator" else [])]
    return out + labels


def fast_layout(fig: plt.Figure, top_in: float, bottom_in: float, right_in: float = 0.3) -> None:
    """Set subplot margins from the axes' label texts (no rendering pass)."""
    width, height = fig.get_size_inches()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    size = plt.rcParams["ytick.labelsize"]
    size = size if isinstance(size, (int, float)) else plt.rcParams["font.size"] * 0.9
    first = axes[0]
    left = 0.2 + _text_width_in(_tick_texts(first.yaxis, first), size) + (0.4 if first.get_ylabel() else 0)
    xlab = any(ax.get_xlabel() for ax in axes)
    bottom = bottom_in + 0.15 + 0.3 + (0.3 if xlab else 0)
    titled = any(ax.get_title(loc="left") or ax.get_title() for ax in axes)
    top = top_in + (0.3 if titled else 0.1)
    last = max(axes, key=lambda ax: ax.get_position().x1)
    if not isinstance(last.xaxis.get_major_formatter(), mcategory.StrCategoryFormatter):
        # half the widest number: a tick at the right end of the axes is centred on it
        right_in = max(right_in, 0.5 * _text_width_in(_tick_texts(last.xaxis, last), size) + 0.1)
    ncols = len({round(ax.get_position().x0, 3) for ax in axes})
    shared = ncols > 1 and all(ax.get_shared_y_axes().joined(axes[0], ax) for ax in axes)
    extra = [_fit_ylabel(ax, height - top - bottom) for ax in axes]   # lines added to each y label
    left += 0.2 * extra[0]
    if ncols > 1 and not shared:
        inner = max(_text_width_in(_tick_texts(ax.yaxis, ax), size) for ax in axes) + 0.4 + 0.2 * max(extra)
    else:
        inner = 0.25
    panel_w = (width - left - right_in - inner * (ncols - 1)) / max(ncols, 1)
    fig.subplots_adjust(left=left / width, right=1 - right_in / width, bottom=bottom / height,
                        top=1 - top / height, wspace=inner / max(panel_w, 0.5))


def _fit_ylabel(ax, axes_height_in: float) -> int:
    """Wrap a y-axis label that is longer than its axes is tall (it would otherwise run into the
    title or the footer); returns the number of lines added."""
    text = ax.get_ylabel()
    if not text or "\n" in text:
        return 0
    per_char = 0.6 * ax.yaxis.label.get_size() / 72
    fit = max(int(axes_height_in / per_char), 8)
    if len(text) <= fit:
        return 0
    wrapped = textwrap.fill(text, fit, break_long_words=False)
    ax.set_ylabel(wrapped)
    return wrapped.count("\n")


def _text_in(text: str, size_pt: float) -> float:
    """Width of one line of text in inches, measured from the font's glyphs (no rendering); each text
    measured once per font (the same labels are measured for chart after chart)."""
    return _width_pt(text, FontProperties(size=size_pt)) / 72


@functools.lru_cache(maxsize=4096)
def _width_pt(text: str, font: FontProperties) -> float:
    return TextToPath().get_text_width_height_descent(text, font, ismath=False)[0]


def _wrap_to(text: str, width_in: float, size_pt: float) -> str | None:
    """``text`` wrapped at spaces to lines no wider than ``width_in``; None when one word is wider."""
    lines: list[str] = []
    for word in str(text).split():
        if _text_in(word, size_pt) > width_in:
            return None
        if lines and _text_in(f"{lines[-1]} {word}", size_pt) <= width_in:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return "\n".join(lines)


def _category_ticks(ax, cats: list, avail_in: float, fontsize: float | None = None) -> float:
    """Category tick labels on the x axis that never touch: each gets its slot's width less a gap
    and wraps to it (a point or two smaller if a word is too wide); failing that, every label
    stands vertical. Returns the extra height (inches) the labels need below the axes."""
    size = fontsize or plt.rcParams["xtick.labelsize"]
    size = size if isinstance(size, (int, float)) else plt.rcParams["font.size"] * 0.9
    slot = avail_in / max(len(cats), 1) - 0.12
    ax.set_xticks(range(len(cats)))
    for pt in (size, size - 1, size - 2):
        wrapped = [_wrap_to(c, slot, pt) for c in cats]
        if None not in wrapped:
            ax.set_xticklabels(wrapped, fontsize=pt)
            return 0.19 * max((t.count("\n") for t in wrapped), default=0)
    wrapped = _wrap_labels(cats, 24)
    ax.set_xticklabels(wrapped, rotation=90, fontsize=size)
    return max(_text_in(line, size) for t in wrapped for line in t.split("\n")) - 0.15


def _wrap_labels(labels, width: int) -> list[str]:
    """Category labels wrapped at ``width`` characters, so that long names do not squeeze the axes."""
    return [textwrap.fill(str(t), width) for t in labels]


def thousands(ax, axis: str = "x") -> None:
    fmt = mticker.FuncFormatter(lambda v, _: f"{v:,.0f}")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


@reusable
def fte_by_sector(by_sector: pd.DataFrame, icb_name: str, source: str, synthetic: bool, title: str | None = None) -> plt.Figure:
    """Horizontal bars of FTE by sector (whole-system row excluded), labelled with values. Where real and
    synthetic sectors (``status``) are drawn together, the synthetic bars are hatched and their labels say
    synthetic, so that no bar passes for a published figure."""
    d = by_sector[by_sector["sector"] != "whole_system"]
    fake = d["status"].eq("synthetic").to_numpy() if "status" in d else np.zeros(len(d), dtype=bool)
    mixed = bool(fake.any() and not fake.all())
    fig, ax = plt.subplots(figsize=(9, 3.8))
    bars = ax.barh(d["sector_label"], d["fte"], color=[sector_colour(s) for s in d["sector"]])
    ax.invert_yaxis()
    for bar, synthetic_bar in zip(bars, fake):
        if mixed and synthetic_bar:
            bar.set(hatch="///", edgecolor=NHS["white"], linewidth=0)
    for y, (v, sh, synthetic_bar) in enumerate(zip(d["fte"], d["share_of_fte_pct"], fake)):
        ax.text(v, y, f"  {v:,.0f} ({sh:.0f}%)" + (", synthetic" if mixed and synthetic_bar else ""), va="center",
                fontsize=9, color=NHS["black"])
    ax.set_xlabel("Full-time equivalent staff (FTE)")
    ax.set_ylabel("")
    ax.set_xlim(0, d["fte"].max() * (1.45 if mixed else 1.3))     # room for the longest value label
    thousands(ax)
    if not title:
        total = by_sector.loc[by_sector["sector"] == "whole_system", "fte"].iloc[0]
        social = d.loc[d["family"] == "social care", "fte"].sum()
        title = (f"{icb_name}: {total:,.0f} FTE across health and adult social care; "
                 f"{100 * social / total:.0f}% work in adult social care" if social else
                 f"{icb_name}: {total:,.0f} FTE in {', '.join(d['sector_label'])}")
    return finish(fig, title, source, synthetic)


@reusable
def staff_groups_by_sector(profile: pd.DataFrame, icb_name: str, source: str, synthetic: bool) -> plt.Figure:
    """Stacked horizontal bars: FTE in each harmonised staff group, split by sector."""
    piv = profile.pivot_table(index="staff_group_label", columns="sector", values="fte", aggfunc="sum", fill_value=0)
    piv = piv.loc[piv.sum(axis=1).sort_values().index]
    cols = [c for c in vocab.sector_codes() if c in piv.columns]
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(piv) + 3.0))
    left = pd.Series(0.0, index=piv.index)
    labels = vocab.sector_labels()
    ys = range(len(piv))
    for c in cols:
        ax.barh(ys, piv[c], left=left, color=sector_colour(c), label=labels[c])
        left += piv[c]
    ax.set_yticks(list(ys))
    ax.set_yticklabels(_wrap_labels(piv.index, 44), fontsize=9)     # long group names wrap: the bars keep their width
    ax.set_xlabel("Full-time equivalent staff (FTE)")
    ax.set_ylabel("")
    thousands(ax)
    top = piv.sum(axis=1).idxmax()
    # A finding only from real figures: with synthetic parts the title says what is shown.
    title = (f"{icb_name}: {top.split(' (')[0].lower()} are the largest staff group across the system" if not synthetic
             else f"{icb_name}: FTE by staff group and sector ({'partly ' if synthetic == 'mixed' else ''}synthetic: "
                  "no finding drawn)")
    return finish(fig, title, source, synthetic, legend_below=True)


@reusable
def per_capita_bars(comp: pd.DataFrame, measure_col: str, unit_label: str, source: str,
                    synthetic: bool, title: str) -> plt.Figure:
    """Grouped bars comparing the ICB with its region and England, one group per sector family."""
    fig, ax = plt.subplots(figsize=(9, 3.8))
    areas = list(dict.fromkeys(comp["area"]))
    shades = [HIGHLIGHT, NHS["mid_grey"], NHS["dark_grey"]]
    measures = list(dict.fromkeys(comp["measure"]))
    width = 0.8 / len(areas)
    for i, area in enumerate(areas):
        vals = comp[comp["area"] == area].set_index("measure").reindex(measures)[measure_col]
        xs = [j + (i - (len(areas) - 1) / 2) * width for j in range(len(measures))]
        bars = ax.bar(xs, vals.to_numpy(), width=width, color=shades[i % len(shades)], label=area)
        ax.bar_label(bars, fmt="%.1f", fontsize=8, padding=2)
    ax.set_xticks(range(len(measures)))
    ax.set_xticklabels(measures)
    ax.set_xlabel("")
    ax.set_ylabel(unit_label)
    ax.legend(title="", fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_ylim(0, comp[measure_col].max() * 1.15)
    right = 0.8 + _text_width_in(areas, 8)      # legend handle, gap and the longest name
    return finish(fig, title, source, synthetic, right_in=right)


# --------------------------------------------------------------------------- SPC (Making Data Count)

# Making Data Count point colours, as the NHS-R plot the dots package uses them.
SPC_COLOURS = {
    "common_cause": "#7B7D7D",
    "special_cause_improvement": "#289DE0",
    "special_cause_concern": "#FAB428",
    "special_cause_neutral_high": "#361475",
    "special_cause_neutral_low": "#361475",
    "missing": "#FFFFFF",
    "target": "#DE1B1B",
}
VARIATION_ICON = {  # colour, letter
    "common_cause": ("#7B7D7D", "~"), "improvement_high": ("#289DE0", "H"), "improvement_low": ("#289DE0", "L"),
    "concern_high": ("#FAB428", "H"), "concern_low": ("#FAB428", "L"), "neutral_high": ("#361475", "H"),
    "neutral_low": ("#361475", "L"),
}
ASSURANCE_ICON = {"consistent_pass": ("#289DE0", "P"), "consistent_fail": ("#FAB428", "F"),
                  "inconsistent": ("#7B7D7D", "?"), "none": ("#E8EDEE", "–")}


def icon_svg(colour: str, letter: str, title: str) -> str:
    """A small inline SVG icon (no external resources)."""
    fg = "#FFFFFF" if colour not in ("#E8EDEE",) else "#425563"
    return (f'<svg width="26" height="26" viewBox="0 0 26 26" role="img" aria-label="{title}">'
            f'<title>{title}</title><circle cx="13" cy="13" r="11" fill="{colour}"/>'
            f'<text x="13" y="18" font-size="13" font-family="Arial" font-weight="bold" '
            f'text-anchor="middle" fill="{fg}">{letter}</text></svg>')


def kpi_value_text(v: float, unit: str) -> str:
    """A KPI's value as the KPI matrix writes it."""
    return _fmt_value(v, unit)


def _fmt_value(v: float, unit: str) -> str:
    if pd.isna(v):
        return "–"
    if unit == "%":
        return f"{v:.1f}%"
    if unit in ("staff",):
        return f"{v:,.0f}"
    return f"{v:,.1f} {unit}"


def _latest_cell(r) -> str:
    """The latest month, and a warning when it is out of date against the newest data."""
    cell = f"{r.latest_period:%b %Y}"
    if getattr(r, "stale", False):
        age = (f"{r.months_behind / 12:.0f} years" if r.months_behind >= 24 else f"{r.months_behind} months")
        cell += (f"<br><strong style='color:#DA291C'>&#9888; out of date: {age} older than the newest data</strong>")
    return cell


def _kpi_table(rows: pd.DataFrame, head: list[str], cells) -> str:
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in cells(r)) + "</tr>" for r in rows.itertuples())
    return f"<table class='iwt-kpi'><tr>{''.join(f'<th>{h}</th>' for h in head)}</tr>{body}</table>"


BETTER_WHEN = {"increase": "higher is better", "decrease": "lower is better"}


def kpi_matrix_html(summary: pd.DataFrame, variation_text: dict, assurance_text: dict,
                    chart_text: dict | None = None) -> str:
    """The KPI summary matrix in two tables: real KPIs with their variation and assurance icons (none
    for a KPI read without SPC), then synthetic KPIs with no reading at all; a stale latest month is
    flagged in the Latest column."""
    def icon(kind: str, icons: dict, text: dict) -> str:        # no icon for a series read without SPC
        return text[kind] if kind not in icons else f"{icon_svg(*icons[kind], text[kind])} {text[kind]}"

    def name(r) -> str:
        note = f"<br><em style='color:#425563'>{html.escape(r.note)}</em>" if getattr(r, "note", "") else ""
        return f"<strong>{html.escape(r.name)}</strong>{note}"

    def target(r) -> str:                                       # the target, and which way is better
        better = BETTER_WHEN.get(getattr(r, "improvement", ""), "")
        return _fmt_value(r.target, r.unit) + (f"<br><em style='color:#425563'>{better}</em>" if better else "")

    synthetic = summary["synthetic"].astype(bool) if "synthetic" in summary else pd.Series(False, index=summary.index)
    real, demo = summary[~synthetic], summary[synthetic]
    parts = ["<style>.iwt-kpi{margin-bottom:10px}.iwt-kpi td,.iwt-kpi th{padding:4px 8px;border-bottom:1px solid #E8EDEE;"
             "vertical-align:middle;font-size:12px;text-align:left !important}.iwt-kpi th{background:#005EB8;color:#fff}"
             ".iwt-kpi svg{vertical-align:middle}.iwt-kpi-split{font-size:13px;font-weight:bold;margin:10px 0 4px}</style>"]
    if len(real):
        parts.append("<p class='iwt-kpi-split'>Real KPIs (published or local data)</p>")
        parts.append(_kpi_table(real, ["KPI", "Latest", "Value", "Target", "Variation", "Assurance", "Owner"], lambda r: [
            name(r), _latest_cell(r), _fmt_value(r.latest_value, r.unit), target(r),
            icon(r.variation, VARIATION_ICON, variation_text), icon(r.assurance, ASSURANCE_ICON, assurance_text),
            html.escape(r.owner_role)]))
    if len(demo):
        shown = chart_text or {}
        parts.append("<p class='iwt-kpi-split' style='color:#DA291C'>Synthetic KPIs (demonstration data, not real figures "
                     "for this ICB): no variation or assurance reading</p>")
        parts.append(_kpi_table(demo, ["KPI", "Latest", "Value", "Target", "Charted as", "Owner"], lambda r: [
            name(r), _latest_cell(r), _fmt_value(r.latest_value, r.unit), target(r),
            html.escape(shown.get(getattr(r, "chart", ""), "")), html.escape(r.owner_role)]))
    return "".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _xmr_grid_title(summary: pd.DataFrame, icb_name: str) -> str:
    """What the grid shows: for real KPIs, the finding from those read with SPC; for synthetic ones,
    what is drawn and no finding."""
    synthetic = summary["synthetic"].astype(bool) if "synthetic" in summary else pd.Series(False, index=summary.index)
    if synthetic.all():
        return (f"Synthetic demonstration KPIs for {icb_name}: made-up series charted to show the method, "
                "not findings")
    real = summary[~synthetic]
    judged = real[(real["chart"] == "xmr")] if "chart" in real else real
    run = len(real) - len(judged)
    parts = []
    if len(judged):
        concern = int(judged["variation"].str.startswith("concern").sum())
        fail = int((judged["assurance"] == "consistent_fail").sum())
        parts.append(f"{concern} of {_plural(len(judged), 'KPI')} read with SPC show special-cause concern in the latest "
                     f"month; {fail} will consistently miss target without change")
    if run:
        parts.append(f"{_plural(run, 'KPI')} shown as run charts (rolling or too few points for SPC)")
    stale = int(real["stale"].sum()) if "stale" in real else 0
    if stale:
        parts.append(f"{stale} out of date")
    return f"{icb_name}: " + "; ".join(parts)


RUN_COLOUR = "#425563"
FEW_LABELLED = 6            # a run chart with at most this many points has each value written on it


def _panel_subtitle(r) -> tuple[str, str]:
    """The line under a panel's title saying how it is drawn, and its colour (red when out of date)."""
    bits = []
    if getattr(r, "chart", "xmr") == "run":
        if getattr(r, "few_points", False):
            bits.append(f"only {_plural(r.points, 'point')}: run chart, too few for SPC limits")
        elif getattr(r, "rolling", 0):
            bits.append(f"{r.rolling}-month rolling values overlap: run chart, no SPC limits")
        else:
            bits.append("run chart, no SPC limits")
    colour = NHS["dark_grey"]
    if getattr(r, "stale", False):
        age = f"{r.months_behind / 12:.0f} years" if r.months_behind >= 24 else f"{r.months_behind} months"
        bits.append(f"OUT OF DATE: latest {r.latest_period:%b %Y}, {age} older than the newest data")
        colour = NHS["red"]
    return textwrap.fill("; ".join(bits), 70), colour


@reusable
def xmr_grid(chart: pd.DataFrame, summary: pd.DataFrame, icb_name: str, source: str, synthetic: bool | str,
             ncols: int = 2, title: str | None = None) -> plt.Figure:
    """Small-multiple charts, one panel per KPI. A KPI read with SPC (``chart == "xmr"``) is an XmR
    chart: values, mean, process limits, target, special-cause points coloured as Making Data Count
    does. Any other (rolling, or too few points) is a run chart: values and target only, each value
    written on it when there are few. A line under a panel's title says how it is drawn and flags
    an out-of-date latest point; synthetic KPIs say so in their titles."""
    import math

    import matplotlib.dates as mdates
    from matplotlib.lines import Line2D

    k = len(summary)
    nrows = max(1, math.ceil(k / ncols))
    width, axes_h = 11.0, 1.9
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, 2.55 * nrows + 1.6), squeeze=False)
    header_lines = []            # (title lines, subtitle lines) per panel
    kinds = set()
    for ax, r in zip(axes.flat, summary.itertuples()):
        d = chart[chart["kpi_id"] == r.kpi_id]
        kind = getattr(r, "chart", "xmr")
        kinds.add(kind)
        obs = d[d["point_type"] != "missing"]
        if kind == "xmr":
            ax.plot(d["period"], d["value"], color=SPC_COLOURS["common_cause"], lw=1.2, zorder=2)
            for _seg, s in d.groupby("segment"):
                ax.plot(s["period"], s["mean"], color="#425563", lw=1.2, zorder=1)
                ax.plot(s["period"], s["upl"], color="#7B7D7D", lw=1, ls="--", zorder=1)
                ax.plot(s["period"], s["lpl"], color="#7B7D7D", lw=1, ls="--", zorder=1)
            ax.scatter(obs["period"], obs["value"], s=14, zorder=3,
                       c=[SPC_COLOURS.get(p, RUN_COLOUR) for p in obs["point_type"]], edgecolors="none")
        else:
            # a new definition (``new_definition`` on its first point) starts a new line, marked where it starts
            new = d["new_definition"].astype(bool) if "new_definition" in d else pd.Series(False, index=d.index)
            starts = new & ~new.shift(fill_value=False) & (np.arange(len(d)) > 0)
            for _part, seg in d.groupby(starts.cumsum().to_numpy()):
                ax.plot(seg["period"], seg["value"], color=RUN_COLOUR, lw=1.2, zorder=2)
            periods = d["period"].reset_index(drop=True)
            for i in np.flatnonzero(starts.to_numpy()):
                mid = mdates.date2num(periods[i - 1] + (periods[i] - periods[i - 1]) / 2)
                ax.axvline(mid, color=NHS["mid_grey"], lw=0.8, ls=":", zorder=1)
                ax.annotate("definition changes", (mid, 0.03), xycoords=("data", "axes fraction"), xytext=(3, 0),
                            textcoords="offset points", ha="left", va="bottom", fontsize=7, color=NHS["dark_grey"],
                            style="italic")
            ax.scatter(obs["period"], obs["value"], s=22 if len(obs) <= FEW_LABELLED else 12, color=RUN_COLOUR,
                       zorder=3, edgecolors="none")
        if not pd.isna(r.target):
            ax.axhline(r.target, color=SPC_COLOURS["target"], lw=1.1, ls=(0, (4, 2)), zorder=1)
        few = kind == "run" and len(obs) <= FEW_LABELLED
        if few:
            for p, v in zip(obs["period"], obs["value"]):
                ax.annotate(_fmt_value(v, r.unit), (mdates.date2num(p), v), xytext=(0, 6), textcoords="offset points",
                            ha="center", va="bottom", fontsize=8, color=NHS["black"])
            values = list(obs["value"]) + ([r.target] if not pd.isna(r.target) else [])
            lo, hi = min(values), max(values)
            pad = (hi - lo) * 0.25 or abs(hi) * 0.1 or 1.0
            ax.set_ylim(lo - pad, hi + pad)               # room for the value labels above the points
            first, last = obs["period"].min(), obs["period"].max()
            span = max((last - first).days, 365)
            ax.set_xlim(mdates.date2num(first - pd.Timedelta(days=span * 0.15)),
                        mdates.date2num(last + pd.Timedelta(days=span * 0.15)))
            ticks = sorted(obs["period"].unique())
            ax.set_xticks(mdates.date2num(ticks))
            ax.set_xticklabels([f"{pd.Timestamp(p):%b %Y}" for p in ticks])
        else:
            # Fixed ticks (each April; each quarter for under two years) are much cheaper to draw than
            # matplotlib's date locators.
            months = pd.date_range(d["period"].min() - pd.DateOffset(months=11), d["period"].max(), freq="MS")
            short = (d["period"].max() - d["period"].min()).days < 2 * 365
            ticks = months[months.month % 3 == 1] if short else months[months.month == 4]
            ticks = ticks[ticks >= d["period"].min() - pd.DateOffset(months=1)] if short else ticks
            ax.set_xticks(mdates.date2num(ticks))
            ax.set_xticklabels([f"{p:%b %y}" for p in ticks])
        name = r.name + (" (synthetic)" if getattr(r, "synthetic", False) else "")
        wrapped = textwrap.fill(name, 52)
        sub, colour = _panel_subtitle(r)
        sub_lines = sub.count("\n") + 1 if sub else 0
        header_lines.append((wrapped.count("\n") + 1, sub_lines))
        ax.set_title(wrapped, fontsize=9.5, loc="left", color=NHS["dark_blue"], pad=4 + 10 * sub_lines)
        if sub:
            ax.annotate(sub, (0, 1), xycoords="axes fraction", xytext=(0, 3), textcoords="offset points",
                        ha="left", va="bottom", fontsize=7.5, color=colour, style="italic")
        ax.set_ylabel(r.unit, fontsize=8.5)
        ax.tick_params(labelsize=7.5)
    for ax in list(axes.flat)[k:]:
        ax.set_visible(False)
    handles = []
    if "xmr" in kinds:
        types = set(chart.loc[chart["kpi_id"].isin(summary.loc[summary.get("chart", "xmr") == "xmr", "kpi_id"]), "point_type"]) \
            if "chart" in summary else set(chart["point_type"])
        handles += [Line2D([], [], color="#425563", label="Mean"),
                    Line2D([], [], color="#7B7D7D", ls="--", label="Process limits")]
        for pt, label in (("special_cause_improvement", "Special cause: improvement"),
                          ("special_cause_concern", "Special cause: concern"),
                          ("special_cause_neutral_high", "Special cause: neutral")):
            if pt in types or (pt == "special_cause_neutral_high" and "special_cause_neutral_low" in types):
                handles.append(Line2D([], [], marker="o", ls="", color=SPC_COLOURS[pt], label=label))
        handles.append(Line2D([], [], marker="o", ls="", color=SPC_COLOURS["common_cause"], label="Common cause"))
    if "run" in kinds:
        handles.append(Line2D([], [], marker="o", color=RUN_COLOUR, label="Run chart value (no SPC)"))
    if summary["target"].notna().any():
        handles.append(Line2D([], [], color=SPC_COLOURS["target"], ls=(0, (4, 2)), label="Target"))
    title = title or _xmr_grid_title(summary, icb_name)
    legend_cols = 4
    legend_in = 0.2 * math.ceil(len(handles) / legend_cols) + 0.1
    title_in = 0.2 + 0.25 * (textwrap.fill(title, 82).count("\n") + 1)
    # Room above each row of panels for its tallest title and subtitle; below it, for the tick labels.
    header_in = max(0.17 * t + 0.14 * s for t, s in header_lines) + 0.12
    gap_in = header_in + 0.4
    note = "x axis: month (labels mark each April, each quarter of a short series, or each value of a run chart of few points)"
    foot_in = footer_height(source, note, bool(synthetic)) + 0.45
    top_in = title_in + legend_in + header_in
    height = top_in + nrows * axes_h + (nrows - 1) * gap_in + foot_in
    fig.set_size_inches(width, height)
    fig.legend(handles=handles, loc="upper center", ncol=legend_cols, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 1 - title_in / height))
    fig = finish(fig, title, source, synthetic, note=note, layout=False)   # the grid is laid out by hand below
    fig.subplots_adjust(top=1 - top_in / height, bottom=foot_in / height, hspace=gap_in / axes_h, wspace=0.18,
                        left=0.07, right=0.98)
    return fig


# --------------------------------------------------------------------------- data theme

def _family_colour(family: str) -> str:
    return FAMILY_COLOURS.get(family, NHS["mid_grey"])


@reusable
def rates_by_group(pg: pd.DataFrame, icb_name: str, source: str, synthetic: bool) -> plt.Figure:
    """Vacancy and turnover rates by staff group, health and social care side by side."""
    d = pg.dropna(subset=["vacancy_rate_pct", "turnover_rate_pct"], how="all").copy()
    d["label"] = d["staff_group_label"].str.split(" \\(").str[0] + " (" + d["family"] + ")"
    d = d.sort_values("turnover_rate_pct")
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.32 * len(d) + 1.9), sharey=True)
    for ax, col, label in ((axes[0], "vacancy_rate_pct", "Vacancy rate (% of posts)"),
                           (axes[1], "turnover_rate_pct", "Turnover (% of staff a year)")):
        ax.barh(d["label"], d[col], color=[_family_colour(f) for f in d["family"]])
        for y, v in enumerate(d[col]):
            if pd.notna(v):
                ax.text(v, y, f" {v:.1f}", va="center", fontsize=8)
        ax.set_xlabel(label)
        ax.set_xlim(0, d[col].max() * 1.2)
    worst = d.sort_values("turnover_rate_pct").iloc[-1]
    title = (f"{icb_name}: turnover is highest among {worst['staff_group_label'].split(' (')[0].lower()} "
             f"in {worst['family']} ({worst['turnover_rate_pct']:.0f}% a year)" if not synthetic else
             f"{icb_name}: vacancy and turnover by staff group ({'partly ' if synthetic == 'mixed' else ''}synthetic: "
             "no finding drawn)")
    return finish(fig, title, source, synthetic, note="blue: health; pink: social care")


@reusable
def pay_gap_chart(trend: pd.DataFrame, icb_name: str, source: str, synthetic: bool) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.plot(trend["year"], trend["nhs_hca_new_gbp"], marker="o", color=NHS["blue"],
            label="NHS healthcare assistant, new to role")
    ax.plot(trend["year"], trend["care_worker_gbp"], marker="o", color=NHS["pink"], label="Care worker, average")
    for r in trend.itertuples():
        ax.annotate(f"gap £{r.gap_gbp_per_hour:.2f}", (r.year, max(r.nhs_hca_new_gbp, r.care_worker_gbp)),
                    xytext=(0, 7), textcoords="offset points", ha="center", fontsize=8, color=NHS["dark_grey"])
    ax.set_xticks(trend["year"])
    ax.set_xticklabels([f"{y}/{str(y + 1)[-2:]}" for y in trend["year"]])
    ax.set_ylabel("Pay (£ per hour)")
    ax.set_xlabel("Financial year")
    last = trend.iloc[-1]
    title = (f"{icb_name}: care workers earn £{last['gap_gbp_per_hour']:.2f} an hour "
             f"({last['gap_pct']:.0f}%) less than new NHS healthcare assistants in {int(last['year'])}/{str(int(last['year']) + 1)[-2:]}"
             if not synthetic else f"{icb_name}: care workers' and new NHS healthcare assistants' pay by year "
             f"({'partly ' if synthetic == 'mixed' else ''}synthetic: no finding drawn)")
    ax.set_ylim(top=trend[["nhs_hca_new_gbp", "care_worker_gbp"]].max().max() * 1.06)
    return finish(fig, title, source, synthetic, legend_below=True)


@reusable
def retirement_risk(age: pd.DataFrame, icb_name: str, source: str, synthetic: bool) -> plt.Figure:
    d = age.sort_values("share_55_plus_pct")
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(d) + 2.0))
    ax.barh(range(len(d)), d["share_55_plus_pct"], color=NHS["dark_blue"])
    ax.set_yticks(range(len(d)))
    ax.set_yticklabels(_wrap_labels(d["staff_group_label"], 44), fontsize=9)     # long group names wrap: the bars keep their width
    for y, v in enumerate(d["share_55_plus_pct"]):
        ax.text(v, y, f" {v:.0f}%", va="center", fontsize=8)
    ax.set_xlabel("Share of headcount aged 55 or over (%)")
    ax.set_xlim(0, d["share_55_plus_pct"].max() * 1.2)
    top = d.iloc[-1]
    title = (f"{icb_name}: {top['share_55_plus_pct']:.0f}% of {top['staff_group_label'].split(' (')[0].lower()} "
             f"are aged 55 or over and could retire within ten years" if not synthetic else
             f"{icb_name}: share of each staff group aged 55 or over ({'partly ' if synthetic == 'mixed' else ''}synthetic: "
             "no finding drawn)")
    return finish(fig, title, source, synthetic)


@reusable
def ethnicity_chart(eth: pd.DataFrame, icb_name: str, source: str, synthetic: bool) -> plt.Figure:
    known = eth[eth["ethnic_group"] != "unknown"]
    groups = ["white", "asian", "black", "mixed", "other"]
    whos = list(dict.fromkeys(known["who"]))
    fig, ax = plt.subplots(figsize=(9, 3.6))
    width = 0.8 / len(whos)
    shades = [NHS["dark_grey"], NHS["blue"], NHS["pink"], NHS["aqua_green"]]
    for i, who in enumerate(whos):
        s = known[known["who"] == who].set_index("ethnic_group").reindex(groups)["share_of_known_pct"]
        xs = [j + (i - (len(whos) - 1) / 2) * width for j in range(len(groups))]
        unknown = eth[(eth["who"] == who) & (eth["ethnic_group"] == "unknown")]["share_of_all_pct"].sum()
        ax.bar(xs, s.to_numpy(), width=width, color=shades[i % len(shades)],
               label=f"{who} (ethnicity unknown: {unknown:.0f}%)" if who != "Residents" else who)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g.capitalize() for g in groups])
    ax.set_ylabel("Share of known (%)")
    res = known[(known["who"] == "Residents") & (known["ethnic_group"] != "white")]["share_of_known_pct"].sum()
    wf = known[known["who"].str.startswith("Workforce") & (known["ethnic_group"] != "white")]
    wf_all = known[known["who"].str.startswith("Workforce")]["people"].sum()
    wf_share = 100 * wf["people"].sum() / wf_all if wf_all else float("nan")      # no workforce rows: residents only
    title = (f"{icb_name}: {wf_share:.0f}% of the workforce with known ethnicity are from ethnic minority groups, "
             f"against {res:.0f}% of residents" if len(wf) else
             f"{icb_name}: {res:.0f}% of residents with known ethnicity are from ethnic minority groups (Census 2021)")
    return finish(fig, title, source, synthetic, legend_below=True)


@reusable
def population_growth(older: pd.DataFrame, icb_name: str, source: str, synthetic: bool) -> plt.Figure:
    base = older["year"].min()
    d = older[older["year"] > base]
    groups = list(dict.fromkeys(d["age_group"]))
    years = sorted(d["year"].unique())
    fig, axes = plt.subplots(1, len(groups), figsize=(10, 3.4), sharey=True)
    for ax, g in zip(axes, groups):
        s = d[d["age_group"] == g]
        x = range(len(years))
        icb = s[s["area"] == "icb"].set_index("year").reindex(years)["growth_pct"]
        eng = s[s["area"] == "England"].set_index("year").reindex(years)["growth_pct"]
        ax.bar([i - 0.2 for i in x], icb, width=0.4, color=HIGHLIGHT, label=icb_name)
        ax.bar([i + 0.2 for i in x], eng, width=0.4, color=NHS["dark_grey"], label="England")
        for i, v in enumerate(icb):
            ax.text(i - 0.2, v, f"{v:.0f}", ha="center", va="bottom", fontsize=7.5)
        ax.set_xticks(list(x))
        ax.set_xticklabels([str(y) for y in years])
        ax.set_title(f"Aged {g}", fontsize=10, loc="left")
        ax.set_xlabel("Year")
    axes[0].set_ylabel(f"Growth since {base} (%)")
    s85 = d[(d["age_group"] == groups[-1]) & (d["area"] == "icb")].sort_values("year").iloc[-1]
    title = (f"{icb_name}: the number of people aged {groups[-1]} grows by {s85['growth_pct']:.0f}% "
             f"between {base} and {int(s85['year'])}")
    return finish(fig, title, source, synthetic, legend_below=True)


@reusable
def funnel_panels(panels: list[tuple[str, pd.DataFrame, pd.DataFrame, str]], icb_code: str, icb_name: str,
                  source: str, synthetic: bool, synthetic_panels: frozenset | set = frozenset(),
                  title: str | None = None, panel_notes: dict | None = None,
                  ranked_panels: frozenset | set = frozenset()) -> plt.Figure:
    """One funnel plot per rate: every ICB's rate against its size, the selected ICB highlighted. The
    title's finding covers only the panels not in ``synthetic_panels`` (those are labelled, no finding);
    ``title`` replaces it; ``panel_notes`` (label -> words) says what a panel is in place of "synthetic".
    A panel in ``ranked_panels`` (a published rate whose sizes are synthetic) is no funnel: its rates are
    drawn ranked, lowest first, with no limits and no England line (both would stand on the synthetic
    sizes), so the chart places it against nothing it cannot stand on."""
    panel_notes = panel_notes or {}
    fig, axes = plt.subplots(1, len(panels), figsize=(11, 3.9))
    axes = list(axes) if len(panels) > 1 else [axes]
    findings = []
    for ax, (label, table, curve, xlabel) in zip(axes, panels):
        if label in ranked_panels:
            _ranked_panel(ax, label, table, icb_code, icb_name, panel_notes.get(label, ""))
            continue
        ax.plot(curve["denominator"], curve["hi998"], color=NHS["mid_grey"], lw=1, ls="--")
        ax.plot(curve["denominator"], curve["lo998"], color=NHS["mid_grey"], lw=1, ls="--", label="99.8% limits")
        ax.plot(curve["denominator"], curve["hi95"], color=NHS["mid_grey"], lw=1)
        ax.plot(curve["denominator"], curve["lo95"], color=NHS["mid_grey"], lw=1, label="95% limits")
        ax.axhline(table.attrs["overall_pct"], color=NHS["dark_grey"], lw=1, label="England")
        others = table[table.index != icb_code]
        ax.scatter(others["denominator"], others["rate_pct"], s=16, color=NHS["light_blue"], label="Other ICBs")
        if icb_code in table.index:
            me = table.loc[icb_code]
            ax.scatter([me["denominator"]], [me["rate_pct"]], s=60, color=HIGHLIGHT, edgecolor=NHS["black"],
                       zorder=3, label=icb_name)
            if label not in synthetic_panels:
                findings.append((label, me["position"]))
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(mticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_minor_formatter(mticker.NullFormatter())
        note = panel_notes.get(label, "synthetic" if label in synthetic_panels else "")
        ax.set_title(label + (f"\n({note})" if label in panel_notes else f" ({note})" if note else ""), fontsize=10, loc="left")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Rate (%)")
        ax.xaxis.set_major_formatter(mticker.FuncFormatter(_short_number))
    note = "limits widened for overdispersion (Spiegelhalter 2005)" if any(
        t.attrs.get("overdispersion") for _, t, _, _ in panels) else None
    outside = [f for f in findings if not f[1].startswith("within")]
    unjudged = f" ({_plural(len(synthetic_panels), 'synthetic measure')}: no finding)" if synthetic_panels else ""
    if title:
        pass
    elif not findings:
        title = f"{icb_name} against all 42 ICBs" + unjudged
    elif not outside:
        title = (f"{icb_name} is within the range expected by chance on "
                 + (f"all {len(findings)} measures" if len(findings) > 1 else findings[0][0])
                 + " against the 42 ICBs" + unjudged)
    else:
        title = f"{icb_name} against all 42 ICBs: " + "; ".join(f"{label} {pos} limit" for label, pos in outside) + (
            "; within the expected range on the others" if len(outside) < len(findings) else "") + unjudged
    # the figure grows, rather than the panels shrink, when the title, panel titles or source take more lines
    title_lines = textwrap.fill(title, 82).count("\n") + 1
    panel_lines = max(ax.get_title(loc="left").count("\n") for ax in axes)
    foot = footer_height(source, note, synthetic)
    top = FUNNEL_TOP_IN + 0.25 * title_lines + FUNNEL_PANEL_TITLE_LINE_IN * panel_lines
    height = max(FUNNEL_HEIGHT_IN, top + FUNNEL_MIN_PANEL_IN + foot + FUNNEL_BOTTOM_IN)
    fig.set_size_inches(fig.get_size_inches()[0], height)
    legend = {}
    for ax in axes:                     # each entry once, in the order the panels first draw it
        for h, lab in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(lab, h)
    fig.legend(list(legend.values()), list(legend), loc="lower center", ncol=6, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, (foot + 0.05) / height))
    fig = finish(fig, title, source, synthetic, note=note, bottom_extra_in=0.35)
    if panel_lines:                     # room for panel titles of two lines (finish allows for one)
        fig.subplots_adjust(top=fig.subplotpars.top - FUNNEL_PANEL_TITLE_LINE_IN * panel_lines / height)
    return fig


def _ranked_panel(ax, label: str, table: pd.DataFrame, icb_code: str, icb_name: str, note: str) -> None:
    """A rate drawn ranked among the ICBs, lowest first: no limits, no England line, the ICB highlighted."""
    d = table.sort_values("rate_pct").reset_index()
    d["rank"] = range(1, len(d) + 1)
    key = d.columns[0]
    mine = d[d[key] == icb_code]
    others = d[d[key] != icb_code]
    ax.scatter(others["rank"], others["rate_pct"], s=16, color=NHS["light_blue"], label="Other ICBs")
    if len(mine):
        ax.scatter(mine["rank"], mine["rate_pct"], s=60, color=HIGHLIGHT, edgecolor=NHS["black"], zorder=3,
                   label=icb_name)
    ax.set_xlim(0, len(d) + 1)
    ax.set_title(label + (f"\n({note};\nranked, no limits)" if note else "\n(ranked, no limits)"), fontsize=10, loc="left")
    ax.set_xlabel(f"ICBs ranked by rate (1 = lowest of {len(d)})")
    ax.set_ylabel("Rate (%)")


FUNNEL_HEIGHT_IN = 3.9            # the funnel figure's height when title and source are short
FUNNEL_MIN_PANEL_IN = 2.2         # the least height of a funnel panel (its plot area), in inches
FUNNEL_TOP_IN = 0.5               # above the panels, besides the title's lines: margin and one panel-title line
FUNNEL_PANEL_TITLE_LINE_IN = 0.18  # each further line of a panel title
FUNNEL_BOTTOM_IN = 0.35 + 0.75    # below the panels, besides the footer: the legend, tick labels and axis label


def _short_number(v: float, _pos=None) -> str:
    """Axis numbers as 20k, 1.5m: short enough for log axes with several ticks."""
    if v >= 1e6:
        return f"{v / 1e6:g}m"
    if v >= 1e3:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


def label_points(ax, points: list[tuple[float, float, str]], others: list[tuple[float, float]] = (),
                 fontsize: float = 8) -> list:
    """Name a few points of a scatter without any two names, or a name and a marker, overlapping.

    Call after the figure's layout is final (after :func:`finish`): each name tries positions around
    its point, nearest first, and takes the first one clear of the names already placed, of every
    marker (``points`` and ``others``) and inside the axes; a name set further out gets a leader line.
    """
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    to_px = ax.transData.transform
    pad = 4 * ax.figure.dpi / 72                     # about half a marker, in pixels
    markers = [to_px((x, y)) for x, y in [*((x, y) for x, y, _ in points), *others]]
    placed, texts = [], []
    directions = [(1, 0.4), (1, -1.4), (-1, 0.4), (-1, -1.4), (0, 1.2), (0, -2.2), (1, 1.4), (-1, 1.4), (1, -2.6), (-1, -2.6)]
    for x, y, name in points:
        chosen = None
        for radius in (6, 14, 24, 36):
            for dx, dy in directions:
                ha = "left" if dx > 0 else "right" if dx < 0 else "center"
                t = ax.annotate(name, (x, y), xytext=(dx * radius, dy * radius * 0.6), textcoords="offset points",
                                ha=ha, va="bottom", fontsize=fontsize, color=NHS["black"])
                bb = t.get_window_extent(renderer).padded(1)
                clear = (frame.contains(bb.x0, bb.y0) and frame.contains(bb.x1, bb.y1)
                         and not any(bb.overlaps(o) for o in placed)
                         and not any(bb.x0 - pad < mx < bb.x1 + pad and bb.y0 - pad < my < bb.y1 + pad for mx, my in markers))
                if clear:
                    chosen = (t, bb)
                    if radius > 6:       # set further out: a leader line (its own artist) back to the point
                        ax.annotate("", (x, y), xytext=(dx * radius, dy * radius * 0.6), textcoords="offset points",
                                    arrowprops=dict(arrowstyle="-", color=NHS["mid_grey"], lw=0.6, shrinkA=0, shrinkB=4))
                    break
                t.remove()
            if chosen:
                break
        if chosen is None:   # nowhere clear: the nearest position, so that the name is still shown
            t = ax.annotate(name, (x, y), xytext=(6, 3), textcoords="offset points", fontsize=fontsize)
            chosen = (t, t.get_window_extent(renderer))
        texts.append(chosen[0])
        placed.append(chosen[1])
    return texts


@reusable
def trend_lines(df: pd.DataFrame, x: str, y: str, y_label: str, x_label: str, icb_name: str, source: str,
                synthetic: bool, title: str) -> plt.Figure:
    """One line per area (the ICB highlighted, then its region and England) over ``x``."""
    fig, ax = plt.subplots(figsize=(9, 3.6))
    areas = list(dict.fromkeys([icb_name] + [a for a in df["area"].unique() if a != icb_name]))
    styles = [(HIGHLIGHT, 2.4), (NHS["mid_grey"], 1.6), (NHS["dark_grey"], 1.6)]
    xs = sorted(df[x].unique())
    for (colour, width), area in zip(styles, areas):
        d = df[df["area"] == area].set_index(x).reindex(xs)
        ax.plot(range(len(xs)), d[y].to_numpy(), color=colour, lw=width, marker="o", ms=3.5, label=area)
    extra_in = _category_ticks(ax, [str(v) for v in xs], fig.get_size_inches()[0] - 1.3, fontsize=8)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    lo, hi = df[y].min(), df[y].max()
    ax.set_ylim(max(0, lo - (hi - lo) * 0.6), hi + (hi - lo) * 0.3 + 1e-9)
    return finish(fig, title, source, synthetic, bottom_extra_in=extra_in, legend_below=True)


@reusable
def monthly_lines(df: pd.DataFrame, y: str, y_label: str, icb_name: str, source: str, synthetic: bool | str,
                  title: str, baseline: float | None = None) -> plt.Figure:
    """One line per area by month (the ICB highlighted, then its region and England) on a date axis,
    with an optional reference line (e.g. 100 for an index)."""
    import matplotlib.dates as mdates
    fig, ax = plt.subplots(figsize=(9, 3.6))
    areas = list(dict.fromkeys([icb_name] + [a for a in df["area"].unique() if a != icb_name]))
    styles = [(HIGHLIGHT, 2.4), (NHS["mid_grey"], 1.6), (NHS["dark_grey"], 1.6)]
    for (colour, width), area in zip(styles, areas):
        d = df[df["area"] == area].sort_values("period")
        ax.plot(pd.to_datetime(d["period"]), d[y].to_numpy(), color=colour, lw=width, label=area)
    if baseline is not None:
        ax.axhline(baseline, color=NHS["pale_grey"], lw=1, zorder=0)
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.set_xlabel("Month")
    ax.set_ylabel(y_label)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return finish(fig, title, source, synthetic, right_in=0.8 + _text_width_in(areas, 8))


@reusable
def grouped_bars(df: pd.DataFrame, category: str, group: str, value: str, value_label: str, source: str,
                 synthetic: bool, title: str, ylim: tuple[float, float] | None = None) -> plt.Figure:
    """Bars of ``value`` by ``category``, one bar per ``group`` (first group highlighted); ``ylim``: the
    value axis's limits (default from zero to above the largest bar)."""
    fig, ax = plt.subplots(figsize=(9, 4.2))
    cats = list(dict.fromkeys(df[category]))
    groups = list(dict.fromkeys(df[group]))
    shades = [HIGHLIGHT, NHS["mid_grey"], NHS["dark_grey"]]
    width = 0.8 / len(groups)
    for i, g in enumerate(groups):
        vals = df[df[group] == g].set_index(category).reindex(cats)[value]
        xs = [j + (i - (len(groups) - 1) / 2) * width for j in range(len(cats))]
        bars = ax.bar(xs, vals.to_numpy(), width=width, color=shades[i % len(shades)], label=g)
        ax.bar_label(bars, fmt="%.1f", fontsize=8, padding=2)
    extra_in = _category_ticks(ax, cats, fig.get_size_inches()[0] - 1.3)     # legend below: the full width
    ax.set_xlabel("")
    ax.set_ylabel(value_label)
    ax.set_ylim(0, df[value].max() * 1.18)
    finish(fig, title, source, synthetic, bottom_extra_in=extra_in, legend_below=True)
    if ylim is not None:
        ax.set_ylim(*ylim)
    return fig


def _band(ax, years, d: pd.DataFrame, colour: str, label: str) -> None:
    ax.fill_between(years, d["p10"], d["p90"], color=colour, alpha=0.18, lw=0)
    ax.plot(years, d["p50"], color=colour, lw=2.2, label=f"{label} (median; band: 10th to 90th percentile)")


@reusable
def supply_demand_fan(series: pd.DataFrame, source: str, synthetic: bool | str, title: str) -> plt.Figure:
    """Demand and supply (FTE) by year, each a median line in a 10th-90th percentile band."""
    fig, ax = plt.subplots(figsize=(9, 5.2))       # tall enough to read the gap on an axis from zero
    for measure, colour, label in (("demand", NHS["dark_blue"], "Demand (posts needed)"), ("supply", HIGHLIGHT, "Supply (staff in post)")):
        d = series[series["measure"] == measure].sort_values("year")
        _band(ax, d["year"].to_numpy(), d, colour, label)
    dem = series[series["measure"] == "demand"].sort_values("year")
    sup = series[series["measure"] == "supply"].sort_values("year")
    ax.fill_between(dem["year"].to_numpy(), sup["p50"].to_numpy(), dem["p50"].to_numpy(), facecolor=NHS["red"], alpha=0.3,
                    edgecolor=NHS["dark_red"], hatch="///", lw=0, label="Gap (between the medians)")
    ax.set_xlabel("Year")
    ax.set_ylabel("Full-time equivalent staff")
    ax.set_ylim(bottom=0)            # from zero: a cut axis would make the gap look far larger than it is
    ax.yaxis.set_major_locator(mticker.MaxNLocator(nbins=6))
    thousands(ax, "y")
    ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    return finish(fig, title, source, synthetic, legend_below=True)


@reusable
def gap_bands(series: pd.DataFrame, group_labels: dict, source: str, synthetic: bool | str, title: str) -> plt.Figure:
    """The gap (FTE) by year for each group (e.g. health and social care), median and band."""
    fig, ax = plt.subplots(figsize=(9, 4.6))
    groups = list(dict.fromkeys(series["group"]))
    for g in groups:
        d = series[(series["group"] == g) & (series["measure"] == "gap")].sort_values("year")
        _band(ax, d["year"].to_numpy(), d, FAMILY_COLOURS.get(g, NHS["dark_grey"]), group_labels.get(g, g))
    ax.axhline(0, color=NHS["dark_grey"], lw=0.8)
    lo, hi = series.loc[series["measure"] == "gap", ["p10", "p90"]].stack().agg(["min", "max"])
    ax.set_ylim(min(0.0, lo * 1.08), max(0.0, hi * 1.08))     # zero always on the axis
    ax.set_xlabel("Year")
    ax.set_ylabel("Gap: posts less staff (FTE)")
    thousands(ax, "y")
    ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    return finish(fig, title, source, synthetic, legend_below=True)


@reusable
def waterfall(parts: pd.DataFrame, source: str, synthetic: bool | str, title: str) -> plt.Figure:
    """A waterfall: the first and last rows are totals, the rows between are changes (FTE added to
    the gap above zero, taken from it below)."""
    fig, ax = plt.subplots(figsize=(9, 4.2))
    labels = [textwrap.fill(s, 16) for s in parts["label"]]
    vals = parts["fte"].to_numpy()
    level = 0.0
    for i, v in enumerate(vals):
        total = i in (0, len(vals) - 1)
        bottom, height = (0.0, v) if total else (level, v)
        colour = NHS["dark_grey"] if total else (NHS["red"] if v > 0 else NHS["green"])
        ax.bar(i, height, bottom=bottom, color=colour, width=0.7)
        top = max(bottom, bottom + height)
        ax.text(i, top + 0.01 * (abs(vals).max() or 1), f"{v:+,.0f}" if not total else f"{v:,.0f}",
                ha="center", va="bottom", fontsize=8)
        level = v if total else level + v
    ax.axhline(0, color=NHS["dark_grey"], lw=0.8)
    ends = [0.0, *(vals[:1]), *(vals[0] + vals[1:-1].cumsum()), *(vals[-1:])]
    span = (max(ends) - min(ends)) or 1.0
    ax.set_ylim(min(0.0, min(ends) - 0.06 * span), max(0.0, max(ends) + 0.12 * span))   # from zero, room for the values
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=7.5)
    ax.set_ylabel("Full-time equivalent staff")
    thousands(ax, "y")
    import matplotlib.patches as mpatches
    ax.legend(handles=[mpatches.Patch(color=NHS["red"], label="widens the gap"), mpatches.Patch(color=NHS["green"], label="narrows it"),
                       mpatches.Patch(color=NHS["dark_grey"], label="the gap")], fontsize=8, frameon=False, loc="upper left",
              bbox_to_anchor=(1.0, 1.0))
    return finish(fig, title, source, synthetic, bottom_extra_in=0.45, right_in=1.5)


@reusable
def range_bars(df: pd.DataFrame, label: str, source: str, synthetic: bool | str, title: str, value_label: str,
               highlight: str | None = None) -> plt.Figure:
    """Horizontal bars of the median (``p50``) with whiskers from ``p10`` to ``p90``, largest first; each
    row's median is printed in its label, so that no number sits at a whisker's end."""
    fig, ax = plt.subplots(figsize=(9, 0.6 + 0.42 * len(df) + 0.9))
    d = df.sort_values("p50", ascending=True)
    ys = list(range(len(d)))
    colours = [HIGHLIGHT if highlight is not None and lab == highlight else NHS["blue"] for lab in d[label]]
    ax.barh(ys, d["p50"], color=colours, height=0.6)
    ax.errorbar(d["p50"], ys, xerr=[d["p50"] - d["p10"], d["p90"] - d["p50"]], fmt="none",
                ecolor=NHS["dark_grey"], capsize=3, lw=1)
    ax.set_yticks(ys)
    ax.set_yticklabels([f"{lab}: {v:,.0f}" for lab, v in zip(d[label], d["p50"])])
    ax.axvline(0, color=NHS["dark_grey"], lw=0.8)
    ax.set_xlabel(value_label)
    ax.xaxis.set_major_locator(mticker.MaxNLocator(nbins=5))
    thousands(ax, "x")
    return finish(fig, title, source, synthetic)


@reusable
def place_panels(table: pd.DataFrame, indicators: list[tuple[str, str]], icb_label: str, source: str,
                 synthetic: bool | str, title: str) -> plt.Figure:
    """Where each place sits on each indicator: one panel per indicator, places as dots (one row
    each, the same order in every panel), the ICB as a solid line and England as a dashed one."""
    places = table[~table["area"].isin(["England"]) & (table["area_name"] != icb_label)]
    icb = table[table["area_name"] == icb_label]
    eng = table[table["area"] == "England"]
    names = places["area_name"].tolist()
    n = len(indicators)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(12, 1.6 + rows * (0.28 * len(names) + 0.9)), sharey=True, squeeze=False)
    y = list(range(len(names)))[::-1]
    for k, (col, label) in enumerate(indicators):
        ax = axes[k // cols][k % cols]
        ax.scatter(places[col], y, color=NHS["blue"], s=28, zorder=3)
        if len(icb) and pd.notna(icb[col].iloc[0]):
            ax.axvline(icb[col].iloc[0], color=HIGHLIGHT, lw=2, label=icb_label)
        if len(eng) and pd.notna(eng[col].iloc[0]):
            ax.axvline(eng[col].iloc[0], color=NHS["dark_grey"], lw=1.4, ls="--", label="England")
        ax.set_title("\n".join(textwrap.wrap(label, 34)), fontsize=9, loc="left")
        ax.set_yticks(y)
        ax.set_yticklabels(names, fontsize=8.5)
        ax.tick_params(axis="x", labelsize=8)
        ax.margins(x=0.15)
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig = finish(fig, title, source, synthetic, layout=False)
    height = fig.get_size_inches()[1]
    width = fig.get_size_inches()[0]
    title_in = 0.25 + 0.25 * (textwrap.fill(title, 82).count("\n") + 1)
    if handles:              # in its own row under the title, never over a panel
        fig.legend(handles, labels, loc="upper left", ncol=2, fontsize=8.5, frameon=False,
                   bbox_to_anchor=(0.0, 1 - title_in / height))
    left = 0.3 + _text_width_in(names, 8.5)
    fig.subplots_adjust(left=left / width, right=0.98, top=1 - (title_in + 0.75) / height,
                        bottom=(footer_height(source, None, bool(synthetic)) + 0.45) / height,
                        hspace=0.9 / (0.28 * len(names) + 0.9), wspace=0.25)
    return fig


@reusable
def tornado(df: pd.DataFrame, source: str, synthetic: bool | str, title: str, value_label: str,
            max_bars: int = 12) -> plt.Figure:
    """A tornado: for each row (``label``), a bar from the result at its assumption's low end
    (``gap_low``) to the result at its high end (``gap_high``), drawn from the central result
    (``gap_mid``, a vertical line); the largest swing on top, at most ``max_bars`` rows."""
    d = df.head(max_bars).iloc[::-1].reset_index(drop=True)
    # long assumption names wrap onto lines of their own, so the bars keep most of the width at 1280 px
    labels = ["\n".join(textwrap.wrap(f"{lab} ({lo} to {hi})", 46)) for lab, lo, hi in zip(d["label"], d["low"], d["high"])]
    lines = sum(max(1, lab.count("\n") + 1) for lab in labels)
    fig, ax = plt.subplots(figsize=(10, 1.9 + 0.22 * lines + 0.18 * len(d)))
    mid = float(d["gap_mid"].iloc[0]) if len(d) else 0.0
    for i, r in d.iterrows():
        for end, colour in (("gap_low", NHS["light_blue"]), ("gap_high", NHS["dark_blue"])):
            ax.barh(i, r[end] - mid, left=mid, color=colour, height=0.6)
    ax.set_yticks(range(len(d)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.axvline(mid, color=NHS["dark_grey"], lw=1)
    # wrapped to half the figure's width, measured: centred on the bars, it stays clear of the right edge
    size = ax.xaxis.label.get_fontsize()
    ax.set_xlabel(_wrap_to(value_label, fig.get_figwidth() / 2, size) or "\n".join(textwrap.wrap(value_label, 60)))
    ax.xaxis.set_major_locator(mticker.MaxNLocator(nbins=5))
    thousands(ax, "x")
    import matplotlib.patches as mpatches
    ax.legend(handles=[mpatches.Patch(color=NHS["light_blue"], label="assumption at its low end"),
                       mpatches.Patch(color=NHS["dark_blue"], label="at its high end")],
              fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, borderaxespad=0.2)
    return finish(fig, title, source, synthetic)
