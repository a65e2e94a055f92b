"""Pseudonymised records -> the canonical tables, every count disclosure-controlled before it
leaves this module.

From each snapshot: ``workforce`` (headcount and FTE by ICB, sector and staff group),
``workforce_age`` and ``ethnicity``. From each pair of consecutive snapshots (at most 12 months
apart): ``flows`` (staff in post, joiners, leavers, leavers to the other family of sectors),
``leaving_rates`` (by staff group and age band) and ``moves`` (where leavers went). Joiners and
leavers are counted at organisation level, as NHS turnover benchmarking does: a move between two
organisations is a leaver from one and a joiner to the other; ``moves`` says which moves stayed in
the sector.

Tables that show the same figure are controlled together (:func:`disclosure.control_linked`):
staff in post by staff group is the row total of staff group x age band; leavers by staff group
the row total of both the age band and the destination grids; the ethnicity total the grand total.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iwt_helpers import vocab

from .. import disclosure

MOVES = ["other_organisation", "other_sector_same_family", "other_family", "left"]


def _in_post(rec: pd.DataFrame, snap: pd.Timestamp) -> pd.DataFrame:
    r = rec[rec["snapshot_date"] == snap]
    return r[r["_leaving_date"].isna() | (r["_leaving_date"] > snap)]


def _grid(df: pd.DataFrame, rows: list, cols: list, col: str | None, value: str | None = None) -> np.ndarray:
    """Counts (or sums of ``value``) of df by staff_group x ``col`` on the given labels."""
    keys = ["staff_group"] + ([col] if col else [])
    s = (df.groupby(keys, observed=True).size() if value is None
         else df.groupby(keys, observed=True)[value].sum())
    if col:
        return s.unstack(fill_value=0).reindex(index=rows, columns=cols, fill_value=0).to_numpy(float)
    return s.reindex(rows, fill_value=0).to_numpy(float)[:, None]


def _shared(nrows: int, ncols: int) -> list[tuple[int, int]]:
    """Where a controlled grid (see :func:`disclosure.control_grid`) holds each row total and
    then the grand total; a single row's total is its grand total."""
    if nrows == 1:
        return [(0, ncols)] if ncols > 1 else [(1, 0)]
    last = ncols if ncols > 1 else 0
    return [(i, last) for i in range(nrows + 1)]


def _split(grid: np.ndarray, nrows: int, ncols: int) -> tuple[np.ndarray, np.ndarray]:
    """(cells nrows x ncols, row totals) of a controlled grid, whatever its layout."""
    if nrows == 1 and ncols > 1:
        return grid[:, :-1], grid[:, -1]
    if ncols == 1:
        return grid[:nrows, :1], grid[:nrows, 0]
    return grid[:-1, :-1], grid[:-1, -1]


def _labels(values: pd.Series, order: list[str]) -> list[str]:
    """The labels of ``order`` that occur in ``values`` (distinct values only: no Python object
    per record)."""
    present = {str(v) for v in pd.unique(values.dropna())}
    return [v for v in order if v in present]


def snapshot_tables(rec: pd.DataFrame, snap: pd.Timestamp, source: str, cfg: dict) -> dict[str, pd.DataFrame]:
    """workforce, workforce_age and ethnicity of one snapshot, controlled."""
    now = _in_post(rec, snap).dropna(subset=["icb_code"])
    sg_order, ages, eths = vocab.staff_group_codes(), vocab.workforce_age_bands(), vocab.ethnic_groups()
    wf, wa, eth = [], [], []
    for (icb, sector), g in now.groupby(["icb_code", "sector"], observed=True, sort=True):
        rows, cols = _labels(g["staff_group"], sg_order), _labels(g["age_band"], ages)
        erows = _labels(g["ethnic_group"], eths)
        s_grid = _grid(g, rows, cols, "age_band")
        fte = _grid(g, rows, cols, "age_band", "fte") if g["fte"].notna().any() else None
        e_grid = g.groupby("ethnic_group", observed=True).size().reindex(erows, fill_value=0).to_numpy(float)[:, None]
        out_s, out_e = disclosure.control_linked(
            [s_grid, e_grid], [_shared(len(rows), len(cols))[-1:], _shared(len(erows), 1)[-1:]], cfg,
            [{"fte": fte} if fte is not None else {}, {}])
        cells, totals = _split(out_s["counts"], len(rows), len(cols))
        fte_totals = _split(out_s["fte"], len(rows), len(cols))[1] if fte is not None else np.full(len(rows), np.nan)
        for i, sgc in enumerate(rows):
            wf.append({"icb_code": icb, "sector": sector, "staff_group": sgc, "headcount": totals[i],
                       "fte": fte_totals[i]})
            wa.extend({"icb_code": icb, "sector": sector, "staff_group": sgc, "age_band": a,
                       "headcount": cells[i, j]} for j, a in enumerate(cols))
        eth.extend({"icb_code": icb, "sector": sector, "ethnic_group": e, "people": out_e["counts"][k, 0]}
                   for k, e in enumerate(erows))
    registered = dict(zip(vocab.staff_groups()["code"], vocab.staff_groups()["registered"]))
    period = snap.to_period("M").to_timestamp()
    workforce = pd.DataFrame(wf, columns=["icb_code", "sector", "staff_group", "headcount", "fte"]).assign(
        period=period, source=source)
    workforce["registered"] = workforce["staff_group"].map(registered).astype(bool)
    return {
        "workforce": workforce[["period", "icb_code", "sector", "staff_group", "registered", "headcount", "fte", "source"]],
        "workforce_age": pd.DataFrame(wa, columns=["icb_code", "sector", "staff_group", "age_band", "headcount"]).assign(
            year=snap.year, source=source)[["year", "icb_code", "sector", "staff_group", "age_band", "headcount", "source"]],
        "ethnicity": pd.DataFrame(eth, columns=["icb_code", "sector", "ethnic_group", "people"]).assign(
            year=snap.year, group="workforce", source=source)[
            ["year", "icb_code", "group", "sector", "ethnic_group", "people", "source"]],
    }


