"""Population by ICB, age band and year: ONS estimates and projections, apportioned from LADs.

:func:`build_icb_population` makes the committed reference table ``icb_population.csv`` from
the ONS mid-2020 estimates (single year of age by LAD) and the ONS 2016-based subnational
projections (ages 60 to 90+). Projection = mid-2020 estimate x (SNPP year / SNPP 2020) for
each ICB and age band, so the projection starts from the estimate. SNPP in the shared files
covers ages 60+ only; under-60 bands are held at the mid-2020 estimate and labelled so.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from iwt_helpers import atomic, paths, vocab
from . import geography

POPULATION_FILE = "icb_population.csv"
MYE_FILE = "ons-mid-year-estimates/DERIVED_MYE2_mid2020_single_year_of_age_by_LA.csv"
SNPP_FILE = "ons-snpp-2016/local_authority_pop_estimates.csv"
OGL = geography.OGL

BAND_EDGES = [(0, 17), (18, 24), (25, 34), (35, 44), (45, 54), (55, 59), (60, 64),
              (65, 69), (70, 74), (75, 79), (80, 84), (85, 89), (90, 200)]


def band_of_age(age: int) -> str:
    """Population age band code for a single year of age (90 means 90 and over)."""
    for (lo, hi), code in zip(BAND_EDGES, vocab.population_age_bands()):
        if lo <= age <= hi:
            return code
    raise ValueError(f"age {age!r} is outside 0-200")


def bands_at_least(age: int) -> list[str]:
    """Age band codes whose lower edge is at least ``age`` (e.g. 65 -> 65_69 ... 90_plus)."""
    return [code for (lo, _), code in zip(BAND_EDGES, vocab.population_age_bands()) if lo >= age]


@functools.lru_cache(maxsize=1)
def reference_population() -> pd.DataFrame:
    return pd.read_csv(paths.reference(POPULATION_FILE))


def read_mye_single_year(path: Path, sex: str = "persons") -> pd.DataFrame:
    """English LADs x single year of age from the tidy MYE2 CSV: lad_code, age, population
    (``sex`` persons, males or females)."""
    mye = pd.read_csv(path)
    need = {"Code", "sex", "All ages", "0", "90+"}
    missing = need - set(mye.columns)
    if missing:
        raise ValueError(f"{path}: expected MYE2 columns {sorted(need)}, missing {sorted(missing)}")
    mye = mye[(mye["sex"] == sex) & mye["Code"].str.match(r"^E0[6789]")]
    ages = [str(a) for a in range(90)] + ["90+"]
    long = mye.melt(id_vars=["Code"], value_vars=ages, var_name="age", value_name="population")
    long["age"] = long["age"].str.replace("+", "", regex=False).astype(int)
    return long.rename(columns={"Code": "lad_code"})


def read_snpp(path: Path) -> pd.DataFrame:
    """SNPP persons by LAD and single year of age, long: lad_code, age, year, population."""
    s = pd.read_csv(path)
    if "AREA_CODE" not in s.columns or "age" not in s.columns:
        raise ValueError(f"{path}: expected SNPP columns AREA_CODE, AGE_GROUP, years, age")
    years = [c for c in s.columns if c.isdigit()]
    long = s.melt(id_vars=["AREA_CODE", "age"], value_vars=years, var_name="year", value_name="population")
    long["year"] = long["year"].astype(int)
    return long.rename(columns={"AREA_CODE": "lad_code"})


def build_icb_population(real_data: Path | None = None) -> pd.DataFrame:
    real_data = Path(real_data or paths.REAL_DATA)
    return icb_population_from(read_mye_single_year(real_data / MYE_FILE), 2020,
                               read_snpp(real_data / SNPP_FILE), "2016-based principal")


def icb_population_from(mye: pd.DataFrame | None, mye_year: int | None, snpp: pd.DataFrame | None,
                        variant: str | None) -> pd.DataFrame:
    """ICB population by age band: the estimate for ``mye_year`` (LAD x single year of age,
    apportioned), and projections as estimate x (SNPP year / SNPP estimate year) per ICB and
    band. Bands the projection does not cover are held at the estimate, labelled so. With no
    estimate, the SNPP figures are used as they are."""
    parts = []
    est = None
    if mye is not None:
        mye = mye.assign(age_band=mye["age"].map(band_of_age))
        est = geography.apportion_to_icb(mye, ["population"], vintage=2022, by=["age_band"])
        if est.attrs["unmatched"]:
            raise ValueError(f"population estimate: LAD codes not in the 2022 lookup: {est.attrs['unmatched'][:5]}")
        est["year"] = mye_year
        parts.append(est.assign(kind="estimate", variant="mid-year estimate",
                                source=f"ONS MYE mid-{mye_year} by LAD, apportioned (OGL v3)"))
    if snpp is not None:
        snpp = snpp.assign(age_band=snpp["age"].map(band_of_age))
        proj = geography.apportion_to_icb(snpp, ["population"], vintage=2022, by=["age_band", "year"])
        if proj.attrs["unmatched"]:
            raise ValueError(f"population projection: LAD codes not placed in an ICB: {proj.attrs['unmatched'][:5]}")
        if est is not None:
            key = pd.MultiIndex.from_frame
            base = proj[proj["year"] == mye_year].set_index(["icb_code", "age_band"])["population"]
            proj = proj[proj["year"] > mye_year].copy()
            growth = proj["population"].to_numpy() / base.reindex(key(proj[["icb_code", "age_band"]])).to_numpy()
            proj["population"] = growth * est.set_index(["icb_code", "age_band"])["population"].reindex(
                key(proj[["icb_code", "age_band"]])).to_numpy()
            src = f"ONS SNPP {variant.split(' ')[0]} growth on MYE mid-{mye_year}, apportioned (OGL v3)"
            years = sorted(proj["year"].unique())
            young = [b for b in vocab.population_age_bands() if b not in set(proj["age_band"])]
            held = est[est["age_band"].isin(young)]
            if len(held) and years:
                parts.append(pd.concat([held.assign(year=y) for y in years], ignore_index=True).assign(
                    kind="projection", variant=f"held at mid-{mye_year} estimate",
                    source=f"Held at ONS MYE mid-{mye_year}: no projection for these ages (assumption)"))
        else:
            src = f"ONS SNPP {variant}, apportioned (OGL v3)"
        parts.append(proj.assign(kind="projection", variant=variant, source=src))
    out = pd.concat(parts, ignore_index=True)
    out["population"] = out["population"].round(1)
    order = {b: i for i, b in enumerate(vocab.population_age_bands())}
    out = out.sort_values(["year", "icb_code", "age_band"], key=lambda c: c.map(order) if c.name == "age_band" else c)
    return out[["year", "icb_code", "age_band", "population", "kind", "variant", "source"]].reset_index(drop=True)


SEX_SHARES_FILE = "population_sex_shares.csv"


def build_sex_shares(real_data: Path | None = None) -> pd.DataFrame:
    """Share of each ICB's people in each age band from 65 who are female (ONS mid-2020 estimate by
    sex, apportioned like the population); used to apply prevalence rates published by sex."""
    real_data = Path(real_data or paths.REAL_DATA)
    parts = {}
    for sex in ("males", "females"):
        mye = read_mye_single_year(real_data / MYE_FILE, sex)
        mye = mye[mye["age"] >= 65].assign(age_band=lambda d: d["age"].map(band_of_age))
        parts[sex] = geography.apportion_to_icb(mye, ["population"], vintage=2022, by=["age_band"]).set_index(
            ["icb_code", "age_band"])["population"]
    share = (parts["females"] / (parts["females"] + parts["males"])).round(6).rename("female_share").reset_index()
    share["source"] = "ONS mid-2020 population estimates by sex (MYE2), apportioned to ICBs (OGL v3)"
    order = {b: i for i, b in enumerate(vocab.population_age_bands())}
    return share.sort_values(["icb_code", "age_band"], key=lambda c: c.map(order) if c.name == "age_band" else c).reset_index(drop=True)


@functools.lru_cache(maxsize=1)
def sex_shares() -> pd.DataFrame:
    return pd.read_csv(paths.reference(SEX_SHARES_FILE))


def write_reference(real_data: Path | None = None, out_dir: Path | None = None) -> Path:
    df = build_icb_population(real_data)
    out = Path(out_dir or paths.REFERENCE) / POPULATION_FILE
    atomic.write_text(out, df.to_csv(index=False, lineterminator="\n"))
    atomic.write_text(out.parent / SEX_SHARES_FILE, build_sex_shares(real_data).to_csv(index=False, lineterminator="\n"))
    reference_population.cache_clear()
    sex_shares.cache_clear()
    return out


def england_total_mye(real_data: Path | None = None) -> float:
    """England's mid-2020 all-ages population as published (row E92000001)."""
    real_data = Path(real_data or paths.REAL_DATA)
    mye = pd.read_csv(real_data / MYE_FILE, usecols=["Code", "sex", "All ages"])
    row = mye[(mye["Code"] == "E92000001") & (mye["sex"] == "persons")]
    return float(row["All ages"].iloc[0])


def for_year(pop: pd.DataFrame, year: int) -> pd.DataFrame:
    """Population of one year, one row per ICB and age band: an estimate where there is one,
    otherwise the projection (several projection variants for one band: the first listed)."""
    p = pop[pop["year"] == year].copy()
    p["_rank"] = (p["kind"] != "estimate").astype(int)
    p = p.sort_values(["_rank"], kind="mergesort").drop_duplicates(["icb_code", "age_band"])
    return p.drop(columns="_rank").sort_index()


def share_65_plus(pop: pd.DataFrame) -> pd.Series:
    """Share of each ICB's population aged 65+ (input: population rows of one year)."""
    old = pop[pop["age_band"].isin(bands_at_least(65))].groupby("icb_code")["population"].sum()
    return old / pop.groupby("icb_code")["population"].sum()
