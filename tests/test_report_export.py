"""Pages of a report: a page validated once, after every step of nbconvert, is the page validated after
each step (nbconvert's default, twelve times the checks), and making a page leaves the executed notebook
as it was (only the cells and outputs a page changes are copied). That a report set made in one warm
kernel equals one made with a new kernel per report is tests/test_report_runner.py's."""

import copy
import json

import pytest

from iwt_helpers import IWT_MIME
from iwt_helpers.report import export


def _notebook():
    """A small executed notebook with every kind of output a page treats differently: an HTML table, an
    SVG chart (both put back as made), iwt's machine-readable payload (left out), text and an image."""
    import nbformat  # here: slow to import, and only these tests need it

    v4 = nbformat.v4
    svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="5" height="5"/></svg>'
    return v4.new_notebook(metadata={"language_info": {"name": "python"}}, cells=[
        v4.new_markdown_cell("# Heading\n\nSome *text*."),
        v4.new_code_cell("x", execution_count=1, outputs=[
            v4.new_output("display_data", data={"text/html": '<table data-Mixed="1"><tr><td>1</td></tr></table>',
                                                "text/plain": "table"}),
            v4.new_output("display_data", data={"image/svg+xml": svg, "text/plain": "chart"}),
            v4.new_output("display_data", data={IWT_MIME: {"kind": "table"}, "text/plain": ""}),
            v4.new_output("stream", name="stdout", text="printed\n"),
            v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "png"})]),
        v4.new_code_cell("y", execution_count=2)])


@pytest.mark.integration
@pytest.mark.parametrize("error", [None, "ValueError: a failing cell"])
def test_a_page_validated_once_is_the_page_validated_after_every_step(monkeypatch, error):
    nb = _notebook()
    once = export.to_html(nb, "Title", error=error, nav="<a>nav</a>", run={"generated": "2026-01-01"})
    made = export.exporter
    monkeypatch.setattr(export, "exporter", lambda show_input: made(show_input, validate_each_step=True))
    every = export.to_html(nb, "Title", error=error, nav="<a>nav</a>", run={"generated": "2026-01-01"})
    assert once == every
    assert 'viewBox="0 0 10 10"' in once and 'data-Mixed="1"' in once, "charts and tables reach the page as made"
    assert '"kind"' not in once, "iwt's machine-readable outputs stay out of the page"


@pytest.mark.integration
def test_making_a_page_leaves_the_executed_notebook_as_it_was():
    nb = _notebook()
    before = copy.deepcopy(nb)
    export.to_html(nb, "Title")
    assert json.dumps(nb, sort_keys=True) == json.dumps(before, sort_keys=True)
