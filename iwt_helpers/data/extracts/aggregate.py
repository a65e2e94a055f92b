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
CELL = ["icb_code", "sector"]                     # each (ICB, sector) is controlled as its own grids


def _in_post(rec: pd.DataFrame, snap: pd.Timestamp) -> pd.DataFrame:
    r = rec[rec["snapshot_date"] == snap]
    return r[r["_leaving_date"].isna() | (r["_leaving_date"] > snap)]


Cell = dict[tuple, tuple]       # one (ICB, sector)'s figures: labels of the keys -> (records, sum, count)


def _per_cell(df: pd.DataFrame, keys: list[str], value: str | None = None) -> dict[tuple[str, str], Cell]:
    """Records of df by ICB x sector x ``keys``, in one pass over the records: for each cell (ICB,
    sector as text; records without either are left out, as when grouping by cell), the labels of
    ``keys`` it has records for, with how many records and, with ``value``, its sum and how many
    records have one. Missing values of ``keys`` are kept as labels (NaN), so every label a cell has
    records for is there. A cell's records are summed in the same order as on their own, so sums
    agree to the last bit."""
    grouped = df.groupby(CELL + keys, observed=True, dropna=False)
    figures = pd.DataFrame({"n": grouped.size()} if value is None else
                           {"n": grouped.size(), "sum": grouped[value].sum(), "count": grouped[value].count()})
    cells: dict[tuple[str, str], Cell] = {}
    for (icb, sector, *labels), *values in zip(figures.index, *(figures[c].to_numpy() for c in figures)):
        if pd.notna(icb) and pd.notna(sector):
            cells.setdefault((str(icb), str(sector)), {})[tuple(labels)] = tuple(values)
    return cells


def _grid(cell: Cell | None, rows: list, cols: list | None, figure: int = 0) -> np.ndarray:
    """One cell's ``figure`` (0 records, 1 sum) by staff group (the first key of :func:`_per_cell`)
    and ``cols`` (the second), on the given labels, zero where there are none; ``cols`` None: a
    single column."""
    grid = np.zeros((len(rows), 1 if cols is None else len(cols)))
    at_row = {r: i for i, r in enumerate(rows)}
    at_col = {c: j for j, c in enumerate(cols or [])}
    for labels, values in (cell or {}).items():
        i, j = at_row.get(labels[0]), 0 if cols is None else at_col.get(labels[1])
        if i is not None and j is not None:
            grid[i, j] = values[figure]
    return grid


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


def _labels(*cells: Cell | None, key: int, order: list[str]) -> list[str]:
    """The labels of ``order`` that any of ``cells`` has records for, as its ``key``-th key."""
    seen = {str(labels[key]) for cell in cells for labels in (cell or {}) if pd.notna(labels[key])}
    return [v for v in order if v in seen]


def snapshot_tables(rec: pd.DataFrame, snap: pd.Timestamp, source: str, cfg: dict) -> dict[str, pd.DataFrame]:
    """workforce, workforce_age and ethnicity of one snapshot, controlled."""
    cols_used = ["snapshot_date", "_leaving_date", *CELL, "staff_group", "age_band", "ethnic_group", "fte"]
    now = _in_post(rec[cols_used], snap).dropna(subset=["icb_code"])
    sg_order, ages, eths = vocab.staff_group_codes(), vocab.workforce_age_bands(), vocab.ethnic_groups()
    staff, ethnic = _per_cell(now, ["staff_group", "age_band"], "fte"), _per_cell(now, ["ethnic_group"])
    wf, wa, eth = [], [], []
    for icb, sector in now.groupby(CELL, observed=True, sort=True).size().index:
        st, et = staff[(str(icb), str(sector))], ethnic[(str(icb), str(sector))]
        rows, cols = _labels(st, key=0, order=sg_order), _labels(st, key=1, order=ages)
        erows = _labels(et, key=0, order=eths)
        s_grid = _grid(st, rows, cols)
        fte = _grid(st, rows, cols, figure=1) if sum(count for _, _, count in st.values()) > 0 else None
        e_grid = _grid(et, erows, None)
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


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    """a == b value by value, a missing value equal to nothing (two categoricals of one column are
    compared on their codes rather than as Python objects)."""
    if isinstance(a.dtype, pd.CategoricalDtype) and a.dtype == b.dtype:
        ca, cb = a.cat.codes.to_numpy(), b.cat.codes.to_numpy()
        return (ca == cb) & (ca >= 0)
    return (a.astype(object) == b.astype(object)).to_numpy()


