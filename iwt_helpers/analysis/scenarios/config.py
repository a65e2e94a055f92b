"""The scenario file (``data/reference/scenarios.yaml``): read, check and draw from.

The file's layout (ranges, profiles, shares, sector and staff group codes, scenarios that combine
others) is checked by its pydantic model, :mod:`iwt_helpers.config.scenarios`; each lever's settings
are then checked here against the lever's declaration in :mod:`.levers`. Errors name the file, the
scenario, the key and the value.

Every assumption is a range; :func:`draws` turns the ranges of one scenario into ``n_runs`` values
each, reproducibly: each key has its own random stream, seeded by the seed and the key's name, so
a scenario's draws do not depend on which other keys or scenarios the file holds, and two
scenarios run with one seed share the draws of the assumptions they share (common random numbers).
The one local term, each ICB's own departure from England's growth (``local_net_growth_sd``), draws
from a stream per ICB, so an ICB gets the same draws whether it is run alone or with the other 41.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from iwt_helpers import paths
from iwt_helpers.config import scenarios as layout
from iwt_helpers.config.scenarios import (
    AGE_BANDS,
    CARER_BANDS,
    FAMILIES,
    KINDS,
    METHOD_POINTS,
    ROUTES,
    GrowthWindow,
    Profile,
    Range,
    ScenarioConfigError,
    error_at,
)
from iwt_helpers.data import geography
from iwt_helpers.errors import UsageError

from . import levers
from .levers import Setting

DEFAULT_FILE = layout.FILE
CarersSensitivity = layout.Carers     # what a fall in unpaid care hours would add to paid care demand
LOCAL_Z = "local_net_growth_z"      # key of the per-ICB standard normal draws, (runs, ICBs of local_icbs())
__all__ = ["AGE_BANDS", "CARER_BANDS", "FAMILIES", "KINDS", "LOCAL_Z", "METHOD_POINTS", "ROUTES", "CarersSensitivity",
           "GrowthWindow", "Profile", "Range", "Scenario", "ScenarioConfigError", "ScenarioFile", "Setting",
           "assumptions_table", "carers_draws", "draws", "load", "local_icbs"]


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    description: str
    assumptions: dict[str, Any]           # name -> Range | Profile | GrowthWindow | JoinerRoutes, every assumption the model reads
    levers: dict[str, Setting] = field(default_factory=dict)
    series: layout.PublishedSeries | None = None    # published figures by year (the file's, shared by every scenario)
    backtest: layout.Backtest | None = None         # the back-test's own ranges (the file's)


@dataclass(frozen=True)
class ScenarioFile:
    path: Path
    horizon_years: int
    scenarios: dict[str, Scenario]
    carers: CarersSensitivity | None = None

    def get(self, name: str) -> Scenario:
        if name not in self.scenarios:
            raise ScenarioConfigError(f"{self.path}: unknown scenario {name!r}; scenarios in the file: "
                                      f"{', '.join(self.scenarios)}")
        return self.scenarios[name]

    def receiving_cells(self) -> set[tuple[str, str]]:
        """(sector, staff group) pairs that levers move demand into (their ``to_`` cells): every ICB needs these cells."""
        return {pair for sc in self.scenarios.values() for lever in sc.levers.values() for pair in lever.pairs("to_")}

    def names(self, spec: str | list[str] | tuple[str, ...]) -> list[str]:
        """Scenario names from 'all', a comma list or a list; unknown names refused."""
        names = list(self.scenarios) if spec in ("all", ["all"]) else (
            [s.strip() for s in spec.split(",") if s.strip()] if isinstance(spec, str) else list(spec))
        for n in names:
            self.get(n)
        if not names:
            raise ScenarioConfigError(f"{self.path}: no scenario named; choose from {', '.join(self.scenarios)} or 'all'")
        return names


def _setting(path: Path, scenario: str, name: str, spec: layout.Lever) -> Setting:
    """A lever's settings checked against its declaration: the lever registered, its settings those it
    declares, each range of the kind it declares and within that kind's limits."""
    at = ("scenarios", scenario, "levers", name)
    lever = levers.REGISTRY.get(name)
    if lever is None:
        known = ", ".join(f"{n} ({lv.label})" for n, lv in levers.REGISTRY.items())
        raise error_at(path, at, f"unknown lever; known: {known}")
    given, expected = {**spec.cells, **spec.ranges}, [*lever.params, *lever.cells]
    unknown = sorted(set(given) - set(expected))
    if unknown:
        raise error_at(path, (*at, unknown[0]), f"unknown setting; expected {', '.join(expected)}")
    missing = [k for k in expected if k not in given]
    if missing:
        raise error_at(path, (*at, missing[0]), "missing")
    ranges = {}
    for p, kind in lever.params.items():
        r = spec.ranges[p]
        if r.kind not in (None, kind):
            raise error_at(path, (*at, p, "kind"), f"kind must be {kind!r} (found {r.kind!r})")
        problem = r.problem(kind)
        if problem:
            raise error_at(path, (*at, p), f"{problem} (found {list(r.range)})")
        ranges[p] = r.model_copy(update={"kind": kind})
    return Setting(name, ranges, {k: spec.cells[k] for k in lever.cells})


