"""Population by ICB, age band and year: ONS estimates and projections.

The basis is the ONS **2022-based** subnational projections (migration category variant) for the
106 sub-ICB locations by sex and five-year age band, 2022-2047, summed to ICBs (each sub-ICB
location lies in one ICB). Five-year bands map onto the bands of ``vocabulary.yaml``; only 15-19
straddles two of them (0-17 and 18-24), and is split by each ICB's share of ages 15-17 among
15-19 year olds in the ONS mid-2024 estimate (single year of age; assumption A3).

ONS mid-year estimates (mid-2020, mid-2024; single year of age by local authority) are kept as
estimates, each on its own vintage of authority codes. The 2016-based projections (ages 60+ only)
stay loadable as history. :func:`for_year` never mixes bases: it takes the newest projection basis
for a year it covers, otherwise that year's estimate.

Tables: ``population`` (ICB persons), ``population_sex`` (ICB by sex) and ``population_place``
(sub-ICB locations by sex, persons included): one accessor, :func:`for_year`, picks the basis.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pandas as pd

from iwt_helpers import atomic, paths, vocab

from . import geography
from .sources._read import SourceError

POPULATION_FILE = "icb_population.csv"
SEX_FILE = "icb_population_sex.csv"
MYE_FILE = "ons-mid-year-estimates/DERIVED_MYE2_mid2020_single_year_of_age_by_LA.csv"
MYE_2024_FILE = "ons-mid-year-estimates-2024/mye24tablesew_MYE2_persons.csv"
SNPP_FILE = "ons-snpp-2016/local_authority_pop_estimates.csv"
SNPP_2022_FILE = "ons-snpp-2022-icb/popprojsicb5yrmigcat22based.xls"
# Five-year ONS bands -> vocabulary bands; "15-19" is split at 18 (see module docstring).
FIVE_TO_BAND = {"0-4": "0_17", "5-9": "0_17", "10-14": "0_17", "20-24": "18_24", "25-29": "25_34",
                "30-34": "25_34", "35-39": "35_44", "40-44": "35_44", "45-49": "45_54", "50-54": "45_54",
                "55-59": "55_59", "60-64": "60_64", "65-69": "65_69", "70-74": "70_74", "75-79": "75_79",
                "80-84": "80_84", "85-89": "85_89", "90+": "90_plus"}
DEFAULT_SHARE_15_17 = 0.6          # three of the five years, used only with no single-year estimate
COLUMNS = ["year", "icb_code", "age_band", "population", "kind", "basis", "variant", "source"]
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


def _band_order(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    order = {b: i for i, b in enumerate(vocab.population_age_bands())}
    return df.sort_values(keys, key=lambda c: c.map(order) if c.name == "age_band" else c,
                          kind="mergesort").reset_index(drop=True)


def _lad_vintage(year: int) -> int:
    """The authority codes an estimate uses: 2022 codes to mid-2022, 2023 codes (the 2024 lookup) after."""
    return 2022 if year <= 2022 else 2024


def estimate_by_icb(mye: pd.DataFrame, year: int, by: tuple[str, ...] = ("age_band",)) -> pd.DataFrame:
    """A single-year-of-age estimate by LAD apportioned to ICBs on its own vintage of codes."""
    mye = mye.assign(age_band=mye["age"].map(band_of_age))
    est = geography.apportion_to_icb(mye, ["population"], vintage=_lad_vintage(year), by=list(by))
    if est.attrs["unmatched"]:
        raise SourceError(f"mid-{year} estimate: LAD codes not in the {_lad_vintage(year)} lookup: "
                          f"{est.attrs['unmatched'][:5]}")
    return est


def estimates_from(mye: dict[int, pd.DataFrame]) -> pd.DataFrame:
    parts = []
    for year, long in sorted(mye.items()):
        est = estimate_by_icb(long, year)
        parts.append(est.assign(year=year, kind="estimate", basis=f"mid-{year} estimate", variant="mid-year estimate",
                                source=f"ONS mid-{year} population estimates by local authority, apportioned to ICBs "
                                       f"({_lad_vintage(year)} lookup; OGL v3)"))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def projection_2016_from(mye: pd.DataFrame, mye_year: int, snpp: pd.DataFrame, variant: str) -> pd.DataFrame:
    """History: the 2016-based projections (ages 60+) as growth on the mid-``mye_year`` estimate,
    younger bands held at the estimate and labelled so. Not mixed with the 2022 basis."""
    est = estimate_by_icb(mye, mye_year)
    snpp = snpp.assign(age_band=snpp["age"].map(band_of_age))
    proj = geography.apportion_to_icb(snpp, ["population"], vintage=2022, by=["age_band", "year"])
    if proj.attrs["unmatched"]:
        raise SourceError(f"population projection: LAD codes not placed in an ICB: {proj.attrs['unmatched'][:5]}")
    key = pd.MultiIndex.from_frame
    base = proj[proj["year"] == mye_year].set_index(["icb_code", "age_band"])["population"]
    proj = proj[proj["year"] > mye_year].copy()
    growth = proj["population"].to_numpy() / base.reindex(key(proj[["icb_code", "age_band"]])).to_numpy()
    proj["population"] = growth * est.set_index(["icb_code", "age_band"])["population"].reindex(
        key(proj[["icb_code", "age_band"]])).to_numpy()
    basis = f"{variant.split(' ')[0]}"
    parts = [proj.assign(kind="projection", basis=basis, variant=variant,
                         source=f"ONS SNPP {basis} growth on ONS mid-{mye_year} estimates, apportioned (OGL v3)")]
    years = sorted(proj["year"].unique())
    young = [b for b in vocab.population_age_bands() if b not in set(proj["age_band"])]
    held = est[est["age_band"].isin(young)]
    if len(held) and years:
        parts.append(pd.concat([held.assign(year=y) for y in years], ignore_index=True).assign(
            kind="projection", basis=basis, variant=f"held at mid-{mye_year} estimate",
            source=f"Held at ONS mid-{mye_year} estimate: no {basis} projection for these ages (assumption)"))
    return pd.concat(parts, ignore_index=True)


def share_15_17(mye: pd.DataFrame | None, year: int | None) -> tuple[pd.Series, str]:
    """Each ICB's share of ages 15-17 among 15-19 year olds in a single-year estimate (with an
    ``England`` entry), and the words that say where it comes from."""
    if mye is None:
        return (pd.Series({"England": DEFAULT_SHARE_15_17}),
                f"{DEFAULT_SHARE_15_17:.0%} to ages 15-17 (no single-year estimate in the data folder)")
    teen = mye[mye["age"].between(15, 19)].assign(young=lambda d: np.where(d["age"] <= 17, d["population"], 0.0))
    g = geography.apportion_to_icb(teen, ["population", "young"], vintage=_lad_vintage(year))
    share = (g.set_index("icb_code")["young"] / g.set_index("icb_code")["population"])
    share["England"] = g["young"].sum() / g["population"].sum()
    return share, f"at 18 by each ICB's mid-{year} single-year shares"


def snpp22_tables(snpp22: dict, share: pd.Series, share_words: str) -> dict[str, pd.DataFrame]:
    """ICB persons, ICB by sex and sub-ICB location tables from the 2022-based SNPP workbook
    (``snpp22`` as the loader keeps it: long rows of area, sex, five-year band, year)."""
    long = snpp22["long"]
    places = geography.sub_icbs()
    sub = long[long["area_code"].str.startswith("E38") & (long["band5"] != "All ages")].copy()
    unknown = sorted(set(sub["area_code"]) - set(places["sicb_code"]))
    if unknown:
        raise SourceError(f"{snpp22['file']}: sub-ICB location(s) {unknown[:5]} not in the ONS LSOA21 to sub-ICB "
                          "location to ICB (2024) lookup (data/reference/sub_icb.csv)")
    sub = sub.merge(places[["sicb_code", "sicb_ods", "sicb_name", "icb_code"]], left_on="area_code",
                    right_on="sicb_code", how="left")
    teen = sub["band5"] == "15-19"
    s = sub["icb_code"].map(share).fillna(share["England"])
    young = sub[teen].assign(age_band="0_17", population=sub.loc[teen, "population"] * s[teen])
    adult = sub[teen].assign(age_band="18_24", population=sub.loc[teen, "population"] * (1 - s[teen]))
    rest = sub[~teen].assign(age_band=sub.loc[~teen, "band5"].map(FIVE_TO_BAND))
    sub = pd.concat([rest, young, adult], ignore_index=True)
    basis, variant = f"{snpp22['base']}-based", snpp22["variant"]
    sub["sex"] = sub["sex"].map({"males": "male", "females": "female", "persons": "persons"})
    src = f"ONS {basis} SNPP ({variant}), sub-ICB locations (OGL v3); 15-19 split {share_words}"
    place = sub.groupby(["year", "sicb_code", "sicb_ods", "icb_code", "sex", "age_band"], as_index=False)["population"].sum()
    place = place.assign(kind="projection", basis=basis, variant=variant, source=src)
    icb = place.groupby(["year", "icb_code", "sex", "age_band"], as_index=False)["population"].sum()
    persons = icb[icb["sex"] == "persons"].drop(columns="sex").assign(
        kind="projection", basis=basis, variant=variant,
        source=f"ONS {basis} SNPP ({variant}), sub-ICB locations summed to ICBs (OGL v3); 15-19 split {share_words}")
    by_sex = icb[icb["sex"] != "persons"].assign(kind="projection", basis=basis, variant=variant, source=persons["source"].iloc[0])
    place["population"] = place["population"].round(1)
    by_sex["population"] = by_sex["population"].round(1)
    return {"population": persons,
            "population_sex": _band_order(by_sex, ["year", "icb_code", "sex", "age_band"]),
            "population_place": _band_order(place, ["year", "sicb_code", "sex", "age_band"])}


def tables_from_build(ctx) -> dict[str, pd.DataFrame]:
    """The population tables of a build from what its loaders kept (``BuildContext``): estimates of
    every year read, the 2022-based projections by ICB, sex and place, and the 2016-based
    projection as history where its file was read."""
    parts, out = [], {}
    if ctx.mye:
        parts.append(estimates_from(ctx.mye))
    if ctx.snpp_long is not None:
        years = [y for y in ctx.mye if y <= 2022 and y in set(ctx.snpp_long["year"])]
        if years:
            parts.append(projection_2016_from(ctx.mye[max(years)], max(years), ctx.snpp_long,
                                              f"{ctx.snpp_base}-based principal"))
        else:
            snpp = ctx.snpp_long.assign(age_band=ctx.snpp_long["age"].map(band_of_age))
            proj = geography.apportion_to_icb(snpp, ["population"], vintage=2022, by=["age_band", "year"])
            parts.append(proj.assign(kind="projection", basis=f"{ctx.snpp_base}-based",
                                     variant=f"{ctx.snpp_base}-based principal",
                                     source=f"ONS SNPP {ctx.snpp_base}-based principal, apportioned (OGL v3)"))
    if ctx.snpp22 is not None:
        year = 2024 if 2024 in ctx.mye else (max(ctx.mye) if ctx.mye else None)
        share, words = share_15_17(ctx.mye.get(year) if year else None, year)
        t = snpp22_tables(ctx.snpp22, share, words)
        parts.append(t.pop("population"))
        out.update(t)
    if parts:
        pop = pd.concat(parts, ignore_index=True)
        pop["population"] = pop["population"].round(1)
        out["population"] = _band_order(pop[COLUMNS], ["year", "icb_code", "basis", "age_band"])
    return out


def build_icb_population(real_data: Path | None = None) -> dict[str, pd.DataFrame]:
    """The committed ICB tables: persons by band (mid-2020 and mid-2024 estimates, the 2022-based
    projections) and by sex (2022-based), made by the loaders ``iwt data build`` uses."""
    from .sources import BuildContext
    from .sources.ons import MidYearEstimatesCsv, SubnationalProjections2022
    real_data = Path(real_data or paths.REAL_DATA)
    ctx = BuildContext()
    for rel in (MYE_FILE, MYE_2024_FILE):
        MidYearEstimatesCsv.load(real_data / rel, ctx)
    SubnationalProjections2022.load(real_data / SNPP_2022_FILE, ctx)
    t = tables_from_build(ctx)
    by_sex = t["population_sex"]
    # Committed: the sex split from 65 (what prevalence rates by sex need); data folders hold all ages.
    return {"population": t["population"], "population_sex": by_sex[by_sex["age_band"].isin(bands_at_least(65))]}


@functools.lru_cache(maxsize=1)
def reference_population_sex() -> pd.DataFrame:
    return pd.read_csv(paths.reference(SEX_FILE))


def female_shares(pop_sex: pd.DataFrame) -> pd.DataFrame:
    """Share of each ICB's people in each age band and year who are female (from ``population_sex``)."""
    w = pop_sex.pivot_table(index=["year", "icb_code", "age_band"], columns="sex", values="population",
                            aggfunc="sum").reset_index()
    w["female_share"] = w["female"] / (w["female"] + w["male"])
    w["source"] = pop_sex["source"].iloc[0] if len(pop_sex) else ""
    return w[["year", "icb_code", "age_band", "female_share", "source"]]


