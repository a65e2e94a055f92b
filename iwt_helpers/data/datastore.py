"""The one way notebooks get data.

``open_dataset(data_dir)`` returns a :class:`Dataset`. Each table comes from the first place
that has it: the processed folder given as ``data_dir`` (built by ``iwt data build``), then the
embedded demo set (``data/demo``), then the committed reference tables (real population and
geography). The dataset records where each table came from and whether it is synthetic, so
reports can label synthetic figures and say which sources fell back to the demo.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from iwt_helpers import atomic, paths
from iwt_helpers.errors import IwtError, NotFoundError

from .tables import SPECS

MANIFEST = "datasets.json"
PROCESSED_MARK = "iwt processed data"      # what iwt data build writes as datasets.json "dataset"


class NotADataFolderError(IwtError, ValueError):
    """A data_dir that iwt data build did not make (downloads, a demo copy, any other folder)."""


def _manifest_field(folder: Path, key: str) -> object:
    try:
        with open(folder / MANIFEST, encoding="utf-8") as fh:
            return json.load(fh).get(key)
    except (OSError, ValueError, AttributeError):
        return None


def is_processed_folder(folder: Path) -> bool:
    return _manifest_field(Path(folder), "dataset") == PROCESSED_MARK


def recover_interrupted_build(data_dir: Path) -> bool:
    """Put back a processed folder that a build killed between its two renames left at ``.<DIR>.old``
    (only a folder iwt built: a user's folder of that name is left alone)."""
    return atomic.recover_swap(Path(data_dir), is_processed_folder)


DATE_COLUMNS = ("period", "date")
# The committed reference file of each reference table (tables.SPECS): real population, geography,
# Census 2021, IoD 2025, rurality and NHS trust staff by ICB; a data folder's own tables take precedence.
REFERENCE_TABLES = {s.name: s.reference_file for s in SPECS if s.reference_file}


@dataclass(frozen=True)
class TableInfo:
    table: str
    path: Path
    synthetic: bool
    source: str
    origin: str          # "data_dir", "demo" or "reference"
    fallback: bool       # True when a data_dir was given but lacked this table


def _manifest(folder: Path) -> dict:
    f = folder / MANIFEST
    if not f.exists():
        return {}
    with open(f, encoding="utf-8") as fh:
        return json.load(fh).get("tables", {})


# Tables checked against another table's schema (residents' ethnicity is rows of ``ethnicity``).
SCHEMA_OF = {s.name: s.schema_of for s in SPECS if s.schema_of}


@functools.lru_cache(maxsize=64)
def _read(path: str, mtime_ns: int, table: str | None = None) -> pd.DataFrame:
    """Read a table file and, for a canonical table, validate it against its schema: a table that
    breaks it stops here with the table, file, column, rule and rows (cached per file version, so
    each kernel pays once)."""
    from . import schemas
    p = Path(path)
    if p.suffix == ".parquet":
        df = pd.read_parquet(p)
    else:
        df = pd.read_csv(p, dtype={"icb_code": str})
    if p.suffix != ".parquet":               # Parquet keeps its types; a text period stays text
        for col in DATE_COLUMNS:
            if col in df.columns:
                df[col] = pd.to_datetime(df[col])
    name = SCHEMA_OF.get(table, table)
    if name in schemas.schemas():
        df = schemas.validate(name, df, file=str(p))
    return df


def read_table_file(path: Path, table: str | None = None) -> pd.DataFrame:
    """Read a canonical table file, validated when ``table`` names a schema (cached on path and
    modification time; returns a copy)."""
    return _read(str(path), path.stat().st_mtime_ns, table).copy()


class Dataset:
    """Canonical tables with provenance. Create with :func:`open_dataset`."""

    def __init__(self, data_dir: Path | None = None):
        self.data_dir = Path(data_dir) if data_dir else None
        if self.data_dir is not None:
            recover_interrupted_build(self.data_dir)
            if not self.data_dir.is_dir():
                raise NotFoundError(f"data_dir {self.data_dir}: folder not found (build one with "
                                    "`iwt data build --raw DIR --out DIR`, or leave data_dir empty for the demo data)")
            if _manifest_field(self.data_dir, "dataset") != PROCESSED_MARK:
                raise NotADataFolderError(
                    f"data_dir {self.data_dir}: not a folder built by `iwt data build` (no {MANIFEST} saying "
                    f"'{PROCESSED_MARK}'). Point data_dir at the --out folder of a build, not at downloaded files; "
                    "leave it empty for the demo data.")
        self._used: dict[str, TableInfo] = {}
        self._recorders: list[list[tuple[str, TableInfo]]] = []

    def _use(self, name: str, info: TableInfo) -> None:
        """Record a table as read (for :meth:`provenance`, and for every :meth:`recording` open)."""
        self._used[name] = info
        for r in self._recorders:
            r.append((name, info))

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[tuple[str, TableInfo]]]:
        """The tables read while the block runs (read again, or given to :meth:`replay`, included), in order: what
        work kept for later reports (:mod:`iwt_helpers.analysis.kept`) must record as read each time it is
        used again, so that a report lists the same tables whether it worked something out or found it kept."""
        got: list[tuple[str, TableInfo]] = []
        self._recorders.append(got)
        try:
            yield got
        finally:
            self._recorders = [r for r in self._recorders if r is not got]

    def version(self) -> tuple:
        """What this data set can read, as a key: its data folder (resolved; None for the demo set) and each
        file's path, modification time and size in that folder, the demo set and the reference tables (as
        :func:`read_table_file` caches a table on its path and modification time). Work kept from the tables
        for later reports is kept under it (:mod:`iwt_helpers.analysis.kept`)."""
        folder = self.data_dir.resolve() if self.data_dir is not None else None
        return (str(folder) if folder is not None else None, _files_version(folder, paths.DEMO, paths.REFERENCE))

    def replay(self, used: list[tuple[str, TableInfo]]) -> None:
        """Record these tables as read, as reading them again would."""
        for name, info in used:
            self._use(name, info)

    def _locate(self, name: str) -> TableInfo:
        candidates: list[tuple[str, Path]] = []
        if self.data_dir is not None:
            candidates.append(("data_dir", self.data_dir))
        candidates.append(("demo", paths.DEMO))
        for origin, folder in candidates:
            for ext in (".parquet", ".csv"):
                p = folder / f"{name}{ext}"
                if p.exists():
                    meta = _manifest(folder).get(name, {})
                    return TableInfo(name, p, bool(meta.get("synthetic", origin == "demo")),
                                     meta.get("source", ""), origin,
                                     fallback=self.data_dir is not None and origin != "data_dir")
        if name in REFERENCE_TABLES:
            p = paths.reference(REFERENCE_TABLES[name])
            return TableInfo(name, p, False, "committed reference table (real; see docs/data-sources.md)",
                             "reference", fallback=self.data_dir is not None)
        raise KeyError(f"table {name!r} is in neither {self.data_dir or '(no data_dir)'}, the demo "
                       f"set ({paths.DEMO}) nor the reference tables")

    def info(self, name: str) -> TableInfo:
        return self._used.get(name) or self._locate(name)

    def table(self, name: str) -> pd.DataFrame:
        info = self._locate(name)
        self._use(name, info)
        df = read_table_file(info.path, name)
        df.attrs["synthetic"] = info.synthetic
        df.attrs["origin"] = info.origin
        return df

    def table_by_key(self, name: str, key: str) -> pd.DataFrame:
        """A table whose rows come from ``data_dir`` where it has them and from the demo set for
        the ``key`` values it lacks (e.g. KPIs); a ``synthetic`` column marks each row."""
        main = self.table(name)
        main["synthetic"] = bool(main.attrs.get("synthetic"))
        if self.data_dir is None or self._used[name].origin != "data_dir":
            return main
        demo_path = next((paths.DEMO / f"{name}{ext}" for ext in (".parquet", ".csv")
                          if (paths.DEMO / f"{name}{ext}").exists()), None)
        if demo_path is None:
            return main
        extra = read_table_file(demo_path, name)
        extra = extra[~extra[key].isin(set(main[key]))].assign(synthetic=True)
        if len(extra):
            self._use(f"{name} (demo rows)", TableInfo(f"{name} (demo rows for missing {key})", demo_path, True,
                                                       "SYNTHETIC demo data (iwt)", "demo", True))
        out = pd.concat([main, extra], ignore_index=True)
        out.attrs["synthetic"] = bool(out["synthetic"].any())
        return out

    def optional_table(self, name: str) -> pd.DataFrame | None:
        """A table that only some data folders have (e.g. ``unmapped_organisations``), or None."""
        try:
            return self.table(name)
        except KeyError:
            return None

    def build_report(self) -> dict | None:
        """The data folder's ``build_report.json`` (what ``iwt data build`` read and could not
        place), or None for the demo set or a folder without one."""
        if self.data_dir is None or not (self.data_dir / "build_report.json").exists():
            return None
        with open(self.data_dir / "build_report.json", encoding="utf-8") as fh:
            return json.load(fh)

    def is_synthetic(self, name: str) -> bool:
        return self.info(name).synthetic

    @property
    def any_synthetic(self) -> bool:
        return any(i.synthetic for i in self._used.values())

    def provenance(self) -> pd.DataFrame:
        """One row per table used so far: where it came from and whether it is synthetic."""
        rows = [{
            "table": i.table, "origin": i.origin, "synthetic": i.synthetic,
            "fell_back_to_demo": i.fallback and i.origin == "demo",
            "file": str(i.path.relative_to(paths.ROOT)) if paths.is_within(i.path, paths.ROOT) else str(i.path),
            "source": i.source,
        } for i in self._used.values()]
        return pd.DataFrame(rows, columns=["table", "origin", "synthetic", "fell_back_to_demo", "file", "source"])


def _files_version(*folders: Path | None) -> tuple:
    """Each file's path, modification time and size in these folders (once each), in a fixed order."""
    out = []
    for folder in dict.fromkeys(Path(f).resolve() for f in folders if f is not None):
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                if not name.startswith("."):
                    st = os.stat(os.path.join(root, name))
                    out.append((os.path.join(root, name), st.st_mtime_ns, st.st_size))
    return tuple(out)


def open_dataset(data_dir: str | Path | None = None) -> Dataset:
    return Dataset(Path(data_dir) if data_dir else None)
