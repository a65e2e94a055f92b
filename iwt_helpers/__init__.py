"""iwt: an integrated workforce thinking workbook for England's 42 Integrated Care Systems.

All logic lives in this package; notebooks in ``notebooks/`` are thin and call it.
"""

__version__ = "0.1.0"

SYNTHETIC_LABEL = "Synthetic demonstration data: not real figures for any ICB"
