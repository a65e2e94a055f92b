"""HTML export with nbconvert's ``HTMLExporter`` and iwt's template (``templates/iwt``): code
hidden, charts inline as SVG, nothing fetched from the network.

nbconvert's lab template links require.js, MathJax and widget scripts from CDNs; iwt's template
leaves them out, :func:`make_offline` strips any that an output brings, and
:func:`external_references` lets tests prove none remain.
"""

from __future__ import annotations

import functools
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from iwt_helpers import IWT_MIME

if TYPE_CHECKING:
    import nbformat
    from nbconvert import HTMLExporter

TEMPLATES = Path(__file__).resolve().parent / "templates"
REMOTE = r"""\s*["']?\s*(?:https?:)?//"""
# Script and stylesheet links to another host, and MathJax configuration: removed.
EXTERNAL = re.compile(rf"<script[^>]*\bsrc\s*=\s*{REMOTE}[^>]*>\s*</script>|<link[^>]*\bhref\s*={REMOTE}[^>]*>"
                      r"""|<script type="text/x-mathjax-config">.*?</script>""", re.I | re.S)
# src/href attributes, srcset and CSS url()/@import that would make a browser fetch something.
HELD = ("text/html", "image/svg+xml")      # outputs put back into the page as the notebook made them (see to_html)
RESOURCE_REF = re.compile(rf"\b(?:src|srcset|data)\s*={REMOTE}|<link[^>]*\bhref\s*={REMOTE}"
                          rf"|url\(\s*{REMOTE}|@import\s+(?:url\()?{REMOTE}", re.I)


@functools.lru_cache(maxsize=4)
def exporter(show_input: bool, validate_each_step: bool = False) -> HTMLExporter:
    """One exporter per process and kind of page, so that its template is compiled once. The notebook is
    validated once, after nbconvert's preprocessors (its ``optimistic_validation``), rather than after each
    of them (``validate_each_step``, nbconvert's default): the same page, one check instead of thirteen."""
    from nbconvert import HTMLExporter  # here, not at the top: slow to import, and only pages need it

    return HTMLExporter(template_name="iwt", extra_template_basedirs=[str(TEMPLATES)],
                        exclude_input=not show_input, exclude_input_prompt=True,
                        exclude_output_prompt=True, embed_images=True, optimistic_validation=not validate_each_step)


def make_offline(body: str) -> str:
    return EXTERNAL.sub("", body)


def external_references(body: str) -> list[str]:
    """Every place in an HTML document that would load a resource from another host."""
    return [m.group(0) for m in RESOURCE_REF.finditer(body)]


def run_footer(run: dict | None) -> str:
    """The run's footer line (HTML): run date, iwt version, git commit and data folder. Comparisons
    of outputs (tests, before and after a change) ignore it: it is the one part that differs."""
    if not run:
        return ""
    import html
    parts = [f"Run {run.get('generated', '')}", f"iwt {run.get('version', '')}", f"commit {run.get('commit', '')}",
             f"data: {run.get('data', '')}"]
    return f'<footer class="iwt-run">{html.escape(" · ".join(parts))}</footer>'


def to_html(nb: nbformat.NotebookNode, title: str, error: str | None = None, nav: str = "",
            run: dict | None = None) -> str:
    """Render an executed notebook as a self-contained report page (its code shown only if it failed).

    Without iwt's machine-readable outputs (key tables, headlines). Every HTML and SVG output is
    set aside for a placeholder and put back into the finished page: HTMLExporter re-serialises the
    page with BeautifulSoup, which sorts and lower-cases attributes (an SVG's ``viewBox`` becomes
    ``viewbox``); this way charts and tables reach the page exactly as the notebook made them.
    """
    from nbformat import NotebookNode

    tag, kept = f"iwt-output-{uuid.uuid4().hex}-", []

    def placeholders(output: NotebookNode) -> NotebookNode:
        data = output.get("data", {})
        if not any(isinstance(data.get(mime), str) for mime in HELD):
            return output
        shown = NotebookNode(data)                  # a new mapping: the executed notebook is left as it is
        for mime in HELD:
            if isinstance(shown.get(mime), str):
                kept.append(shown[mime])
                shown[mime] = f"{tag}{len(kept) - 1}."
        return NotebookNode({**output, "data": shown})

    # A copy of the notebook's structure, not of its contents: nbconvert deep-copies the notebook it is
    # given before changing anything, so what is not changed here is shared rather than copied twice.
    cells = [NotebookNode({**cell, "outputs": [placeholders(o) for o in cell.get("outputs", [])
                                               if IWT_MIME not in o.get("data", {})]})
             if cell.cell_type == "code" else cell for cell in nb.cells]
    page = NotebookNode({**nb, "metadata": NotebookNode({**nb.metadata, "title": title}), "cells": cells})
    body, _ = exporter(error is not None).from_notebook_node(
        page, resources={"metadata": {"name": title}, "iwt_nav": nav, "iwt_error": error, "iwt_run": run_footer(run)})
    return make_offline(re.sub(rf"{tag}(\d+)\.", lambda m: kept[int(m.group(1))], body))
