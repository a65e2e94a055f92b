"""The one way notebooks get data.

``open_dataset(data_dir)`` returns a :class:`Dataset`. Each table comes from the first place
that has it: the processed folder given as ``data_dir`` (built by ``iwt data build``), then the
embedded demo set (``data/demo``), then the committed reference tables (real population and
geography). The dataset records where each table came from and whether it is synthetic, so
reports can label synthetic figures and say which sources fell back to the demo.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import geography, population
from iwt_helpers import paths

MANIFEST = "datasets.json"
DATE_COLUMNS = ("period", "date")
REFERENCE_TABLES = {
    "population": population.POPULATION_FILE,
    "icb": geography.ICB_FILE,
    "lad_icb": geography.LAD_ICB_FILE,
    "prevalence": "prevalence.csv",
    # Real ICB-level facts from Census 2021, IoD 2025 and the rural-urban classification
    # (iwt reference build); a data folder's own tables take precedence.
    "unpaid_care": "unpaid_care.csv",
    "residents_ethnicity": "residents_ethnicity.csv",
    "deprivation": "deprivation_icb.csv",
    "rurality": "rurality_icb.csv",
}


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


@functools.lru_cache(maxsize=64)
def _read(path: str, mtime_ns: int) -> pd.DataFrame:
    p = Path(path)
    if p.suffix == ".parquet":
        df = pd.read_parquet(p)
    else:
        df = pd.read_csv(p, dtype={"icb_code": str})
    if p.suffix != ".parquet":               # Parquet keeps its types; a text period stays text
        for col in DATE_COLUMNS:
            if col in df.columns:
                df[col] = pd.to_datetime(df[col])
    return df


def read_table_file(path: Path) -> pd.DataFrame:
    """Read a canonical table file (cached on path and modification time; returns a copy)."""
    return _read(str(path), path.stat().st_mtime_ns).copy()


class Dataset:
    """Canonical tables with provenance. Create with :func:`open_dataset`."""

    def __init__(self, data_dir: Path | None = None):
        self.data_dir = Path(data_dir) if data_dir else None
        if self.data_dir is not None and not self.data_dir.is_dir():
            raise FileNotFoundError(f"data_dir {self.data_dir}: folder not found (build one with "
                                    "`iwt data build --raw DIR --out DIR`, or leave data_dir empty for the demo data)")
        self._used: dict[str, TableInfo] = {}

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
        self._used[name] = info
        df = read_table_file(info.path)
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
        extra = read_table_file(demo_path)
        extra = extra[~extra[key].isin(set(main[key]))].assign(synthetic=True)
        if len(extra):
            self._used[f"{name} (demo rows)"] = TableInfo(f"{name} (demo rows for missing {key})", demo_path, True,
                                                           "SYNTHETIC demo data (iwt)", "demo", True)
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


def open_dataset(data_dir: str | Path | None = None) -> Dataset:
    return Dataset(Path(data_dir) if data_dir else None)
