"""Base-year inputs of the scenario model, from the canonical tables of the data set in use.

One *cell* is an ICB x sector x staff group. For each cell: the FTE in post at the sector's latest
period (the data theme's snapshot, so both themes start from the same figures), the FTE demanded in
the base year (posts, filled and vacant), yearly leaving and joining rates and the share of leavers
who move to the other sector (each from the cell's own counts where it has at least
``MIN_STAFF_FOR_LOCAL_RATE`` staff, otherwise England's rate for the sector and staff group), and the
age profile. Where every row a figure comes from is synthetic, the cell says so. NHS trusts and general
practice then take their rates on the published basis (:mod:`.calibration`): a published level of
leaving with the data's pattern, and joiners keeping up the growth of the years before the base year.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from iwt_helpers import paths, vocab
from iwt_helpers.data import geography
from iwt_helpers.data.population import BAND_EDGES, for_year
from iwt_helpers.errors import ConfigError, MissingDataError

from .. import measures
from ..pressures import latest_flows, pay_gaps
from . import calibration
from .config import AGE_BANDS

MIN_STAFF_FOR_LOCAL_RATE = 50
SOCIAL_CARE = ("asc_local_authority", "asc_independent", "asc_voluntary")
HEALTH = ("nhs_trust", "primary_care")
# Where a leaver who moves to the other sector goes: the sector and staff group of the other side
# (moves from social care go to NHS trusts, moves from health to independent-sector social care, the
# largest employer). A group with no counterpart keeps its movers as leavers to elsewhere.
MOVE_TO_HEALTH = {"care_worker": "support_to_clinical", "senior_care_worker": "support_to_clinical",
                  "registered_nurse": "registered_nurse", "registered_manager": "infrastructure_admin",
                  "infrastructure_admin": "infrastructure_admin"}
MOVE_TO_SOCIAL_CARE = {"support_to_clinical": "care_worker", "registered_nurse": "registered_nurse",
                       "infrastructure_admin": "infrastructure_admin"}


@dataclass
class Inputs:
    base_year: int
    horizon: int
    cells: pd.DataFrame                  # one row per cell (see module docstring); index 0..C-1
    icbs: list[str]                      # ICB codes, in the order of the population arrays
    pop_all: np.ndarray                  # (ICBs, horizon + 1): all ages, base year = column 0
    pop_65: np.ndarray                   # people aged 65+
    pop_weighted: np.ndarray             # people weighted by use of services at each age
    pay_gap0: np.ndarray                 # (ICBs,) care worker against NHS HCA new to role, GBP per hour (NaN: none)
    use_curve_source: str
    notes: list[tuple[str, dict]] = field(default_factory=list)   # (caveat id of data/reference/caveats.yaml, what it fills)
    synthetic: dict[str, bool] = field(default_factory=dict)   # per input table: any synthetic rows used
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def years(self) -> list[int]:
        return list(range(self.base_year, self.base_year + self.horizon + 1))

    def icb_index(self) -> np.ndarray:
        pos = {c: i for i, c in enumerate(self.icbs)}
        return self.cells["icb_code"].map(pos).to_numpy()


def service_use_curve() -> tuple[pd.Series, str]:
    """Relative use of NHS services per person by population age band, and its source."""
    t = pd.read_csv(paths.reference("service_use_by_age.csv"), dtype={"age_band": str})
    bands = vocab.population_age_bands()
    if sorted(t["age_band"]) != sorted(bands):
        raise ConfigError(f"{paths.reference('service_use_by_age.csv')}: expected one row for each population age band "
                          f"({', '.join(bands)})")
    return t.set_index("age_band")["relative_use"].reindex(bands), "; ".join(t["source"].dropna().unique())


def _syn(df: pd.DataFrame) -> pd.Series:
    return df["synthetic"].astype(bool) if "synthetic" in df else pd.Series(False, index=df.index)


def _rates(flows: pd.DataFrame) -> pd.DataFrame:
    """Leaving, joining and moving rates per cell, each with England's rate for the sector and staff
    group where the cell has fewer than MIN_STAFF_FOR_LOCAL_RATE staff (or no figure)."""
    f = latest_flows(flows).copy()
    f["synthetic"] = _syn(f)
    f["months"] = f["months"].fillna(12) if "months" in f else 12
    keys = ["icb_code", "sector", "staff_group"]
    cols = ["staff_in_post", "joiners", "leavers", "leavers_to_other_sector"]
    local = f.groupby(keys, as_index=False).agg(**{c: (c, lambda s: s.sum(min_count=1)) for c in cols},
                                                 synthetic=("synthetic", "any"), months=("months", "min"))
    eng = f.groupby(["sector", "staff_group"], as_index=False).agg(**{c: (c, lambda s: s.sum(min_count=1)) for c in cols},
                                                                   synthetic=("synthetic", "any"), months=("months", "min"))

    def add(d: pd.DataFrame) -> pd.DataFrame:
        sip = d["staff_in_post"].where(d["staff_in_post"] > 0)
        d["leave_rate"] = (d["leavers"] / sip).clip(0, 1)
        d["join_rate"] = (d["joiners"] / sip).clip(lower=0)
        d["move_share"] = (d["leavers_to_other_sector"] / d["leavers"].where(d["leavers"] > 0)).clip(0, 1)
        return d

    local, eng = add(local), add(eng)
    out = local.merge(eng[["sector", "staff_group", "leave_rate", "join_rate", "move_share", "synthetic", "months"]],
                      on=["sector", "staff_group"], how="outer", suffixes=("", "_england"))
    use_local = (out["staff_in_post"] >= MIN_STAFF_FOR_LOCAL_RATE) & out["leave_rate"].notna() & out["join_rate"].notna()
    for c in ("leave_rate", "join_rate", "move_share", "months"):
        out[c] = out[c].where(use_local, out[f"{c}_england"])
    out["rate_months"] = out["months"].fillna(12).astype(int)
    out["move_share"] = out["move_share"].fillna(0.0)
    out["rate_from"] = np.where(use_local, "ICB", "England")
    out["rates_synthetic"] = out["synthetic"].where(use_local, out["synthetic_england"]).fillna(True).astype(bool)
    return out[keys + ["leave_rate", "join_rate", "move_share", "rate_months", "rate_from", "rates_synthetic"]].dropna(
        subset=["icb_code"])


def _posts_ratio(vacancies: pd.DataFrame) -> pd.DataFrame:
    """Posts (filled + vacant) per filled post at the latest period, per cell, with England's ratio
    for the sector and staff group where the cell has none."""
    v = vacancies[vacancies["period"] == vacancies.groupby("sector")["period"].transform("max")].copy()
    v["synthetic"] = _syn(v)
    keys = ["icb_code", "sector", "staff_group"]
    local = v.groupby(keys, as_index=False).agg(vacancies=("vacancies", "sum"), filled=("filled_posts", "sum"),
                                                synthetic=("synthetic", "any"))
    eng = local.groupby(["sector", "staff_group"], as_index=False).agg(v_e=("vacancies", "sum"), f_e=("filled", "sum"))
    local = local.merge(eng, on=["sector", "staff_group"], how="left")
    ratio = (local["filled"] + local["vacancies"]) / local["filled"].where(local["filled"] > 0)
    ratio_e = (local["f_e"] + local["v_e"]) / local["f_e"].where(local["f_e"] > 0)
    local["posts_per_filled"] = ratio.fillna(ratio_e).fillna(1.0)
    return local[keys + ["posts_per_filled", "synthetic"]].rename(columns={"synthetic": "vacancies_synthetic"})


def _age_shares(workforce_age: pd.DataFrame) -> pd.DataFrame:
    a = workforce_age[workforce_age["year"] == workforce_age["year"].max()]
    keys = ["icb_code", "sector", "staff_group"]
    local = a.pivot_table(index=keys, columns="age_band", values="headcount", aggfunc="sum").reindex(columns=list(AGE_BANDS))
    eng = a.pivot_table(index=["sector", "staff_group"], columns="age_band", values="headcount", aggfunc="sum").reindex(
        columns=list(AGE_BANDS))
    local = local.div(local.sum(axis=1).where(local.sum(axis=1) > 0), axis=0).reset_index()
    eng = eng.div(eng.sum(axis=1), axis=0).add_prefix("eng_").reset_index()
    out = local.merge(eng, on=["sector", "staff_group"], how="outer")
    for b in AGE_BANDS:
        out[b] = out[b].fillna(out[f"eng_{b}"])
    out["age_synthetic"] = bool(_syn(a).any())
    return out[keys + list(AGE_BANDS) + ["age_synthetic"]].dropna(subset=["icb_code"])


def _age_rates(leaving_rates: pd.DataFrame | None) -> pd.DataFrame | None:
    """Leaving rates a year by age band per cell from a record-level extract's ``leaving_rates``
    (latest year, annualised by 12 / months), where every band of the cell has at least
    MIN_STAFF_FOR_LOCAL_RATE / 6 staff and a count (suppressed cells stay on the national profile)."""
    if leaving_rates is None or leaving_rates.empty:
        return None
    lr = leaving_rates[leaving_rates["year"] == leaving_rates["year"].max()].copy()
    months = lr["months"].fillna(12) if "months" in lr else 12
    lr["rate"] = (lr["leavers"] * 12 / months / lr["staff_in_post"].where(lr["staff_in_post"] >= MIN_STAFF_FOR_LOCAL_RATE / 6)).clip(0, 1)
    keys = ["icb_code", "sector", "staff_group"]
    wide = lr.pivot_table(index=keys, columns="age_band", values="rate", aggfunc="first").reindex(columns=list(AGE_BANDS))
    wide = wide[wide.notna().all(axis=1)]
    return wide.add_prefix("age_rate_").reset_index() if len(wide) else None


def _population(pop: pd.DataFrame, icbs: list[str], years: list[int], curve: pd.Series) -> tuple[np.ndarray, ...]:
    lower = {b: lo for (lo, _), b in zip(BAND_EDGES, vocab.population_age_bands())}
    shape = (len(icbs), len(years))
    all_, old, weighted = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for j, y in enumerate(years):
        p = for_year(pop, y)
        p = p[p["icb_code"].isin(icbs)]
        g = p.assign(old=np.where(p["age_band"].map(lower) >= 65, p["population"], 0.0),
                     w=p["population"] * p["age_band"].map(curve)).groupby("icb_code")[["population", "old", "w"]].sum()
        g = g.reindex(icbs)
        all_[:, j], old[:, j], weighted[:, j] = g["population"], g["old"], g["w"]
    return all_, old, weighted


def _pay_gaps(pay: pd.DataFrame, icbs: list[str]) -> np.ndarray:
    """Each ICB's gap between NHS healthcare assistants new to their role and care workers, GBP an hour."""
    return np.asarray([g["gap_gbp_per_hour"] for g in pay_gaps(pay, icbs)] if len(pay) else [np.nan] * len(icbs), dtype=float)


