"""The scenario levers, each declared once, here: its settings, its effect and its words.

A lever is a change a scenario makes (``levers:`` in ``data/reference/scenarios.yaml``). Its
declaration (:class:`Lever`, added with :func:`register`) gives

- ``params``: its ranged settings and their kinds (``rate``, ``change``, ``factor``, ``years``), drawn
  like the assumptions under the key ``<lever>.<param>``;
- ``cells``: its settings that name cells by sector and staff group (``sectors``/``staff_groups``;
  ``from_...`` and ``to_...`` for cells it moves demand out of and into: every ICB gets the ``to_``
  cells, so that there is somewhere to move it);
- its effect: one or more functions that :func:`model.simulate` calls, each given the lever at work
  (:class:`Acting`: its settings, its draws by parameter, and the projection's :class:`Frame`):
  ``demand(x, demand)`` changes the posts needed, in place (years x cells x runs); ``leaving(x, t)``
  returns (cells, a factor per run) on leaving in year t; ``pay_gap(x, t)`` a factor per run on the
  care worker to NHS pay gap, which moves from care work to the NHS follow; ``routes(x, t)`` a factor on
  what each route of entry supplies (broadcast to routes x cells x runs); ``joining(x, t)`` (cells,
  FTE per cell and run) of recruits beyond the routes, who come by the route ``route``;
- its words: ``label`` and ``description``, the sentence the report's scenario table shows, with
  ``{param}`` where the range of that parameter goes.

``config.load`` checks a scenario's lever settings against the declaration. Levers act in the order
they are registered: productivity lowers demand before care moves home or new roles take work on.
The model holds its arrays with the runs last (cells x runs, years x cells x runs), so that a lever's
cells are whole rows. An effect acts on the cells its settings name (``x.cells(prefix)``), a pay-gap
effect on the cells whose moves follow the gap, a routes effect anywhere: :func:`touched` says so, and
``iwt scenarios run`` projects again only those cells (and the cells moves join to them), taking the
others from the baseline. An effect that reached other cells would need :func:`touched` to say so.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from iwt_helpers.config import scenarios as layout

Range = layout.Range
DTYPE = np.float32


@dataclass
class Frame:
    """The cells of one projection and its years, which levers act on (built by ``model.simulate``)."""
    cells: pd.DataFrame
    icb: np.ndarray                     # each cell's ICB, as an index
    n_icbs: int
    d0: np.ndarray                      # base-year demand per cell
    t: np.ndarray                       # years after the base year, 0 to the horizon
    demand: np.ndarray | None = None    # (years, cells, runs) with the levers' effects on demand, once known
    population: np.ndarray | None = None     # the same without them
    masks: dict = field(default_factory=dict, repr=False)   # cells named by (sectors, staff groups), worked out once

    @property
    def ramp(self) -> np.ndarray:
        """Share of the horizon reached in each year: effects reached in equal steps by the horizon."""
        return self.t / max(len(self.t) - 1, 1)


@dataclass(frozen=True)
class Setting:
    """A lever as a scenario sets it: its ranges and the sector and staff group codes of its cells."""
    name: str
    ranges: dict[str, Range]
    lists: dict[str, tuple[str, ...]]

    def pairs(self, prefix: str = "") -> set[tuple[str, str]]:
        """(sector, staff group) of the cells named by ``prefix`` ('', 'from_' or 'to_')."""
        sectors, groups = self.codes(prefix)
        return {(s, g) for s in sectors for g in groups}

    def codes(self, prefix: str = "") -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(sectors, staff groups) named by ``prefix`` (``to_sector`` as well as ``to_sectors``)."""
        def named(what: str) -> tuple[str, ...]:
            return self.lists.get(f"{prefix}{what}s", self.lists.get(f"{prefix}{what}", ()))
        return named("sector"), named("staff_group")


@dataclass(frozen=True)
class Acting:
    """A lever at work in one simulation: its declaration, its setting, its draws by parameter and the frame."""
    lever: Lever
    setting: Setting
    p: dict[str, np.ndarray]
    frame: Frame

    def cells(self, prefix: str = "") -> np.ndarray:
        """Mask of the frame's cells named by ``prefix`` ('', 'from_' or 'to_'); worked out once per frame's
        cells (never change it)."""
        key = self.setting.codes(prefix)
        if key not in self.frame.masks:
            c = self.frame.cells
            self.frame.masks[key] = (c["sector"].isin(key[0]) & c["staff_group"].isin(key[1])).to_numpy()
        return self.frame.masks[key]


DemandEffect = Callable[[Acting, np.ndarray], None]
YearEffect = Callable[[Acting, int], object]


