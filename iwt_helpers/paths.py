"""Every path the project uses, anchored at the project root.

Nothing else in the package builds paths from the working directory, so notebooks, the CLI
and the tests behave the same wherever they are started from.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DATA = ROOT / "data"
REFERENCE = DATA / "reference"          # small committed facts and YAML assumptions
DEMO = DATA / "demo"                    # committed synthetic demonstration data set
RAW = DATA / "raw"                      # user's downloads; read-only to the code
PROCESSED = DATA / "processed"          # rebuilt by `iwt data build`
READINESS = DATA / "readiness"          # partners' readiness self-assessments, one CSV per ICB (appended, never rewritten)
REPORTS = ROOT / "reports"
NOTEBOOKS = ROOT / "notebooks"
DOCS = ROOT / "docs"

# Real public files shared beside the checkout (absent on a user's fresh clone).
SHARED = Path(os.environ.get("IWT_SHARED", ROOT.parent / "shared"))
REAL_DATA = SHARED / "real-data"


def reference(name: str) -> Path:
    """Path of a committed reference file (CSV or YAML) by file name."""
    return REFERENCE / name


def is_within(child: Path, parent: Path) -> bool:
    """True when ``child`` resolves to ``parent`` or somewhere below it."""
    child_r, parent_r = Path(child).resolve(), Path(parent).resolve()
    return child_r == parent_r or parent_r in child_r.parents
