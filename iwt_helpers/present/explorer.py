"""Interactive controls that redraw a whole notebook in place, and the same notebook rendered statically.

A notebook creates one :class:`Explorer`, registers its heading (``explorer.header(fn)``), adds
any controls beyond the ICB picker (``explorer.add_control``), shows them (``explorer.controls()``)
and then renders each section with ``explorer.section(render)``, where ``render(icb_code)``
returns a list of items (tables, figures, text, headlines), or ``explorer.live(fn)``, where
``fn(icb_code)`` displays things itself (the sources and caveats, a summary matrix). Renderers read
the other controls through ``explorer.value(name)``.

In JupyterLab each section, heading and live block is an ipywidgets ``Output`` whose outputs are
replaced as a whole when a control it depends on changes, so a section may show a different number
of items for another ICB. A block depends on every control unless it says otherwise
(``explorer.section(render, depends_on=["icb_code"])``, or a renderer marked with
:func:`depends_on`): moving a control redraws only the blocks that depend on it, and a block whose
outputs come out the same is not sent to the page again. Each block keeps the outputs of its last
few states (ICB and the values of the controls it depends on), so that going back to one is not
rendered again, and a chart drawn from the same inputs as before is not drawn again
(:func:`iwt_helpers.present.charts.reuse_drawings`). In a live kernel the charts of a redraw are built
and drawn by worker processes beside the kernel (:mod:`.beside`) while it works out the next
section (blocks whose last render had charts are rendered first), and each block is shown as soon as its
charts are back. :meth:`Explorer.redraw` called directly renders
everything afresh; after :func:`data_changed` (data shown changed under the explorer, e.g. a
readiness round saved) no output kept from before is shown again. Headlines, invisible in reports
(they go to the index pages), are shown as ``<div class="iwt-headline">`` blocks so that an analyst
sees them change. Key tables and headline payloads for the report runner are emitted on the first
render only, never on redraws.

Under the report runner (``IWT_BATCH=1`` in the kernel's environment), or without a live kernel
and ipywidgets, no control is shown: everything renders once, statically, from the notebook's
parameters, and ``value(name)`` is the control's default.
"""

from __future__ import annotations

import asyncio
import gc
import html
import os
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from IPython.display import HTML, Markdown, display

from iwt_helpers import IWT_MIME
from iwt_helpers.data import geography

from . import beside, charts, notebook
from .items import Figure, Headline, Item, Table

BATCH_ENV = "IWT_BATCH"
KINDS = ("dropdown", "slider", "int_slider")
ICB = "icb_code"
STATES_KEPT = 6            # outputs of a block's last few states kept, to go back to one without rendering it


_DATA_CHANGES = [0]          # data_changed() calls so far: part of every kept state's key


def data_changed() -> None:
    """Say that data an explorer shows changed under it (a readiness round was saved): outputs kept
    from before are not shown again, every block is rendered afresh for its next state."""
    _DATA_CHANGES[0] += 1


def depends_on(*names: str) -> Callable:
    """Mark a renderer with the controls it depends on (``"icb_code"`` for the ICB picker), so that an
    :class:`Explorer` redraws it only when one of them changes: ``@depends_on("icb_code", "place")``.
    A renderer not marked depends on every control. Names of controls a notebook does not add are
    allowed (the control may exist for one ICB and not another)."""
    def mark(render: Callable) -> Callable:
        render.depends_on = frozenset(names)
        return render
    return mark


@dataclass
class _Control:
    name: str
    kind: str
    value: Any
    description: str
    options: list[tuple[str, Any]] | None = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    widget: Any = None


@dataclass
class _Part:
    """A block that redraws: a section (``render`` returns items) or a live function (it displays)."""
    render: Callable[[str], Any]
    items: bool
    depends: frozenset | None = None       # the controls it depends on; None: every control
    out: Any = None                        # the ipywidgets Output (interactive use only)
    states: OrderedDict = field(default_factory=OrderedDict)     # _state() -> outputs, the last few
    charts: bool = False                   # its last render had charts (a redraw renders such blocks first)

    def depends_on(self, name: str) -> bool:
        return self.depends is None or name in self.depends