@functools.lru_cache(maxsize=1)
def sex_shares() -> pd.DataFrame:
    """Female shares by ICB, band and year of the committed 2022-based projection by sex (computed once
    per process: every redraw of the need section reads it)."""
    return female_shares(reference_population_sex())


def write_reference(real_data: Path | None = None, out_dir: Path | None = None) -> Path:
    tables = build_icb_population(real_data)
    out = Path(out_dir or paths.REFERENCE) / POPULATION_FILE
    atomic.write_text(out, tables["population"].to_csv(index=False, lineterminator="\n"))
    atomic.write_text(out.parent / SEX_FILE, tables["population_sex"].to_csv(index=False, lineterminator="\n"))
    reference_population.cache_clear()
    reference_population_sex.cache_clear()
    sex_shares.cache_clear()
    return out


def england_total_mye(real_data: Path | None = None) -> float:
    """England's mid-2020 all-ages population as published (row E92000001)."""
    real_data = Path(real_data or paths.REAL_DATA)
    mye = pd.read_csv(real_data / MYE_FILE, usecols=["Code", "sex", "All ages"])
    row = mye[(mye["Code"] == "E92000001") & (mye["sex"] == "persons")]
    return float(row["All ages"].iloc[0])


def _basis_of(pop: pd.DataFrame) -> pd.Series:
    """Each row's basis: its ``basis`` column, or (tables built before it existed) the variant's."""
    if "basis" in pop:
        return pop["basis"].astype(str)
    v = pop["variant"].astype(str)
    est = pop["kind"] == "estimate"
    return v.str.extract(r"^(\d{4}-based)")[0].fillna(v).where(~est, "mid-" + pop["year"].astype(str) + " estimate")


