"""Sections that render for one ICB and, in JupyterLab, redraw for another without re-running cells.

A notebook creates one :class:`Explorer`, shows its ICB dropdown, then renders each section
with ``explorer.section(render)``, where ``render(icb_code)`` returns a list of items (tables,
figures, markdown). Every item is displayed with a display id; choosing another ICB in the
dropdown calls each section's ``render`` again and updates those displays in place.

Under the report runner (``IWT_BATCH=1`` in the kernel's environment) or without ipywidgets,
no dropdown is shown and the sections render once, statically, for the notebook's ICB. Key
tables and headline figures are emitted on that first render only, never on redraws.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown, display

from iwt_helpers.data import geography

from . import notebook
from .items import Figure, Headline, Item, Table

BATCH_ENV = "IWT_BATCH"


def _bundle(item: Item) -> tuple[Any, pd.DataFrame | None]:
    """What to display for an item, and for a table the table as shown (after suppression)."""
    if isinstance(item, Table):
        page, out = notebook.table_html(item.df, item.caption, item.columns, item.formats, item.suppress,
                                        provenance=item.provenance)
        return HTML(page), out
    if isinstance(item, Figure):
        return notebook.figure_bundle(item.fig), None
    return Markdown(item.markdown), None


@dataclass
class _Section:
    render: Callable[[str], list[Item]]
    handles: list = field(default_factory=list)


class Explorer:
    def __init__(self, icb_code: str, interactive: bool | None = None):
        self.icb_code = geography.resolve_icb(icb_code)
        if interactive is None:
            interactive = os.environ.get(BATCH_ENV, "") != "1" and widgets_available()
        self.interactive = interactive
        self.sections: list[_Section] = []
        self.last_redraw_s: float | None = None
        self._dropdown = None
        self._status = None

    def controls(self) -> None:
        """The ICB dropdown (interactive use only)."""
        if not self.interactive:
            return
        import ipywidgets as w

        t = geography.icbs()
        options = [(f"{r.icb_short_name} ({r.icb_code})", r.icb_code) for r in t.sort_values("icb_short_name").itertuples()]
        self._dropdown = w.Dropdown(options=options, value=self.icb_code, description="ICB:",
                                    layout=w.Layout(width="420px"))
        self._status = w.HTML(value="")
        self._dropdown.observe(self._on_change, names="value")
        box = w.HBox([self._dropdown, self._status])
        # Shown without a text fallback, so a static render of the notebook shows nothing here.
        display({"application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0,
                                                               "model_id": box.model_id}, "text/plain": ""}, raw=True)

    def section(self, render: Callable[[str], list[Item]]) -> list[Item]:
        """Render a section for the current ICB and remember how to redraw it."""
        items = render(self.icb_code)
        sec = _Section(render)
        for item in items:
            if isinstance(item, Headline):
                notebook.headline(item.name, item.value, item.unit, item.fmt, item.provenance)
                sec.handles.append(None)
                continue
            bundle, shown = _bundle(item)
            handle = display(bundle, display_id=f"iwt-{uuid.uuid4().hex}") if self.interactive else None
            if not self.interactive:
                display(bundle)
            sec.handles.append(handle)
            if isinstance(item, Table) and item.key:
                notebook.key_table(item.key, shown, item.caption, item.provenance)
        self.sections.append(sec)
        return items

    def redraw(self, icb_code: str) -> float:
        """Re-render every section for another ICB, updating the displays in place; seconds taken."""
        t0 = time.perf_counter()
        self.icb_code = geography.resolve_icb(icb_code)
        for sec in self.sections:
            for handle, item in zip(sec.handles, sec.render(self.icb_code)):
                if handle is not None and not isinstance(item, Headline):
                    handle.update(_bundle(item)[0])
                elif isinstance(item, Figure):
                    notebook.close(item.fig)
        self.last_redraw_s = time.perf_counter() - t0
        return self.last_redraw_s

    def _on_change(self, change: dict) -> None:
        if self._status is not None:
            self._status.value = "<em>redrawing…</em>"
        seconds = self.redraw(change["new"])
        if self._status is not None:
            self._status.value = f"<span style='color:#425563'>redrawn in {seconds:.2f} s</span>"


def widgets_available() -> bool:
    """True in a live Jupyter kernel with ipywidgets installed (not under a plain Python run)."""
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None
