"""Places: the 106 sub-ICB locations ICSs plan through (Greater Manchester's ten localities, for
example), with the local authorities and GP practices in each.

Committed reference tables, rebuilt by ``iwt reference build`` from the shared lookups:

* ``sub_icb.csv``: E38 code, ODS code (00T), ONS name, a readable place name, ICB, LSOAs;
* ``sub_icb_lad.csv``: the local authorities (2023 codes) in each place, by their LSOAs (a place's
  share of the authority and the authority's share of the place);
* ``gp_practice_place.csv``: each GP practice's place and PCN (NHS England, October 2025).

A place's readable name is made of the local authorities that hold at least
:data:`NAME_SHARE` of its LSOAs, largest first (Bolton; Tameside and High Peak): ONS and NHS
England name sub-ICB locations only by their ICB and ODS code.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from iwt_helpers import atomic, paths
from iwt_helpers.errors import IwtError

from . import geography
from .sources._read import SourceError

SUB_ICB_FILE = geography.SUB_ICB_FILE
PLACE_LAD_FILE = "sub_icb_lad.csv"
PRACTICE_FILE = "gp_practice_place.csv"
PRACTICE_MAP = "gp-practice-sub-icb/gp-reg-pat-prac-map.csv"
FACTS_FILE = "place_facts.csv"
CARERS_FILE = "census-2021-unpaid-care/DERIVED_census2021_ts039_msoa21_england.csv"      # as for the ICB table
POPULATION_FILE = "place_population.csv"
NAME_SHARE = 0.10
OGL = geography.OGL


class UnknownPlaceError(IwtError, ValueError):
    """A place code that is not a sub-ICB location, or not one of the ICB named."""


def _lsoa_places(geo_dir: Path) -> pd.DataFrame:
    from .sources.geography_files import lad_of_names
    path = geo_dir / "lookup_lsoa21_icb24.csv"
    lk = pd.read_csv(path, dtype=str)
    need = ["lsoa21_name", "lsoa21_code", "sicbl24_code", "sicbl24_code_nhs", "sicbl24_name", "icb24_code_nhs"]
    missing = [c for c in need if c not in lk.columns]
    if missing:
        raise SourceError(f"{path}: missing column(s) {missing}")
    lk["lad21_name"] = lk["lsoa21_name"].str.replace(r"\s+\d{3}[A-Z]$", "", regex=True)
    names = lk[["lad21_name"]].drop_duplicates()
    names["lad_code"], names["lad_name"] = lad_of_names(names["lad21_name"], path)
    return lk.merge(names, on="lad21_name", how="left")


def build_place_lads(geo_dir: Path) -> pd.DataFrame:
    lk = _lsoa_places(geo_dir)
    g = lk.groupby(["sicbl24_code", "lad_code", "lad_name"], as_index=False).size().rename(
        columns={"sicbl24_code": "sicb_code", "size": "lsoas"})
    g["share_of_lad"] = (g["lsoas"] / g.groupby("lad_code")["lsoas"].transform("sum")).round(6)
    g["share_of_place"] = (g["lsoas"] / g.groupby("sicb_code")["lsoas"].transform("sum")).round(6)
    g["share_basis"] = "share of LSOAs (2021)"
    g["source"] = f"ONS LSOA (2021) to Sub-ICB Location to ICB (April 2024) lookup, authorities from LSOA names; {OGL}"
    return g.sort_values(["sicb_code", "lsoas", "lad_code"], ascending=[True, False, True]).reset_index(drop=True)


def _readable(lads: pd.DataFrame) -> str:
    big = lads[lads["share_of_place"] >= NAME_SHARE].sort_values(["share_of_place", "lad_name"], ascending=[False, True])
    names = big["lad_name"].tolist() or [lads.sort_values("share_of_place").iloc[-1]["lad_name"]]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def build_sub_icbs(geo_dir: Path, place_lads: pd.DataFrame | None = None) -> pd.DataFrame:
    """The sub-ICB locations (April 2024) with their ODS code, ONS name, readable name, ICB and LSOAs."""
    lk = _lsoa_places(geo_dir)
    key = ["sicbl24_code", "sicbl24_code_nhs", "sicbl24_name", "icb24_code_nhs"]
    g = lk.groupby(key, as_index=False).size()
    g.columns = ["sicb_code", "sicb_ods", "sicb_name", "icb_code", "lsoas"]
    dup = g[g["sicb_code"].duplicated(keep=False)]
    if len(dup):
        raise SourceError(f"{geo_dir / 'lookup_lsoa21_icb24.csv'}: sub-ICB location {dup['sicb_code'].iloc[0]} "
                          "is placed in more than one ICB")
    pl = build_place_lads(geo_dir) if place_lads is None else place_lads
    names = {code: _readable(d) for code, d in pl.groupby("sicb_code")}
    g["place_name"] = g["sicb_code"].map(names)
    g["source"] = (f"ONS LSOA (2021) to Sub-ICB Location to ICB (April 2024) lookup; place names from the local "
                   f"authorities holding at least {NAME_SHARE:.0%} of each place's LSOAs; {OGL}")
    return g[["sicb_code", "sicb_ods", "sicb_name", "place_name", "icb_code", "lsoas", "source"]].sort_values(
        "sicb_code").reset_index(drop=True)


def build_practice_places(reference_data: Path) -> pd.DataFrame:
    """Each GP practice's sub-ICB location and PCN (NHS England, October 2025)."""
    path = reference_data / PRACTICE_MAP
    m = pd.read_csv(path, dtype=str)
    need = ["PRACTICE_CODE", "PCN_CODE", "PCN_NAME", "ONS_SUB_ICB_LOCATION_CODE", "SUB_ICB_LOCATION_CODE", "ICB_CODE"]
    missing = [c for c in need if c not in m.columns]
    if missing:
        raise SourceError(f"{path}: missing column(s) {missing}")
    out = pd.DataFrame({"practice_code": m["PRACTICE_CODE"].str.strip(), "pcn_code": m["PCN_CODE"],
                        "pcn_name": m["PCN_NAME"].str.strip(), "sicb_code": m["ONS_SUB_ICB_LOCATION_CODE"],
                        "sicb_ods": m["SUB_ICB_LOCATION_CODE"], "icb_code": m["ICB_CODE"],
                        "source": "NHS England GP practice mapping, October 2025 (OGL v3)"})
    if out["practice_code"].duplicated().any():
        raise SourceError(f"{path}: practice {out.loc[out['practice_code'].duplicated(), 'practice_code'].iloc[0]} "
                          "appears twice")
    return out.sort_values("practice_code").reset_index(drop=True)