def preferred_basis(pop: pd.DataFrame) -> str | None:
    """The newest projection basis in ``pop`` (e.g. '2022-based'), or None without projections."""
    proj = _basis_of(pop)[pop["kind"] == "projection"]
    names = set(proj.unique())
    based = sorted(b for b in names if re.match(r"^\d{4}-based", b))
    return based[-1] if based else (sorted(names)[-1] if names else None)


def for_year(pop: pd.DataFrame, year: int, basis: str | None = None) -> pd.DataFrame:
    """Population of one year, one row per ICB and age band, on one basis: the newest projection
    (or ``basis``) where it covers ``year``, otherwise that year's estimate. Never a mix of
    projection bases, and never an older basis for a year the newest does not cover."""
    basis = basis or preferred_basis(pop)
    p = pop[pop["year"] == year]
    b = _basis_of(p)
    proj = p[(b == basis) & (p["kind"] == "projection")]
    if len(proj):
        return proj
    est = p[p["kind"] == "estimate"]
    return est.drop_duplicates(["icb_code", "age_band"])


def projection_rows(pop: pd.DataFrame, basis: str | None = None) -> pd.DataFrame:
    """Every year's rows of one projection basis (default the newest): a series on one basis."""
    basis = basis or preferred_basis(pop)
    return pop[(_basis_of(pop) == basis) & (pop["kind"] == "projection")]


