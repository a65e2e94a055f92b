"""The scenario model: FTE demanded and supplied per cell (ICB x sector x staff group), year by
year, for many Monte Carlo runs at once (arrays held years x cells x runs; a :class:`Run` shows them as runs x cells x years).

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

from dataclasses import dataclass, field, replace

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
    (runs, cells), summed over the years, for the waterfall. They are views of the model's arrays, which
    hold the runs last (``np.transpose`` gives them back); a run made without flows has none."""
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
    memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)   # figures of it worked out once

    @property
    def gap(self) -> np.ndarray:
        return self.demand - self.supply


def _population(inp: Inputs, icb: np.ndarray, d0: np.ndarray, t: np.ndarray, d: dict[str, np.ndarray],
                n_runs: int) -> tuple[np.ndarray, np.ndarray]:
    """(years, cells, runs) demand with no lever (demography and need beyond it), and (cells, runs) demand at
    the horizon from demography alone."""
    health = (inp.cells["family"] == "health").to_numpy()
    head = inp.pop_all / inp.pop_all[:, :1]
    older = inp.pop_65 / inp.pop_65[:, :1]
    weighted = inp.pop_weighted / inp.pop_weighted[:, :1]
    w = d["nhs_age_weighting"][None, None, :]
    growth = np.empty((len(t), len(health), n_runs), dtype=DTYPE)
    growth[:, health, :] = (1 - w) * head[icb[health]].T[:, :, None] + w * weighted[icb[health]].T[:, :, None]
    growth[:, ~health, :] = older[icb[~health]].T[:, :, None]
    demography = d0[:, None] * growth[-1]
    # need beyond demography compounds by family: one power per run and year, not per cell
    for mask, key in ((health, "need_growth_health"), (~health, "need_growth_social_care")):
        growth[:, mask, :] *= ((1 + d[key][None, :]) ** t[:, None]).astype(DTYPE)[:, None, :]
    growth *= d0[None, :, None]
    return growth, demography


NEED_KEYS = ("need_growth_health", "need_growth_social_care")     # read by the demand with no lever alone (_population)


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


def _age(S: np.ndarray, ageing_share: np.ndarray, scratch: np.ndarray | None = None) -> None:
    """A year of ageing: a share of each band moves to the next, oldest first, so each band ages once."""
    for a in range(S.shape[0] - 2, -1, -1):
        ageing = np.multiply(S[a], ageing_share[a], out=scratch)
        S[a] -= ageing
        S[a + 1] += ageing


