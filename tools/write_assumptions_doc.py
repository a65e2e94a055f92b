"""Rewrite the caveats section of docs/assumptions.md from data/reference/caveats.yaml.

Run after editing the caveats file: `.venv/bin/python tools/write_assumptions_doc.py`. Only the part
between the section's markers is rewritten (the assumptions table above it is written by hand);
tests/test_caveats.py fails while the doc and the file differ. `--check` writes nothing and exits 1
when the doc is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from iwt_helpers import atomic, paths  # noqa: E402
from iwt_helpers.present import caveats  # noqa: E402

DOC = paths.DOCS / "assumptions.md"


def with_section(doc: str, section: str) -> str:
    """``doc`` with the text from its start marker to its end marker replaced by ``section``; the
    section is added at the end when the doc has no markers yet."""
    start, end = doc.find(caveats.DOC_START), doc.find(caveats.DOC_END)
    if start < 0 and end < 0:
        return doc.rstrip("\n") + "\n\n" + section + "\n"
    if start < 0 or end < start:
        raise SystemExit(f"{DOC}: the caveats markers are not one start marker followed by one end marker")
    return doc[:start] + section + doc[end + len(caveats.DOC_END):]


def main(argv: list[str]) -> int:
    doc = DOC.read_text(encoding="utf-8")
    new = with_section(doc, caveats.doc_section())
    if "--check" in argv:
        print(f"{DOC.relative_to(ROOT)} is " + ("up to date" if new == doc else "out of date: run tools/write_assumptions_doc.py"))
        return 0 if new == doc else 1
    if new != doc:
        atomic.write_text(DOC, new)
        print(f"wrote {DOC.relative_to(ROOT)}")
    else:
        print(f"{DOC.relative_to(ROOT)} already up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
