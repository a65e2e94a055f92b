"""Presentation layer: charts (one NHS palette), HTML tables, the item model and the JupyterLab
explorer. Imports the base layer and, for ICB names and suppression, the data layer."""