def _components(target: np.ndarray) -> np.ndarray:
    """Each cell's group of cells joined by moves between sectors (either way): a cell's projection
    depends on no cell outside its group."""
    group = np.arange(len(target))

    def root(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i
    for src, tgt in enumerate(target):
        if tgt >= 0:
            group[root(src)] = root(tgt)
    return np.array([root(i) for i in range(len(target))])


@dataclass
class Common:
    """What every scenario of one projection shares, worked out once: the cells, the demand with no
    lever, the leaving rates by age, the moves between sectors, the base year's joiners, and what the
    routes of entry supply each year (cached as the first scenario asks for them). Arrays hold the runs
    last: (cells, runs), (years, cells, runs), (age bands, cells, runs). It depends on the inputs, the
    draws of the shared assumptions and the scenario file's assumptions, never on a lever."""
    inputs: Inputs
    scenario: Scenario                  # the scenario it was built from (its assumptions are the shared ones)
    d: dict[str, np.ndarray]            # the draws it was built from
    n_runs: int
    icb: np.ndarray
    d0: np.ndarray                      # (cells,) base-year demand
    t: np.ndarray                       # years after the base year
    population: np.ndarray              # (years, cells, runs) demand with no lever
    demography: np.ndarray              # (cells, runs) demand at the horizon from demography alone
    fte0: np.ndarray
    within_rate: np.ndarray             # (cells, runs) moves within the sector a year per FTE
    rate: np.ndarray                    # (bands, cells, runs) leaving the sector a year, by age band (DTYPE)
    x0: np.ndarray                      # (cells, runs) share of leavers moving to the other sector
    care: np.ndarray                    # cells whose moves follow the pay gap
    batches: list
    group: np.ndarray                   # (cells,) the group of cells joined by moves (:func:`_components`)
    j0: np.ndarray                      # (cells, runs) joiners from outside the two sectors in the base year
    jage: np.ndarray                    # (bands, 1, runs) joiners' ages (DTYPE)
    route_share: np.ndarray             # (routes, cells, 1)
    fillable: np.ndarray                # (cells, 1) share of posts employers fill
    stock0: np.ndarray                  # (bands, cells, 1) FTE in post by age band in the base year (DTYPE)
    masks: dict = field(default_factory=dict, repr=False)     # the levers' cells (:class:`levers.Frame`)
    _pipeline: dict = field(default_factory=dict, repr=False)
    _by_route: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, inp: Inputs, sc: Scenario, d: dict[str, np.ndarray]) -> Common:
        cells = inp.cells
        R, T = len(d["leaving_rate_scale"]), inp.horizon
        icb = inp.icb_index()
        d0 = cells["demand0"].to_numpy(dtype=DTYPE)
        t = np.arange(T + 1, dtype=DTYPE)
        population, demography = _population(inp, icb, d0, t, d, R)
        fte0 = cells["fte0"].to_numpy(dtype=DTYPE)
        within = within_share(cells, d)                                      # (R, C)
        exit_rate, observed_exit = exit_rates(cells, d, within)              # (R, C)
        within_rate = cells["leave_rate"].to_numpy()[None, :] * d["leaving_rate_scale"][:, None] * within
        rate = _leaving_rates(cells, d, exit_rate)                           # (A, R, C)
        x0, care, batches = _moves(inp, d, within)
        joined = join_rates(cells, d, sc, inp.base_year, within, observed_exit)
        j0 = _base_joiners(fte0, joined, observed_exit, x0, batches)         # (R, C)
        jage = d["joiner_age_profile"] / d["joiner_age_profile"].sum(axis=1, keepdims=True)   # (R, A)
        routes = sc.assumptions["joiner_routes"]
        share = np.array([[routes.of(f)[r] for r in ROUTES] for f in cells["family"]])       # (C, routes)
        stock0 = cells[list(AGE_BANDS)].to_numpy(dtype=DTYPE).T[:, :, None] * fte0[None, :, None]
        return cls(inp, sc, d, R, icb, d0, t, population, demography, fte0, _cells_first(within_rate),
                   np.ascontiguousarray(rate.transpose(0, 2, 1)), _cells_first(x0), care, batches,
                   _components(cells["target"].to_numpy()), _cells_first(j0),
                   np.ascontiguousarray(jage.T.astype(DTYPE))[:, None, :], np.ascontiguousarray(share.T)[:, :, None],
                   (1 / cells["posts_per_filled"].to_numpy(dtype=np.float64))[:, None], stock0)

    def fits(self, inp: Inputs, sc: Scenario, d: dict[str, np.ndarray]) -> bool:
        """True when a scenario run with these inputs and draws shares this: the same inputs, assumptions and
        published series, and the same draws of every shared key."""
        return (inp is self.inputs and sc.assumptions == self.scenario.assumptions and sc.series == self.scenario.series
                and all(k in d and (d[k] is v or np.array_equal(d[k], v)) for k, v in self.d.items()
                        if "." not in k or k.startswith("backtest.")))

    def with_need(self, d: dict[str, np.ndarray]) -> Common:
        """This common part for draws ``d`` that differ from its own in need beyond demography only
        (``need_growth_health``, ``need_growth_social_care``: read by the demand with no lever alone), as
        :meth:`build` would make it from ``d``; what the routes supply (cached) is shared."""
        differ = [k for k in self.d.keys() | d.keys()
                  if k not in d or k not in self.d or not (d[k] is self.d[k] or np.array_equal(d[k], self.d[k]))]
        if not set(differ) <= set(NEED_KEYS):
            raise ValueError(f"draws differ beyond need beyond demography: {sorted(differ)}")
        population, demography = _population(self.inputs, self.icb, self.d0, self.t, d, self.n_runs)
        return replace(self, d=d, population=population, demography=demography, masks={},
                                   _pipeline=self._pipeline, _by_route=self._by_route)

    def pipeline(self, t: int) -> np.ndarray:
        """(cells, runs) what the routes of entry supply in year t with no lever on them, the sum of
        :meth:`by_route` (cached: every scenario of the projection reads the same)."""
        if t not in self._pipeline:
            fam = self.inputs.cells["family"].to_numpy()
            out = np.empty(self.j0.shape)
            for f, v in _route_values(self.d, t).items():
                m = fam == f
                if not m.any():
                    continue
                j0, share = self.j0[m], self.route_share[:, m][:, :1, 0]        # one share per family
                p = [j0 * (v[k] * share[k])[None, :] for k in range(len(ROUTES))]
                out[m] = (p[0] + p[1]) + p[2]
            self._pipeline[t] = out
        return self._pipeline[t]

    def by_route(self, t: int) -> np.ndarray:
        """(routes, cells, runs) what each route supplies in year t with no lever on the routes: the base
        year's joiners from outside x the route's share x its index (cached, as the flows ask for it)."""
        if t not in self._by_route:
            self._by_route[t] = self.j0[None] * (route_index(self.inputs.cells, self.d, t) * self.route_share)
        return self._by_route[t]

    def affected(self, touched: np.ndarray | None) -> np.ndarray | None:
        """The cells whose projection can differ from the baseline's when levers touch ``touched`` (their
        groups of cells joined by moves); None: every cell."""
        if touched is None:
            return None
        out = np.isin(self.group, self.group[touched])
        return None if out.all() else out