def _lsoa21_places(geo_dir: Path) -> pd.DataFrame:
    lk = pd.read_csv(geo_dir / "lookup_lsoa21_icb24.csv", dtype=str)
    return pd.DataFrame({"lsoa_code": lk["lsoa21_code"], "lsoa_name": lk["lsoa21_name"], "sicb_code": lk["sicbl24_code"],
                         "icb_code": lk["icb24_code_nhs"]})


def _carers(real_data: Path, lsoa: pd.DataFrame) -> pd.DataFrame:
    """Census 2021 unpaid carers and residents aged 5+ by place: the MSOA loader of ``iwt data
    build`` with places in the ICB's stead (an MSOA in two places is split by its LSOAs, A14)."""
    from .sources import BuildContext
    from .sources.census import UnpaidCareSmallArea
    ctx = BuildContext()
    ctx.lsoa["21"] = lsoa.assign(icb_code=lsoa["sicb_code"])[["lsoa_code", "lsoa_name", "icb_code"]]
    uc = UnpaidCareSmallArea.load(real_data / CARERS_FILE, ctx).tables["unpaid_care"]
    uc = uc.rename(columns={"icb_code": "sicb_code"})
    rows = []
    for measure, sel in (("unpaid_carers", uc["hours_band"].notna()), ("unpaid_carers_50h_plus", uc["hours_band"] == "50h_plus")):
        g = uc[sel].groupby("sicb_code")["carers"].sum()
        rows.append(pd.DataFrame({"sicb_code": g.index, "measure": measure, "value": g.to_numpy()}))
    res = uc.drop_duplicates("sicb_code").set_index("sicb_code")["residents_5plus"]
    rows.append(pd.DataFrame({"sicb_code": res.index, "measure": "residents_5plus", "value": res.to_numpy()}))
    out = pd.concat(rows, ignore_index=True)
    return out.assign(period="Census 2021", source=f"Census 2021 TS039 unpaid care by MSOA, placed by LSOA (ONS; {OGL})")