@dataclass(frozen=True)
class Lever:
    """A lever's declaration: its settings, its effect and its words (see the module's docstring)."""
    name: str
    label: str
    description: str
    params: dict[str, str]
    cells: tuple[str, ...]
    demand: DemandEffect | None = None
    leaving: YearEffect | None = None
    pay_gap: YearEffect | None = None
    routes: YearEffect | None = None
    joining: YearEffect | None = None
    route: str = "wider_labour_market"

    @property
    def effects(self) -> tuple[str, ...]:
        """What the lever changes: demand, leaving, pay_gap, routes, joining."""
        return tuple(k for k in ("demand", "leaving", "pay_gap", "routes", "joining") if getattr(self, k))

    def __post_init__(self) -> None:
        settings = layout.Lever.model_fields
        named = {f for _, f, _, _ in string.Formatter().parse(self.description) if f}
        problems = [f"unknown kind {k!r} of {p!r}" for p, k in self.params.items() if k not in layout.KINDS]
        problems += [f"parameter {p!r} is a cell setting" for p in self.params if p in settings]
        problems += [f"{c!r} is not a cell setting of the scenario file ({', '.join(settings)})"
                     for c in self.cells if c not in settings]
        problems += [f"its description names {n!r}, not a parameter" for n in sorted(named - set(self.params))]
        if not self.effects:
            problems.append("it has no effect")
        if self.route not in layout.ROUTES:
            problems.append(f"unknown route {self.route!r}")
        if problems:
            raise ValueError(f"lever {self.name!r}: " + "; ".join(problems))


REGISTRY: dict[str, Lever] = {}


def register(lever: Lever) -> Lever:
    """Add a lever; its place in the registry is the order in which its effects act."""
    if lever.name in REGISTRY:
        raise ValueError(f"lever {lever.name!r} is registered twice")
    REGISTRY[lever.name] = lever
    return lever


def at_work(settings: dict[str, Setting], d: dict[str, np.ndarray], frame: Frame) -> list[Acting]:
    """A scenario's levers with their draws, in the order of the registry."""
    return [Acting(lever, settings[name], {p: d[f"{name}.{p}"] for p in lever.params}, frame)
            for name, lever in REGISTRY.items() if name in settings]


# --------------------------------------------------------------------------- effects, applied by simulate

def on_demand(acting: list[Acting], demand: np.ndarray) -> None:
    """Demand (runs, cells, years) after the levers that change it, in place."""
    for x in acting:
        if x.lever.demand:
            x.lever.demand(x, demand)


def leaving_factor(acting: list[Acting], t: int, shape: tuple[int, int]) -> np.ndarray | None:
    """(cells, runs) factor on leaving in year t; None when no lever changes leaving."""
    factor = None
    for x in acting:
        if x.lever.leaving:
            factor = np.ones(shape) if factor is None else factor
            mask, f = x.lever.leaving(x, t)
            factor[mask, :] *= f[None, :]
    return factor


def pay_gap(acting: list[Acting], t: int, gap: np.ndarray) -> np.ndarray:
    """The pay gap relative to the base year's, per run, after the levers that close it."""
    for x in acting:
        if x.lever.pay_gap:
            gap = gap * x.lever.pay_gap(x, t)
    return gap


def route_supply(acting: list[Acting], t: int, by_route: np.ndarray) -> np.ndarray:
    """What each route supplies (routes, cells, runs) after the levers that change it."""
    for x in acting:
        if x.lever.routes:
            by_route = by_route * x.lever.routes(x, t)
    return by_route


def recruits(acting: list[Acting], t: int) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """(cells, FTE (those cells, runs), route) of recruits levers bring beyond the routes in year t."""
    return [(*x.lever.joining(x, t), x.lever.route) for x in acting if x.lever.joining]


def touched(acting: list[Acting], pay_gap_cells: np.ndarray) -> np.ndarray | None:
    """Mask of the cells whose projection the levers can change (the cells their settings name, and the
    cells whose moves follow the pay gap when a lever changes it); None when they can change every cell
    (a lever on the routes of entry, or one that names no cells)."""
    out = np.zeros(len(pay_gap_cells), dtype=bool)
    for x in acting:
        if x.lever.routes or not x.lever.cells:
            return None
        for prefix in dict.fromkeys(p for p in ("", "from_", "to_") if any(c.startswith(p + "sector") for c in x.lever.cells)):
            out |= x.cells(prefix)
        if x.lever.pay_gap:
            out |= pay_gap_cells
    return out


# --------------------------------------------------------------------------- the levers' effects

def _ramp(t: int, years: np.ndarray) -> np.ndarray:
    """Share of a lever's full effect reached in year t when it phases in over ``years``."""
    return np.minimum(1.0, t / np.maximum(years, 1e-9))


def _per_icb(values: np.ndarray, icb_of: np.ndarray, n_icbs: int) -> np.ndarray:
    """Sum (years, cells, runs) over the cells of each ICB -> (years, ICBs, runs)."""
    out = np.zeros((values.shape[0], n_icbs, values.shape[2]), dtype=DTYPE)
    for i in np.unique(icb_of):
        out[:, i, :] = values[:, icb_of == i, :].sum(axis=1)
    return out


