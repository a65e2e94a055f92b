"""iwt: an integrated workforce thinking workbook for England's 42 Integrated Care Systems.

All logic lives in this package; notebooks in ``notebooks/`` are thin and call it.
"""

__version__ = "0.1.0"

SYNTHETIC_LABEL = "Synthetic demonstration data: not real figures for any ICB"

# MIME type of the machine-readable outputs (key tables, headlines) that notebooks emit and the
# report runner collects; defined here so the runner need not import the plotting stack.
IWT_MIME = "application/vnd.iwt+json"
