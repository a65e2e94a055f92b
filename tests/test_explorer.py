"""The explorer: static render once from the parameters; interactive redraws of the blocks a control moves, with
what a redraw would repeat (outputs of a state shown before, charts of the same inputs) kept."""

import importlib.util

import pandas as pd
import pytest

from iwt_helpers import IWT_MIME
from iwt_helpers.data import geography
from iwt_helpers.data.datastore import open_dataset
from iwt_helpers.present import charts, explorer, notebook
from iwt_helpers.present.items import Headline, Table, Text
from iwt_helpers.themes import data as data_theme
from iwt_helpers.themes.params import ReportParams

pytestmark = pytest.mark.unit


@pytest.fixture
def shown(monkeypatch):
    out = []
    monkeypatch.setattr(explorer, "display", lambda obj=None, *a, raw=False, **k: out.append(obj))
    monkeypatch.setattr(notebook, "display", lambda obj=None, *a, raw=False, **k: out.append(obj))
    return out


@pytest.fixture(scope="module")
def ctx():
    return data_theme.DataContext.load(open_dataset(), ReportParams.parse(icb_code="QOP"))


def _sector_section(icb: str) -> list:
    """A small section of the data theme's kinds (a headline and a key table), cheap to draw: the
    explorer's behaviour does not depend on how heavy a section is."""
    name = geography.icb_name(icb)
    return [Headline(f"Workforce in {name}", 1000.0, "FTE"),
            Table(pd.DataFrame({"sector": ["nhs_trust"], "fte": [1000.0]}), f"Workforce by sector in {name}", key="by_sector")]


def _texts(part) -> str:
    return " ".join(str(v) for o in part.out.outputs for v in o.get("data", {}).values())


def test_a_control_redraws_the_blocks_that_depend_on_it_for_the_current_values(shown):
    pytest.importorskip("ipywidgets")
    ex = explorer.Explorer("QOP", interactive=True)
    ex.add_control("scale", "int_slider", value=1, min=1, max=3, description="Scale:")
    ex.controls()
    ex.section(_sector_section)
    ex.section(lambda icb: [Headline(f"Scaled {icb}", 10 * ex.value("scale"), "FTE"),
                            *([Text("only at scale 3")] if ex.value("scale") == 3 else [])])
    whole, scaled = ex.parts
    assert "Workforce by sector in Greater Manchester" in _texts(whole)
    assert 'class="iwt-headline"' in _texts(scaled) and "10 FTE" in _texts(scaled)
    ex.widget("icb_code").value = "QE1"                     # the picker's own observer redraws
    assert "Lancashire and South Cumbria" in _texts(whole) and "Greater Manchester" not in _texts(whole)
    ex.widget("scale").value = 3
    assert "30 FTE" in _texts(scaled) and len(scaled.out.outputs) == 2     # a block may grow or shrink
    assert ex.redraws == 2 and ex.last_redraw_s > 0 and ex.value("icb_code") == "QE1"


def test_payloads_for_the_runner_are_emitted_on_the_first_render_only(shown):
    pytest.importorskip("ipywidgets")
    ex = explorer.Explorer("QOP", interactive=True)
    ex.section(_sector_section)
    kinds = [o[IWT_MIME]["kind"] for o in shown if isinstance(o, dict) and IWT_MIME in o]
    assert "headline" in kinds and "table" in kinds
    before = len(shown)
    ex.redraw("QE1")
    assert len(shown) == before