def _deprivation(real_data: Path, place_lads: pd.DataFrame) -> pd.DataFrame:
    """IMD 2025 average score by place: the local authorities' scores, weighted by each one's
    LSOAs in the place (a population weight: LSOAs hold similar numbers of people, A1)."""
    path = real_data / "imd-deprivation" / "imd2025_england_ltla24.csv"
    imd = pd.read_csv(path, dtype={"ltla24_code": str})
    if not {"ltla24_code", "imd_average_score"} <= set(imd.columns):
        raise SourceError(f"{path}: expected columns ltla24_code and imd_average_score")
    d = place_lads.merge(imd[["ltla24_code", "imd_average_score"]], left_on="lad_code", right_on="ltla24_code", how="left")
    if d["imd_average_score"].isna().any():
        raise SourceError(f"{path}: no IMD 2025 score for authority {d.loc[d['imd_average_score'].isna(), 'lad_code'].iloc[0]}")
    d["w"] = d["lsoas"] * d["imd_average_score"]
    g = d.groupby("sicb_code").agg(w=("w", "sum"), lsoas=("lsoas", "sum"), lads=("lad_code", "nunique"))
    return pd.DataFrame({"sicb_code": g.index, "measure": "imd_average_score", "value": (g["w"] / g["lsoas"]).round(4).to_numpy(),
                         "period": "IoD 2025",
                         "source": f"English Indices of Deprivation 2025 (MHCLG; {OGL}): local authority average "
                                   "scores, weighted by each authority's LSOAs in the place"})


def _rurality(real_data: Path, geo_dir: Path, lsoa21: pd.DataFrame) -> pd.DataFrame:
    """Share of a place's LSOAs that are rural (RUC 2011 codes D and E), each 2011 LSOA placed by the
    2021 LSOA of the same code, or else by its 2011 sub-ICB location where that code still exists."""
    path = real_data / "rural-urban" / "RUC England Wales - LSOA.csv"
    ruc = pd.read_csv(path, dtype=str)
    ruc = ruc[ruc["LSOA11CD"].str.startswith("E")]
    place = ruc["LSOA11CD"].map(dict(zip(lsoa21["lsoa_code"], lsoa21["sicb_code"])))
    lk11 = pd.read_csv(geo_dir / "lookup_lsoa11_sicbl22_icb22_ltla22.csv", dtype=str)
    known = set(lsoa21["sicb_code"])
    old = ruc["LSOA11CD"].map(dict(zip(lk11["lsoa11_code"], lk11["sicbl22_code"])))
    place = place.fillna(old.where(old.isin(known)))
    d = ruc.assign(sicb_code=place, rural=ruc["RUC11CD"].str.strip().str[0].isin(("D", "E"))).dropna(subset=["sicb_code"])
    g = d.groupby("sicb_code").agg(lsoas=("rural", "size"), rural=("rural", "sum"))
    return pd.DataFrame({"sicb_code": g.index, "measure": "rural_share_pct", "value": (100 * g["rural"] / g["lsoas"]).round(3).to_numpy(),
                         "period": "2011 classification",
                         "source": f"ONS Rural-Urban Classification (2011) of LSOAs ({OGL}); share of the place's LSOAs"})


def build_place_facts(real_data: Path, place_lads: pd.DataFrame) -> pd.DataFrame:
    geo_dir = real_data / geography.GEOGRAPHR
    lsoa21 = _lsoa21_places(geo_dir)
    out = pd.concat([_carers(real_data, lsoa21), _deprivation(real_data, place_lads),
                     _rurality(real_data, geo_dir, lsoa21)], ignore_index=True)
    out["icb_code"] = out["sicb_code"].map(dict(zip(lsoa21["sicb_code"], lsoa21["icb_code"])))
    out["value"] = out["value"].round(4)
    return out[["sicb_code", "icb_code", "measure", "value", "period", "source"]].sort_values(
        ["measure", "sicb_code"]).reset_index(drop=True)


def build_place_population(real_data: Path) -> pd.DataFrame:
    """Persons by place, band and year on the 2022-based projections (the ICB tables' own loader)."""
    from . import population
    from .sources import BuildContext
    from .sources.ons import MidYearEstimatesCsv, SubnationalProjections2022
    ctx = BuildContext()
    MidYearEstimatesCsv.load(real_data / population.MYE_2024_FILE, ctx)
    SubnationalProjections2022.load(real_data / population.SNPP_2022_FILE, ctx)
    place = population.tables_from_build(ctx)["population_place"]
    place = place[place["sex"] == "persons"]
    # Committed lean (ICB, basis and source are constant per place and added back on reading).
    return place[["year", "sicb_code", "age_band", "population"]].reset_index(drop=True)


