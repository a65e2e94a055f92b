"""Skills for Care local-authority workforce indicators, apportioned to ICBs.

An ICB's rate is the population-weighted mean of the rates of the local authorities in it:
sum over authorities of rate x population x share of the authority in the ICB, divided by the
sum of population x share. Authority populations come from the ONS mid-year estimates when
the build has them, otherwise from the LSOA counts of the lookup (LSOAs hold similar numbers
of people). Retired authority codes (e.g. 2019 districts since merged) are mapped to their
successors first; several predecessors of one authority are averaged before weighting.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

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


SOURCES = [SfcWorkforceIndicators, SfcVacancies]