def financial_year(a: pd.Timestamp, b: pd.Timestamp) -> int:
    """The financial year (starting April) holding the middle of the period a -> b."""
    mid = a + (b - a) / 2
    return mid.year if mid.month >= 4 else mid.year - 1


def person_moves(rec: pd.DataFrame, a: pd.Timestamp, b: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(leavers from their cell at ``a`` with where they went, joiners to their cell at ``b``)."""
    family = dict(zip(vocab.sectors()["code"], vocab.sectors()["family"]))
    rec = rec[["snapshot_date", "_leaving_date", "person_id", "organisation_id", "icb_code", "sector", "staff_group",
               "age_band", "destination_family"]].assign(_pid=pd.factorize(rec["person_id"])[0])  # join on integers
    was, now = _in_post(rec, a), _in_post(rec, b)
    gone = rec[(rec["snapshot_date"] == b) & rec["_leaving_date"].notna() & (rec["_leaving_date"] > a)
               & (rec["_leaving_date"] <= b)]
    keep = ["_pid", "organisation_id", "icb_code", "sector", "staff_group", "age_band"]
    m = was[keep].merge(now[["_pid", "organisation_id", "sector"]], on="_pid", how="left", suffixes=("", "_b"))
    m = m.merge(gone[["_pid", "destination_family"]].drop_duplicates("_pid"), on="_pid", how="left")
    stayed = m["organisation_id_b"].astype(object) == m["organisation_id"].astype(object)
    leavers = m[~stayed].copy()
    fam_a = leavers["sector"].astype(str).map(family)
    fam_b = leavers["sector_b"].astype(object).map(family)
    traced = leavers["organisation_id_b"].notna()
    same_sector = traced & (leavers["sector_b"].astype(object) == leavers["sector"].astype(object))
    other_family = (traced & (fam_b != fam_a)) | (~traced & leavers["destination_family"].notna()
                                                   & (leavers["destination_family"].astype(object) != fam_a))
    leavers["move"] = np.select([same_sector, traced & ~other_family, other_family],
                                ["other_organisation", "other_sector_same_family", "other_family"], "left")
    j = now[keep].merge(was[["_pid", "organisation_id"]], on="_pid", how="left", suffixes=("", "_a"))
    joiners = j[j["organisation_id_a"].astype(object) != j["organisation_id"].astype(object)]
    return leavers.dropna(subset=["icb_code"]), joiners.dropna(subset=["icb_code"])


def flow_tables(rec: pd.DataFrame, a: pd.Timestamp, b: pd.Timestamp, source: str, cfg: dict,
                staff: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """flows, leaving_rates and moves between snapshots a and b, controlled. ``staff``: snapshot a's
    controlled ``workforce`` and ``workforce_age`` tables; the staff in post the flows tables show are
    taken from them, so that a figure suppressed in one table is never published in another."""
    months = int(round((b - a).days / 30.4375))
    if not 1 <= months <= 12:
        raise ValueError(f"snapshots {a:%Y-%m-%d} and {b:%Y-%m-%d} are {months} months apart; flows need two "
                         "snapshots 1 to 12 months apart")
    year = financial_year(a, b)
    leavers, joiners = person_moves(rec, a, b)
    was = _in_post(rec, a).dropna(subset=["icb_code"])
    sg_order, ages = vocab.staff_group_codes(), vocab.workforce_age_bands()
    fl, lr, mv = [], [], []
    def cells(df: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
        return {(str(i), str(s)): g for (i, s), g in df.groupby(["icb_code", "sector"], observed=True, sort=False)}

    was_g, lv_g, jn_g = cells(was), cells(leavers), cells(joiners)
    keys = sorted(set(was_g) | set(jn_g))
    empty = leavers.iloc[:0]
    for icb, sector in keys:
        g, lv, jn = was_g.get((icb, sector), empty), lv_g.get((icb, sector), empty), jn_g.get((icb, sector), empty)
        rows = _labels(pd.concat([g["staff_group"].astype(str), jn["staff_group"].astype(str)]), sg_order)
        cols = _labels(g["age_band"].astype(str), ages) or ages[:1]
        s_grid = _grid(g, rows, cols, "age_band")
        l_grid = _grid(lv, rows, cols, "age_band")
        m_grid = _grid(lv, rows, MOVES, "move")
        j_grid = _grid(jn, rows, [], None)
        out_s = disclosure.control_grid(s_grid, cfg=cfg)
        out_l, out_m = disclosure.control_linked(
            [l_grid, m_grid], [_shared(len(rows), len(cols)), _shared(len(rows), len(MOVES))], cfg)
        out_j = disclosure.control_grid(j_grid, cfg=cfg)
        s_cells, s_tot = _split(out_s["counts"], len(rows), len(cols))
        if staff is not None:           # the published staff in post of snapshot a, cell for cell
            s_cells, s_tot = _published_staff(staff, icb, sector, rows, cols)
        l_cells, l_tot = _split(out_l["counts"], len(rows), len(cols))
        m_cells, _ = _split(out_m["counts"], len(rows), len(MOVES))
        j_cells, _ = _split(out_j["counts"], len(rows), 1)
        for i, sgc in enumerate(rows):
            fl.append({"icb_code": icb, "sector": sector, "staff_group": sgc, "staff_in_post": s_tot[i],
                       "joiners": j_cells[i, 0], "leavers": l_tot[i],
                       "leavers_to_other_sector": m_cells[i, MOVES.index("other_family")]})
            lr.extend({"icb_code": icb, "sector": sector, "staff_group": sgc, "age_band": age,
                       "staff_in_post": s_cells[i, j], "leavers": l_cells[i, j]} for j, age in enumerate(cols))
            mv.extend({"icb_code": icb, "sector": sector, "staff_group": sgc, "move": mvt,
                       "people": m_cells[i, j]} for j, mvt in enumerate(MOVES))
    flows = pd.DataFrame(fl, columns=["icb_code", "sector", "staff_group", "staff_in_post", "joiners", "leavers",
                                      "leavers_to_other_sector"]).assign(year=year, months=months, source=source)
    rates = pd.DataFrame(lr, columns=["icb_code", "sector", "staff_group", "age_band", "staff_in_post", "leavers"]).assign(
        year=year, months=months, source=source)
    rates["leaving_rate_pct"] = disclosure.controlled_rate(rates["leavers"], rates["staff_in_post"],
                                                           scale=100.0 * 12 / months, cfg=cfg)
    moves = pd.DataFrame(mv, columns=["icb_code", "sector", "staff_group", "move", "people"]).assign(
        year=year, months=months, source=source)
    return {
        "flows": flows[["year", "icb_code", "sector", "staff_group", "staff_in_post", "joiners", "leavers",
                        "leavers_to_other_sector", "months", "source"]],
        "leaving_rates": rates[["year", "icb_code", "sector", "staff_group", "age_band", "staff_in_post", "leavers",
                                "leaving_rate_pct", "months", "source"]],
        "moves": moves[["year", "icb_code", "sector", "staff_group", "move", "people", "months", "source"]],
    }


def _published_staff(staff: dict[str, pd.DataFrame], icb: str, sector: str, rows: list, cols: list) -> tuple[np.ndarray, np.ndarray]:
    """Snapshot a's published (controlled) headcount by staff group x age band and by staff group."""
    wa, wf = staff["workforce_age"], staff["workforce"]
    wa = wa[(wa["icb_code"] == icb) & (wa["sector"] == sector)].set_index(["staff_group", "age_band"])["headcount"]
    wf = wf[(wf["icb_code"] == icb) & (wf["sector"] == sector)].set_index("staff_group")["headcount"]
    cells = np.array([[wa.get((r, c), np.nan) for c in cols] for r in rows], dtype=float).reshape(len(rows), len(cols))
    totals = np.array([wf.get(r, np.nan) for r in rows], dtype=float)
    return cells, totals


def aggregate(rec: pd.DataFrame, source: str, cfg: dict | None = None) -> dict[str, pd.DataFrame]:
    """Every controlled table the records support: snapshot tables for each snapshot, flow tables
    for each pair of consecutive snapshots."""
    cfg = cfg or disclosure.record_level_settings()
    snaps = sorted(pd.Timestamp(s) for s in rec["snapshot_date"].unique())
    parts: dict[str, list[pd.DataFrame]] = {}
    published = {}
    for s in snaps:
        published[s] = snapshot_tables(rec, s, source, cfg)
        for name, df in published[s].items():
            parts.setdefault(name, []).append(df)
    for a, b in zip(snaps, snaps[1:]):
        for name, df in flow_tables(rec, a, b, source, cfg, staff=published[a]).items():
            parts.setdefault(name, []).append(df)
    return {name: pd.concat(dfs, ignore_index=True) for name, dfs in parts.items()}