PLACE_POPULATION_SOURCE = ("ONS 2022-based subnational population projections (migration category variant) for sub-ICB "
                           "locations, June 2025 (OGL v3); 15-19 split at 18 by the ICB's mid-2024 single-year shares (A3)")


@functools.lru_cache(maxsize=1)
def _place_population() -> pd.DataFrame:
    return pd.read_csv(paths.reference(POPULATION_FILE))


def place_population() -> pd.DataFrame:
    """Persons by place, age band and year (2022-based), as the ``population_place`` table's rows."""
    p = _place_population()
    icb = dict(zip(geography.sub_icbs()["sicb_code"], geography.sub_icbs()["icb_code"]))
    ods = dict(zip(geography.sub_icbs()["sicb_code"], geography.sub_icbs()["sicb_ods"]))
    return p.assign(sicb_ods=p["sicb_code"].map(ods), icb_code=p["sicb_code"].map(icb), sex="persons",
                    kind="projection", basis="2022-based", variant="migration category variant",
                    source=PLACE_POPULATION_SOURCE)


def write_reference(real_data: Path | None = None, out_dir: Path | None = None) -> list[Path]:
    real_data = Path(real_data or paths.REAL_DATA)
    out_dir = Path(out_dir or paths.REFERENCE)
    geo_dir = real_data / geography.GEOGRAPHR
    pl = build_place_lads(geo_dir)
    tables = {SUB_ICB_FILE: build_sub_icbs(geo_dir, pl), PLACE_LAD_FILE: pl,
              PRACTICE_FILE: build_practice_places(real_data.parent / "reference-data"),
              FACTS_FILE: build_place_facts(real_data, pl), POPULATION_FILE: build_place_population(real_data)}
    written = [atomic.write_text(out_dir / name, df.to_csv(index=False, lineterminator="\n"))
               for name, df in tables.items()]
    clear_caches()
    return written


@functools.lru_cache(maxsize=1)
def place_lads() -> pd.DataFrame:
    return pd.read_csv(paths.reference(PLACE_LAD_FILE), dtype={"lsoas": int})


@functools.lru_cache(maxsize=1)
def practice_places() -> pd.DataFrame:
    return pd.read_csv(paths.reference(PRACTICE_FILE), dtype=str)


@functools.lru_cache(maxsize=1)
def place_facts() -> pd.DataFrame:
    return pd.read_csv(paths.reference(FACTS_FILE))


def clear_caches() -> None:
    geography.clear_caches()
    for f in (place_lads, practice_places, place_facts, _place_population):
        f.cache_clear()


def places_of(icb_code: str) -> pd.DataFrame:
    """The ICB's places, in code order."""
    icb_code = geography.resolve_icb(icb_code)
    p = geography.sub_icbs()
    return p[p["icb_code"] == icb_code].sort_values("sicb_code").reset_index(drop=True)


def resolve_place(icb_code: str, code: str) -> str:
    """The E38 code of a place given by its E38 or ODS code, refused unless it is one of the ICB's
    places (the message names both codes and lists the ICB's places)."""
    icb_code = geography.resolve_icb(icb_code)
    p = geography.sub_icbs()
    c = str(code).strip().upper()
    row = p[(p["sicb_code"] == c) | (p["sicb_ods"].str.upper() == c)]
    mine = places_of(icb_code)
    listed = ", ".join(f"{r.sicb_ods} ({r.sicb_code}) {r.place_name}" for r in mine.itertuples())
    if row.empty:
        raise UnknownPlaceError(f"place {code!r}: not a sub-ICB location (E38 or ODS code); {icb_code}'s places: {listed}")
    if row["icb_code"].iloc[0] != icb_code:
        raise UnknownPlaceError(f"place {code!r} ({row['sicb_code'].iloc[0]}) is in {row['icb_code'].iloc[0]}, not in "
                                f"{icb_code}; {icb_code}'s places: {listed}")
    return str(row["sicb_code"].iloc[0])