def _cells_first(a: np.ndarray) -> np.ndarray:
    """A (runs, cells) array as (cells, runs)."""
    return np.ascontiguousarray(a.T)


def _route_values(d: dict[str, np.ndarray], t: int) -> dict[str, tuple[np.ndarray, ...]]:
    """Per family, what each route supplies in year t against the base year, one value per run."""
    nq, wlm = (1 + d["newly_qualified_growth"]) ** t, (1 + d["wider_labour_market_growth"]) ** t
    health = (1 + d["health_international_first_year"]) ** min(t, 1.0) * (1 + d["health_international_growth"]) ** max(t - 1.0, 0.0)
    return {"health": (nq, health, wlm), "social care": (nq, (1 + d["international_growth"]) ** t, wlm)}


def route_index(cells, d: dict[str, np.ndarray], t: int) -> np.ndarray:
    """(routes, cells, runs): what each route supplies in year t against the base year. Newly qualified
    and the wider labour market grow at their yearly rates; international recruits to adult social care by
    ``international_growth``, to NHS trusts and general practice by ``health_international_first_year`` in
    the first year, then ``health_international_growth``."""
    by_family = _route_values(d, t)
    fam = cells["family"].to_numpy()
    out = np.empty((len(ROUTES), len(cells), len(by_family["health"][0])))
    for f in FAMILIES:
        for k, v in enumerate(by_family[f]):
            out[k, fam == f, :] = v[None, :]
    return out


