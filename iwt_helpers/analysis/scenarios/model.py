"""The scenario model: FTE demanded and supplied per cell (ICB x sector x staff group), year by
year, for many Monte Carlo runs at once (arrays runs x cells x years).

Demand. Base-year demand is the cell's posts (filled and vacant). Adult social care demand grows as
the ICB's population aged 65+ (Skills for Care's method); NHS and general practice demand as its
population weighted by use of services at each age. Each family's demand then grows by its need
beyond demography (a ranged assumption; 0 for social care in the baseline, Skills for Care's method).
Levers then act on demand: productivity,
care moved from hospital to home (NHS demand down, social care demand up) and new roles absorbing
GP and nurse work (their own demand up).

Supply. A stock and flow model by workforce age band:
``stock(t+1) = stock(t) - leavers + joiners + movers in``, where leavers are those who leave the
sector (moves to another job within it change no stock and are taken out of leavers and joiners
alike, as Skills for Care and the NHS turnover files count them in both), including those who move
to the other sector (they enter their new cell as movers in, keeping their age: counted once, so
the base year's joiners are net of them too). Each band then ages by a tenth of itself into the next
(the first band, 16-24, by a ninth). Leaving rates are the base-year rate shaped by age; joiners
come by three routes from outside the two sectors (newly qualified, international, returners and
the wider labour market), each supplying its share of the base year's joiners growing at its own
rate: a pipeline, so a gap grows when need outruns it. Employers take on joiners up to the posts
open less the base year's share of posts vacant. Moves from care work to the NHS follow the pay
gap. Nobody is created or lost: every flow leaves one stock and enters another or the outside
(``tests/test_scenarios.py`` checks it).

Gap = demand - supply: above zero, a shortfall; below zero, more staff than posts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import AGE_BANDS, ROUTES, Scenario
from .inputs import SOCIAL_CARE, Inputs

DTYPE = np.float32      # the age-band stocks (runs x cells x bands); totals and flows are float64
CARE_GROUPS = ("care_worker", "senior_care_worker")     # whose moves to the NHS follow the pay gap
BAND_YEARS = np.array([9, 10, 10, 10, 10, 0], dtype=DTYPE)   # ages in each band (65+ does not age out)
MAX_LEAVING_RATE = 0.95
# The parts of the change in the gap between the base year and the horizon, in the order a
# waterfall shows them (each: FTE added to the gap; they add up to the horizon gap exactly).
WATERFALL = (("base_gap", "Gap in the base year (vacant posts)"),
             ("demand_population", "Demand: population change"),
             ("demand_need", "Demand: need beyond demography"),
             ("demand_levers", "Demand: levers"),
             ("leavers", "Leaving the sector at base-year rates (incl. retirement and moves to the other sector)"),
             ("leaving_avoided", "Leaving avoided by levers"),
             ("joiners", "Joiners"),
             ("joiners_new_roles", "Joiners to new roles"),
             ("moves", "Movers in from the other sector"),
             ("horizon_gap", "Gap at the horizon"))


@dataclass
class Run:
    """One scenario's runs: arrays (runs, cells, years) of FTE, and the horizon's flows per cell
    (runs, cells), summed over the years, for the waterfall."""
    inputs: Inputs
    scenario: Scenario
    n_runs: int
    seed: int
    supply: np.ndarray
    demand: np.ndarray
    demand_population: np.ndarray       # (runs, cells, years): demand with no lever (demography and need beyond it)
    flows: dict[str, np.ndarray]        # leavers_base, leaving_avoided, moved_out, moved_in, joiners, joiners_new_roles,
                                        # joiners_<route> (new roles in theirs), joiners_not_needed, within_sector_moves
    stock_by_age: np.ndarray            # (runs, cells, age bands): FTE in post at the horizon by age band
    demand_demography: np.ndarray | None = None   # (runs, cells): demand at the horizon from demography alone

    @property
    def gap(self) -> np.ndarray:
        return self.demand - self.supply


def _mask(cells, sectors, groups) -> np.ndarray:
    return (cells["sector"].isin(sectors) & cells["staff_group"].isin(groups)).to_numpy()


def _ramp(t: int, years: np.ndarray) -> np.ndarray:
    """Share of a lever's full effect reached in year t when it phases in over ``years``."""
    return np.minimum(1.0, t / np.maximum(years, 1e-9))


