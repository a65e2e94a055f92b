"""The explorer: static render once from the parameters; interactive redraws of every block for any control."""

import pytest

from iwt_helpers import IWT_MIME
from iwt_helpers.data import geography
from iwt_helpers.data.datastore import open_dataset
from iwt_helpers.present import explorer, notebook
from iwt_helpers.present.items import Headline, Text
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


def _texts(part) -> str:
    return " ".join(str(v) for o in part.out.outputs for v in o.get("data", {}).values())


def test_any_control_redraws_every_block_for_the_current_values(shown, ctx):
    pytest.importorskip("ipywidgets")
    ex = explorer.Explorer("QOP", interactive=True)
    ex.add_control("scale", "int_slider", value=1, min=1, max=3, description="Scale:")
    ex.controls()
    ex.section(data_theme.whole_system_section(ctx))
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


def test_payloads_for_the_runner_are_emitted_on_the_first_render_only(shown, ctx):
    pytest.importorskip("ipywidgets")
    ex = explorer.Explorer("QOP", interactive=True)
    ex.section(data_theme.whole_system_section(ctx))
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
