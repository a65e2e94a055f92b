"""Themes: one module per theme notebook, each section a function of the ICB returning items,
and the validated report parameters. Imports every layer below."""