def _per_icb(values: np.ndarray, icb_of: np.ndarray, n_icbs: int) -> np.ndarray:
    """Sum (runs, cells, years) over the cells of each ICB -> (runs, ICBs, years)."""
    out = np.zeros((values.shape[0], n_icbs, values.shape[2]), dtype=DTYPE)
    for i in np.unique(icb_of):
        out[:, i, :] = values[:, icb_of == i, :].sum(axis=1)
    return out


def _demand(inp: Inputs, sc: Scenario, d: dict[str, np.ndarray], n_runs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cells = inp.cells
    icb = inp.icb_index()
    n_icb = len(inp.icbs)
    T = inp.horizon
    t = np.arange(T + 1, dtype=DTYPE)
    health = (cells["family"] == "health").to_numpy()
    d0 = cells["demand0"].to_numpy(dtype=DTYPE)
    head = inp.pop_all / inp.pop_all[:, :1]
    older = inp.pop_65 / inp.pop_65[:, :1]
    weighted = inp.pop_weighted / inp.pop_weighted[:, :1]
    w = d["nhs_age_weighting"][:, None, None]
    growth = np.empty((n_runs, len(cells), T + 1), dtype=DTYPE)
    growth[:, health, :] = (1 - w) * head[icb[health]][None] + w * weighted[icb[health]][None]
    growth[:, ~health, :] = older[icb[~health]][None]
    demography = d0[None, :] * growth[:, :, -1]
    need = np.where(health[None, :], d["need_growth_health"][:, None], d["need_growth_social_care"][:, None])   # (R, C)
    growth *= ((1 + need[:, :, None]) ** t[None, None, :]).astype(DTYPE)
    population = d0[None, :, None] * growth
    demand = population.copy()

    if "productivity" in sc.levers:
        lv = sc.levers["productivity"]
        m = _mask(cells, lv.lists["sectors"], lv.lists["staff_groups"])
        demand[:, m, :] *= (1 - d["productivity.yearly_gain"])[:, None, None] ** t[None, None, :]
    ramp = t / max(T, 1)
    if "hospital_to_home" in sc.levers:
        lv = sc.levers["hospital_to_home"]
        src = _mask(cells, lv.lists["from_sectors"], lv.lists["from_staff_groups"])
        dst = _mask(cells, lv.lists["to_sectors"], lv.lists["to_staff_groups"])
        moved = demand[:, src, :] * d["hospital_to_home.shifted_share"][:, None, None] * ramp[None, None, :]
        demand[:, src, :] -= moved
        per_icb = _per_icb(moved, icb[src], n_icb) * d["hospital_to_home.social_care_fte_per_shifted"][:, None, None]
        demand[:, dst, :] += per_icb[:, icb[dst], :] * _share_within_icb(d0, dst, icb)[None, :, None]
    if "new_roles" in sc.levers:
        lv = sc.levers["new_roles"]
        src = _mask(cells, lv.lists["from_sectors"], lv.lists["from_staff_groups"])
        dst = _mask(cells, [lv.lists["to_sector"][0]], [lv.lists["to_staff_group"][0]])
        absorbed = demand[:, src, :] * d["new_roles.absorbed_share"][:, None, None] * ramp[None, None, :]
        demand[:, src, :] -= absorbed
        per_icb = _per_icb(absorbed, icb[src], n_icb) * d["new_roles.fte_per_absorbed"][:, None, None]
        demand[:, dst, :] += per_icb[:, icb[dst], :]
    return demand, population, demography


def _share_within_icb(d0: np.ndarray, mask: np.ndarray, icb: np.ndarray) -> np.ndarray:
    """Each masked cell's share of its ICB's base demand over the masked cells (equal shares where
    the ICB's masked cells have no demand)."""
    sub, icb_sub = d0[mask], icb[mask]
    tot = np.bincount(icb_sub, weights=sub, minlength=icb.max() + 1)
    cnt = np.bincount(icb_sub, minlength=icb.max() + 1)
    return np.where(tot[icb_sub] > 0, sub / np.where(tot[icb_sub] > 0, tot[icb_sub], 1), 1 / cnt[icb_sub])


def _move_batches(target: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(sources, targets) index pairs grouped so that no batch names a target twice (so that
    ``inflow[:, tgt] += moved[:, src]`` adds every source)."""
    batches: list[tuple[list[int], list[int]]] = []
    for src, tgt in enumerate(target):
        if tgt < 0:
            continue
        for b in batches:
            if tgt not in b[1]:
                b[0].append(src)
                b[1].append(tgt)
                break
        else:
            batches.append(([src], [tgt]))
    return [(np.array(s), np.array(t)) for s, t in batches]


def within_share(cells, d: dict[str, np.ndarray]) -> np.ndarray:
    """(runs, cells): share of each cell's leavers (as its source counts them: leaving a job or an
    organisation) who take another job in the same sector, so leave no stock."""
    social = cells["sector"].isin(SOCIAL_CARE).to_numpy()
    return np.where(social[None, :], d["social_care_leavers_staying_in_sector"][:, None], d["nhs_leavers_to_other_nhs"][:, None])


def leaving_scale(cells, d: dict[str, np.ndarray]) -> np.ndarray:
    """(runs, cells): the scale on each cell's observed leaving rate; rates annualised from fewer than
    12 months carry the wider ``short_window_rate_scale`` on top of ``leaving_rate_scale``."""
    months = cells["rate_months"].to_numpy() if "rate_months" in cells else np.full(len(cells), 12)
    short = (months < 12)[None, :]
    return d["leaving_rate_scale"][:, None] * np.where(short, d["short_window_rate_scale"][:, None], 1.0)


def simulate(inp: Inputs, sc: Scenario, d: dict[str, np.ndarray], seed: int = 0) -> Run:
    """Run the model for every draw in ``d`` (see :func:`config.draws`)."""
    cells = inp.cells
    R = len(d["leaving_rate_scale"])
    C, T = len(cells), inp.horizon
    icb = inp.icb_index()
    demand, population, demography = _demand(inp, sc, d, R)
    demand, population = demand.astype(DTYPE), population.astype(DTYPE)

    shares = cells[list(AGE_BANDS)].to_numpy(dtype=DTYPE)                  # (C, A)
    fte0 = cells["fte0"].to_numpy(dtype=DTYPE)
    within = within_share(cells, d)                                          # (R, C)
    scale = leaving_scale(cells, d)                                          # (R, C)
    m = d["leaving_by_age"]                                                  # (R, A)
    norm = m @ shares.T                                                      # (R, C): base rate kept at the observed one
    # Leaving the sector: the observed rate (leaving a job or an organisation) less moves within the sector.
    exit_scale = scale * (1 - within)                                        # (R, C)
    rate = (cells["leave_rate"].to_numpy(dtype=DTYPE)[None, :, None] * exit_scale[:, :, None]
            * m[:, None, :] / np.where(norm > 0, norm, 1)[:, :, None])
    own = [f"age_rate_{b}" for b in AGE_BANDS]
    if set(own) <= set(cells.columns):        # a record-level extract's leaving by age, where a cell has it
        local = cells[own].to_numpy(dtype=DTYPE)
        has = np.isfinite(local).all(axis=1)
        rate[:, has, :] = local[None, has, :] * exit_scale[:, has, None]
    np.minimum(rate, MAX_LEAVING_RATE, out=rate)
    jage = d["joiner_age_profile"] / d["joiner_age_profile"].sum(axis=1, keepdims=True)   # (R, A)

    routes = sc.assumptions["joiner_routes"]
    fam = cells["family"].to_numpy()
    families = list(dict.fromkeys(fam))
    fam_index = np.array([families.index(f) for f in fam])
    route_share = np.array([[routes[f][r] for r in ROUTES] for f in families])               # (families, 3)
    growth = np.stack([d["newly_qualified_growth"], d["international_growth"], d["wider_labour_market_growth"]], axis=1)
    fillable = 1 / cells["posts_per_filled"].to_numpy(dtype=np.float64)     # share of posts employers fill

    # Moves between sectors, as a share of those leaving the sector: from social care, the data's share
    # of job leavers (scaled); from health, where no file records them, a ranged assumption, not zero.
    health = (cells["family"] == "health").to_numpy()
    has_target = (cells["target"].to_numpy() >= 0)[None, :]
    from_social = cells["move_share"].to_numpy(dtype=np.float64)[None, :] * d["cross_sector_scale"][:, None] / np.maximum(1 - within, 1e-9)
    x0 = np.where(health[None, :], d["nhs_leavers_to_social_care"][:, None], from_social)
    x0 = np.clip(np.where(has_target, x0, 0.0), 0.0, 1.0)                    # (R, C)
    care = (cells["sector"].isin(SOCIAL_CARE) & cells["staff_group"].isin(CARE_GROUPS)).to_numpy()
    care = care & np.isfinite(inp.pay_gap0[icb]) & (inp.pay_gap0[icb] > 0)
    batches = _move_batches(cells["target"].to_numpy())

    # The base year's joiners, as the sources count them, include moves within the sector and movers from
    # the other sector: both are modelled as flows, so the routes from outside supply the rest (each mover
    # is counted once).
    leave_obs = cells["leave_rate"].to_numpy(dtype=np.float64) * fte0                       # (C,)
    within0 = leave_obs[None, :] * within
    movers0 = leave_obs[None, :] * (1 - within) * x0                                         # (R, C) out of each cell
    inflow0 = np.zeros((R, C))
    for src, tgt in batches:
        inflow0[:, tgt] += movers0[:, src]
    j0 = np.maximum(0.0, cells["join_rate"].to_numpy(dtype=np.float64)[None, :] * fte0[None, :] - within0 - inflow0)   # (R, C)

    parity = sc.levers.get("pay_parity")
    parity_mask = _mask(cells, parity.lists["sectors"], parity.lists["staff_groups"]) if parity else None
    retention = sc.levers.get("retention")
    retention_mask = _mask(cells, retention.lists["sectors"], retention.lists["staff_groups"]) if retention else None
    new_roles = sc.levers.get("new_roles")
    if new_roles:
        nr = new_roles.lists
        nr_cell = _mask(cells, [nr["to_sector"][0]], [nr["to_staff_group"][0]])
        nr_demand = demand[:, nr_cell, :] - population[:, nr_cell, :]          # new-role posts at each year
    # Stocks by age band are held band-first, (bands, runs, cells), so that sums over bands and the
    # ageing of one band into the next work on whole contiguous planes.
    S = np.ascontiguousarray((shares.T[:, None, :] * fte0[None, None, :] * np.ones((1, R, 1))).astype(DTYPE))
    rate = np.ascontiguousarray(np.moveaxis(rate, 2, 0).astype(DTYPE))
    jage32 = np.ascontiguousarray(jage.T.astype(DTYPE))[:, :, None]                 # (A, R, 1)
    ageing_share = (1 / np.where(BAND_YEARS[:-1] > 0, BAND_YEARS[:-1], 1)).astype(DTYPE)
    total = np.broadcast_to(fte0[None, :], (R, C)).astype(np.float64)      # FTE in post, (R, C)
    supply = np.empty((R, C, T + 1), dtype=DTYPE)
    supply[:, :, 0] = total
    acc = {k: np.zeros((R, C)) for k in
           ("leavers_base", "leaving_avoided", "moved_out", "moved_in", "joiners", "joiners_new_roles", "joiners_not_needed",
            "within_sector_moves", *(f"joiners_{r}" for r in ROUTES))}
    nr_route = ROUTES.index("wider_labour_market")                           # new roles recruit from the wider labour market
    lb = np.empty_like(S)
    for t in range(1, T + 1):
        factor = np.ones((R, C))
        if retention:
            factor[:, retention_mask] *= (1 - d["retention.leaving_reduction"] * _ramp(t, d["retention.phase_years"]))[:, None]
        gap_rel = (1 + d["pay_gap_drift"]) ** t                                   # gap(t) / gap(base), (R,)
        if parity:
            reached = _ramp(t, d["pay_parity.phase_years"])
            factor[:, parity_mask] *= (1 - d["pay_parity.leaving_reduction"] * reached)[:, None]
            gap_rel = gap_rel * (1 - reached)
        x = x0.copy()
        x[:, care] *= np.maximum(0.0, 1 + d["flow_response_to_pay"] * (gap_rel - 1))[:, None]
        np.multiply(S, rate, out=lb)                                             # leavers at base-year rates
        leave_base = lb.sum(axis=0, dtype=np.float64)
        if retention or parity:
            np.multiply(lb, factor.astype(DTYPE), out=lb)                        # leavers after the levers
        leave = leave_base * factor
        S -= lb
        moved = leave * x
        inflow = np.zeros((R, C))
        x32 = x.astype(DTYPE)
        for src, tgt in batches:                                                 # movers keep their age band
            S[:, :, tgt] += lb[:, :, src] * x32[:, src]
            inflow[:, tgt] += moved[:, src]
        # Joiners: what the routes supply, up to the posts open once leavers and movers are counted,
        # less the base year's share of posts vacant (vacancies that persist however many apply).
        by_route = ((1 + growth) ** t)[:, None, :] * route_share[fam_index][None, :, :]   # (R, C, routes)
        pipeline_r = j0[:, :, None] * by_route
        pipeline = pipeline_r.sum(axis=2)
        before = total - leave + inflow
        join = np.minimum(pipeline, np.maximum(0.0, demand[:, :, t] * fillable[None, :] - before))
        taken = np.divide(join, pipeline, out=np.zeros_like(join), where=pipeline > 0)
        for k, r in enumerate(ROUTES):
            acc[f"joiners_{r}"] += pipeline_r[:, :, k] * taken
        S += jage32 * join.astype(DTYPE)[None]
        total = before + join
        if new_roles:
            step = np.maximum(0.0, nr_demand[:, :, t] - nr_demand[:, :, t - 1]) * d["new_roles.recruited_share"][:, None]
            S[:, :, nr_cell] += jage32 * step.astype(DTYPE)[None]
            total[:, nr_cell] += step
            acc["joiners_new_roles"][:, nr_cell] += step
            acc[f"joiners_{ROUTES[nr_route]}"][:, nr_cell] += step
        for a in range(len(AGE_BANDS) - 2, -1, -1):                              # oldest first: each band ages once
            ageing = S[a] * ageing_share[a]
            S[a] -= ageing
            S[a + 1] += ageing
        supply[:, :, t] = total
        acc["leavers_base"] += leave_base
        acc["leaving_avoided"] += leave_base - leave
        acc["moved_out"] += moved
        acc["moved_in"] += inflow
        acc["joiners"] += join
        acc["joiners_not_needed"] += pipeline - join
        acc["within_sector_moves"] += supply[:, :, t - 1] * cells["leave_rate"].to_numpy()[None, :] * scale * within
    return Run(inp, sc, R, seed, supply, demand, population, acc, np.moveaxis(S, 0, 2), demography)


def waterfall_parts(run: Run, cell_mask: np.ndarray | None = None) -> dict[str, float]:
    """The change in the gap from the base year to the horizon, split into its parts (mean over the
    runs, in FTE; the parts add up to the horizon gap). Leavers are counted at the base year's rates
    and include those who move to the other sector; movers in are those who came from it."""
    m = np.ones(len(run.inputs.cells), dtype=bool) if cell_mask is None else cell_mask
    f = {k: v[:, m].sum(axis=1).mean() for k, v in run.flows.items()}
    d0 = run.demand[:, m, 0].sum(axis=1).mean()
    s0 = run.supply[:, m, 0].sum(axis=1).mean()
    pop_h = run.demand_population[:, m, -1].sum(axis=1).mean()
    demog_h = run.demand_demography[:, m].sum(axis=1).mean() if run.demand_demography is not None else pop_h
    dem_h = run.demand[:, m, -1].sum(axis=1).mean()
    parts = {"base_gap": d0 - s0, "demand_population": demog_h - d0, "demand_need": pop_h - demog_h,
             "demand_levers": dem_h - pop_h,
             "leavers": f["leavers_base"], "leaving_avoided": -f["leaving_avoided"], "joiners": -f["joiners"],
             "joiners_new_roles": -f["joiners_new_roles"], "moves": -f["moved_in"]}
    parts["horizon_gap"] = (run.demand[:, m, -1] - run.supply[:, m, -1]).sum(axis=1).mean()
    return {k: float(round(v, 6)) + 0.0 for k, v in parts.items()}     # + 0.0: no '-0' in tables
