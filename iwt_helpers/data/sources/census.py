"""Census 2021: provision of unpaid care (TS039) and ethnic group (TS021), by small area and by
local authority.

Small areas are placed in ICBs through the LSOA 2021 lookup of the same build: LSOAs nest
exactly in ICBs; an MSOA's LSOAs share its name plus a letter, and an MSOA whose LSOAs lie in
two ICBs is split between them by its share of LSOAs (rule A10 in docs/assumptions.md).
Every row's bands must add up to its total; a row that does not is refused.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import BuildContext, LoadResult
from ._read import SourceError, clean_code, head_columns, read_csv, require_columns, to_number

OGL = "Open Government Licence v3.0"
CENSUS_YEAR = 2021
ONS = "Office for National Statistics, Census 2021"
# Hours bands of the unpaid_care table, and the published columns that hold them.
HOURS_BANDS = {"19h_or_less": "care_19h_or_less", "20_49h": "care_20_49h", "50h_plus": "care_50h_plus"}
NOMIS_PREFIX = "Provision of unpaid care: "
NOMIS = {"Total: All usual residents aged 5 and over": "residents_5plus",
         "Provides no unpaid care": "no_unpaid_care",
         "Provides 19 hours or less unpaid care a week": "care_19h_or_less",
         "Provides 9 hours or less unpaid care a week": "care_9h_or_less",
         "Provides 10 to 19 hours unpaid care a week": "care_10_19h",
         "Provides 20 to 49 hours unpaid care a week": "care_20_49h",
         "Provides 20 to 34 hours unpaid care a week": "care_20_34h",
         "Provides 35 to 49 hours unpaid care a week": "care_35_49h",
         "Provides 50 or more hours unpaid care a week": "care_50h_plus"}
# (total, parts) that must add up in every row.
CARE_SUMS = [("residents_5plus", ["no_unpaid_care", "care_19h_or_less", "care_20_49h", "care_50h_plus"]),
             ("care_19h_or_less", ["care_9h_or_less", "care_10_19h"]),
             ("care_20_49h", ["care_20_34h", "care_35_49h"])]
BROAD_GROUPS = {"White": "white", "Asian, Asian British or Asian Welsh": "asian",
                "Black, Black British, Black Welsh, Caribbean or African": "black",
                "Mixed or Multiple ethnic groups": "mixed", "Other ethnic group": "other"}


def _numbers(df: pd.DataFrame, cols: list[str], path: Path) -> pd.DataFrame:
    for c in cols:
        df[c], _ = to_number(df[c], path, c)
    return df


def check_sums(df: pd.DataFrame, sums: list[tuple[str, list[str]]], code_col: str, path: Path) -> None:
    """Refuse a row whose parts do not add up to its total, naming the area and the columns."""
    for total, parts in sums:
        diff = df[parts].sum(axis=1) - df[total]
        bad = diff.abs() > 0.5
        if bad.any():
            r = df.index[bad][0]
            raise SourceError(f"{path}: area {df.at[r, code_col]} (row {r + 2}): columns {' + '.join(parts)} add up to "
                              f"{df.loc[r, parts].sum():,.0f}, not its total '{total}' {df.at[r, total]:,.0f}"
                              + (f" ({int(bad.sum())} rows like this)" if bad.sum() > 1 else ""))


def english_lads(codes: pd.Series) -> pd.Series:
    return codes.str.match(r"^E0[6789]\d{6}$", na=False)


def msoa_shares(lsoa: pd.DataFrame) -> pd.DataFrame:
    """MSOA name -> ICB with the share of the MSOA's LSOAs in it (LSOA names are the MSOA name
    plus a letter)."""
    d = lsoa.assign(msoa_name=lsoa["lsoa_name"].str.replace(r"[A-Z]$", "", regex=True))
    g = d.groupby(["msoa_name", "icb_code"], as_index=False).size()
    g["share"] = g["size"] / g.groupby("msoa_name")["size"].transform("sum")
    return g[["msoa_name", "icb_code", "share"]]


class UnpaidCareSmallArea:
    """TS039 by English MSOA 2021 (snake_case columns: msoa21_code, residents_5plus, care_*)."""
    ID, KIND, PREFERENCE = "census2021_unpaid_care_msoa", "data", 10
    TITLE, PUBLISHER = "Census 2021 TS039 provision of unpaid care, by MSOA", ONS
    COLS = ["msoa21_code", "msoa21_name", "residents_5plus", "no_unpaid_care", *NOMIS.values()]

    @staticmethod
    def recognise(path: Path) -> bool:
        return {"msoa21_code", "residents_5plus", "care_50h_plus"} <= set(head_columns(path) or [])

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        df = read_csv(path)
        cols = list(dict.fromkeys(cls.COLS))
        require_columns(df, cols, path)
        df = _numbers(df, [c for c in cols if c not in ("msoa21_code", "msoa21_name")], path)
        check_sums(df, CARE_SUMS, "msoa21_code", path)
        shares = msoa_shares(ctx.lsoa_lookup("21", path, "unpaid care by MSOA"))
        d = df.merge(shares.rename(columns={"msoa_name": "msoa21_name"}), on="msoa21_name", how="left")
        unplaced = d[d["icb_code"].isna()]
        if len(unplaced):
            raise SourceError(f"{path}: MSOA(s) with no LSOA in the LSOA 2021 lookup: "
                              f"{', '.join(unplaced['msoa21_code'].head(5))}")
        split = int((d.groupby("msoa21_code")["icb_code"].nunique() > 1).sum())
        rows = []
        for band, col in HOURS_BANDS.items():
            x = d.assign(carers=d[col] * d["share"], residents=d["residents_5plus"] * d["share"])
            g = x.groupby("icb_code", as_index=False)[["carers", "residents"]].sum()
            rows.append(pd.DataFrame({"year": CENSUS_YEAR, "icb_code": g["icb_code"], "hours_band": band,
                                      "carers": g["carers"].round(1), "residents_5plus": g["residents"].round(1)}))
        out = pd.concat(rows, ignore_index=True)
        out["source"] = f"{cls.TITLE}, {path.name}; {cls.PUBLISHER}; {OGL}; MSOAs placed in ICBs through the LSOA 2021 lookup"
        carers = df[list(HOURS_BANDS.values())].sum().sum()
        res = LoadResult(tables={"unpaid_care": out}, period="Census day, 21 March 2021")
        res.tables["source_totals"] = pd.DataFrame({"source": [cls.ID, cls.ID], "file": path.name, "period": CENSUS_YEAR,
                                                    "measure": ["unpaid_carers", "residents_5plus"],
                                                    "file_total": [carers, df["residents_5plus"].sum()]})
        res.notes.append(f"{path.name}: {len(df):,} MSOAs, {carers:,.0f} unpaid carers aged 5+ in "
                         f"{out['icb_code'].nunique()} ICBs; {split} MSOAs straddle two ICBs and are split by their share of LSOAs")
        return res


class UnpaidCareLocalAuthority:
    """TS039 by local authority, Nomis bulk layout (columns 'geography code' and
    'Provision of unpaid care: ...'); English authorities only."""
    ID, KIND, PREFERENCE = "census2021_unpaid_care_la", "data", 10
    TITLE, PUBLISHER = "Census 2021 TS039 provision of unpaid care, by local authority", ONS

    @staticmethod
    def recognise(path: Path) -> bool:
        cols = set(head_columns(path) or [])
        return "geography code" in cols and NOMIS_PREFIX + "Total: All usual residents aged 5 and over" in cols

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        df = read_csv(path)
        require_columns(df, ["geography", "geography code", *(NOMIS_PREFIX + k for k in NOMIS)], path)
        df = df.rename(columns={NOMIS_PREFIX + k: v for k, v in NOMIS.items()})
        df = _numbers(df, list(NOMIS.values()), path)
        check_sums(df, CARE_SUMS, "geography code", path)
        df = df[english_lads(clean_code(df["geography code"]))]
        rows = [pd.DataFrame({"year": CENSUS_YEAR, "lad_code": clean_code(df["geography code"]), "lad_name": df["geography"],
                              "hours_band": band, "carers": df[col], "residents_5plus": df["residents_5plus"]})
                for band, col in HOURS_BANDS.items()]
        out = pd.concat(rows, ignore_index=True)
        out["source"] = f"{cls.TITLE}, {path.name}; {cls.PUBLISHER}; {OGL}; local authorities on 2021 boundaries"
        res = LoadResult(tables={"unpaid_care_la": out}, period="Census day, 21 March 2021")
        carers = df[list(HOURS_BANDS.values())].sum().sum()
        res.tables["source_totals"] = pd.DataFrame({"source": [cls.ID], "file": path.name, "period": CENSUS_YEAR,
                                                    "measure": ["unpaid_carers_england"], "file_total": [carers]})
        res.notes.append(f"{path.name}: {len(df)} English local authorities, {carers:,.0f} unpaid carers aged 5+")
        return res


class EthnicitySmallArea:
    """TS021 by English LSOA 2021: the five broad groups and ``total_residents``; residents'
    ethnicity by ICB (LSOAs nest exactly in ICBs)."""
    ID, KIND, PREFERENCE = "census2021_ethnicity_lsoa", "data", 10
    TITLE, PUBLISHER = "Census 2021 TS021 ethnic group, by LSOA", ONS

    @staticmethod
    def recognise(path: Path) -> bool:
        return {"lsoa21_code", "total_residents", "White"} <= set(head_columns(path) or [])

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        df = read_csv(path)
        require_columns(df, ["lsoa21_code", *BROAD_GROUPS, "total_residents"], path)
        df = _numbers(df, [*BROAD_GROUPS, "total_residents"], path)
        check_sums(df, [("total_residents", list(BROAD_GROUPS))], "lsoa21_code", path)
        lookup = ctx.lsoa_lookup("21", path, "residents' ethnicity by LSOA")
        d = df.merge(lookup[["lsoa_code", "icb_code"]], left_on="lsoa21_code", right_on="lsoa_code", how="left")
        if d["icb_code"].isna().any():
            raise SourceError(f"{path}: LSOA(s) not in the LSOA 2021 lookup: "
                              f"{', '.join(d.loc[d['icb_code'].isna(), 'lsoa21_code'].head(5))}")
        g = d.groupby("icb_code")[list(BROAD_GROUPS)].sum().rename(columns=BROAD_GROUPS)
        long = g.reset_index().melt(id_vars="icb_code", var_name="ethnic_group", value_name="people")
        out = pd.DataFrame({"year": CENSUS_YEAR, "icb_code": long["icb_code"], "group": "residents", "sector": "all",
                            "ethnic_group": long["ethnic_group"], "people": long["people"],
                            "source": f"{cls.TITLE}, {path.name}; {cls.PUBLISHER}; {OGL}; usual residents"})
        res = LoadResult(tables={"ethnicity": out}, period="Census day, 21 March 2021")
        white = 100 * df["White"].sum() / df["total_residents"].sum()
        res.tables["source_totals"] = pd.DataFrame({"source": [cls.ID], "file": path.name, "period": CENSUS_YEAR,
                                                    "measure": ["usual_residents"], "file_total": [df["total_residents"].sum()]})
        res.notes.append(f"{path.name}: {len(df):,} LSOAs, {df['total_residents'].sum():,.0f} residents in "
                         f"{out['icb_code'].nunique()} ICBs; England {white:.1f}% White")
        return res


class EthnicityLocalAuthority:
    """TS021 by local authority: the 19 detailed groups as ONS names them ('Broad: detail') and
    ``total``; English authorities only."""
    ID, KIND, PREFERENCE = "census2021_ethnicity_la", "data", 10
    TITLE, PUBLISHER = "Census 2021 TS021 ethnic group (19 groups), by local authority", ONS

    @staticmethod
    def recognise(path: Path) -> bool:
        cols = set(head_columns(path) or [])
        return {"ltla21_code", "total"} <= cols and any(c.startswith("White: ") for c in cols)

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        df = read_csv(path)
        detailed = [c for c in df.columns if ": " in c]
        broad = {c: c.split(": ", 1)[0] for c in detailed}
        unknown = sorted(set(broad.values()) - set(BROAD_GROUPS))
        if unknown:
            raise SourceError(f"{path}: column(s) of unknown broad ethnic group: {', '.join(unknown)}; "
                              f"expected {', '.join(BROAD_GROUPS)}")
        df = _numbers(df, [*detailed, "total"], path)
        check_sums(df, [("total", detailed)], "ltla21_code", path)
        df = df[english_lads(clean_code(df["ltla21_code"]))]
        long = df.melt(id_vars=["ltla21_code", "ltla21_name"], value_vars=detailed, var_name="detail", value_name="people")
        out = pd.DataFrame({"year": CENSUS_YEAR, "lad_code": clean_code(long["ltla21_code"]), "lad_name": long["ltla21_name"],
                            "ethnic_group": long["detail"].map(broad).map(BROAD_GROUPS),
                            "ethnic_group_detailed": long["detail"].str.split(": ", n=1).str[1],
                            "people": long["people"],
                            "source": f"{cls.TITLE}, {path.name}; {cls.PUBLISHER}; {OGL}; local authorities on 2021 boundaries"})
        res = LoadResult(tables={"ethnicity_la": out}, period="Census day, 21 March 2021")
        res.notes.append(f"{path.name}: {len(df)} English local authorities, {len(detailed)} detailed ethnic groups")
        return res


SOURCES = [UnpaidCareSmallArea, UnpaidCareLocalAuthority, EthnicitySmallArea, EthnicityLocalAuthority]