def basis_years(pop: pd.DataFrame, basis: str | None = None) -> list[int]:
    """Years the (newest) projection basis covers."""
    return sorted(projection_rows(pop, basis)["year"].unique().tolist())


def year_totals(pop: pd.DataFrame) -> tuple[str | None, list[tuple[int, pd.Series, pd.Series]]]:
    """The newest projection basis, and each year with both an estimate and that projection: the
    year and the two all-age totals by ICB (what :func:`estimate_vs_projection` reads)."""
    basis = preferred_basis(pop)
    est = pop[pop["kind"] == "estimate"]
    return basis, [(year, est[est["year"] == year].groupby("icb_code")["population"].sum(),
                    for_year(pop, year, basis).groupby("icb_code")["population"].sum())
                   for year in sorted(set(est["year"]) & set(basis_years(pop, basis)))]


def estimate_vs_projection(pop: pd.DataFrame, icb_code: str | None = None,
                           totals: tuple[str | None, list] | None = None) -> pd.DataFrame:
    """Each year with both an estimate and the newest projection: the two all-age totals for the
    ICB (or every ICB) and England, and their difference (projection less estimate). ``totals``:
    :func:`year_totals` of ``pop``, where the caller has it (the same whatever the ICB)."""
    basis, years = year_totals(pop) if totals is None else totals
    rows = []
    for year, e, p in years:
        areas = [icb_code] if icb_code else sorted(e.index)
        for area in areas + ["England"]:
            ev = e.sum() if area == "England" else e.get(area, np.nan)
            pv = p.sum() if area == "England" else p.get(area, np.nan)
            rows.append({"year": year, "area": area, "estimate": ev, "projection": pv, "difference": pv - ev,
                         "difference_pct": 100 * (pv - ev) / ev if ev else np.nan,
                         "estimate_basis": f"mid-{year} estimate", "projection_basis": f"{basis} projection"})
    return pd.DataFrame(rows)


def share_65_plus(pop: pd.DataFrame) -> pd.Series:
    """Share of each ICB's population aged 65+ (input: population rows of one year)."""
    old = pop[pop["age_band"].isin(bands_at_least(65))].groupby("icb_code")["population"].sum()
    return old / pop.groupby("icb_code")["population"].sum()


def describe(pop: pd.DataFrame, year: int) -> str:
    """What the population figures of ``year`` are, in words, e.g. 'ONS 2022-based projection
    (migration category variant) for 2025'."""
    p = for_year(pop, year)
    if p.empty:
        return f"no population figures for {year}"
    r = p.iloc[0]
    if r["kind"] == "estimate":
        return f"ONS mid-{year} estimate"
    basis = _basis_of(p.iloc[:1]).iloc[0]
    variant = str(r["variant"])
    words = f"ONS {basis} projection" + (f" ({variant})" if variant and not variant.startswith(basis) else "")
    held = p["variant"].astype(str).str.startswith("held at")
    if held.any():
        words += f"; bands {', '.join(sorted(p.loc[held, 'age_band'].unique())[:3])}... held at the estimate"
    return f"{words} for {year}"
