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
rate: a pipeline, so a gap grows when need outruns it. NHS trusts' and general practice's base-year
rates are on the published basis (:mod:`.calibration`): leaving at a published level, and joiners
that keep up the growth of the years before the base year (GPs: training output). Employers take on joiners up to the posts
open less the base year's share of posts vacant. Moves from care work to the NHS follow the pay
gap. Nobody is created or lost: every flow leaves one stock and enters another or the outside
(``tests/test_scenarios.py`` checks it).

Gap = demand - supply: above zero, a shortfall; below zero, more staff than posts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import calibration, levers
from .config import AGE_BANDS, FAMILIES, ROUTES, Scenario
from .inputs import SOCIAL_CARE, Inputs

DTYPE = levers.DTYPE    # the age-band stocks (runs x cells x bands); totals and flows are float64
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
FLOWS = ("leavers_base", "leaving_avoided", "moved_out", "moved_in", "joiners", "joiners_new_roles", "joiners_not_needed",
         "within_sector_moves", *(f"joiners_{r}" for r in ROUTES))


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
    flows: dict[str, np.ndarray]        # FLOWS: joiners_new_roles are recruits levers bring beyond the routes,
                                        # joiners_<route> the joiners of each route (those recruits in theirs)
    stock_by_age: np.ndarray            # (runs, cells, age bands): FTE in post at the horizon by age band
    demand_demography: np.ndarray | None = None   # (runs, cells): demand at the horizon from demography alone

    @property
    def gap(self) -> np.ndarray:
        return self.demand - self.supply