def simulate(inp: Inputs, sc: Scenario, d: dict[str, np.ndarray], seed: int = 0, common: Common | None = None,
             base: Run | None = None, flows: bool = True) -> Run:
    """Run the model for every draw in ``d`` (see :func:`config.draws`); the scenario's levers act
    through the effects they declare (:mod:`.levers`).

    ``common``: what the scenarios of one projection share (:class:`Common`, built from these inputs and
    draws when not given). ``base``: the baseline's run on the same ``common``; then only the cells the
    scenario's levers can reach (and the cells joined to them by moves) are projected again, the others
    are the baseline's, identical to what projecting them again would give. ``flows=False`` leaves the
    flows out (what ``iwt scenarios run`` writes needs supply and demand only)."""
    if common is None:
        common = Common.build(inp, sc, d)
    elif not common.fits(inp, sc, d):
        raise ValueError(f"scenario {sc.name!r}: its inputs, assumptions or draws are not those of the common part given")
    c = common
    cells = inp.cells
    frame = levers.Frame(cells, c.icb, len(inp.icbs), c.d0, c.t, masks=c.masks)
    acting = levers.at_work(sc.levers, d, frame)
    if any(x.lever.demand for x in acting):
        demand = c.population.copy()
        levers.on_demand(acting, demand)
    else:
        demand = c.population
    frame.demand, frame.population = demand, c.population
    if base is not None and base.scenario.levers:
        raise ValueError(f"base: expected the baseline's run (no levers), found {base.scenario.name!r}")
    if base is not None and base.demand_population.base is not c.population:
        raise ValueError("base: expected a run on the same common part (its demand with no lever is another's)")
    sel = c.affected(levers.touched(acting, c.care)) if base is not None else None
    if base is not None and sel is not None and not sel.any():
        supply, S, acc = (_runs_last(base.supply), _runs_last(base.stock_by_age),
                          {k: v.T for k, v in base.flows.items()} if flows else {})
    else:
        supply, S, acc = _supply_by_blocks(c, demand, acting, flows, None if base is None else sel)
        if base is not None and sel is not None:                 # the cells no lever reaches: the baseline's
            supply, S = _merge(_runs_last(base.supply), supply, sel), _merge(_runs_last(base.stock_by_age), S, sel)
            acc = {k: _merge(base.flows[k].T, v, sel, axis=0) for k, v in acc.items()} if flows else {}
    return Run(inp, sc, c.n_runs, seed, supply.transpose(2, 1, 0), demand.transpose(2, 1, 0), c.population.transpose(2, 1, 0),
               {k: v.T for k, v in acc.items()}, S.transpose(2, 1, 0), c.demography.T)


def _runs_last(a: np.ndarray) -> np.ndarray:
    """A Run's (runs, cells, years) or (runs, cells, bands) array as the model holds it, runs last."""
    return a.transpose(2, 1, 0)


def _merge(base: np.ndarray, part: np.ndarray, sel: np.ndarray, axis: int = 1) -> np.ndarray:
    """``base`` with the cells ``sel`` (along ``axis``) replaced by ``part``, a new array."""
    out = np.array(base, copy=True, order="C")
    idx = [slice(None)] * out.ndim
    idx[axis] = sel
    out[tuple(idx)] = part
    return out


BLOCK_CELLS = 48        # cells (whole groups joined by moves) projected together when flows are not kept


