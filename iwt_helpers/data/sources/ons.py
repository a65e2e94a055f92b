"""ONS population: mid-year estimates (single year of age by local authority) and subnational
population projections. The build turns them into population by ICB, age band and year."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from iwt_helpers.data import geography
from . import BuildContext, LoadResult
from ._read import SourceError, clean_code, head_columns, read_csv, read_sheet, sheet_names, to_number

AGES = [str(a) for a in range(90)]


def _mye_year(path: Path, sheet_title: str = "") -> int:
    for text in (sheet_title, path.name):
        m = re.search(r"mid[-_ ]?(\d{4})", text, flags=re.I)
        if m:
            return int(m.group(1))
    raise SourceError(f"{path}: cannot tell the estimate year: expected 'mid-YYYY' in the sheet title or file name")


def _long_mye(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    top = "90+" if "90+" in df.columns else "90"
    ages = AGES + [top]
    missing = [a for a in ages if a not in df.columns]
    if missing:
        raise SourceError(f"{path}: single-year-of-age columns missing: {', '.join(missing[:5])}")
    df = df[clean_code(df["Code"]).str.match(r"^E0[6789]\d{6}$", na=False)].copy()
    df["Code"] = clean_code(df["Code"])
    long = df.melt(id_vars=["Code"], value_vars=ages, var_name="age", value_name="population")
    long["population"], _ = to_number(long["population"].astype(str), path, "single-year-of-age counts")
    long["age"] = long["age"].str.replace("+", "", regex=False).astype(int)
    return long.rename(columns={"Code": "lad_code"})


class MidYearEstimatesCsv:
    """MYE2 persons, one row per area, columns Code, Name, Geography, [sex], All ages, 0 ... 90+."""
    ID, KIND, PREFERENCE = "ons_mye", "data", 20
    TITLE, PUBLISHER = "ONS mid-year population estimates (single year of age by local authority)", "ONS"

    @staticmethod
    def recognise(path: Path) -> bool:
        cols = set(head_columns(path) or [])
        return {"Code", "Geography", "All ages", "0", "1"} <= cols

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        df = read_csv(path)
        if "sex" in df.columns:
            df = df[df["sex"].str.lower() == "persons"]
        return _finish_mye(cls, df, path, ctx, _mye_year(path))


class MidYearEstimatesWorkbook:
    """The ONS MYE workbook: sheet 'MYE2 - Persons' (or 'MYE2 - All'), title rows above the table."""
    ID, KIND, PREFERENCE = "ons_mye", "data", 10
    TITLE, PUBLISHER = MidYearEstimatesCsv.TITLE, "ONS"

    @staticmethod
    def _sheet(path: Path) -> str | None:
        return next((s for s in sheet_names(path) if re.fullmatch(r"MYE ?2 - (Persons|All)", s.strip(), re.I)), None)

    @classmethod
    def recognise(cls, path: Path) -> bool:
        return cls._sheet(path) is not None

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        sheet = cls._sheet(path)
        df = read_sheet(path, sheet, ["Code", "Name", "Geography"])
        df.columns = [str(c).strip() for c in df.columns]
        df.columns = [re.sub(r"\.0$", "", c) for c in df.columns]
        title = " ".join(str(v) for v in pd.read_excel(path, sheet_name=sheet, header=None, nrows=6, engine="calamine").stack().tolist())
        return _finish_mye(cls, df, path, ctx, _mye_year(path, title))


def _finish_mye(cls, df: pd.DataFrame, path: Path, ctx: BuildContext, year: int) -> LoadResult:
    long = _long_mye(df, path)
    mapped = geography.map_retired_lads(long["lad_code"])
    long["lad_code"] = mapped
    long = long.groupby(["lad_code", "age"], as_index=False)["population"].sum()
    ctx.mye_long, ctx.mye_year = long, year
    ctx.lad_population = long.groupby("lad_code")["population"].sum().to_dict()
    res = LoadResult(period=f"mid-{year}")
    res.notes.append(f"{path.name}: mid-{year}, {long['lad_code'].nunique()} English authorities, "
                     f"{long['population'].sum():,.0f} people")
    res.tables["source_totals"] = pd.DataFrame({"source": [cls.ID], "file": [path.name], "period": [year],
                                                "measure": ["population"], "file_total": [long["population"].sum()]})
    return res


class SubnationalProjections:
    """ONS SNPP by LAD: AREA_CODE, AGE_GROUP, [SEX], one column per year."""
    ID, KIND, PREFERENCE = "ons_snpp", "data", 10
    TITLE, PUBLISHER = "ONS subnational population projections", "ONS"

    @staticmethod
    def recognise(path: Path) -> bool:
        cols = head_columns(path) or []
        return "AREA_CODE" in cols and "AGE_GROUP" in cols and sum(c.isdigit() for c in cols) >= 5

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        df = read_csv(path)
        sex_col = next((c for c in df.columns if c.upper() == "SEX"), None)
        if sex_col:
            df = df[df[sex_col].str.lower().isin(["persons", "all"])]
        df = df[~df["AGE_GROUP"].str.lower().str.startswith("all")]
        df["age"] = df["AGE_GROUP"].str.extract(r"^(\d+)")[0].astype(float)
        if df["age"].isna().any():
            r = df.index[df["age"].isna()][0]
            raise SourceError(f"{path}: column 'AGE_GROUP' row {r + 2}: expected an age such as 65 or '90 and over', "
                              f"found {df.loc[r, 'AGE_GROUP']!r}")
        years = [c for c in df.columns if c.isdigit()]
        long = df.melt(id_vars=["AREA_CODE", "age"], value_vars=years, var_name="year", value_name="population")
        long["population"], _ = to_number(long["population"], path, "projected population")
        long["year"] = long["year"].astype(int)
        long["age"] = long["age"].astype(int)
        long["lad_code"] = geography.map_retired_lads(clean_code(long["AREA_CODE"]))
        long = long.groupby(["lad_code", "age", "year"], as_index=False)["population"].sum()
        ctx.snpp_long, ctx.snpp_base = long, int(years[0])
        res = LoadResult(period=f"{years[0]}-{years[-1]}")
        res.notes.append(f"{path.name}: {years[0]}-based, {years[0]}-{years[-1]}, ages {int(long['age'].min())}"
                         f"-{int(long['age'].max())}+, {long['lad_code'].nunique()} authorities after code changes")
        return res


SOURCES = [MidYearEstimatesWorkbook, MidYearEstimatesCsv, SubnationalProjections]