def build(tables: dict[str, pd.DataFrame], snapshot: pd.DataFrame, horizon: int, icbs: list[str] | None = None,
          ensure: set[tuple[str, str]] | None = None, leaving_rates: pd.DataFrame | None = None,
          history: pd.DataFrame | None = None) -> Inputs:
    """Inputs for ``icbs`` (default all 42) from the canonical tables (each with a ``synthetic``
    column where rows may be demo rows) and the whole-system ``snapshot`` (FTE by cell).
    ``ensure`` names (sector, staff group) cells every ICB needs even with nobody in post (where
    levers move demand to). ``leaving_rates`` (from a record-level extract) gives cells their own
    leaving by age band instead of the national profile shape. ``history`` is NHS trust FTE by ICB and
    month (period, icb_code, fte), whose growth before the base year sets NHS joiners; default: the
    tables' monthly series, else the committed ICB totals (``nhs_staff_monthly_icb``). The growth is
    read over every ICB, so one ICB's inputs match its part of all 42's."""
    icbs = [geography.resolve_icb(c) for c in icbs] if icbs else geography.icb_codes()
    keys = ["icb_code", "sector", "staff_group"]
    notes: list[tuple[str, dict]] = []
    snap = snapshot[snapshot["icb_code"].isin(icbs)].copy()
    snap["synthetic"] = _syn(snap)
    cells = snap.groupby(keys, as_index=False).agg(fte0=("fte", lambda s: s.sum(min_count=1)), period=("period", "max"),
                                                    stock_synthetic=("synthetic", "any"))
    cells = cells[cells["fte0"].fillna(0) > 0]
    # Cells that receive movers, or demand moved by levers, must exist even where nobody works yet.
    targets = [(icb, sec, grp) for icb in icbs for sec, grp in sorted(ensure or ())]
    for r in cells.itertuples():
        t = _move_target(r.sector, r.staff_group)
        if t:
            targets.append((r.icb_code, *t))
    extra = pd.DataFrame(targets, columns=keys).drop_duplicates().merge(cells[keys], how="left", indicator=True)
    extra = extra[extra["_merge"] == "left_only"].drop(columns="_merge").assign(fte0=0.0, stock_synthetic=False)
    cells = pd.concat([cells, extra], ignore_index=True)
    base_year = int(pd.Timestamp(cells["period"].max()).year)
    cells = cells.drop(columns="period")

    pop = tables["population"]
    last = int(pop["year"].max())
    if base_year + horizon > last:
        notes.append(("A2.horizon", {"last_year": last, "years": last - base_year, "asked": horizon}))
        horizon = last - base_year
    if base_year < int(pop["year"].min()):
        raise MissingDataError(f"population: no figures for the base year {base_year}")

    cells = cells.merge(_rates(tables["flows"]), on=keys, how="left")
    missing = cells["leave_rate"].isna()
    if missing.any():   # a sector and staff group that no flows row covers: the sector's England rate
        f = latest_flows(tables["flows"])
        by_sector = f.groupby("sector")[["leavers", "joiners", "staff_in_post"]].sum()
        for c, col in (("leave_rate", "leavers"), ("join_rate", "joiners")):
            cells.loc[missing, c] = cells.loc[missing, "sector"].map(by_sector[col] / by_sector["staff_in_post"])
        cells.loc[missing, ["move_share", "rate_from", "rates_synthetic"]] = [0.0, "England (sector)", True]
        months = (f["months"].fillna(12) if "months" in f else pd.Series(12, index=f.index)).groupby(f["sector"]).min()
        cells.loc[missing, "rate_months"] = cells.loc[missing, "sector"].map(months)
        cells[["leave_rate", "join_rate"]] = cells[["leave_rate", "join_rate"]].fillna(0.0)
    cells["rate_months"] = cells["rate_months"].fillna(12).astype(int)
    if history is None:
        history, _ = calibration.nhs_stocks(tables)
        history = history if len(history) else calibration.committed_nhs_stocks()
    cells = calibration.calibrate(cells, tables["flows"], history, tables.get("gp_workforce"))
    age_rates = _age_rates(leaving_rates)
    if age_rates is not None:
        cells = cells.merge(age_rates, on=keys, how="left")
        notes.append(("A24.extract", {"groups": int(cells[f"age_rate_{AGE_BANDS[0]}"].notna().sum()), "cells": len(cells)}))
    cells = cells.merge(_posts_ratio(tables["vacancies"]), on=keys, how="left")
    cells["posts_per_filled"] = cells["posts_per_filled"].fillna(1.0)
    cells["vacancies_synthetic"] = cells["vacancies_synthetic"].fillna(True).astype(bool)
    # each sector's posts at the vacancy rate every report shows (analysis.measures: published first)
    cells = measures.posts_at_vacancy_rates(cells, measures.sector_vacancy_rates(tables))
    cells["demand0"] = cells["fte0"] * cells["posts_per_filled"]
    cells = cells.merge(_age_shares(tables["workforce_age"]), on=keys, how="left")
    fallback = np.array([1 / len(AGE_BANDS)] * len(AGE_BANDS))
    shares = cells[list(AGE_BANDS)].to_numpy(dtype=float)
    bad = ~np.isfinite(shares).all(axis=1) | (np.nan_to_num(shares).sum(axis=1) <= 0)
    shares[bad] = fallback
    cells[list(AGE_BANDS)] = shares / shares.sum(axis=1, keepdims=True)
    cells["age_synthetic"] = cells["age_synthetic"].fillna(True).astype(bool)
    fam = vocab.sectors().set_index("code")["family"]
    cells["family"] = cells["sector"].map(fam)
    order_s = {c: i for i, c in enumerate(vocab.sector_codes())}
    order_g = {c: i for i, c in enumerate(vocab.staff_group_codes())}
    cells = cells.sort_values(keys, key=lambda c: c.map(order_s) if c.name == "sector" else (
        c.map(order_g) if c.name == "staff_group" else c)).reset_index(drop=True)
    pos = {tuple(k): i for i, k in enumerate(cells[keys].itertuples(index=False, name=None))}
    cells["target"] = [pos.get((r.icb_code, *(_move_target(r.sector, r.staff_group) or ("", ""))), -1)
                       for r in cells.itertuples()]
    cells.loc[cells["target"] < 0, "move_share"] = 0.0

    curve, curve_source = service_use_curve()
    years = list(range(base_year, base_year + horizon + 1))
    pop_all, pop_65, pop_w = _population(pop, icbs, years, curve)
    pay = tables["pay"]
    inputs = Inputs(base_year, horizon, cells, icbs, pop_all, pop_65, pop_w, _pay_gaps(pay, icbs), curve_source, notes)
    for name in ("workforce", "flows", "vacancies", "workforce_age", "pay", "population"):
        df = tables[name] if name != "workforce" else snap
        inputs.synthetic[name] = bool(_syn(df).any())
        inputs.sources[name] = "; ".join(dict.fromkeys(df["source"].dropna().astype(str))) if "source" in df else ""
    return inputs


