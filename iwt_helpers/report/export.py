"""In-process HTML export: code hidden, images embedded, nothing fetched from the network.

nbconvert's lab template links require.js, MathJax and widget scripts from CDNs; iwt's own
template (``templates/iwt``) leaves them out, :func:`make_offline` strips any that slip through,
and :func:`external_references` lets tests prove none remain.
"""

from __future__ import annotations

import copy
import functools
import html
import re
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.exporters.templateexporter import TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

from iwt_helpers import IWT_MIME

_EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>", re.I)
_MATHJAX_CONFIG = re.compile(r"<script type=\"text/x-mathjax-config\">.*?</script>", re.I | re.S)
_EXTERNAL_LINK = re.compile(r"<link[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.I)
# src/href attributes, srcset and CSS url()/@import that would make a browser fetch something.
_RESOURCE_REF = re.compile(
    r"""(?:\b(?:src|srcset|data)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:<link[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:https?:)?//)|(?:@import\s+(?:url\()?["']?\s*(?:https?:)?//)""", re.I)

REPORT_CSS = """
<style>
  body { font-family: Arial, Helvetica, sans-serif; color: #231F20; }
  .jp-RenderedHTMLCommon h1 { color: #003087; }
  .jp-RenderedHTMLCommon h2 { color: #005EB8; border-bottom: 2px solid #E8EDEE; padding-bottom: 4px; }
  .jp-RenderedHTMLCommon table { font-size: 12px; }
  .iwt-failed { border: 3px solid #DA291C; background: #FDECEA; padding: 10px; margin: 10px 0; }
  .iwt-nav { font-size: 13px; margin: 8px 0 16px 0; }
</style>
"""


TEMPLATES = Path(__file__).resolve().parent / "templates"


class ReportExporter(HTMLExporter):
    """HTMLExporter without its BeautifulSoup pass over the finished page.

    That pass only adds placeholder alt text to images and tab stops; the iwt template gives
    every chart its real alt text, and re-parsing a page of embedded images costs ~0.1 s each.
    """

    def from_notebook_node(self, nb, resources=None, **kw):
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        self.register_filter("highlight_code", self.filters.get(
            "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        return TemplateExporter.from_notebook_node(self, nb, resources, **kw)


@functools.lru_cache(maxsize=2)
def _exporter(show_input: bool) -> HTMLExporter:
    # The 'iwt' template extends JupyterLab's: no CDN scripts, alt text from the image metadata.
    return ReportExporter(template_name="iwt", extra_template_basedirs=[str(TEMPLATES)],
                        exclude_input=not show_input, exclude_input_prompt=True,
                        exclude_output_prompt=True, embed_images=True)


def warm_up() -> None:
    """Load and compile the report template now (about 0.15 s), so the first export does not."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("warm-up")])
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    for failed in (False, True):
        to_html(nb, "warm-up", error="warm-up" if failed else None)


def strip_private_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy without iwt's machine-readable outputs (key tables, headlines)."""
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if IWT_MIME not in o.get("data", {})]
    return out


def make_offline(body: str) -> str:
    body = _EXTERNAL_SCRIPT.sub("", body)
    body = _MATHJAX_CONFIG.sub("", body)
    body = _EXTERNAL_LINK.sub("", body)
    return body


def external_references(body: str) -> list[str]:
    """Every place in an HTML document that would load a resource from another host."""
    return [m.group(0) for m in _RESOURCE_REF.finditer(body)]


def to_html(nb: nbformat.NotebookNode, title: str, error: str | None = None, nav: str = "") -> str:
    """Render an executed notebook as a self-contained report page."""
    clean = strip_private_outputs(nb)
    clean.metadata["title"] = title
    body, _ = _exporter(error is not None).from_notebook_node(clean, resources={"metadata": {"name": title}})
    extra = REPORT_CSS
    if nav:
        extra += f'<div class="iwt-nav">{nav}</div>'
    if error is not None:
        extra += (f'<div class="iwt-failed"><strong>This report failed and is incomplete.</strong> '
                  f'Error: <code>{html.escape(error)}</code></div>')
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + extra, body, count=1)
    return make_offline(body)
