"""The ICB explorer: static render once, and in-place redraws for another ICB."""

import pytest

from iwt_helpers.data import geography
from iwt_helpers.data.datastore import open_dataset
from iwt_helpers.present import explorer, notebook
from iwt_helpers.themes import data as data_theme
from iwt_helpers.themes.params import ReportParams

pytestmark = pytest.mark.unit


class Handle:
    def __init__(self, obj):
        self.shown = [obj]

    def update(self, obj):
        self.shown.append(obj)


@pytest.fixture
def recorder(monkeypatch):
    shown = []

    def fake_display(obj=None, *args, display_id=None, raw=False, **kw):
        h = Handle(obj)
        shown.append((display_id, h))
        return h if display_id else None

    monkeypatch.setattr(explorer, "display", fake_display)
    monkeypatch.setattr(notebook, "display", lambda *a, **k: None)     # key tables and headlines
    return shown


@pytest.fixture(scope="module")
def ctx():
    return data_theme.DataContext.load(open_dataset(), ReportParams.parse(icb_code="QOP"))


def _text(obj):
    return obj.svg if isinstance(obj, notebook.SVGChart) else getattr(obj, "data", str(obj))


def test_interactive_redraw_updates_every_display_for_the_new_icb(recorder, ctx):
    ex = explorer.Explorer("QOP", interactive=True)
    ex.section(data_theme.whole_system_section(ctx))
    ex.section(data_theme.benchmark_section(ctx))
    handles = [h for did, h in recorder if did]
    assert handles and all(len(h.shown) == 1 for h in handles)
    assert "Greater Manchester" in _text(handles[1].shown[0])
    seconds = ex.redraw("qe1")
    assert all(len(h.shown) == 2 for h in handles)
    assert "Lancashire and South Cumbria" in _text(handles[1].shown[1])
    assert "Greater Manchester" not in _text(handles[1].shown[1])
    assert ex.icb_code == "QE1" and seconds == ex.last_redraw_s > 0


def test_static_mode_displays_without_ids(recorder, ctx):
    ex = explorer.Explorer("QOP", interactive=False)
    ex.section(data_theme.retirement_section(ctx))
    assert recorder and all(did is None for did, _ in recorder)


def test_batch_environment_turns_interactivity_off(monkeypatch):
    monkeypatch.setenv(explorer.BATCH_ENV, "1")
    assert explorer.Explorer("QOP").interactive is False


def test_dropdown_lists_all_42_icbs(monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.setattr(explorer, "display", lambda *a, **k: None)
    ex = explorer.Explorer("QOP", interactive=True)
    ex.controls()
    assert len(ex._dropdown.options) == 42 and ex._dropdown.value == "QOP"
    assert {v for _, v in ex._dropdown.options} == set(geography.icb_codes())