def _share_within_icb(d0: np.ndarray, mask: np.ndarray, icb: np.ndarray) -> np.ndarray:
    """Each masked cell's share of its ICB's base demand over the masked cells (equal shares where
    the ICB's masked cells have no demand)."""
    sub, icb_sub = d0[mask], icb[mask]
    tot = np.bincount(icb_sub, weights=sub, minlength=icb.max() + 1)
    cnt = np.bincount(icb_sub, minlength=icb.max() + 1)
    return np.where(tot[icb_sub] > 0, sub / np.where(tot[icb_sub] > 0, tot[icb_sub], 1), 1 / cnt[icb_sub])


def _fewer_staff_needed(x: Acting, demand: np.ndarray) -> None:
    """Demand in the lever's cells falls by ``yearly_gain`` a year, compounded."""
    demand[:, x.cells(), :] *= (1 - x.p["yearly_gain"])[None, None, :] ** x.frame.t[:, None, None]


def _demand_moves(share: str, per_fte: str) -> DemandEffect:
    """``share`` of the ``from_`` cells' demand (reached in equal steps by the horizon) moves to the
    ``to_`` cells of the same ICB, ``per_fte`` FTE for each FTE moved, shared by their base-year demand."""
    def effect(x: Acting, demand: np.ndarray) -> None:
        f, src, dst = x.frame, x.cells("from_"), x.cells("to_")
        moved = demand[:, src, :] * x.p[share][None, None, :] * f.ramp[:, None, None]
        demand[:, src, :] -= moved
        per_icb = _per_icb(moved, f.icb[src], f.n_icbs) * x.p[per_fte][None, None, :]
        demand[:, dst, :] += per_icb[:, f.icb[dst], :] * _share_within_icb(f.d0, dst, f.icb)[None, :, None]
    return effect


def _new_posts_filled(x: Acting, t: int) -> tuple[np.ndarray, np.ndarray]:
    """``recruited_share`` of the posts the lever adds to its ``to_`` cells in year t are filled."""
    f, m = x.frame, x.cells("to_")
    added = [f.demand[y, m, :] - f.population[y, m, :] for y in (t - 1, t)]
    return m, np.maximum(0.0, added[1] - added[0]) * x.p["recruited_share"][None, :]


def _fewer_leave(x: Acting, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Leaving in the lever's cells falls by ``leaving_reduction``, phased in over ``phase_years``."""
    return x.cells(), 1 - x.p["leaving_reduction"] * _ramp(t, x.p["phase_years"])


def _gap_closes(x: Acting, t: int) -> np.ndarray:
    """The pay gap closes over ``phase_years``."""
    return 1 - _ramp(t, x.p["phase_years"])


register(Lever(
    "productivity", "Productivity",
    "NHS and general practice need {yearly_gain} fewer staff a year for the same care",
    params={"yearly_gain": "rate"}, cells=("sectors", "staff_groups"), demand=_fewer_staff_needed))
register(Lever(
    "hospital_to_home", "Care closer to home",
    "{shifted_share} of NHS trust nursing, support and medical demand moves to care at home by the horizon, "
    "{social_care_fte_per_shifted} social care FTE for each NHS FTE moved",
    params={"shifted_share": "rate", "social_care_fte_per_shifted": "factor"},
    cells=("from_sectors", "from_staff_groups", "to_sectors", "to_staff_groups"),
    demand=_demand_moves("shifted_share", "social_care_fte_per_shifted")))
register(Lever(
    "new_roles", "New roles in general practice",
    "New roles take on {absorbed_share} of GP and practice nurse work by the horizon, {fte_per_absorbed} new-role FTE "
    "for each FTE taken on, {recruited_share} of the new posts filled",
    params={"absorbed_share": "rate", "fte_per_absorbed": "factor", "recruited_share": "rate"},
    cells=("from_sectors", "from_staff_groups", "to_sector", "to_staff_group"),
    demand=_demand_moves("absorbed_share", "fte_per_absorbed"), joining=_new_posts_filled, route="wider_labour_market"))
register(Lever(
    "retention", "Improved retention",
    "Leaving falls by {leaving_reduction} in every named group, reached over {phase_years} years",
    params={"phase_years": "years", "leaving_reduction": "rate"}, cells=("sectors", "staff_groups"), leaving=_fewer_leave))
register(Lever(
    "pay_parity", "Pay parity for care workers",
    "Care workers' pay reaches that of NHS healthcare assistants new to their role over {phase_years} years; "
    "their leaving then falls by {leaving_reduction}",
    params={"phase_years": "years", "leaving_reduction": "rate"}, cells=("sectors", "staff_groups"),
    leaving=_fewer_leave, pay_gap=_gap_closes))
