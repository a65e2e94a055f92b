"""``iwt extract load``: read, check, pseudonymise, aggregate under disclosure control, and write a
processed data folder the datastore reads, all or nothing (a temporary folder swapped in, as
``iwt data build`` does). The folder holds the controlled tables, the pseudonymised records
(``records/extract_records.parquet``: no raw identifier, no date of birth), ``datasets.json``
saying the disclosure rule, and ``extract_report.json``. The key is never written."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from iwt_helpers import atomic

from .. import disclosure, schemas
from ..build import KEPT_FOLDERS, SORT_KEYS, BuildError, check_output, made_by_build
from ..datastore import MANIFEST, PROCESSED_MARK
from . import aggregate, load
from . import mapping as mp

REPORT = "extract_report.json"
RECORDS = "records/extract_records.parquet"
SORTS = {**SORT_KEYS, "workforce_age": ["year", "icb_code", "sector", "staff_group", "age_band"],
         "leaving_rates": ["year", "icb_code", "sector", "staff_group", "age_band"],
         "moves": ["year", "icb_code", "sector", "staff_group", "move"]}


def _source(m: mp.Mapping, synthetic: bool, snaps: list[str]) -> str:
    what = "ESR staff extract" if m.kind == "esr" else "social care worker extract"
    if synthetic:
        return f"SYNTHETIC record-level {what} (iwt extract demo; snapshots {', '.join(snaps)})"
    return f"Local record-level {what}, pseudonymised (snapshots {', '.join(snaps)})"


def load_to_folder(files: list[Path], mapping_file: Path, out: Path, lookup_dir: Path | None = None,
                   stages: load.Stages | None = None) -> dict:
    """Everything ``iwt extract load`` does; returns the report written beside the tables. ``stages``,
    if given, is filled with the seconds each stage took (see :class:`load.Stages`). The records file
    is written in a thread while the tables are made (Parquet writing mostly runs without the GIL)."""
    stages = stages if stages is not None else load.Stages()
    out = Path(out).resolve()
    m = mp.load_mapping(mapping_file)
    key = disclosure.require_key()                  # stop before reading anything if there is no key
    atomic.recover_swap(out, made_by_build)
    for f in files:
        try:
            check_output(Path(f).resolve().parent, out)
        except BuildError as exc:
            raise load.ExtractError(str(exc).replace("raw folder", "folder of the extract")) from None
    loaded = load.load_extracts([Path(f) for f in files], m, key, lookup_dir, stages)
    try:
        tmp = atomic.temporary_folder(out, "extract")
    except OSError:
        tmp = None                                  # refused again, and reported, when the folder is written
    try:
        with ThreadPoolExecutor(max_workers=1) as side:
            records = side.submit(_write_records, tmp, _records_table(loaded.records)) if tmp else None
            tables, report, synthetic, cfg = _tables(loaded, files, mapping_file, m, stages)
            _write(out, tmp, tables, loaded.records, records, report, synthetic, cfg)
    finally:
        if tmp is not None and tmp.exists():        # the thread is done: the with block waited for it
            shutil.rmtree(tmp, ignore_errors=True)
    stages.lap("write")
    return report


def _tables(loaded: load.Loaded, files: list[Path], mapping_file: Path, m: mp.Mapping,
            stages: load.Stages) -> tuple[dict[str, pd.DataFrame], dict, bool, dict]:
    """(controlled tables, report, synthetic or not, disclosure settings) of the loaded records."""
    synthetic = bool(mp.yaml.safe_load(Path(mapping_file).read_text(encoding="utf-8")).get("synthetic", False))
    snaps = sorted(f"{pd.Timestamp(s):%Y-%m-%d}" for s in loaded.records["snapshot_date"].unique())
    cfg = disclosure.record_level_settings()
    try:
        tables = aggregate.aggregate(loaded.records, _source(m, synthetic, snaps), cfg)
    except ValueError as exc:
        raise load.ExtractError(f"{', '.join(str(f) for f in files)}: {exc}") from None
    stages.lap("aggregate")
    for name in list(tables):
        keys = [k for k in SORTS.get(name, []) if k in tables[name]]
        df = tables[name].sort_values(keys, kind="mergesort").reset_index(drop=True)
        tables[name] = schemas.validate(name, df, file=f"built from {mapping_file}")
    stages.lap("validate")
    report = {"mapping": str(mapping_file), "kind": m.kind, "files": loaded.files, "snapshots": snaps,
              "notes": loaded.notes, "disclosure": disclosure.record_level_rule(cfg),
              "tables": {k: len(v) for k, v in tables.items()},
              "unplaced": _controlled_counts(loaded.unplaced, ["organisation_id", "sector"], m.kind, cfg),
              "unmapped_values": _controlled_counts(loaded.unmapped_values, ["field", "value"], "", cfg)}
    return tables, report, synthetic, cfg


def _records_table(records: pd.DataFrame) -> pa.Table:
    """The records that are written (no column starting with ``_``) as the Arrow table
    ``DataFrame.to_parquet(index=False)`` writes (pandas metadata included; the records carry no
    ``attrs``). Made before the thread that writes it starts, so that thread reads Arrow data only."""
    keep = [c for c in records.columns if not c.startswith("_")]
    return pa.Table.from_pandas(records[keep], preserve_index=False)


def _write_records(tmp: Path, table: pa.Table) -> None:
    (tmp / "records").mkdir()
    pq.write_table(table, tmp / RECORDS, compression="zstd")


def _controlled_counts(df: pd.DataFrame | None, keys: list[str], kind: str, cfg: dict) -> list[dict]:
    """Counts of records listed in the report, rounded and small ones suppressed like the tables
    (social care establishments are listed by pseudonym only)."""
    if df is None or df.empty:
        return []
    rec = df.copy()
    counts = rec["records"].to_numpy(float)
    rec["records"] = [None if 0 < c < cfg["min_count"] else float(disclosure.round_to([c], cfg["round_to"])[0])
                      for c in counts]
    return [{**{k: str(r[k]) for k in keys}, "records": r["records"]} for _, r in rec.iterrows()]


def _write(out: Path, tmp: Path | None, tables: dict[str, pd.DataFrame], records: pd.DataFrame,
           written: Future | None, report: dict, synthetic: bool, cfg: dict) -> None:
    """Write the folder and swap it in for ``out``. ``written``: the records file being written into
    ``tmp`` already, whose caller removes ``tmp`` if anything fails; without ``tmp``, a temporary
    folder of its own."""
    made = tmp is None
    tmp = tmp or atomic.temporary_folder(out, "extract")
    try:
        manifest = {"dataset": PROCESSED_MARK, "built_from": f"record-level extracts (see {REPORT})", "tables": {},
                    disclosure.RECORD_LEVEL_KEY: {"rule": disclosure.record_level_rule(cfg), "settings": cfg},
                    "records": {"file": RECORDS, "rows": int(len(records)),
                                "note": "pseudonymised records: keyed HMAC-SHA256 identifiers, age bands, months"}}
        for name, df in sorted(tables.items()):
            df.to_parquet(tmp / f"{name}.parquet", index=False, engine="pyarrow", compression="zstd")
            manifest["tables"][name] = {"file": f"{name}.parquet", "rows": int(len(df)), "synthetic": synthetic,
                                        "source": "; ".join(sorted(set(df["source"]))), "record_level": True}
        if written is None:
            _write_records(tmp, _records_table(records))
        else:
            written.result()
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        (tmp / REPORT).write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
        for kept in KEPT_FOLDERS:
            if (out / kept).is_dir():
                shutil.copytree(out / kept, tmp / kept)
        atomic.swap_directory(tmp, out, made_by_build)
    except OSError as exc:                      # a full disk, a folder made read-only meanwhile
        raise atomic.write_error(exc, out) from None
    finally:
        if made and tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
