"""Data quality and bias: what each table covers, what is missing, and how geography was split.

Everything here is computed from the data actually loaded, so the section of a report says
what applies to that report rather than repeating generic caveats.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iwt_helpers import vocab
from iwt_helpers.data import geography
from iwt_helpers.data.datastore import Dataset
from iwt_helpers.data.schemas import MEASURES


def _time_col(df: pd.DataFrame) -> str | None:
    return next((c for c in ("period", "year", "financial_year") if c in df), None)


def _fmt_time(v) -> str:
    if isinstance(v, pd.Timestamp):
        return f"{v:%b %Y}"
    if isinstance(v, str):
        return v
    return str(int(v)) if pd.notna(v) else "–"


def coverage(ds: Dataset, tables: list[str]) -> pd.DataFrame:
    """Per table: origin, synthetic flag, time span, ICBs covered, rows, share of values missing."""
    rows = []
    newest = None
    partly = {r.split(" (demo rows")[0] for r in ds.provenance()["table"] if " (demo rows" in r}
    for t in tables:
        df = ds.table(t)
        tc = _time_col(df)
        lo, hi = (df[tc].min(), df[tc].max()) if tc else (None, None)
        latest = hi
        if t == "population" and "kind" in df:      # staleness: the latest estimate, not the projections
            est = df[df["kind"] == "estimate"]
            latest = est[tc].max() if len(est) else hi
        if isinstance(latest, pd.Timestamp):
            hi_year = latest.year + (latest.month - 1) / 12
        elif isinstance(latest, str):                         # a financial year such as "2024/25"
            hi_year = int(latest[:4]) + 0.25
        else:
            hi_year = latest
        if hi_year is not None and (newest is None or hi_year > newest):
            newest = hi_year
        meas = [c for c in MEASURES.get(t, []) if c in df]
        missing = float(df[meas].isna().to_numpy().mean() * 100) if meas and len(df) else 0.0
        suppressed = float(df["suppressed_flag"].mean() * 100) if "suppressed_flag" in df else 0.0
        info = ds.info(t)
        rows.append({"table": t, "origin": info.origin,
                     "synthetic": "Yes" if info.synthetic else ("Partly (demo rows for what the folder lacks)" if t in partly else "No"),
                     "from": _fmt_time(lo) if tc else "–", "to": _fmt_time(hi) if tc else "–",
                     "icbs": int(df["icb_code"].nunique()) if "icb_code" in df else np.nan,
                     "rows": len(df), "missing_pct": missing, "suppressed_pct": suppressed,
                     "_latest": hi_year})
    out = pd.DataFrame(rows)
    out["years_behind_newest"] = (newest - out["_latest"]).round(1) if newest is not None else np.nan
    return out.drop(columns="_latest")


def latest_rows_by_icb(ds: Dataset, tables: list[str]) -> dict[str, pd.Series]:
    """Each table's rows at its latest period counted by ICB (tables without ICBs left out): what
    :func:`icb_coverage` reads, the same whatever the ICB."""
    counts = {}
    for t in tables:
        df = ds.table(t)
        if "icb_code" not in df:
            continue
        tc = _time_col(df)
        latest = df[df[tc] == df[tc].max()] if tc else df
        counts[t] = latest["icb_code"].value_counts()
    return counts


def icb_coverage(ds: Dataset, tables: list[str], icb_code: str,
                 counts: dict[str, pd.Series] | None = None) -> pd.DataFrame:
    """Whether each table has rows for this ICB at its latest period, and how many (``counts``:
    :func:`latest_rows_by_icb` of the same tables, where the caller has it)."""
    icb_code = geography.resolve_icb(icb_code)
    counts = latest_rows_by_icb(ds, tables) if counts is None else counts
    rows = []
    for t, by_icb in counts.items():
        n = int(by_icb.get(icb_code, 0))
        rows.append({"table": t, "rows_for_icb_latest": n, "covered": n > 0})
    return pd.DataFrame(rows)


def split_authorities(icb_code: str, vintage: int = 2024) -> pd.DataFrame:
    """Local authorities that lie partly in this ICB and partly elsewhere, with the shares used."""
    icb_code = geography.resolve_icb(icb_code)
    lk = geography.lad_icb()
    lk = lk[lk["lad_vintage"] == vintage]
    split = lk.groupby("lad_code")["icb_code"].transform("nunique") > 1
    mine = lk[split & lk["lad_code"].isin(lk.loc[lk["icb_code"] == icb_code, "lad_code"])]
    names = geography.icbs().set_index("icb_code")["icb_short_name"]
    out = mine.assign(icb=mine["icb_code"].map(names), share_pct=mine["share"] * 100)
    return out[["lad_code", "lad_name", "icb", "share_pct", "share_basis"]].reset_index(drop=True)


def ethnicity_unknown(ethnicity: pd.DataFrame, icb_code: str) -> pd.DataFrame:
    """Share of records with unknown ethnicity by sector, for this ICB and for England."""
    d = ethnicity[(ethnicity["group"] == "workforce") & (ethnicity["year"] == ethnicity["year"].max())]
    rows = []
    for area, sel in (("ICB", d["icb_code"] == geography.resolve_icb(icb_code)), ("England", d["icb_code"].notna())):
        g = d[sel].groupby("sector")
        tot = g["people"].sum()
        unk = d[sel & (d["ethnic_group"] == "unknown")].groupby("sector")["people"].sum().reindex(tot.index, fill_value=0)
        for sector in tot.index:
            rows.append({"area": area, "sector": sector, "unknown_pct": 100 * unk[sector] / tot[sector] if tot[sector] else np.nan})
    out = pd.DataFrame(rows).pivot(index="sector", columns="area", values="unknown_pct").reset_index()
    out["sector"] = out["sector"].map(vocab.sector_labels()).fillna(out["sector"])
    return out.rename(columns={"ICB": "icb_unknown_pct", "England": "england_unknown_pct"})


def latest_for(df: pd.DataFrame, icb_code: str, sector: str) -> pd.DataFrame:
    """The ICB's rows of one sector at the latest period (or year) it has there; no rows for a table
    without sectors (what a cell of the coverage matrix stands on)."""
    if "sector" not in df:
        return df.iloc[0:0]
    d = df[(df["icb_code"] == icb_code) & (df["sector"] == sector)]
    col = "period" if "period" in d else "year"
    return d[d[col] == d.groupby("sector")[col].transform("max")]


def kpi_last_12_months(kpi_observations: pd.DataFrame, icb_code: str, kpi_id: str) -> pd.DataFrame:
    """The ICB's observations of one KPI over the 12 months to its latest month."""
    k = kpi_observations[(kpi_observations["icb_code"] == icb_code) & (kpi_observations["kpi_id"] == kpi_id)]
    return k[k["period"] >= k["period"].max() - pd.DateOffset(months=11)] if len(k) else k
