"""Rewrite the stored snapshots of key tables (tests/snapshots/) from the embedded demo data.

Run only after a change that is meant to move the numbers, and say why in the commit:
`.venv/bin/python tools/update_snapshots.py` (or `make snapshots`). tests/test_snapshots.py compares
the key tables with these files and fails when a number drifts.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from iwt_helpers import atomic  # noqa: E402
from tests.snapshot_tables import SNAPSHOT_DIR, SNAPSHOT_ICBS, key_tables  # noqa: E402


def main() -> int:
    for icb in SNAPSHOT_ICBS:
        for name, df in key_tables(icb).items():
            path = SNAPSHOT_DIR / icb / f"{name}.csv"
            atomic.write_text(path, df.to_csv(index=False, lineterminator="\n", float_format="%.6g"))
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
