"""``iwt extract load | demo | key``: added to the main parser by :func:`add_parser`."""

from __future__ import annotations

import argparse
from pathlib import Path


def _load(args: argparse.Namespace) -> int:
    from . import write
    report = write.load_to_folder([Path(f) for f in args.files], Path(args.mapping), Path(args.out),
                                  Path(args.lookup) if args.lookup else None)
    for f in report["files"]:
        print(f"  {f['file']}: {f['rows']:,} records, snapshot(s) {', '.join(f['snapshots'])}")
    for n in report["notes"]:
        print(f"  note: {n}")
    print(f"wrote {args.out}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(report["tables"].items())))
    print(f"disclosure: {report['disclosure']}")
    print(f"read it with `iwt report --data {args.out}`; details in {Path(args.out) / write.REPORT}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from . import demo
    paths = demo.write_demo(Path(args.out), args.records, args.seed)
    for p in paths.values():
        print(f"wrote {p}")
    files = " ".join(str(p) for k, p in paths.items() if k != "mapping")
    print(f"load it with `iwt extract load --mapping {paths['mapping']} --out DIR {files}` "
          "(set IWT_PSEUDONYM_KEY or run `iwt extract key` first)")
    return 0


def _key(args: argparse.Namespace) -> int:
    from .. import disclosure
    path = disclosure.make_key_file(Path(args.file) if args.file else None)
    print(f"wrote a new pseudonymisation key to {path} (mode 600; untracked). Keep it: the same key gives "
          "the same pseudonyms on every load.")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``extract`` with ``load``, ``demo`` and ``key`` to an argparse subparsers object."""
    p = subparsers.add_parser("extract", help="record-level staff extracts: pseudonymise, derive flows, control disclosure")
    sub = p.add_subparsers(dest="extract_command", required=True)
    ld = sub.add_parser("load", help="load record-level extracts into a processed data folder")
    ld.add_argument("--mapping", required=True, help="YAML mapping file (kind, columns; see docs/extracts.md)")
    ld.add_argument("--out", required=True, help="data folder to write (replaced whole; read with iwt report --data)")
    ld.add_argument("--lookup", help="processed data folder whose nhs_trusts table places NHS organisations in ICBs")
    ld.add_argument("files", nargs="+", help="extract CSV files (one or more snapshots)")
    ld.set_defaults(func=_load)
    dm = sub.add_parser("demo", help="write a synthetic ESR-style extract (two snapshots) and its mapping file")
    dm.add_argument("--records", type=int, default=20_000, help="staff in post in the first snapshot")
    dm.add_argument("--out", required=True, help="folder for the CSV files and mapping.yaml")
    dm.add_argument("--seed", type=int, default=2024, help=argparse.SUPPRESS)
    dm.set_defaults(func=_demo)
    ky = sub.add_parser("key", help="create the untracked pseudonymisation key file (never replaces one)")
    ky.add_argument("--file", help=argparse.SUPPRESS)
    ky.set_defaults(func=_key)
    return p
