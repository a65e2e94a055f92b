"""Charts built and drawn beside the kernel (present/beside.py): a worker's drawing is the kernel's drawing,
byte for byte; the kernel draws what no worker has, and whatever a worker fails, refuses or cannot take."""

import matplotlib as mpl
import pandas as pd
import pytest

from iwt_helpers.present import beside, charts, explorer, notebook
from iwt_helpers.present.items import Figure, Headline

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def drawer():
    notebook.setup()
    d = beside.Drawer(1)
    assert d.ready(timeout=120), "the drawing worker did not start"
    yield d
    d.close()


def _bars(value: float, title: str = "A finding") -> tuple[tuple, dict]:
    df = pd.DataFrame({"category": ["a", "b", "a", "b"], "group": ["x", "x", "y", "y"], "value": [1.0, value, 3.0, 4.0]})
    return (df, "category", "group", "value", "Value (FTE)", "a source", False, title), {"ylim": (0, 10)}


def _here(args: tuple, kwargs: dict) -> str:
    """The SVG the kernel draws of grouped_bars on these inputs, outside any redraw."""
    return notebook.figure_bundle(charts.grouped_bars(*args, **kwargs)).svg


def test_a_chart_drawn_by_a_worker_is_the_kernels_drawing_byte_for_byte(drawer):
    args, kwargs = _bars(2.5)
    with charts.reuse_drawings(), charts.draw_beside(drawer.submit):
        pending = charts.grouped_bars(*args, **kwargs)
        assert isinstance(pending, charts.PendingChart)
        assert pending.drawing() is not None                 # drawn there, not here
        shown = notebook.figure_bundle(pending)
    assert shown.svg == _here(args, kwargs)
    assert shown.title == "A finding"


def test_a_worker_takes_on_the_kernels_chart_settings_before_drawing(drawer):
    args, kwargs = _bars(3.0)
    with mpl.rc_context({"axes.edgecolor": "#DA291C", "font.size": 13}):
        with charts.reuse_drawings(), charts.draw_beside(drawer.submit):
            pending = charts.grouped_bars(*args, **kwargs)
            assert pending.drawing() is not None
            svg = notebook.figure_bundle(pending).svg
        assert svg == _here(args, kwargs)
    assert svg != _here(args, kwargs)                        # the settings did change the drawing


def test_charts_no_worker_has_yet_are_drawn_by_the_kernel_the_same():
    notebook.setup()
    starting = beside.Drawer(1)              # its worker takes a second or more to start: the first chart waits for it
    inputs = [_bars(v, f"Finding {v}") for v in (1.5, 2.0, 2.5, 3.5)]
    try:
        with charts.reuse_drawings(), charts.draw_beside(starting.submit):
            pending = [charts.grouped_bars(*a, **k) for a, k in inputs]
            drawn_here = starting.help()
            sent = [p._future.sent for p in pending]
            svgs = [notebook.figure_bundle(p).svg for p in pending]
    finally:
        starting.close()
    assert sent == [True, False, False, False] and drawn_here == 3
    assert svgs == [_here(a, k) for a, k in inputs]


def test_asking_a_pending_chart_for_its_figure_builds_it_in_the_kernel(drawer):
    args, kwargs = _bars(4.5)
    with charts.reuse_drawings(), charts.draw_beside(drawer.submit):
        charts.grouped_bars(*_bars(0.5)[0], **_bars(0.5)[1])       # keeps the one worker busy first
        pending = charts.grouped_bars(*args, **kwargs)
        assert pending.get_suptitle() == "A finding"        # the figure's own method: built here
        assert pending.drawing() is None
        svg = notebook.figure_bundle(pending).svg
    assert svg == _here(args, kwargs)


def test_a_chart_whose_worker_fails_is_drawn_by_the_kernel_and_fails_there(drawer):
    args, kwargs = _bars(2.0)
    kwargs = {**kwargs, "no_such_option": True}
    with charts.reuse_drawings(), charts.draw_beside(drawer.submit):
        pending = charts.grouped_bars(*args, **kwargs)
        assert pending.drawing() is None
        with pytest.raises(TypeError, match="no_such_option"):
            notebook.figure_bundle(pending)


def test_a_stopped_drawer_hands_back_nothing_and_the_kernel_draws():
    notebook.setup()
    stopped = beside.Drawer(1)
    stopped.close()
    args, kwargs = _bars(6.0)
    with charts.reuse_drawings(), charts.draw_beside(stopped.submit):
        fig = charts.grouped_bars(*args, **kwargs)
        assert not isinstance(fig, charts.PendingChart)
        assert notebook.figure_bundle(fig).svg == _here(args, kwargs)


def _section(ex: explorer.Explorer):
    def render(icb: str) -> list:
        v = float(ex.value("level"))
        return [Headline(f"Level in {icb}", v, "FTE"),
                *(Figure(charts.grouped_bars(*_bars(v + i, f"Chart {i} at {v}")[0], **_bars(v + i)[1])) for i in range(3))]
    return render


def _explorer(draw_beside: bool) -> explorer.Explorer:
    ex = explorer.Explorer("QOP", interactive=True, draw_beside=draw_beside)
    ex.add_control("level", "slider", value=1.0, min=0.0, max=5.0, step=0.5, description="Level:")
    ex.controls()
    ex.section(_section(ex))
    return ex


def test_an_explorer_redraw_with_charts_drawn_beside_shows_what_one_without_shows(drawer, monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.setattr(explorer, "display", lambda *a, **k: None)
    monkeypatch.setattr(notebook, "display", lambda *a, **k: None)
    monkeypatch.setattr(beside, "drawer", lambda: drawer)
    beside_ex, here_ex = _explorer(True), _explorer(False)
    assert beside_ex._drawer is drawer and here_ex._drawer is None
    for level in (2.0, 3.5, 2.0, 4.0):
        beside_ex.widget("level").value = level
        here_ex.widget("level").value = level
        assert beside_ex.parts[0].out.outputs == here_ex.parts[0].out.outputs
        assert f"Chart 2 at {level}" in str(beside_ex.parts[0].out.outputs[-1]["data"])
        assert not any(isinstance(o, charts.PendingChart) for s in beside_ex.parts[0].states.values() for o in s)