def person_moves(rec: pd.DataFrame, a: pd.Timestamp, b: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(leavers from their cell at ``a`` with where they went, joiners to their cell at ``b``)."""
    family = dict(zip(vocab.sectors()["code"], vocab.sectors()["family"]))
    pid = rec["_person"] if "_person" in rec else pd.factorize(rec["person_id"])[0]   # join on integers
    rec = rec[["snapshot_date", "_leaving_date", "organisation_id", "icb_code", "sector", "staff_group",
               "age_band", "destination_family"]].assign(_pid=pid)
    was, now = _in_post(rec, a), _in_post(rec, b)
    gone = rec[(rec["snapshot_date"] == b) & rec["_leaving_date"].notna() & (rec["_leaving_date"] > a)
               & (rec["_leaving_date"] <= b)]
    keep = ["_pid", "organisation_id", "icb_code", "sector", "staff_group", "age_band"]
    m = was[keep].merge(now[["_pid", "organisation_id", "sector"]], on="_pid", how="left", suffixes=("", "_b"))
    m = m.merge(gone[["_pid", "destination_family"]].drop_duplicates("_pid"), on="_pid", how="left")
    leavers = m[~_same(m["organisation_id_b"], m["organisation_id"])].copy()
    fam_a = leavers["sector"].astype(str).map(family)
    fam_b = leavers["sector_b"].astype(object).map(family)
    traced = leavers["organisation_id_b"].notna()
    same_sector = traced & (leavers["sector_b"].astype(object) == leavers["sector"].astype(object))
    other_family = (traced & (fam_b != fam_a)) | (~traced & leavers["destination_family"].notna()
                                                   & (leavers["destination_family"].astype(object) != fam_a))
    leavers["move"] = np.select([same_sector, traced & ~other_family, other_family],
                                ["other_organisation", "other_sector_same_family", "other_family"], "left")
    j = now[keep].merge(was[["_pid", "organisation_id"]], on="_pid", how="left", suffixes=("", "_a"))
    joiners = j[~_same(j["organisation_id_a"], j["organisation_id"])]
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
    was = _in_post(rec[["snapshot_date", "_leaving_date", *CELL, "staff_group", "age_band"]], a).dropna(
        subset=["icb_code"])
    sg_order, ages = vocab.staff_group_codes(), vocab.workforce_age_bands()
    fl, lr, mv = [], [], []
    was_n = _per_cell(was, ["staff_group", "age_band"])
    left_n, moved_n = _per_cell(leavers, ["staff_group", "age_band"]), _per_cell(leavers, ["staff_group", "move"])
    joined_n = _per_cell(joiners, ["staff_group"])
    published = _published_staff(staff) if staff is not None else {}
    for icb, sector in sorted(set(was_n) | set(joined_n)):
        key = (icb, sector)
        rows = _labels(was_n.get(key), joined_n.get(key), key=0, order=sg_order)
        cols = _labels(was_n.get(key), key=1, order=ages) or ages[:1]
        s_grid = _grid(was_n.get(key), rows, cols)
        l_grid = _grid(left_n.get(key), rows, cols)
        m_grid = _grid(moved_n.get(key), rows, MOVES)
        j_grid = _grid(joined_n.get(key), rows, None)
        out_s = disclosure.control_grid(s_grid, cfg=cfg)
        out_l, out_m = disclosure.control_linked(
            [l_grid, m_grid], [_shared(len(rows), len(cols)), _shared(len(rows), len(MOVES))], cfg)
        out_j = disclosure.control_grid(j_grid, cfg=cfg)
        s_cells, s_tot = _split(out_s["counts"], len(rows), len(cols))
        if staff is not None:           # the published staff in post of snapshot a, cell for cell
            s_cells, s_tot = _published_cells(*published.get((icb, sector), ({}, {})), rows, cols)
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


def _published_staff(staff: dict[str, pd.DataFrame]) -> dict[tuple[str, str], tuple[dict, dict]]:
    """Snapshot a's published (controlled) headcount by staff group x age band and by staff group,
    per (ICB, sector)."""
    wa, wf = staff["workforce_age"], staff["workforce"]
    cells: dict[tuple[str, str], tuple[dict, dict]] = {}
    for icb, sector, group, band, n in zip(wa["icb_code"], wa["sector"], wa["staff_group"], wa["age_band"],
                                           wa["headcount"]):
        cells.setdefault((icb, sector), ({}, {}))[0][(group, band)] = n
    for icb, sector, group, n in zip(wf["icb_code"], wf["sector"], wf["staff_group"], wf["headcount"]):
        cells.setdefault((icb, sector), ({}, {}))[1][group] = n
    return cells


def _published_cells(wa: dict, wf: dict, rows: list, cols: list) -> tuple[np.ndarray, np.ndarray]:
    """One cell's published headcount on the given staff groups x age bands, and by staff group."""
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
