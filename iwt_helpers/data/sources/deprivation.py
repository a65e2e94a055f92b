"""Context indicators of place: the English Indices of Deprivation 2025 for ICBs and local
authorities, and the ONS rural-urban classification of small areas (LSOA 2011) summed to the
share of each ICB's and local authority's small areas that are rural.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from iwt_helpers.data import geography
from . import BuildContext, LoadResult
from ._read import SourceError, clean_code, head_columns, read_csv, to_number

OGL = "Open Government Licence v3.0"
DOMAINS = ["imd", "income", "employment", "education_skills_and_training", "health_deprivation_and_disability",
           "crime", "barriers_to_housing_and_services", "living_environment"]
PROPORTION = "proportion_of_lso_as_in_most_deprived_10_percent_nationally"
# Published summary measure (as the column names end) -> measure code in the ``deprivation`` table.
MEASURES = {
    "average_score": "average_score", "rank_of_average_score": "rank_of_average_score",
    "average_rank": "average_rank", "rank_of_average_rank": "rank_of_average_rank",
    PROPORTION: "share_most_deprived_10pct", f"rank_of_{PROPORTION}": "rank_of_share_most_deprived_10pct",
    "extent": "extent", "rank_of_extent": "rank_of_extent",
    "local_concentration": "local_concentration", "rank_of_local_concentration": "rank_of_local_concentration",
    "scale": "scale",
}
_DOMAIN_RE = "|".join(sorted(DOMAINS, key=len, reverse=True))


def _split(column: str) -> tuple[str, str] | None:
    """(domain, measure) of a published IoD column name, or None."""
    c = re.sub(r"^imd(?:_?20)?25_", "imd_", column)            # imd_2025_extent / imd25_extent -> imd_extent
    m = re.fullmatch(rf"rank_of_({_DOMAIN_RE})_scale", c)
    if m:
        return m.group(1), "rank_of_scale"
    m = re.fullmatch(rf"({_DOMAIN_RE})_(.+)", c)
    if m and m.group(2) in MEASURES:
        return m.group(1), MEASURES[m.group(2)]
    return None


class IndicesOfDeprivation:
    """MHCLG English Indices of Deprivation 2025, area summaries for ICBs (E54 codes) or local
    authorities (LAD 2024), as tidied by the humaniverse/IMD package (one row per area)."""
    ID, KIND, PREFERENCE = "iod2025", "data", 10
    TITLE = "English Indices of Deprivation 2025: area summaries"
    PUBLISHER = "Ministry of Housing, Communities and Local Government"
    YEAR = 2025

    @staticmethod
    def _area(cols: set[str]) -> tuple[str, str] | None:
        for c in sorted(cols):
            m = re.fullmatch(r"(icb|ltla|lad)(\d\d)_code", c)
            if m:
                return m.group(0), ("icb" if m.group(1) == "icb" else f"lad{m.group(2)}")
        return None

    @classmethod
    def recognise(cls, path: Path) -> bool:
        cols = set(head_columns(path) or [])
        return cls._area(cols) is not None and {"imd_average_score", "imd_rank_of_average_score"} <= cols

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        df = read_csv(path)
        code_col, area_type = cls._area(set(df.columns))
        name_col = code_col.replace("_code", "_name")
        codes = clean_code(df[code_col])
        if area_type == "icb":
            mapped = codes.map(geography.ods_code)
            if mapped.isna().any():
                bad = sorted(codes[mapped.isna()])[:5]
                raise SourceError(f"{path}: column '{code_col}': codes not among the 42 ICBs: {', '.join(bad)}")
            codes = mapped
        rows = []
        for col in df.columns:
            split = _split(col)
            if split is None:
                continue
            values, _ = to_number(df[col], path, col)
            rows.append(pd.DataFrame({"area_code": codes, "area_name": df[name_col] if name_col in df else "",
                                      "domain": split[0], "measure": split[1], "value": values}))
        if not rows:
            raise SourceError(f"{path}: no Indices of Deprivation summary columns (expected e.g. imd_average_score)")
        out = pd.concat(rows, ignore_index=True)
        out.insert(0, "area_type", area_type)
        out.insert(0, "year", cls.YEAR)
        out["source"] = f"{cls.TITLE}, {path.name}; {cls.PUBLISHER}; {OGL}"
        res = LoadResult(tables={"deprivation": out}, period=f"IoD{cls.YEAR}")
        res.notes.append(f"{path.name}: {out['area_code'].nunique()} {area_type.upper()} areas, "
                         f"{out['domain'].nunique()} domains, {out['measure'].nunique()} summary measures")
        return res


RURAL_PREFIXES = ("D", "E")          # RUC 2011: A, B conurbations and C city and town are urban; D, E rural


class RuralUrbanLsoa:
    """ONS Rural-Urban Classification (2011) of LSOAs (columns LSOA11CD, RUC11CD, RUC11): the share
    of each ICB's and local authority's small areas that are rural (codes D1..E2), placed through
    the LSOA 2011 lookup of the same build."""
    ID, KIND, PREFERENCE = "ons_rural_urban_lsoa", "data", 10
    TITLE, PUBLISHER = "Rural-Urban Classification (2011) of LSOAs", "Office for National Statistics"

    @staticmethod
    def recognise(path: Path) -> bool:
        return {"LSOA11CD", "RUC11CD", "RUC11"} <= set(head_columns(path) or [])

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        df = read_csv(path)
        lookup = ctx.lsoa_lookup("11", path, "the rural-urban classification")
        df = df[df["LSOA11CD"].str.startswith("E")]
        bad = ~df["RUC11CD"].str.strip().str.fullmatch(r"[A-E][12]")
        if bad.any():
            r = df.index[bad][0]
            raise SourceError(f"{path}: column 'RUC11CD' row {r + 2}: expected a code A1..E2, found {df.at[r, 'RUC11CD']!r}")
        d = df.merge(lookup, left_on="LSOA11CD", right_on="lsoa_code", how="left")
        unplaced = d[d["icb_code"].isna()]
        d = d.dropna(subset=["icb_code"])
        d["rural"] = d["RUC11CD"].str.strip().str[0].isin(RURAL_PREFIXES)
        names = dict(zip(geography.icbs()["icb_code"], geography.icbs()["icb_short_name"]))
        parts = [("icb", d.assign(area_code=d["icb_code"], area_name=d["icb_code"].map(names)))]
        if "lad_code" in d:
            parts.append(("lad22", d.assign(area_code=d["lad_code"], area_name=d["lad_name"])))
        rows = []
        for area_type, x in parts:
            g = x.groupby(["area_code", "area_name"], as_index=False).agg(lsoas=("rural", "size"), rural_lsoas=("rural", "sum"))
            g.insert(0, "area_type", area_type)
            rows.append(g)
        out = pd.concat(rows, ignore_index=True)
        out["rural_share_pct"] = (100 * out["rural_lsoas"] / out["lsoas"]).round(3)
        out.insert(0, "year", 2011)
        out["source"] = f"{cls.TITLE}, {path.name}; {cls.PUBLISHER}; {OGL}; share of the area's LSOAs (2011)"
        res = LoadResult(tables={"rurality": out}, period="2011 classification")
        res.notes.append(f"{path.name}: {len(d):,} English LSOAs placed in {d['icb_code'].nunique()} ICBs; "
                         f"{len(unplaced)} not in the LSOA lookup (left out)")
        return res


SOURCES = [IndicesOfDeprivation, RuralUrbanLsoa]
