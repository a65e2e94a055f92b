"""Themes: one module per theme notebook, each section a function of the ICB returning items (its
wording and layout), and the wording the themes share (``wording``). Imports analysis, present and
data; only the notebooks import a theme, and only ``wording`` is imported by other themes, the runner,
the app and the CLI. ``params`` names the report parameters (``analysis.params``) for the notebooks."""