def _widget_bundle(widget) -> dict:
    # Shown without a text fallback, so a static render of the notebook shows nothing here.
    return {"application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0,
                                                          "model_id": widget.model_id}, "text/plain": ""}


def _display_data(data: dict, metadata: dict | None = None) -> dict:
    return {"output_type": "display_data", "data": data, "metadata": metadata or {}}


class Explorer:
    def __init__(self, icb_code: str, interactive: bool | None = None, draw_beside: bool | None = None):
        """``draw_beside``: whether redraws hand their charts to worker processes (:mod:`.beside`); default
        in a live kernel only."""
        self.icb_code = geography.resolve_icb(icb_code)
        if interactive is None:
            interactive = os.environ.get(BATCH_ENV, "") != "1" and widgets_available()
        self.interactive = interactive
        self._draw_beside = draw_beside
        self._drawer: beside.Drawer | None = None
        self.parts: list[_Part] = []
        self.last_redraw_s: float | None = None
        self.redraws = 0
        self._controls: dict[str, _Control] = {}
        self._observers: list[Callable[[str, Any], None]] = []
        self._shown = False
        self._dropdown = None
        self._status = None

    # ------------------------------------------------------------------ controls

    def add_control(self, name: str, kind: str, *, value: Any, description: str,
                    options: list[tuple[str, Any]] | None = None, min: float | None = None,  # noqa: A002
                    max: float | None = None, step: float | None = None) -> None:  # noqa: A002
        """Add a control beside the ICB picker: a ``dropdown`` (options as (label, value) pairs), a
        ``slider`` (float) or an ``int_slider``. Call before :meth:`controls`; ``value`` is what a
        static render uses."""
        if kind not in KINDS:
            raise ValueError(f"control {name!r}: kind {kind!r}, expected one of {', '.join(KINDS)}")
        if name == ICB or name in self._controls:
            raise ValueError(f"control {name!r} already exists")
        if self._shown:
            raise RuntimeError(f"control {name!r}: add controls before explorer.controls() shows them")
        if kind == "dropdown":
            options = [tuple(o) for o in (options or [])]
            if value not in [v for _, v in options]:
                raise ValueError(f"control {name!r}: value {value!r} is not one of its options")
        else:
            if min is None or max is None or not min <= value <= max:
                raise ValueError(f"control {name!r}: a slider needs min <= value <= max (got {min}, {value}, {max})")
        self._controls[name] = _Control(name, kind, value, description, options, min, max, step)

    def has(self, name: str) -> bool:
        """True when a control of this name was added (the ICB picker always is)."""
        return name == ICB or name in self._controls

    def value(self, name: str) -> Any:
        """The current value of a control (its default in a static render); ``"icb_code"``: the ICB."""
        if name == ICB:
            return self.icb_code
        c = self._controls[name]
        return c.value if c.widget is None else c.widget.value

    def widget(self, name: str):
        """The widget of a control (``"icb_code"``: the ICB picker); None before :meth:`controls`
        or in a static render."""
        return self._dropdown if name == ICB else self._controls[name].widget

    def control_names(self) -> list[str]:
        """``"icb_code"`` and the name of every added control, in the order shown."""
        return [ICB, *self._controls]

    def observe(self, callback: Callable[[str, Any], None]) -> None:
        """Call ``callback(name, value)`` after every change of a control has been redrawn."""
        self._observers.append(callback)

    def controls(self) -> None:
        """The ICB picker and every added control (interactive use only)."""
        self._shown = True
        if not self.interactive:
            return
        import ipywidgets as w

        # The notebook has loaded its data by now and keeps it while it is open: move it out of the
        # collector's generations (as the report runner does after its warm-up), so that collections
        # during redraws do not walk it again and again.
        gc.freeze()
        if widgets_available() if self._draw_beside is None else self._draw_beside:
            try:
                self._drawer = beside.drawer()     # the workers start now, while the notebook renders
            except Exception as err:                # no worker could start: every chart is drawn here
                self._drawer = None
                warnings.warn(f"charts are drawn in the kernel only: {type(err).__name__}: {err}", stacklevel=2)

        t = geography.icbs()
        options = [(f"{r.icb_short_name} ({r.icb_code})", r.icb_code) for r in t.sort_values("icb_short_name").itertuples()]
        self._dropdown = w.Dropdown(options=options, value=self.icb_code, description="ICB:",
                                    layout=w.Layout(width="420px"))
        self._status = w.HTML(value="")
        self._dropdown.observe(lambda ch: self._on_change(ICB, ch["new"]), names="value")
        rows = [w.HBox([self._dropdown, self._status])]
        style = {"description_width": "initial"}
        for c in self._controls.values():
            if c.kind == "dropdown":
                c.widget = w.Dropdown(options=c.options, value=c.value, description=c.description, style=style,
                                      layout=w.Layout(width="520px"))
            else:
                make = w.IntSlider if c.kind == "int_slider" else w.FloatSlider
                kw = {} if c.step is None else {"step": c.step}
                c.widget = make(value=c.value, min=c.min, max=c.max, description=c.description, style=style,
                                continuous_update=False, layout=w.Layout(width="520px"), **kw)
            c.widget.observe(lambda ch, name=c.name: self._on_change(name, ch["new"]), names="value")
            rows.append(c.widget)
        display(_widget_bundle(w.VBox(rows)), raw=True)

    # ------------------------------------------------------------------ what redraws

    def header(self, render: Callable[[str], Any], depends_on: Iterable[str] | None = None) -> None:
        """The report's heading and banner, ``render(icb_code)`` displaying them (e.g. ``notebook.header``)."""
        self.live(render, depends_on)

    def live(self, render: Callable[[str], Any], depends_on: Iterable[str] | None = None) -> None:
        """A block that ``render(icb_code)`` displays itself, redrawn as a whole when a control it
        depends on changes (``depends_on``: their names, default the renderer's mark, see
        :func:`depends_on`, else every control)."""
        self._add(_Part(render, items=False, depends=_depends(render, depends_on)))

    def section(self, render: Callable[[str], list[Item]], depends_on: Iterable[str] | None = None) -> list[Item]:
        """Render a section for the current ICB and remember how to redraw it (when a control in
        ``depends_on`` changes, as for :meth:`live`); the items shown."""
        return self._add(_Part(render, items=True, depends=_depends(render, depends_on)))

    def _add(self, part: _Part):
        if not self.interactive:
            if not part.items:
                return part.render(self.icb_code)
            items = part.render(self.icb_code)
            for item in items:
                if isinstance(item, Headline):
                    notebook.headline(item.name, item.value, item.unit, item.fmt, item.provenance)
                else:
                    bundle, shown = _bundle(item)
                    display(bundle)
                    if isinstance(item, Table) and item.key:
                        notebook.key_table(item.key, shown, item.caption, item.provenance)
                tags = _measures_payload(item)
                if tags:
                    display({IWT_MIME: tags, "text/plain": ""}, raw=True)
            return items
        import ipywidgets as w

        with charts.reuse_drawings():
            outputs, payloads, result = self._render(part)
        part.out = w.Output()
        part.out.outputs = outputs
        part.states[self._state(part)] = outputs
        self.parts.append(part)
        display(_widget_bundle(part.out), raw=True)
        for payload in payloads:                       # for the runner; first render only
            display({IWT_MIME: payload, "text/plain": ""}, raw=True)
        return result

    def _render(self, part: _Part, payloads_too: bool = True) -> tuple[tuple, list[dict], Any]:
        """The outputs of a part for the current ICB, and the runner's payloads it emitted (for a
        section, only with ``payloads_too``: a redraw does not emit them). A chart being drawn beside the
        kernel is its ``charts.PendingChart`` among the outputs (:func:`_shown` waits for it)."""
        if part.items:
            items = part.render(self.icb_code)
            outputs, payloads = [], []
            for item in items:
                tags = _measures_payload(item) if payloads_too else None
                if isinstance(item, Headline):
                    payload = notebook.headline_payload(item.name, item.value, item.unit, item.fmt, item.provenance)
                    payloads.append(payload)
                    outputs.append(_display_data({"text/html": notebook.headline_html(payload),
                                                  "text/plain": f"{payload['name']}: {payload['text']}"}))
                elif isinstance(item, Figure) and isinstance(item.fig, charts.PendingChart):
                    outputs.append(item.fig)
                else:
                    bundle, shown = _bundle(item)
                    outputs.append(_display_data(_data_of(bundle)))
                    if isinstance(item, Table) and item.key and payloads_too:
                        payloads.append(notebook.key_table_payload(item.key, shown, item.caption, item.provenance))
                if tags:
                    payloads.append(tags)
            part.charts = any(isinstance(item, Figure) for item in items)
            return tuple(outputs), payloads, items
        from IPython.utils.capture import capture_output

        with capture_output() as cap:
            result = part.render(self.icb_code)
        outputs, payloads = [], []
        for name, text in (("stdout", cap.stdout), ("stderr", cap.stderr)):
            if text:
                outputs.append({"output_type": "stream", "name": name, "text": text})
        for o in cap.outputs:
            if IWT_MIME in o.data:
                payload = o.data[IWT_MIME]
                payloads.append(payload)
                if payload.get("kind") == "headline":
                    outputs.append(_display_data({"text/html": notebook.headline_html(payload),
                                                  "text/plain": f"{payload['name']}: {payload['text']}"}))
                continue
            outputs.append(_display_data(dict(o.data), dict(o.metadata or {})))
        return tuple(outputs), payloads, result

    def _state(self, part: _Part) -> tuple:
        """What a block's outputs depend on: the ICB and the values of the controls it depends on."""
        names = self._controls if part.depends is None else sorted(n for n in part.depends if n in self._controls)
        return (_DATA_CHANGES[0], self.icb_code, *((n, self.value(n)) for n in names))

    def redraw(self, icb_code: str | None = None) -> float:
        """Re-render everything for the ICB (default: the current one) and the controls' current
        values, afresh (after the data changed: nothing kept from earlier renders is reused),
        replacing each block's outputs at once; seconds taken."""
        charts.forget_drawings()
        for part in self.parts:
            part.states.clear()
        return self._redraw(None, icb_code)

    def _redraw(self, changed: str | None, icb_code: str | None = None) -> float:
        """Redraw the blocks that depend on the control ``changed`` (None: every block): each from its
        kept outputs for this state, else rendered; a block whose outputs did not change is left as it
        is on the page."""
        t0 = time.perf_counter()
        if icb_code is not None:
            self.icb_code = geography.resolve_icb(icb_code)
        # The collector's full sweeps walk every object of the loaded tables (tenths of a second each, at
        # random points of a redraw); a redraw's own garbage is collected once it is shown.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with charts.reuse_drawings(), (charts.draw_beside(self._drawer.submit) if self._drawer else nullcontext()):
                waiting: list[tuple[_Part, tuple, tuple]] = []        # blocks rendered, charts not all back
                # Blocks with charts first, so that their charts are drawn beside the kernel while it works out
                # the others (each block has its own place on the page, whatever the order it is rendered in).
                for part in sorted(self.parts, key=lambda p: not p.charts):
                    if changed is not None and not part.depends_on(changed):
                        continue
                    state = self._state(part)
                    outputs = part.states.get(state)
                    if outputs is None:
                        outputs, _, _ = self._render(part, payloads_too=False)
                        waiting.append((part, state, outputs))
                    else:
                        part.states.move_to_end(state)
                        waiting.append((part, None, outputs))
                    self._show(waiting, wait=False)
                if self._drawer is not None:
                    self._drawer.help()        # nothing left to work out: draw what no worker has yet
                self._show(waiting, wait=True)
        finally:
            if collecting:
                gc.enable()
        self.last_redraw_s = time.perf_counter() - t0
        self.redraws += 1
        return self.last_redraw_s

    @staticmethod
    def _show(waiting: list, wait: bool) -> None:
        """Show each block of ``waiting`` whose charts are back (every block, in order, waiting for its
        charts, with ``wait``), each kept for its state (None: kept already); shown blocks leave the list."""
        for item in list(waiting):
            part, state, outputs = item
            if not wait and not all(o.done() for o in outputs if isinstance(o, charts.PendingChart)):
                continue
            waiting.remove(item)
            outputs = _shown(outputs)
            if state is not None:
                part.states[state] = outputs
                while len(part.states) > STATES_KEPT:
                    part.states.popitem(last=False)
            if outputs != part.out.outputs:
                part.out.outputs = outputs

    def _on_change(self, name: str, value: Any) -> None:
        # Collection stays paused until the kernel has replied to the change, so that the redraw's
        # garbage is collected while the page shows it rather than before.
        collecting = gc.isenabled()
        gc.disable()
        try:
            if self._status is not None:
                self._status.value = "<em>redrawing…</em>"
            try:
                seconds = self._redraw(name, value if name == ICB else None)
            except Exception as err:      # a callback's error would otherwise vanish into the kernel log
                if self._status is not None:
                    self._status.value = (f"<span style='color:#DA291C'>could not redraw: "
                                          f"{html.escape(type(err).__name__)}: {html.escape(str(err))}</span>")
                raise
            if self._status is not None:
                self._status.value = (f"<span class='iwt-redrawn' data-redraws='{self.redraws}' style='color:#425563'>"
                                      f"redrawn in {seconds:.2f} s</span>")
            for callback in self._observers:
                callback(name, value)
        finally:
            if collecting:
                _after_reply(gc.enable)


