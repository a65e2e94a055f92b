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
    """The estimate's year: 'mid-YYYY' in the sheet title or file name, or the name ONS gives its
    workbook and the sheets saved from it ('mye24tablesew...' is mid-2024)."""
    for text in (sheet_title, path.name):
        m = re.search(r"mid[-_ ]?(\d{4})", text, flags=re.I)
        if m:
            return int(m.group(1))
    m = re.search(r"(?:^|[^a-z])mye(\d{2})tables", path.name, flags=re.I)
    if m:
        return 2000 + int(m.group(1))
    raise SourceError(f"{path}: cannot tell the estimate year: expected 'mid-YYYY' in the sheet title or file name, "
                      "or ONS's own file name 'myeYYtables...'")


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

    @staticmethod
    def edition(path: Path) -> int:
        return _mye_year(path)

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
    def edition(cls, path: Path) -> int:
        sheet = cls._sheet(path)
        title = " ".join(str(v) for v in pd.read_excel(path, sheet_name=sheet, header=None, nrows=6,
                                                       engine="calamine").stack().tolist())
        return _mye_year(path, title)

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
    ctx.mye[year] = long
    # Local-authority sources are weighted by the latest estimate on 2022 authority codes (the codes
    # of the lookups they are apportioned with); an estimate on 2023 codes (mid-2023 on) weights
    # them only when no earlier one was read. Earlier sources keep their own vintage of codes.
    weights = max((y for y in ctx.mye if y <= 2022), default=max(ctx.mye))
    ctx.mye_long, ctx.mye_year = ctx.mye[weights], weights
    ctx.lad_population = ctx.mye[weights].groupby("lad_code")["population"].sum().to_dict()
    res = LoadResult(period=f"mid-{year}")
    res.notes.append(f"{path.name}: mid-{year}, {long['lad_code'].nunique()} English authorities, "
                     f"{long['population'].sum():,.0f} people")
    res.tables["source_totals"] = pd.DataFrame({"source": [cls.ID], "file": [path.name], "period": [str(year)],
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


# --------------------------------------------------------------------------- 2022-based SNPP
# ONS publishes the 2022-based projections for sub-ICB locations and regions as workbooks with
# sheets Males, Females and Persons: title rows, then CODE, AREA, AGE GROUP and one column per
# year; each area's five-year age rows are followed by its "All ages" row.
SNPP22_SHEETS = {"males": "Males", "females": "Females", "persons": "Persons"}
FIVE_YEAR_BANDS = [f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"]
ALL_AGES = "All ages"


def _snpp22_sheet(path: Path, sheet: str) -> tuple[pd.DataFrame, list[str]]:
    """One sex's sheet as text, with its year columns (4-digit years; a header that is not a year
    is refused naming the column)."""
    df = read_sheet(path, sheet, ["CODE", "AREA", "AGE GROUP"])
    df.columns = [re.sub(r"\.0$", "", str(c).strip()) for c in df.columns]
    years = [c for c in df.columns if c not in ("CODE", "AREA", "AGE GROUP") and not c.startswith("Unnamed")]
    bad = [c for c in years if not re.fullmatch(r"(19|20)\d\d", c)]
    if bad:
        raise SourceError(f"{path} [{sheet}]: column {bad[0]!r}: expected a year such as 2025 in the header row")
    if len(years) < 5:
        raise SourceError(f"{path} [{sheet}]: expected one column per projection year, found {len(years)}")
    df = df.dropna(subset=["CODE"])
    df["CODE"] = clean_code(df["CODE"])
    df["AGE GROUP"] = df["AGE GROUP"].astype(str).str.strip()
    odd = sorted(set(df["AGE GROUP"]) - set(FIVE_YEAR_BANDS) - {ALL_AGES})
    if odd:
        raise SourceError(f"{path} [{sheet}]: column 'AGE GROUP': unexpected age group(s) {odd[:5]}; expected "
                          f"{FIVE_YEAR_BANDS[0]} ... {FIVE_YEAR_BANDS[-1]} and {ALL_AGES!r}")
    for y in years:
        df[y], _ = to_number(df[y], f"{path} [{sheet}]", y)
    return df, years


def _check_bands(df: pd.DataFrame, years: list[str], path: Path, sheet: str) -> None:
    """Each area's bands sum to its All ages row (within rounding: 1 per band)."""
    bands = df[df["AGE GROUP"] != ALL_AGES].groupby("CODE")[years].sum()
    total = df[df["AGE GROUP"] == ALL_AGES].set_index("CODE")[years]
    missing = sorted(set(bands.index) - set(total.index))
    if missing:
        raise SourceError(f"{path} [{sheet}]: area {missing[0]}: no {ALL_AGES!r} row")
    diff = (bands - total.reindex(bands.index)).abs()
    bad = diff > len(FIVE_YEAR_BANDS)
    if bad.to_numpy().any():
        code = bad.any(axis=1).idxmax()
        year = bad.loc[code].idxmax()
        raise SourceError(f"{path} [{sheet}]: area {code}, year {year}: the age bands sum to "
                          f"{bands.at[code, year]:,.0f} but {ALL_AGES!r} is {total.at[code, year]:,.0f}")


class SubnationalProjections2022:
    """ONS 2022-based SNPP workbooks: sub-ICB locations (with NHS England regions and England) or
    English regions, five-year bands by sex, one column per year."""
    ID, KIND, PREFERENCE = "ons_snpp_2022", "data", 10
    TITLE, PUBLISHER = ("ONS 2022-based subnational population projections (sub-ICB locations or regions, "
                        "five-year age bands by sex)"), "ONS"

    @staticmethod
    def recognise(path: Path) -> bool:
        if not set(SNPP22_SHEETS.values()) <= set(sheet_names(path)):
            return False
        head = pd.read_excel(path, sheet_name="Persons", header=None, nrows=8, dtype=str, engine="calamine")
        cells = {str(v).strip() for v in head.stack().tolist()}
        return {"CODE", "AREA", "AGE GROUP"} <= cells and any("population projections" in c.lower() for c in cells)

    @staticmethod
    def describe(path: Path) -> tuple[int, str]:
        """Base year and variant as the workbook's cover sheet and titles state them."""
        text = " ".join(str(v) for s in ("Cover sheet", "Persons") if s in sheet_names(path)
                        for v in pd.read_excel(path, sheet_name=s, header=None, nrows=6, dtype=str,
                                               engine="calamine").stack().tolist())
        m = re.search(r"(\d{4})-based", text)
        if not m:
            raise SourceError(f"{path}: cannot tell the projection's base year: expected 'YYYY-based' in its titles")
        v = re.search(r"Projection:\s*([^\n]+?variant)", text, flags=re.I)
        variant = v.group(1).strip().lower() if v else "principal projection"
        return int(m.group(1)), variant

    @classmethod
    def edition(cls, path: Path) -> str:
        """Which of the two workbooks (sub-ICB or regions) this is: they are read once each."""
        return "sub_icb" if cls._areas(path) == "E38" else "regions"

    @staticmethod
    def _areas(path: Path) -> str:
        codes = pd.read_excel(path, sheet_name="Persons", header=None, usecols=[0], dtype=str,
                              engine="calamine")[0].dropna().astype(str).str.strip()
        return "E38" if codes.str.startswith("E38").any() else "E12"

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        base, variant = cls.describe(path)
        frames, years = {}, None
        for sex, sheet in SNPP22_SHEETS.items():
            df, ys = _snpp22_sheet(path, sheet)
            if years is not None and ys != years:
                raise SourceError(f"{path} [{sheet}]: years {ys[0]}-{ys[-1]} differ from the other sheets' "
                                  f"{years[0]}-{years[-1]}")
            years = ys
            _check_bands(df, years, path, sheet)
            frames[sex] = df
        key = ["CODE", "AGE GROUP"]
        p = frames["persons"].set_index(key)[years]
        mf = frames["males"].set_index(key)[years].add(frames["females"].set_index(key)[years], fill_value=0)
        diff = (mf.reindex(p.index) - p).abs()
        if diff.isna().to_numpy().any() or (diff > 1).to_numpy().any():
            bad = (diff.isna() | (diff > 1))
            row = bad.any(axis=1).idxmax()
            year = bad.loc[row].idxmax()
            raise SourceError(f"{path} [Persons]: area {row[0]}, age group {row[1]}, year {year}: males + females "
                              f"({mf.at[row, year] if row in mf.index else float('nan'):,.0f}) do not equal persons "
                              f"({p.at[row, year]:,.0f})")
        long = pd.concat([f.assign(sex=s) for s, f in frames.items()], ignore_index=True)
        long = long.melt(id_vars=["CODE", "AREA", "AGE GROUP", "sex"], value_vars=years, var_name="year",
                         value_name="population")
        long["year"] = long["year"].astype(int)
        long = long.rename(columns={"CODE": "area_code", "AREA": "area_name", "AGE GROUP": "band5"})
        areas = "E38" if long["area_code"].str.startswith("E38").any() else "E12"
        res = LoadResult(period=f"{years[0]}-{years[-1]}")
        england = long[(long["area_code"] == "E92000001") & (long["sex"] == "persons") & (long["band5"] == ALL_AGES)]
        label = variant
        if areas == "E38":
            ctx.snpp22 = {"long": long, "base": base, "variant": variant, "file": path.name}
            n = long.loc[long["area_code"].str.startswith("E38"), "area_code"].nunique()
            res.notes.append(f"{path.name}: ONS {base}-based {label}, {years[0]}-{years[-1]}, {n} sub-ICB locations by sex and "
                             "five-year age band")
        else:
            n = long.loc[long["area_code"].str.startswith("E12"), "area_code"].nunique()
            res.notes.append(f"{path.name}: ONS {base}-based {label} for {n} English regions, {years[0]}-{years[-1]} "
                             "(read for the England check; the sub-ICB workbook is the basis)")
        res.tables["source_totals"] = pd.DataFrame({
            "source": f"{cls.ID}_{'sub_icb' if areas == 'E38' else 'regions'}", "file": path.name,
            "period": england["year"].astype(str), "measure": "population",
            "file_total": england["population"].to_numpy()})
        return res


SOURCES.append(SubnationalProjections2022)
