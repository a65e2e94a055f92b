"""One module per published source: each recognises its files by content and loads them into
canonical tables with provenance. :func:`recognise` finds the source of a file; the build
(``iwt_helpers.data.build``) runs lookups first, then data sources.

A source is a class with ``ID``, ``TITLE``, ``PUBLISHER``, ``KIND`` ("lookup", "data" or
"provenance"), ``PREFERENCE`` (lower wins when two files hold the same data, e.g. an original
workbook and a CSV derived from it), ``recognise(path) -> bool`` and ``load(path, ctx)``.
Optional hooks, called by the build in this order:

* ``org_lookup(path) -> {organisation: ICB}``: a data file that names each organisation's ICS
  (placing organisations for every other source, before they are read);
* ``prepare(path, ctx)``: anything other files of the build need first (e.g. practice -> ICB);
* ``finalise(ctx) -> LoadResult``: called once after every file is read, for sources that
  combine several files into one table (their ``load`` keeps its part in ``ctx.parts``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ._read import SourceError

IGNORED_SUFFIXES = {".md", ".txt", ".pdf", ".html", ".htm", ".json", ".yaml", ".yml", ".docx", ".rds", ".rda"}
DATA_SUFFIXES = {".csv", ".xlsx", ".xls", ".xlsm"}


@dataclass
class LoadResult:
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    unmapped: pd.DataFrame | None = None          # records that could not be placed in an ICB
    period: str = ""                              # what the file covers, for the build report


@dataclass
class BuildContext:
    """What loaders share: how organisations and local authorities map to ICBs."""
    org_icb: dict[str, str] = field(default_factory=dict)          # organisation code -> ICB (host ICS)
    org_source: dict[str, str] = field(default_factory=dict)       # which lookup placed each code
    lad_population: dict[str, float] = field(default_factory=dict) # LAD (2022 codes) -> people, from ONS MYE
    mye_long: pd.DataFrame | None = None                           # LAD x single year of age (latest estimate)
    mye_year: int | None = None
    mye: dict[int, pd.DataFrame] = field(default_factory=dict)     # every estimate read: year -> LAD x age
    snpp22: dict | None = None                                     # 2022-based SNPP by sub-ICB location, sex, band
    snpp_long: pd.DataFrame | None = None                          # LAD x age x year (projection)
    snpp_base: int | None = None
    # LSOA vintage ("11", "21") -> lsoa_code, lsoa_name, icb_code (and lad_code, lad_name where the
    # lookup has them), kept by the LSOA lookups for sources published by small area.
    lsoa: dict[str, pd.DataFrame] = field(default_factory=dict)
    practice_icb: dict[str, str] = field(default_factory=dict)     # GP practice code -> ICB (ODS), by name
    practice_source: dict[str, str] = field(default_factory=dict)  # which file placed each practice
    # Files a source combines once all are read (e.g. the GP practice files of several vintages).
    parts: dict[str, list] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def icb_of(self, codes: pd.Series) -> pd.Series:
        """ICB of each organisation code; missing where unknown or a national body (e.g. QZZ)."""
        from iwt_helpers.data import geography
        valid = set(geography.icb_codes())
        return codes.map(lambda c: self.org_icb.get(c) if self.org_icb.get(c) in valid else None)

    def add_orgs(self, mapping: dict[str, str], source: str) -> int:
        added = 0
        for org, icb in mapping.items():
            if org and icb and org not in self.org_icb:
                self.org_icb[org] = icb
                self.org_source[org] = source
                added += 1
        return added


    def lsoa_lookup(self, vintage: str, path: Path, what: str) -> pd.DataFrame:
        """The LSOA (``vintage`` "11" or "21") to ICB lookup, or an error naming what needs it."""
        if vintage not in self.lsoa:
            raise SourceError(f"{path}: {what} needs the ONS LSOA 20{vintage} to ICB lookup "
                              f"(e.g. lookup_lsoa{vintage}_..._icb..csv) in the raw folder; none was found")
        return self.lsoa[vintage]


def registry() -> list[type]:
    from . import census, deprivation, geography_files, nhs, nhs_turnover, ons, primary_care, social_care
    from . import nhs_monthly
    return [*geography_files.SOURCES, *nhs.SOURCES, *nhs_turnover.SOURCES, *nhs_monthly.SOURCES, *social_care.SOURCES, *ons.SOURCES,
            *primary_care.SOURCES, *deprivation.SOURCES, *census.SOURCES]


def recognise(path: Path):
    """The source class whose format this file has, or None."""
    for src in registry():
        try:
            if src.recognise(Path(path)):
                return src
        except SourceError:
            continue
    return None


__all__ = ["BuildContext", "LoadResult", "SourceError", "recognise", "registry", "IGNORED_SUFFIXES", "DATA_SUFFIXES"]