def test_live_blocks_capture_what_they_display_and_show_headlines(monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.setattr(explorer, "display", lambda *a, **k: None)      # the blocks' own displays are captured
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.instance()                                 # display() needs a shell to be captured
    ex = explorer.Explorer("QOP", interactive=True)
    params = ReportParams.parse(icb_code="QOP")
    ex.header(lambda icb: notebook.header(params, "Data", synthetic=True, icb_code=icb))
    ex.live(lambda icb: notebook.headline(f"Headline for {icb}", 5))
    ex.redraw("QT6")
    head, live = ex.parts
    assert "## Cornwall and the Isles of Scilly" in _texts(head) and "Greater Manchester" not in _texts(head)
    assert "Headline for QT6" in _texts(live) and "iwt-headline" in _texts(live)


def test_static_mode_shows_no_controls_and_uses_defaults(shown, ctx):
    ex = explorer.Explorer("QOP", interactive=False)
    ex.add_control("kpi", "dropdown", value="a", options=[("A", "a"), ("B", "b")], description="KPI:")
    ex.controls()
    items = ex.section(data_theme.retirement_section(ctx))
    assert ex.value("kpi") == "a" and ex.widget("kpi") is None and ex.parts == []
    assert items and shown and not any(isinstance(o, dict) and "application/vnd.jupyter.widget-view+json" in o for o in shown)


def test_controls_are_checked_when_added():
    ex = explorer.Explorer("QOP", interactive=False)
    with pytest.raises(ValueError, match="kind"):
        ex.add_control("x", "knob", value=1, description="x")
    with pytest.raises(ValueError, match="min <= value <= max"):
        ex.add_control("x", "slider", value=5, min=0, max=1, description="x")
    with pytest.raises(ValueError, match="not one of its options"):
        ex.add_control("x", "dropdown", value="c", options=[("A", "a")], description="x")
    ex.controls()
    with pytest.raises(RuntimeError):
        ex.add_control("y", "int_slider", value=1, min=0, max=2, description="y")


def test_batch_environment_turns_interactivity_off(monkeypatch):
    monkeypatch.setenv(explorer.BATCH_ENV, "1")
    assert explorer.Explorer("QOP").interactive is False


def test_dropdown_lists_all_42_icbs_and_sliders_wait_for_release(shown):
    pytest.importorskip("ipywidgets")
    ex = explorer.Explorer("QOP", interactive=True)
    ex.add_control("r", "slider", value=0.5, min=0, max=1, step=0.1, description="Retention:")
    ex.controls()
    picker = ex.widget("icb_code")
    assert len(picker.options) == 42 and picker.value == "QOP"
    assert {v for _, v in picker.options} == set(geography.icb_codes())
    assert ex.widget("r").continuous_update is False


# ---------------------------------------------------------------------------- what a control redraws


def _counted(ex, name: str, depends_on=None):
    """A section that counts its renders and shows the ICB and the slider's value."""
    calls = []

    def render(icb):
        calls.append(icb)
        return [Text(f"{name} {icb} {ex.value('scale') if ex.has('scale') else ''}")]
    ex.section(render, depends_on=depends_on)
    return calls


def test_a_control_redraws_only_the_blocks_that_depend_on_it(shown):
    pytest.importorskip("ipywidgets")
    ex = explorer.Explorer("QOP", interactive=True)
    ex.add_control("scale", "int_slider", value=1, min=1, max=3, description="Scale:")
    ex.controls()
    icb_only = _counted(ex, "icb only", depends_on=["icb_code"])
    every = _counted(ex, "every control")                       # not marked: depends on every control
    ex.widget("scale").value = 2
    assert len(icb_only) == 1 and len(every) == 2
    ex.widget("icb_code").value = "QE1"
    assert len(icb_only) == 2 and len(every) == 3


def test_a_renderer_marked_with_depends_on_is_redrawn_for_its_controls_only(shown):
    pytest.importorskip("ipywidgets")
    ex = explorer.Explorer("QOP", interactive=True)
    ex.add_control("scale", "int_slider", value=1, min=1, max=3, description="Scale:")
    ex.controls()
    calls = []
    ex.section(explorer.depends_on("icb_code", "place")(lambda icb: calls.append(icb) or [Text(icb)]))
    ex.widget("scale").value = 3
    assert calls == ["QOP"]                                     # "place" need not exist


def test_going_back_to_a_state_shows_its_outputs_without_rendering_again(shown):
    pytest.importorskip("ipywidgets")
    ex = explorer.Explorer("QOP", interactive=True)
    ex.add_control("scale", "int_slider", value=1, min=1, max=3, description="Scale:")
    ex.controls()
    calls = _counted(ex, "section", depends_on=["icb_code", "scale"])
    ex.widget("scale").value = 2
    ex.widget("scale").value = 1
    assert len(calls) == 2 and "section QOP 1" in _texts(ex.parts[0])


def test_after_data_changed_no_kept_outputs_are_shown_again(shown):
    pytest.importorskip("ipywidgets")
    ex = explorer.Explorer("QOP", interactive=True)
    ex.controls()
    calls = _counted(ex, "section", depends_on=["icb_code"])
    ex.widget("icb_code").value = "QE1"
    explorer.data_changed()                          # e.g. a readiness round saved for QOP
    ex.widget("icb_code").value = "QOP"
    assert calls == ["QOP", "QE1", "QOP"]


def test_outputs_that_come_out_the_same_are_not_sent_to_the_page_again(shown):
    pytest.importorskip("ipywidgets")
    ex = explorer.Explorer("QOP", interactive=True)
    ex.add_control("scale", "int_slider", value=1, min=1, max=3, description="Scale:")
    ex.controls()
    ex.section(lambda icb: [Text(f"always the same for {icb}")])      # depends on every control
    sent = []
    ex.parts[0].out.observe(lambda change: sent.append(change["new"]), names="outputs")
    ex.widget("scale").value = 2
    assert sent == []
    ex.widget("icb_code").value = "QE1"
    assert len(sent) == 1


def test_redraw_called_directly_renders_every_block_afresh(shown):
    pytest.importorskip("ipywidgets")
    ex = explorer.Explorer("QOP", interactive=True)
    ex.add_control("scale", "int_slider", value=1, min=1, max=3, description="Scale:")
    ex.controls()
    calls = _counted(ex, "section", depends_on=["icb_code"])
    ex.redraw()                                                 # e.g. after a readiness round was saved
    assert calls == ["QOP", "QOP"] and ex.redraws == 1


def test_collection_resumes_once_the_kernel_has_replied_to_a_change(shown):
    import asyncio
    import gc

    pytest.importorskip("ipywidgets")
    ex = explorer.Explorer("QOP", interactive=True)
    ex.controls()
    ex.section(lambda icb: [Text(icb)])

    async def change() -> tuple[bool, bool]:
        ex.widget("icb_code").value = "QE1"          # as a widget's message handler runs, inside the event loop
        during = gc.isenabled()
        await asyncio.sleep(0)                       # the loop's next turn: the reply has been sent
        return during, gc.isenabled()

    assert gc.isenabled()
    assert asyncio.run(change()) == (False, True)


# ---------------------------------------------------------------------------- charts drawn once per inputs


def _bars(value: float) -> pd.DataFrame:
    return pd.DataFrame({"category": ["a", "b", "a", "b"], "group": ["x", "x", "y", "y"],
                         "value": [1.0, value, 3.0, 4.0]})


def _grouped(df):
    return charts.grouped_bars(df, "category", "group", "value", "Value", "a source", False, "A finding")


def test_a_chart_of_the_same_inputs_is_shown_as_first_drawn_without_being_built_again():
    with charts.reuse_drawings():
        first = notebook.figure_bundle(_grouped(_bars(2.0)))
        again = _grouped(_bars(2.0))
    assert isinstance(again, charts.DrawnChart)
    assert notebook.figure_bundle(again).svg == first.svg
    assert notebook.figure_bundle(_grouped(_bars(2.0))).svg == first.svg     # drawn afresh: the same bytes


def test_a_chart_of_other_inputs_is_built_and_drawn_anew():
    with charts.reuse_drawings():
        first = notebook.figure_bundle(_grouped(_bars(2.0)))
        other = _grouped(_bars(2.5))
    assert not isinstance(other, charts.DrawnChart)
    assert notebook.figure_bundle(other).svg != first.svg


def test_a_figure_changed_after_its_chart_function_returned_it_is_not_reused():
    with charts.reuse_drawings():
        changed = _grouped(_bars(7.0))
        changed.axes[0].set_ylim(0, 10)
        notebook.figure_bundle(changed)
        again = _grouped(_bars(7.0))
    assert not isinstance(again, charts.DrawnChart)
    notebook.close(again)


def test_outside_an_explorer_redraw_a_chart_function_always_builds_its_figure():
    import matplotlib.figure

    with charts.reuse_drawings():
        notebook.figure_bundle(_grouped(_bars(2.0)))
    fig = _grouped(_bars(2.0))
    assert isinstance(fig, matplotlib.figure.Figure)
    notebook.close(fig)


# ---------------------------------------------------------------------------- work done once per ICB


def test_an_icbs_rows_split_once_are_the_rows_a_filter_gives(ctx):
    for table in ("workforce", "kpi_observations", "snapshot"):
        df = ctx.snapshot if table == "snapshot" else ctx.t[table]
        for icb in ("QOP", "QE1"):
            pd.testing.assert_frame_equal(ctx.icb_rows(table, icb), df[df["icb_code"] == icb], check_exact=True)


def test_the_coverage_matrix_latest_rows_worked_out_once_are_the_rows_latest_for_gives(ctx):
    from iwt_helpers.analysis import quality
    for icb in ("QOP", "QE1", "QHM", "ZZZ"):
        for table, _ in data_theme.MEASURES.values():
            df = ctx.icb_rows(table, icb)
            if table == "ethnicity":
                df = df[df["group"] == "workforce"]
            for sector in data_theme.SECTOR_ROWS:
                want = quality.latest_for(df, icb, sector)
                got = data_theme._latest_rows(ctx, table, icb, sector)
                if want.empty:
                    assert got.empty
                else:
                    pd.testing.assert_frame_equal(got, want)


def test_a_tables_icb_rows_worked_out_once_are_the_rows_a_filter_gives_with_or_without_a_memo(ctx):
    from types import SimpleNamespace

    from iwt_helpers.analysis import measures, pressures
    compute = lambda: pressures.latest_flows(ctx.t["flows"])          # noqa: E731
    plain = SimpleNamespace(t=ctx.t)                                   # inputs that keep nothing
    for icb in ("QOP", "QE1", "QT6", "ZZZ"):
        want = compute()[compute()["icb_code"] == icb]
        got = measures._icb_rows_of(ctx, ("latest_flows",), compute, icb)
        assert got.empty == want.empty
        if len(want):
            pd.testing.assert_frame_equal(got, want)
        pd.testing.assert_frame_equal(measures._icb_rows_of(plain, ("latest_flows",), compute, icb), want)
    for icb in ("QE1", "QHM"):
        for name in ("asc_vacancy_rate", "asc_turnover_rate", "nhs_leaver_rate"):
            assert ctx.measure(name, icb) == measures.figure(plain, name, icb)


def test_drawing_workers_start_only_in_a_live_kernel_and_never_when_set_to_none(monkeypatch):
    from iwt_helpers.present import beside

    started = []
    monkeypatch.setattr(beside, "drawer", lambda: started.append(1))
    explorer.Explorer("QOP", interactive=False).controls()
    if importlib.util.find_spec("ipywidgets"):
        ex = explorer.Explorer("QOP", interactive=True)          # under pytest: no live kernel
        monkeypatch.setattr(explorer, "display", lambda *a, **k: None)
        ex.controls()
        assert ex._drawer is None
    assert started == []
    monkeypatch.setenv(beside.WORKERS_ENV, "0")
    assert beside.workers_wanted() == 0
    monkeypatch.setenv(beside.WORKERS_ENV, "two")
    with pytest.raises(ValueError, match="IWT_DRAW_WORKERS='two': expected a whole number"):
        beside.workers_wanted()
    monkeypatch.delenv(beside.WORKERS_ENV)
    assert 1 <= beside.workers_wanted() <= beside.MAX_WORKERS


def test_a_redraw_renders_the_blocks_with_charts_first_and_shows_each_in_its_own_place(shown):
    pytest.importorskip("ipywidgets")
    from iwt_helpers.present.items import Figure

    order = []
    ex = explorer.Explorer("QOP", interactive=True)
    ex.add_control("scale", "int_slider", value=1, min=1, max=3, description="Scale:")
    ex.controls()

    def words(icb: str) -> list:
        order.append("words")
        return [Text(f"scale {ex.value('scale')}")]

    def chart(icb: str) -> list:
        order.append("chart")
        return [Figure(_grouped(_bars(float(ex.value("scale")))))]

    ex.section(words)
    ex.section(chart)
    assert order == ["words", "chart"]                       # the first render: in the notebook's order
    ex.widget("scale").value = 2
    assert order[2:] == ["chart", "words"]
    words_part, chart_part = ex.parts
    assert "scale 2" in _texts(words_part) and "image/svg+xml" in chart_part.out.outputs[0]["data"]


def test_when_no_drawing_worker_can_start_the_kernel_draws_every_chart_and_says_so(shown, monkeypatch):
    pytest.importorskip("ipywidgets")
    from iwt_helpers.present import beside
    from iwt_helpers.present.items import Figure

    def cannot_start():
        raise AttributeError("module '__main__' has no attribute '__spec__'")    # as under an embedded IPython shell

    monkeypatch.setattr(beside, "drawer", cannot_start)
    ex = explorer.Explorer("QOP", interactive=True, draw_beside=True)
    ex.add_control("scale", "int_slider", value=1, min=1, max=3, description="Scale:")
    with pytest.warns(UserWarning, match="charts are drawn in the kernel only: AttributeError"):
        ex.controls()
    ex.section(lambda icb: [Figure(_grouped(_bars(float(ex.value("scale")))))])
    ex.widget("scale").value = 3
    assert ex._drawer is None
    assert ex.parts[0].out.outputs[0]["data"]["image/svg+xml"] == notebook.figure_bundle(_grouped(_bars(3.0))).svg