def _after_reply(callback: Callable[[], Any]) -> None:
    """Call ``callback`` once the kernel has finished the message it is handling (the next turn of its
    event loop, after its reply and "idle"), or at once outside an event loop."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        callback()
        return
    loop.call_soon(callback)


def _depends(render: Callable, names: Iterable[str] | None) -> frozenset | None:
    if names is None:
        names = getattr(render, "depends_on", None)
    return None if names is None else frozenset([names] if isinstance(names, str) else names)


def _measures_payload(item: Item) -> dict | None:
    """The runner's record of the registered figures an item shows (``measures.csv``), or None."""
    if isinstance(item, Table):
        rows = notebook.table_measure_rows(item.measures, item.columns, item.formats)
        where = ("table", item.caption, item.key)
    elif isinstance(item, Headline):
        v = item.measure
        rows = [notebook.measure_row(v, "", item.fmt.format(v.value) if isinstance(item.value, int | float) else str(item.value))] \
            if v is not None else []
        where = ("headline", item.name, None)
    elif isinstance(item, Figure):
        rows = [notebook.measure_row(v) for v in item.measures if v is not None]
        title = item.fig.get_suptitle().replace("\n", " ") if hasattr(item.fig, "get_suptitle") else "chart"
        where = ("figure", title, None)
    else:
        return None
    return notebook.measures_payload(*where[:2], rows, where[2]) if rows else None


def _shown(outputs: tuple) -> tuple[dict, ...]:
    """Outputs with each chart drawn beside the kernel as its drawing (waiting for it; drawn here
    when it does not come)."""
    return tuple(_display_data(_data_of(notebook.figure_bundle(o))) if isinstance(o, charts.PendingChart) else o
                 for o in outputs)


def _bundle(item: Item) -> tuple[Any, Any]:
    """What to display for an item, and for a table the table as shown (after suppression)."""
    if isinstance(item, Table):
        page, out = notebook.table_html(item.df, item.caption, item.columns, item.formats, item.suppress,
                                        provenance=item.provenance)
        return HTML(page), out
    if isinstance(item, Figure):
        return notebook.figure_bundle(item.fig), None
    return Markdown(item.markdown), None


def _data_of(obj) -> dict:
    if isinstance(obj, notebook.SVGChart):
        return obj._repr_mimebundle_()
    if isinstance(obj, HTML):
        return {"text/html": obj.data, "text/plain": "<table>"}
    return {"text/markdown": obj.data, "text/plain": obj.data}


def widgets_available() -> bool:
    """True in a live Jupyter kernel with ipywidgets installed (not under a plain Python run)."""
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None