def _move_target(sector: str, staff_group: str) -> tuple[str, str] | None:
    if sector in SOCIAL_CARE and staff_group in MOVE_TO_HEALTH:
        return "nhs_trust", MOVE_TO_HEALTH[staff_group]
    if sector in HEALTH and staff_group in MOVE_TO_SOCIAL_CARE:
        return "asc_independent", MOVE_TO_SOCIAL_CARE[staff_group]
    return None


def part(inp: Inputs, icbs: list[str], snapshot: pd.DataFrame) -> Inputs | None:
    """The inputs of some of ``inp``'s ICBs (``snapshot``: the one ``inp`` was built from), as :func:`build`
    makes them for those ICBs alone, without building them again: every figure of a cell is its own, its
    ICB's or England's (read from whole tables), so an ICB's cells are its part of all 42's. None where
    these ICBs' own base year would differ from ``inp``'s (build them instead)."""
    icbs = [geography.resolve_icb(c) for c in icbs]
    keys = ["icb_code", "sector", "staff_group"]
    snap = snapshot[snapshot["icb_code"].isin(icbs)]
    fte = snap.groupby(keys)["fte"].sum(min_count=1)
    periods = snap.groupby(keys)["period"].max()[fte.fillna(0) > 0]
    if not len(periods) or int(pd.Timestamp(periods.max()).year) != inp.base_year or not set(icbs) <= set(inp.icbs):
        return None
    m = inp.cells["icb_code"].isin(icbs).to_numpy()
    cells = inp.cells[m].reset_index(drop=True)
    new = np.full(len(inp.cells), -1)
    new[np.flatnonzero(m)] = np.arange(len(cells))
    target = cells["target"].to_numpy()
    cells["target"] = np.where(target >= 0, new[np.maximum(target, 0)], -1)
    notes = [(cid, {"groups": int(cells[f"age_rate_{AGE_BANDS[0]}"].notna().sum()), "cells": len(cells)})
             if cid == "A24.extract" else (cid, dict(v)) for cid, v in inp.notes]
    rows = [inp.icbs.index(c) for c in icbs]
    out = Inputs(inp.base_year, inp.horizon, cells, icbs, inp.pop_all[rows], inp.pop_65[rows], inp.pop_weighted[rows],
                 inp.pay_gap0[rows], inp.use_curve_source, notes, dict(inp.synthetic), dict(inp.sources))
    out.synthetic["workforce"] = bool(_syn(snap).any())
    out.sources["workforce"] = "; ".join(dict.fromkeys(snap["source"].dropna().astype(str))) if "source" in snap else ""
    return out