def _demand(inp: Inputs, frame: levers.Frame, acting: list[levers.Acting], d: dict[str, np.ndarray],
            n_runs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(demand with the levers, demand without them, demand at the horizon from demography alone)."""
    cells, icb, t = inp.cells, frame.icb, frame.t
    health = (cells["family"] == "health").to_numpy()
    d0 = frame.d0
    head = inp.pop_all / inp.pop_all[:, :1]
    older = inp.pop_65 / inp.pop_65[:, :1]
    weighted = inp.pop_weighted / inp.pop_weighted[:, :1]
    w = d["nhs_age_weighting"][:, None, None]
    growth = np.empty((n_runs, len(cells), len(t)), dtype=DTYPE)
    growth[:, health, :] = (1 - w) * head[icb[health]][None] + w * weighted[icb[health]][None]
    growth[:, ~health, :] = older[icb[~health]][None]
    demography = d0[None, :] * growth[:, :, -1]
    need = np.where(health[None, :], d["need_growth_health"][:, None], d["need_growth_social_care"][:, None])   # (R, C)
    growth *= ((1 + need[:, :, None]) ** t[None, None, :]).astype(DTYPE)
    population = d0[None, :, None] * growth
    demand = population.copy()
    levers.on_demand(acting, demand)
    return demand, population, demography


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
    """(runs, cells): share of each cell's leavers (as its source counts them: leaving a job) who take
    another job in the same sector, so leave no stock: adult social care's. Health cells' rates are of
    leaving the sector already (moves between NHS organisations are what the turnover files count beyond
    the published rate of leaving the NHS)."""
    social = cells["sector"].isin(SOCIAL_CARE).to_numpy()
    return np.where(social[None, :], d["social_care_leavers_staying_in_sector"][:, None], 0.0)


def exit_rates(cells, d: dict[str, np.ndarray], within: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(runs, cells) twice: the yearly rate of leaving the sector in the projection, and in the base year
    (as observed, which the base year's joiners balance). Data's own rates: the observed rate less moves
    within the sector, the projection's scaled by ``leaving_rate_scale``; published basis: the drawn level
    with the cell's pattern (:func:`calibration.leaving`), the base year's as the projection's."""
    observed = cells["leave_rate"].to_numpy(dtype=np.float64)[None, :] * (1 - within)
    projected = observed * d["leaving_rate_scale"][:, None]
    m = calibration.published(cells)
    if m.any():
        cal = calibration.leaving(cells, d)
        projected[:, m] = observed[:, m] = cal[:, m]
    return projected, observed


def _leaving_rates(cells, d: dict[str, np.ndarray], exit_rate: np.ndarray) -> np.ndarray:
    """(bands, runs, cells): the yearly rate of leaving the sector by age band, shaped by age so that the
    base year's rate is ``exit_rate`` (or a record-level extract's own rates by age, where a cell has them,
    scaled as the cell's rate is); capped."""
    shares = cells[list(AGE_BANDS)].to_numpy(dtype=DTYPE)                  # (C, A)
    m = d["leaving_by_age"]                                                  # (R, A)
    norm = m @ shares.T                                                      # (R, C)
    rate = exit_rate.astype(DTYPE)[:, :, None] * m[:, None, :] / np.where(norm > 0, norm, 1)[:, :, None]
    own = [f"age_rate_{b}" for b in AGE_BANDS]
    if set(own) <= set(cells.columns):
        local = cells[own].to_numpy(dtype=DTYPE)
        has = np.isfinite(local).all(axis=1)
        observed = cells["leave_rate"].to_numpy(dtype=np.float64)
        ratio = np.divide(exit_rate, observed[None, :], out=np.zeros_like(exit_rate), where=observed[None, :] > 0)
        rate[:, has, :] = local[None, has, :] * ratio[:, has, None].astype(DTYPE)
    np.minimum(rate, MAX_LEAVING_RATE, out=rate)
    return np.ascontiguousarray(np.moveaxis(rate, 2, 0).astype(DTYPE))


def route_index(cells, d: dict[str, np.ndarray], t: float) -> np.ndarray:
    """(runs, cells, routes): what each route supplies in year t against the base year. Newly qualified
    and the wider labour market grow at their yearly rates; international recruits to adult social care by
    ``international_growth``, to NHS trusts and general practice by ``health_international_first_year`` in
    the first year, then ``health_international_growth``."""
    nq, wlm = (1 + d["newly_qualified_growth"]) ** t, (1 + d["wider_labour_market_growth"]) ** t
    health = (1 + d["health_international_first_year"]) ** min(t, 1.0) * (1 + d["health_international_growth"]) ** max(t - 1.0, 0.0)
    by_family = {"health": np.stack([nq, health, wlm], axis=1),
                 "social care": np.stack([nq, (1 + d["international_growth"]) ** t, wlm], axis=1)}
    fam = cells["family"].to_numpy()
    out = np.empty((len(nq), len(cells), len(ROUTES)))
    for f in FAMILIES:
        out[:, fam == f, :] = by_family[f][:, None, :]
    return out


def _moves(inp: Inputs, d: dict[str, np.ndarray], within: np.ndarray) -> tuple[np.ndarray, np.ndarray, list]:
    """Moves between sectors: (runs, cells) share of those leaving the sector who go to the other one, the
    cells whose share follows the pay gap, and the (sources, targets) batches. From social care, the data's
    share of job leavers (scaled); from health, where no file records them, a ranged assumption, not zero."""
    cells, icb = inp.cells, inp.icb_index()
    health = (cells["family"] == "health").to_numpy()
    has_target = (cells["target"].to_numpy() >= 0)[None, :]
    from_social = cells["move_share"].to_numpy(dtype=np.float64)[None, :] * d["cross_sector_scale"][:, None] / np.maximum(1 - within, 1e-9)
    x0 = np.where(health[None, :], d["nhs_leavers_to_social_care"][:, None], from_social)
    x0 = np.clip(np.where(has_target, x0, 0.0), 0.0, 1.0)
    care = (cells["sector"].isin(SOCIAL_CARE) & cells["staff_group"].isin(CARE_GROUPS)).to_numpy()
    care = care & np.isfinite(inp.pay_gap0[icb]) & (inp.pay_gap0[icb] > 0)
    return x0, care, _move_batches(cells["target"].to_numpy())


def join_rates(cells, d: dict[str, np.ndarray], sc: Scenario, base_year: int, within: np.ndarray,
               observed_exit: np.ndarray) -> np.ndarray:
    """(runs, cells) yearly joiners to the sector in the base year per FTE in post, movers from the other
    sector included, moves within it not: the data's joiners less moves within the sector, or on the
    published basis those leaving plus the growth before the base year (:func:`calibration.joining`)."""
    leave = cells["leave_rate"].to_numpy(dtype=np.float64)[None, :]
    out = cells["join_rate"].to_numpy(dtype=np.float64)[None, :] - leave * within
    m = calibration.published(cells)
    if m.any():
        out[:, m] = calibration.joining(cells, d, sc, base_year, np.where(m[None, :], observed_exit, np.nan))[:, m]
    return out


def _base_joiners(fte0: np.ndarray, joined: np.ndarray, observed_exit: np.ndarray, x0: np.ndarray,
                  batches: list) -> np.ndarray:
    """(runs, cells) joiners from outside the two sectors in the base year. The base year's joiners to the
    sector (``joined``, per FTE) include movers from the other sector: they are modelled as a flow, so the
    routes from outside supply the rest (each mover is counted once)."""
    movers0 = observed_exit * fte0[None, :] * x0                                             # out of each cell
    inflow0 = np.zeros(x0.shape)
    for src, tgt in batches:
        inflow0[:, tgt] += movers0[:, src]
    return np.maximum(0.0, joined * fte0[None, :] - inflow0)


def _age(S: np.ndarray, ageing_share: np.ndarray) -> None:
    """A year of ageing: a share of each band moves to the next, oldest first, so each band ages once."""
    for a in range(S.shape[0] - 2, -1, -1):
        ageing = S[a] * ageing_share[a]
        S[a] -= ageing
        S[a + 1] += ageing


def simulate(inp: Inputs, sc: Scenario, d: dict[str, np.ndarray], seed: int = 0) -> Run:
    """Run the model for every draw in ``d`` (see :func:`config.draws`); the scenario's levers act
    through the effects they declare (:mod:`.levers`)."""
    cells = inp.cells
    R, C, T = len(d["leaving_rate_scale"]), len(cells), inp.horizon
    frame = levers.Frame(cells, inp.icb_index(), len(inp.icbs), cells["demand0"].to_numpy(dtype=DTYPE),
                         np.arange(T + 1, dtype=DTYPE))
    acting = levers.at_work(sc.levers, d, frame)
    demand, population, demography = _demand(inp, frame, acting, d, R)
    demand = frame.demand = demand.astype(DTYPE)
    population = frame.population = population.astype(DTYPE)

    fte0 = cells["fte0"].to_numpy(dtype=DTYPE)
    within = within_share(cells, d)                                          # (R, C)
    exit_rate, observed_exit = exit_rates(cells, d, within)                  # (R, C)
    within_rate = cells["leave_rate"].to_numpy()[None, :] * d["leaving_rate_scale"][:, None] * within
    rate = _leaving_rates(cells, d, exit_rate)                               # (A, R, C)
    x0, care, batches = _moves(inp, d, within)
    joined = join_rates(cells, d, sc, inp.base_year, within, observed_exit)
    j0 = _base_joiners(fte0, joined, observed_exit, x0, batches)             # (R, C)
    jage = d["joiner_age_profile"] / d["joiner_age_profile"].sum(axis=1, keepdims=True)   # (R, A)
    jage32 = np.ascontiguousarray(jage.T.astype(DTYPE))[:, :, None]          # (A, R, 1)
    routes = sc.assumptions["joiner_routes"]
    route_share = np.array([[routes.of(f)[r] for r in ROUTES] for f in cells["family"]])[None]   # (1, C, routes)
    fillable = 1 / cells["posts_per_filled"].to_numpy(dtype=np.float64)     # share of posts employers fill
    # Stocks by age band are held band-first, (bands, runs, cells), so that sums over bands and the
    # ageing of one band into the next work on whole contiguous planes.
    S = np.ascontiguousarray((cells[list(AGE_BANDS)].to_numpy(dtype=DTYPE).T[:, None, :] * fte0[None, None, :]
                              * np.ones((1, R, 1))).astype(DTYPE))
    ageing_share = (1 / np.where(BAND_YEARS[:-1] > 0, BAND_YEARS[:-1], 1)).astype(DTYPE)
    total = np.broadcast_to(fte0[None, :], (R, C)).astype(np.float64)      # FTE in post, (R, C)
    supply = np.empty((R, C, T + 1), dtype=DTYPE)
    supply[:, :, 0] = total
    acc = {k: np.zeros((R, C)) for k in FLOWS}
    lb = np.empty_like(S)
    for t in range(1, T + 1):
        factor = levers.leaving_factor(acting, t, (R, C))                    # None: no lever changes leaving
        x = x0.copy()
        gap_rel = levers.pay_gap(acting, t, (1 + d["pay_gap_drift"]) ** t)   # gap(t) / gap(base), (R,)
        x[:, care] *= np.maximum(0.0, 1 + d["flow_response_to_pay"] * (gap_rel - 1))[:, None]
        np.multiply(S, rate, out=lb)                                         # leavers at base-year rates
        leave_base = lb.sum(axis=0, dtype=np.float64)
        if factor is not None:
            np.multiply(lb, factor.astype(DTYPE), out=lb)                    # leavers after the levers
        leave = leave_base if factor is None else leave_base * factor
        S -= lb
        moved = leave * x
        inflow = np.zeros((R, C))
        x32 = x.astype(DTYPE)
        for src, tgt in batches:                                             # movers keep their age band
            S[:, :, tgt] += lb[:, :, src] * x32[:, src]
            inflow[:, tgt] += moved[:, src]
        # Joiners: what the routes supply, up to the posts open once leavers and movers are counted,
        # less the base year's share of posts vacant (vacancies that persist however many apply).
        pipeline_r = j0[:, :, None] * levers.route_supply(acting, t, route_index(cells, d, t) * route_share)
        pipeline = pipeline_r.sum(axis=2)
        before = total - leave + inflow
        join = np.minimum(pipeline, np.maximum(0.0, demand[:, :, t] * fillable[None, :] - before))
        taken = np.divide(join, pipeline, out=np.zeros_like(join), where=pipeline > 0)
        for k, r in enumerate(ROUTES):
            acc[f"joiners_{r}"] += pipeline_r[:, :, k] * taken
        S += jage32 * join.astype(DTYPE)[None]
        total = before + join
        for m, step, route in levers.recruits(acting, t):                   # e.g. new roles' posts filled
            S[:, :, m] += jage32 * step.astype(DTYPE)[None]
            total[:, m] += step
            acc["joiners_new_roles"][:, m] += step
            acc[f"joiners_{route}"][:, m] += step
        _age(S, ageing_share)
        supply[:, :, t] = total
        for k, v in (("leavers_base", leave_base), ("leaving_avoided", leave_base - leave), ("moved_out", moved),
                     ("moved_in", inflow), ("joiners", join), ("joiners_not_needed", pipeline - join),
                     ("within_sector_moves", supply[:, :, t - 1] * within_rate)):
            acc[k] += v
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