def _supply_by_blocks(c: Common, demand: np.ndarray, acting: list[levers.Acting], flows: bool,
                      sel: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """:func:`_supply`, without flows, a few groups of cells at a time (all the years of one block, then
    the next): each block's stocks stay in the processor's cache from year to year. The same figures, as a
    cell's projection reads only its own group's. With flows, or levers on the routes (read for every
    cell each year), at once."""
    cells = np.ones(len(c.group), dtype=bool) if sel is None else sel
    if flows or any(x.lever.routes for x in acting) or cells.sum() <= BLOCK_CELLS:
        return _supply(c, demand, acting, flows, sel)
    order = np.flatnonzero(cells)
    groups, inverse = np.unique(c.group[order], return_inverse=True)
    ends = np.cumsum(np.bincount(inverse))                                   # cells up to each group's end
    cuts = np.unique(np.searchsorted(ends, np.arange(BLOCK_CELLS, len(order), BLOCK_CELLS)) + 1)
    memo: dict = {}
    supply = np.empty((len(c.t), len(order), c.n_runs), dtype=DTYPE)
    S = np.empty((len(AGE_BANDS), len(order), c.n_runs), dtype=DTYPE)
    pos = np.full(len(cells), -1)
    pos[order] = np.arange(len(order))
    for block in np.split(groups, cuts):
        if not len(block):
            continue
        part = np.isin(c.group, block)
        at = pos[part]
        supply[:, at], S[:, at], _ = _supply(c, demand, acting, False, part, memo)
    return supply, S, {}


def _supply(c: Common, demand: np.ndarray, acting: list[levers.Acting], flows: bool,
            sel: np.ndarray | None, memo: dict | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The stock-and-flow model year by year, for every cell or the cells ``sel`` (a union of groups of
    cells joined by moves): (years, cells, runs) FTE in post, (bands, cells, runs) at the horizon, and the
    flows summed over the years, (cells, runs) each (none when ``flows`` is False)."""
    R, T = c.n_runs, len(c.t) - 1
    if sel is None:
        pick = slice(None)
        batches, care = c.batches, c.care
    else:
        pick = np.flatnonzero(sel)
        pos = np.full(len(sel), -1)
        pos[pick] = np.arange(len(pick))
        batches = [(pos[s[sel[s]]], pos[g[sel[s]]]) for s, g in c.batches]
        batches = [(s, g) for s, g in batches if len(s)]
        care = c.care[pick]
    rate, x0, within_rate, fillable = c.rate[:, pick], c.x0[pick], c.within_rate[pick], c.fillable[pick]
    n = len(x0)
    demand = demand[:, pick] if sel is not None else demand
    # Stocks by age band are held band-first, (bands, cells, runs), so that sums over bands and the
    # ageing of one band into the next work on whole contiguous planes.
    S = np.empty((len(AGE_BANDS), n, R), dtype=DTYPE)
    S[...] = c.stock0[:, pick]
    ageing_share = (1 / np.where(BAND_YEARS[:-1] > 0, BAND_YEARS[:-1], 1)).astype(DTYPE)
    total = np.empty((n, R))
    total[...] = c.fte0[pick][:, None]
    supply = np.empty((T + 1, n, R), dtype=DTYPE)
    supply[0] = total
    acc = {k: np.zeros((n, R)) for k in FLOWS} if flows else {}
    # Movers: every source cell's leavers gathered once a year; each batch a slice of them.
    sources = np.concatenate([src for src, _ in batches]) if batches else np.zeros(0, dtype=int)
    ends = np.cumsum([len(src) for src, _ in batches])
    parts = [(slice(e - len(src), e), tgt) for e, (src, tgt) in zip(ends, batches)]
    lb = np.empty_like(S)
    leave_base, leave_now, before, join, inflow, x = (np.empty((n, R)) for _ in range(6))
    plane, join32 = np.empty((n, R), dtype=DTYPE), np.empty((n, R), dtype=DTYPE)
    ns = len(sources)
    scratch = (np.empty((ns, R)), np.empty((len(AGE_BANDS), ns, R), dtype=DTYPE), np.empty((ns, R), dtype=DTYPE),
               np.empty((ns, R)), [(np.empty((len(AGE_BANDS), len(tgt), R), dtype=DTYPE), np.empty((len(tgt), R))) for _, tgt in parts])
    d = c.d
    route_levers = any(x.lever.routes for x in acting)
    for t in range(1, T + 1):
        factor = _once(memo, _leaving_factors, acting, t, (len(c.fte0), R))   # None: no lever on leaving
        if factor is not None and sel is not None:
            factor = (factor[0][pick], factor[1][pick])
        np.copyto(x, x0)
        gap_rel = levers.pay_gap(acting, t, (1 + d["pay_gap_drift"]) ** t)   # gap(t) / gap(base), (R,)
        x[care, :] *= np.maximum(0.0, 1 + d["flow_response_to_pay"] * (gap_rel - 1))[None, :]
        np.multiply(S, rate, out=lb)                                         # leavers at base-year rates
        lb.sum(axis=0, dtype=np.float64, out=leave_base)
        if factor is not None:
            np.multiply(lb, factor[1], out=lb)                               # leavers after the levers
        leave = leave_base if factor is None else np.multiply(leave_base, factor[0], out=leave_now)
        S -= lb
        inflow.fill(0.0)
        moved = leave * x if flows else None
        if len(sources):                                                     # movers keep their age band
            _move(S, lb, x, leave, moved, sources, parts, inflow, scratch)
        # Joiners: what the routes supply, up to the posts open once leavers and movers are counted,
        # less the base year's share of posts vacant (vacancies that persist however many apply).
        if route_levers:
            by_route = c.j0[pick][None] * levers.route_supply(acting, t, route_index(c.inputs.cells, d, t)[:, pick] * c.route_share[:, pick])
            pipeline = (by_route[0] + by_route[1]) + by_route[2]
        else:
            pipeline = c.pipeline(t)[pick]
            by_route = c.by_route(t)[:, pick] if flows else None
        np.subtract(total, leave, out=before)
        before += inflow
        np.multiply(demand[t], fillable, out=join)
        join -= before
        np.maximum(0.0, join, out=join)
        np.minimum(pipeline, join, out=join)
        if flows:
            taken = np.divide(join, pipeline, out=np.zeros_like(join), where=pipeline > 0)
            for k, r in enumerate(ROUTES):
                acc[f"joiners_{r}"] += by_route[k] * taken
        np.copyto(join32, join, casting="same_kind")
        for a in range(len(AGE_BANDS)):
            S[a] += np.multiply(c.jage[a], join32, out=plane)
        np.add(before, join, out=total)
        for m, step, route in _once(memo, levers.recruits, acting, t):          # e.g. new roles' posts
            if sel is not None:
                m, step = m[pick], step[sel[m]]
            S[:, m] += c.jage * step.astype(DTYPE)[None]
            total[m] += step
            if flows:
                acc["joiners_new_roles"][m] += step
                acc[f"joiners_{route}"][m] += step
        _age(S, ageing_share, plane)
        supply[t] = total
        if flows:
            for k, v in (("leavers_base", leave_base), ("leaving_avoided", leave_base - leave), ("moved_out", moved),
                         ("moved_in", inflow), ("joiners", join), ("joiners_not_needed", pipeline - join),
                         ("within_sector_moves", supply[t - 1] * within_rate)):
                acc[k] += v
    return supply, S, acc


def _leaving_factors(acting: list[levers.Acting], t: int, shape: tuple[int, int]) -> tuple | None:
    """:func:`levers.leaving_factor` (float64, on leavers' FTE) and as DTYPE (on leavers by age), once a year."""
    f = levers.leaving_factor(acting, t, shape)
    return None if f is None else (f, f.astype(DTYPE))


def _once(memo: dict | None, make, acting: list[levers.Acting], t: int, *args):
    """``make(acting, t, *args)``, a lever's effect in year t, kept in ``memo`` (when there is one) for the
    next block of cells to read."""
    if memo is None:
        return make(acting, t, *args)
    if (make, t) not in memo:
        memo[(make, t)] = make(acting, t, *args)
    return memo[(make, t)]


def _move(S: np.ndarray, lb: np.ndarray, x: np.ndarray, leave: np.ndarray, moved: np.ndarray | None,
          sources: np.ndarray, parts: list, inflow: np.ndarray, scratch: tuple) -> None:
    """A year's moves between sectors: the source cells' leavers by age band (``lb``) x their share moving
    (``x``) join their targets' stocks, and their FTE (``moved``, or ``leave`` x ``x``) ``inflow``. ``scratch``:
    arrays of the sources' and each batch's shape, made once and reused year after year."""
    xs, out, xs32, ms, into = scratch
    np.take(x, sources, axis=0, out=xs, mode="clip")
    np.take(lb, sources, axis=1, out=out, mode="clip")
    np.copyto(xs32, xs, casting="same_kind")
    out *= xs32
    np.take(leave if moved is None else moved, sources, axis=0, out=ms, mode="clip")
    if moved is None:
        ms *= xs
    for (sl, tgt), (s, i) in zip(parts, into):         # each batch's targets: gathered, added to, put back
        np.take(S, tgt, axis=1, out=s, mode="clip")
        s += out[:, sl]
        S[:, tgt] = s
        np.take(inflow, tgt, axis=0, out=i, mode="clip")
        i += ms[sl]
        inflow[tgt] = i


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
