"""The 42 ICB codes a config file may name, from the committed ``icb.csv``.

The config package sits below ``data`` (it may not import ``data.geography``), so it reads the three
code columns of the same file itself: an ODS code (``QOP``) or an ONS E54 code (2024 or 2022), in any
case, is read as the ICB's ODS code, as ``geography.resolve_icb`` reads it.
"""

from __future__ import annotations

import csv
import functools
from typing import Annotated

from pydantic import BeforeValidator

from iwt_helpers import paths

ICB_FILE = "icb.csv"
CODE_COLUMNS = ("icb_code", "icb_code_ons", "icb_code_ons_2022")


@functools.cache
def icb_index() -> dict[str, str]:
    """Every accepted spelling of an ICB code (upper case) -> its ODS code."""
    with open(paths.reference(ICB_FILE), encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {row[col].strip().upper(): row["icb_code"] for row in rows for col in CODE_COLUMNS if row.get(col)}


def ods_code(code: object) -> str:
    """The ODS code of an ICB given by ODS or E54 code, or ValueError naming what is expected."""
    found = icb_index().get(str(code).strip().upper()) if code is not None else None
    if found is None:
        raise ValueError(f"unknown ICB code: expected one of the 42 ICBs of data/reference/{ICB_FILE} as an ODS "
                         "code (e.g. QOP) or an ONS E54 code (e.g. E54000057)")
    return found


IcbCode = Annotated[str, BeforeValidator(ods_code)]
"""An ICB code, checked and read as the ICB's ODS code."""
