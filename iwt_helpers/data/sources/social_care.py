"""Skills for Care local-authority workforce indicators, apportioned to ICBs.

An ICB's rate is the population-weighted mean of the rates of the local authorities in it:
sum over authorities of rate x population x share of the authority in the ICB, divided by the
sum of population x share. Authority populations come from the ONS mid-year estimates when
the build has them, otherwise from the LSOA counts of the lookup (LSOAs hold similar numbers
of people). Retired authority codes (e.g. 2019 districts since merged) are mapped to their
successors first; several predecessors of one authority are averaged before weighting.

The 2024/25 rates (:class:`SfcVacancyRates`) are published by council (upper tier, counties
included) and cover all sectors, services and job roles; a county's rate applies to each of its
districts (``data/reference/lad_utla.csv``) and ICB rates are weighted by adults aged 65+
(:func:`asc_vacancy_weights`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from iwt_helpers import paths
from iwt_helpers.data import geography
from . import BuildContext, LoadResult
from ._read import SourceError, clean_code, head_columns, read_csv, to_number

CAVEAT = ("rates are means of role-level rates by local authority (council area values shared by its districts), "
          "apportioned to ICBs; not an exact ICB total")


def apportion_rates(df: pd.DataFrame, lad_col: str, value_cols: list[str], ctx: BuildContext,
                    path: Path) -> tuple[pd.DataFrame, list[str], int]:
    """Population-weighted ICB means of LAD-level rates; returns (table, unmatched codes, retired mapped)."""
    d = df[[lad_col, *value_cols]].copy()
    d[lad_col] = clean_code(d[lad_col])
    d = d[d[lad_col].str.startswith("E0", na=False)]
    mapped = geography.map_retired_lads(d[lad_col])
    retired = int((mapped != d[lad_col]).sum())
    d["lad_code"] = mapped
    d = d.groupby("lad_code", as_index=False)[value_cols].mean()
    lk = geography.lad_shares()
    d = d.merge(lk[["lad_code", "icb_code", "share", "n_lsoa"]], on="lad_code", how="left")
    unmatched = sorted(d.loc[d["icb_code"].isna(), "lad_code"].unique())
    d = d.dropna(subset=["icb_code"])
    pop = d["lad_code"].map(ctx.lad_population) if ctx.lad_population else None
    weight_base = pop if pop is not None and pop.notna().all() else d.groupby("lad_code")["n_lsoa"].transform("sum")
    d["w"] = weight_base * d["share"]
    out = []
    for col in value_cols:
        ok = d[col].notna()
        g = d[ok].assign(wx=d.loc[ok, col] * d.loc[ok, "w"]).groupby("icb_code")[["wx", "w"]].sum()
        out.append((g["wx"] / g["w"]).rename(col))
    return pd.concat(out, axis=1).reset_index(), unmatched, retired


class SfcWorkforceIndicators:
    """Skills for Care LA workforce indicators (turnover, vacancy, sickness days) by LAD."""
    ID, KIND, PREFERENCE = "sfc_la_workforce", "data", 20
    TITLE, PUBLISHER = "Skills for Care adult social care workforce indicators by local authority", "Skills for Care"
    COLUMNS = {"Staff turnover rate": "turnover_asc", "Vacancy rate": "vacancy_rate_asc",
               "Mean sickness days": "sickness_days_asc"}

    @staticmethod
    def recognise(path: Path) -> bool:
        cols = set(head_columns(path) or [])
        return any(c.startswith("LAD") and c.endswith("CD") for c in cols) and "Staff turnover rate" in cols

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        df = read_csv(path)
        lad = next(c for c in df.columns if c.startswith("LAD") and c.endswith("CD"))
        year = 2000 + int(lad[3:5]) if lad[3:5].isdigit() else None
        if year is None:
            raise SourceError(f"{path}: cannot tell the year from column '{lad}' (expected LADyyCD)")
        for col in cls.COLUMNS:
            if col in df:
                df[col], _ = to_number(df[col], path, col)
        rates, unmatched, retired = apportion_rates(df, lad, [c for c in cls.COLUMNS if c in df], ctx, path)
        period = pd.Timestamp(f"{year + 1}-03-01")      # the financial year year/year+1, ending March
        rows = []
        for col, kpi in cls.COLUMNS.items():
            if col not in rates:
                continue
            factor = 1 if kpi == "sickness_days_asc" else 100
            rows.append(pd.DataFrame({"icb_code": rates["icb_code"], "kpi_id": kpi, "period": period,
                                      "value": (rates[col] * factor).round(4), "target": np.nan}))
        kpi = pd.concat(rows, ignore_index=True)
        kpi["numerator"] = np.nan
        kpi["denominator"] = np.nan
        kpi["source"] = f"{cls.TITLE}, {path.name} ({year}/{str(year + 1)[-2:]}); {CAVEAT}"
        res = LoadResult(tables={"kpi_observations": kpi}, period=f"{year}/{str(year + 1)[-2:]}")
        res.notes.append(f"{path.name}: {len(df)} authorities; {retired} retired codes mapped to successors; "
                         f"{len(unmatched)} not placed ({', '.join(unmatched[:5])})")
        return res


class SfcVacancies:
    """Mean vacancy rate of direct-care roles by local authority (lad_code, vacancy as a proportion)."""
    ID, KIND, PREFERENCE = "sfc_la_vacancies", "data", 30
    TITLE, PUBLISHER = "Skills for Care vacancy rate (direct care) by local authority", "Skills for Care"

    @staticmethod
    def recognise(path: Path) -> bool:
        cols = head_columns(path) or []
        return [c.lower() for c in cols] == ["lad_code", "vacancy"]

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        df = read_csv(path)
        df["vacancy"], sup = to_number(df["vacancy"], path, "vacancy")
        zeros = int((df["vacancy"] == 0).sum())
        rates, unmatched, retired = apportion_rates(df, "lad_code", ["vacancy"], ctx, path)
        kpi = pd.DataFrame({"icb_code": rates["icb_code"], "kpi_id": "vacancy_rate_asc",
                            "period": pd.Timestamp("2021-03-01"), "value": (rates["vacancy"] * 100).round(4),
                            "target": np.nan, "numerator": np.nan, "denominator": np.nan,
                            "source": f"{cls.TITLE}, {path.name} (c. 2020/21); {CAVEAT}; suppressed values were "
                                      "set to 0 by the file's publisher"})
        res = LoadResult(tables={"kpi_observations": kpi}, period="c. 2020/21")
        res.notes.append(f"{path.name}: {len(df)} authorities; {zeros} zero rates (suppressed values set to 0 "
                         f"upstream, which biases rates down); {len(unmatched)} not placed")
        return res


# ---------------------------------------------------------------------------------------------
# Upper-tier councils (county councils, E10) -> their districts, for sources published by council.

LAD_UTLA_FILE = "lad_utla.csv"
LAD_UTLA_SOURCE = "ons-geography-geographr/lookup_ltla23_utla23.csv"


def write_lad_utla(real_data: Path, out: Path | None = None) -> Path:
    """The committed ``lad_utla.csv`` (English LAD 2023 -> upper-tier authority 2023), rebuilt from
    the ONS lookup in the shared real files (geographr copy; Open Government Licence v3.0)."""
    df = pd.read_csv(Path(real_data) / LAD_UTLA_SOURCE, dtype=str)
    df = df[df["ltla23_code"].str.startswith("E")]
    t = pd.DataFrame({"lad_code": df["ltla23_code"], "lad_name": df["ltla23_name"], "utla_code": df["utla23_code"],
                      "utla_name": df["utla23_name"],
                      "source": "ONS LAD (2023) to upper-tier local authority (2023) lookup; Open Government Licence v3.0"})
    t = t.sort_values("lad_code").reset_index(drop=True)
    target = (Path(out) if out is not None else paths.REFERENCE) / LAD_UTLA_FILE
    t.to_csv(target, index=False, lineterminator="\n")
    return target


def lad_utla() -> pd.DataFrame:
    """English local authority districts (2023 codes) and the upper-tier council of each."""
    return pd.read_csv(paths.reference(LAD_UTLA_FILE), dtype=str)


def council_districts(codes: pd.Series) -> pd.DataFrame:
    """Each council code (upper tier: E06/E08/E09 unitary, metropolitan and London authorities,
    E10 counties) with the district codes it covers: a county gives one row per district, any other
    authority one row for itself (retired codes mapped to their successors). Columns la_code, lad_code."""
    utla = lad_utla()
    county = utla[utla["utla_code"].str.startswith("E10")]
    by_county = county.groupby("utla_code")["lad_code"].apply(list).to_dict()
    rows = [(c, d) for c in codes.dropna().unique() for d in by_county.get(c, [c])]
    out = pd.DataFrame(rows, columns=["la_code", "lad_code"])
    out["lad_code"] = geography.map_retired_lads(out["lad_code"])
    return out


# ---------------------------------------------------------------------------------------------
# Weights for ICB rates of council-level social care rates: adults aged 65+.

OLDER_AGE = 65


def _estimate(ctx: BuildContext, year: int | None) -> tuple[pd.DataFrame | None, int | None]:
    """The mid-year estimate (lad_code, age, population) nearest ``year`` (the later of two equally
    near) among every estimate the build read (``ctx.mye``: year -> table), else ``ctx.mye_long``."""
    every = {y: t for y, t in (getattr(ctx, "mye", None) or {}).items() if t is not None}
    if every:
        best = max(every, key=lambda y: (-abs(y - year), y)) if year is not None else max(every)
        return every[best], best
    return ctx.mye_long, ctx.mye_year


def asc_vacancy_weights(ctx: BuildContext, year: int | None = None) -> tuple[pd.DataFrame, str]:
    """Weight of each local authority district's part of each ICB, for ICB means of social care
    rates: adults aged 65+ of the district x the district's share of the ICB (share of its LSOAs, as
    the other Skills for Care loaders). Adults 65+ come from the ONS mid-year estimate nearest
    ``year`` (default the latest) of those the build read: ``ctx.mye`` (year -> table with columns
    lad_code, age, population), or ``ctx.mye_long``/``ctx.mye_year`` where the context has only
    one. A district with no estimate under its own code (an authority created after the estimate,
    e.g. Cumberland in a mid-2020 file) gets the sum of its predecessors. Without single-year ages
    the weight is all ages (``ctx.lad_population``), then LSOA counts; the basis returned says which.

    Returns (table with lad_code, icb_code, share, weight; basis in words)."""
    lk = geography.lad_shares()[["lad_code", "icb_code", "share", "n_lsoa"]].copy()
    m, mye_year = _estimate(ctx, year)
    if m is not None and {"lad_code", "age", "population"} <= set(m.columns):
        pop = m[m["age"] >= OLDER_AGE].groupby("lad_code")["population"].sum()
        basis = f"adults aged {OLDER_AGE}+ (ONS {f'mid-{mye_year}' if mye_year else 'mid-year'} population estimates)"
    elif ctx.lad_population:
        pop = pd.Series(ctx.lad_population, dtype=float)
        basis = "people of all ages (ONS mid-year estimates; the build had no population by single year of age)"
    else:
        lk["weight"] = lk["n_lsoa"].astype(float)
        return lk[["lad_code", "icb_code", "share", "weight"]], \
            "LSOA counts (the build had no ONS population estimates; LSOAs hold similar numbers of people)"
    ch = geography.lad_code_changes()
    pred = ch.assign(pop=ch["old_code"].map(pop)).groupby("new_code")["pop"].sum(min_count=1)
    own = lk["lad_code"].map(pop)
    lk["weight"] = own.fillna(lk["lad_code"].map(pred)) * lk["share"]
    return lk[["lad_code", "icb_code", "share", "weight"]], basis


class SfcVacancyRates:
    """Skills for Care vacancy rate by council (upper tier) for one financial year: la_code,
    la_name, [region], vacancy_rate (a percentage). All sectors, services and job roles."""
    ID, KIND, PREFERENCE = "sfc_council_vacancy", "data", 20
    TITLE, PUBLISHER = "Skills for Care vacancy rate (all roles) by council", "Skills for Care"
    DEFINITION = ("all sectors, services and job roles (Skills for Care's whole-area rate); the 2019/20 and 2020/21 "
                  "rates are means over direct-care roles only, so the series changes definition here")

    @staticmethod
    def recognise(path: Path) -> bool:
        cols = [c.lower() for c in head_columns(path) or []]
        return {"la_code", "la_name", "vacancy_rate"} <= set(cols) <= {"la_code", "la_name", "region", "vacancy_rate"}

    @staticmethod
    def _year(path: Path) -> int:
        m = re.search(r"(20\d\d)[-_ ]?(\d\d)(?!\d)", path.name)
        if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
            raise SourceError(f"{path}: cannot tell the financial year: expected it in the file name, e.g. "
                              "..._2024_25.csv")
        return int(m.group(1))

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        year = cls._year(path)
        fy = f"{year}/{str(year + 1)[-2:]}"
        df = read_csv(path)
        df.columns = [c.lower() for c in df.columns]
        df["la_code"] = clean_code(df["la_code"])
        df["rate"], blank = to_number(df["vacancy_rate"], path, "vacancy_rate")
        bad = df["rate"].notna() & ~df["rate"].between(0, 100)
        if bad.any():
            shown = ", ".join(f"{n} ({c}): {v:g}" for n, c, v in df.loc[bad, ["la_name", "la_code", "rate"]].head(5).itertuples(index=False))
            raise SourceError(f"{path}: column 'vacancy_rate' is a percentage from 0 to 100; out of range for {shown}")
        odd = df.loc[~df["la_code"].str.match(r"^E(0[6-9]|10)\d{6}$", na=False), "la_code"]
        if len(odd):
            raise SourceError(f"{path}: column 'la_code' expected English council codes (E06, E08, E09, E10), found "
                              f"{', '.join(map(str, odd.head(5)))}")
        blanks = df.loc[blank, "la_name"].tolist()
        rated = df[~blank]

        parts = council_districts(rated["la_code"]).merge(rated[["la_code", "rate"]], on="la_code")
        weights, basis = asc_vacancy_weights(ctx, year)
        parts = parts.merge(weights, on="lad_code", how="left")
        unplaced = sorted(parts.loc[parts["icb_code"].isna(), "la_code"].unique())
        no_weight = sorted(parts.loc[parts["icb_code"].notna() & parts["weight"].isna(), "lad_code"].unique())
        parts = parts.dropna(subset=["icb_code", "weight"])
        g = parts.assign(wx=parts["rate"] * parts["weight"]).groupby("icb_code")[["wx", "weight"]].sum()
        rates = (g["wx"] / g["weight"]).rename("value").reset_index()
        england = float(g["wx"].sum() / g["weight"].sum())

        source = (f"{cls.PUBLISHER} adult social care vacancy rate by council {fy}, {path.name}: {cls.DEFINITION}; "
                  f"ICB rate = council rates weighted by {basis} of each council's part of the ICB (county rates "
                  "apply to each of their districts; a council split across ICBs by its share of LSOAs); "
                  "not an exact ICB total")
        if blanks:
            source += f"; no rate published for {', '.join(blanks)}"
        kpi = pd.DataFrame({"icb_code": rates["icb_code"], "kpi_id": "vacancy_rate_asc",
                            "period": pd.Timestamp(f"{year + 1}-03-01"), "value": rates["value"].round(4),
                            "target": np.nan, "numerator": np.nan, "denominator": np.nan, "source": source})
        res = LoadResult(tables={"kpi_observations": kpi}, period=fy)
        res.notes.append(f"{path.name}: Skills for Care vacancy rate {fy} ({cls.DEFINITION}) for {len(rated)} of "
                         f"{len(df)} councils, weighted to {len(rates)} ICBs by {basis}; England {england:.2f}% on "
                         "the same weights")
        if blanks:
            # Each blank council's ICBs and how much of each ICB's weight is left without a rate.
            every = council_districts(df["la_code"]).merge(weights, on="lad_code").merge(df[["la_code", "la_name"]], on="la_code")
            total = every.groupby("icb_code")["weight"].sum()
            missing = every[every["la_code"].isin(df.loc[blank, "la_code"])].groupby(["la_name", "icb_code"])["weight"].sum().reset_index()
            shown = "; ".join(f"{n} ({', '.join(f'{i} {100 * w / total[i]:.1f}%' for i, w in zip(x['icb_code'], x['weight']))})"
                              for n, x in missing.groupby("la_name"))
            res.notes.append(f"{path.name}: no vacancy rate for {len(blanks)} councils, left out of their ICBs' rates "
                             f"(ICB and share of its weight without a rate): {shown}")
        if unplaced or no_weight:
            res.notes.append(f"{path.name}: not placed in an ICB: {', '.join(unplaced) or 'none'}; no weight for "
                             f"districts {', '.join(no_weight) or 'none'}")
        return res


SOURCES = [SfcWorkforceIndicators, SfcVacancies, SfcVacancyRates]