def load(path: str | Path | None = None) -> ScenarioFile:
    """Read and check a scenario file (default ``data/reference/scenarios.yaml``)."""
    path = Path(path) if path else paths.reference(DEFAULT_FILE)
    raw = layout.load(path)
    shared = dict(raw.assumptions)
    parsed: dict[str, Scenario] = {}
    for name, spec in raw.scenarios.items():
        changed = {n: a for n, a in (spec.assumptions or ()) if a is not None}
        own = {n: _setting(path, name, n, lever) for n, lever in (spec.levers or {}).items()}
        parsed[name] = Scenario(name, spec.label or name, spec.description.strip(), {**shared, **changed}, own,
                                raw.published_series, raw.backtest)
    for name, spec in raw.scenarios.items():
        if spec.combine:                  # the model checked the names and that no lever is set twice
            joined = {n: lv for other in spec.combine for n, lv in parsed[other].levers.items()}
            s = parsed[name]
            parsed[name] = Scenario(s.name, s.label, s.description, s.assumptions, {**s.levers, **joined}, s.series,
                                    s.backtest)
    return ScenarioFile(path, raw.horizon_years, parsed, raw.unpaid_care_sensitivity)


def _uniform(seed: int, key: str, n_runs: int) -> np.ndarray:
    rng = np.random.default_rng([int(seed), zlib.crc32(key.encode())])
    return rng.random(n_runs)


def local_icbs() -> list[str]:
    """The ICBs of the per-ICB draws (``LOCAL_Z``), in their columns' order: all 42, whichever are run."""
    return geography.icb_codes()


@functools.lru_cache(maxsize=8)
def _local_z(seed: int, n_runs: int, icbs: tuple[str, ...]) -> np.ndarray:
    """(runs, ICBs) standard normal draws, one stream per ICB (drawn once per seed and number of runs)."""
    z = np.stack([np.random.default_rng([seed, zlib.crc32(f"{LOCAL_Z}.{icb}".encode())]).standard_normal(n_runs)
                  for icb in icbs], axis=1)
    z.flags.writeable = False
    return z


def draws(scenario: Scenario, n_runs: int, seed: int, centres: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """``n_runs`` values of every ranged assumption and lever setting of ``scenario``.

    Keys are assumption names, ``<lever>.<setting>`` and ``backtest.<name>`` (the back-test's own
    ranges); a profile's key holds an array (n_runs, 6 age bands); a growth window's a position from 0
    (the growth over its shorter window) to 1 (over its longer one); ``LOCAL_Z`` standard normal draws
    (n_runs, ICBs of :func:`local_icbs`), one stream per ICB, which ``local_net_growth_sd`` scales.
    ``centres`` move a range so that it is centred on a value, keeping its width (within the kind's
    limits): what the interactive notebook's sliders do.
    """
    if n_runs < 1:
        raise UsageError(f"n_runs {n_runs!r}: expected at least 1 run")
    centres = centres or {}
    out: dict[str, np.ndarray] = {}

    def ranged(key: str, r: Range) -> np.ndarray:
        low, high = r.low, r.high
        if key in centres:
            half = (high - low) / 2
            lo, hi = KINDS[r.kind]
            low, high = max(lo, centres[key] - half), min(hi, centres[key] + half)
        return low + _uniform(seed, key, n_runs) * (high - low)

    for name, a in scenario.assumptions.items():
        if isinstance(a, Range):
            out[name] = ranged(name, a)
        elif isinstance(a, Profile):
            u = _uniform(seed, name, n_runs)[:, None]
            lo = np.array([a.low[b] for b in AGE_BANDS])
            hi = np.array([a.high[b] for b in AGE_BANDS])
            out[name] = lo[None, :] + u * (hi - lo)[None, :]
        elif isinstance(a, GrowthWindow):
            out[name] = _uniform(seed, name, n_runs)
    for lname, lever in scenario.levers.items():
        for p, r in lever.ranges.items():
            out[f"{lname}.{p}"] = ranged(f"{lname}.{p}", r)
    if scenario.backtest is not None:
        for name in type(scenario.backtest).model_fields:
            out[f"backtest.{name}"] = ranged(f"backtest.{name}", getattr(scenario.backtest, name))
    if "local_net_growth_sd" in scenario.assumptions:
        out[LOCAL_Z] = _local_z(int(seed), n_runs, tuple(local_icbs())).copy()
    unknown = set(centres) - set(out)
    if unknown:
        raise ValueError(f"centres: unknown key(s) {', '.join(sorted(unknown))} for scenario {scenario.name!r}; "
                         f"known: {', '.join(sorted(out))}")
    return out


def carers_draws(c: CarersSensitivity, n_runs: int, seed: int) -> dict[str, np.ndarray]:
    """``n_runs`` draws of the unpaid-care sensitivity's ranges (own streams, like :func:`draws`)."""
    out = {f"hours_a_week.{b}": r.low + _uniform(seed, f"carers.hours.{b}", n_runs) * (r.high - r.low)
           for b, r in c.hours_a_week.items()}
    for name in ("replaced_share", "hours_per_fte"):
        r = getattr(c, name)
        out[name] = r.low + _uniform(seed, f"carers.{name}", n_runs) * (r.high - r.low)
    return out


def assumptions_table(scenario: Scenario) -> list[dict]:
    """Every ranged assumption and lever setting of a scenario, with its range and source."""
    rows = []
    for name, a in scenario.assumptions.items():
        if isinstance(a, Range):
            rows.append({"key": name, "kind": a.kind, "low": a.low, "high": a.high, "source": a.source})
        elif isinstance(a, Profile):
            rows.append({"key": name, "kind": "profile", "low": None, "high": None, "source": a.source})
        elif isinstance(a, GrowthWindow):
            rows.append({"key": name, "kind": "growth_window", "low": a.low, "high": a.high, "source": a.source})
    for lname, lever in scenario.levers.items():
        for p, r in lever.ranges.items():
            rows.append({"key": f"{lname}.{p}", "kind": r.kind, "low": r.low, "high": r.high, "source": r.source})
    return rows
