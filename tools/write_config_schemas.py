"""Write the JSON Schema of every config model (iwt_helpers/config) to docs/schemas/<name>.schema.json.

Run after changing a model: `.venv/bin/python tools/write_config_schemas.py`. Schema files of files
no model validates any more are removed. tests/test_config.py fails when a committed schema differs
from its model, so CI checks them; `--check` does the same here and exits 1 listing what differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from iwt_helpers import atomic, config  # noqa: E402
from iwt_helpers.config.base import SCHEMA_DIR  # noqa: E402


def differences() -> tuple[dict[str, str], list[Path]]:
    """(schemas to write: file name -> text, stale schema files) against what docs/schemas holds."""
    wanted = config.schema_texts()
    changed = {name: text for name, text in wanted.items()
               if not (SCHEMA_DIR / name).is_file() or (SCHEMA_DIR / name).read_text(encoding="utf-8") != text}
    stale = sorted(p for p in SCHEMA_DIR.glob("*.schema.json") if p.name not in wanted)
    return changed, stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a schema differs")
    args = parser.parse_args(argv)
    changed, stale = differences()
    if args.check:
        for name in changed:
            print(f"differs from its model: {SCHEMA_DIR.relative_to(ROOT) / name}")
        for path in stale:
            print(f"no model any more: {path.relative_to(ROOT)}")
        return 1 if changed or stale else 0
    for name, text in changed.items():
        atomic.write_text(SCHEMA_DIR / name, text)
        print(f"wrote {SCHEMA_DIR.relative_to(ROOT) / name}")
    for path in stale:
        path.unlink()
        print(f"removed {path.relative_to(ROOT)}")
    if not changed and not stale:
        print(f"{SCHEMA_DIR.relative_to(ROOT)}: every schema matches its model")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
