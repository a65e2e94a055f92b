"""The scenario file (``data/reference/scenarios.yaml``): read, check and draw from.

Every assumption is a range; :func:`draws` turns the ranges of one scenario into ``n_runs`` values
each, reproducibly: each key has its own random stream, seeded by the seed and the key's name, so
a scenario's draws do not depend on which other keys or scenarios the file holds, and two
scenarios run with one seed share the draws of the assumptions they share (common random numbers).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from iwt_helpers import paths, vocab

DEFAULT_FILE = "scenarios.yaml"
KINDS = {"rate": (0.0, 1.0), "change": (-1.0, 1.0), "factor": (0.0, 10_000.0), "years": (0.0, 50.0)}
AGE_BANDS = ("under_25", "25_34", "35_44", "45_54", "55_64", "65_plus")
ROUTES = ("newly_qualified", "international", "wider_labour_market")
FAMILIES = ("health", "social care")
# The assumptions the model reads, and their kinds (a scenario file must give every one of them).
ASSUMPTIONS = {"leaving_rate_scale": "factor", "leaving_by_age": "profile", "joiner_age_profile": "profile",
               "joiner_routes": "shares", "newly_qualified_growth": "change", "international_growth": "change",
               "wider_labour_market_growth": "change", "cross_sector_scale": "factor", "pay_gap_drift": "change",
               "flow_response_to_pay": "factor", "nhs_age_weighting": "rate",
               "need_growth_health": "change", "need_growth_social_care": "change",
               "social_care_leavers_staying_in_sector": "rate", "nhs_leavers_to_other_nhs": "rate",
               "short_window_rate_scale": "factor", "nhs_leavers_to_social_care": "rate"}
# Assumptions that may be a single value because they state the published method being followed
# (adult social care demand grows with the population aged 65+ alone: Skills for Care's method).
METHOD_POINTS = {"need_growth_social_care"}
# The levers, their ranged parameters (name: kind) and their lists of sectors or staff groups.
LEVERS = {
    "pay_parity": ({"phase_years": "years", "leaving_reduction": "rate"}, ("sectors", "staff_groups")),
    "retention": ({"phase_years": "years", "leaving_reduction": "rate"}, ("sectors", "staff_groups")),
    "new_roles": ({"absorbed_share": "rate", "fte_per_absorbed": "factor", "recruited_share": "rate"},
                  ("from_sectors", "from_staff_groups", "to_sector", "to_staff_group")),
    "hospital_to_home": ({"shifted_share": "rate", "social_care_fte_per_shifted": "factor"},
                         ("from_sectors", "from_staff_groups", "to_sectors", "to_staff_groups")),
    "productivity": ({"yearly_gain": "rate"}, ("sectors", "staff_groups")),
}


class ScenarioConfigError(ValueError):
    """A scenario file that cannot be used; the message names the file, the scenario and the key."""


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    kind: str
    source: str

    @property
    def mid(self) -> float:
        return (self.low + self.high) / 2


@dataclass(frozen=True)
class Profile:
    """A value per age band between two curves, drawn as one position between them."""
    low: dict[str, float]
    high: dict[str, float]
    source: str


@dataclass(frozen=True)
class Lever:
    name: str
    ranges: dict[str, Range]
    lists: dict[str, tuple[str, ...]]     # sectors / staff groups it applies to (one for to_sector etc.)


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    description: str
    assumptions: dict[str, Any]           # name -> Range | Profile | dict (joiner_routes)
    levers: dict[str, Lever] = field(default_factory=dict)


@dataclass(frozen=True)
class CarersSensitivity:
    """What a fall in unpaid care hours would add to paid care demand (``unpaid_care_sensitivity``)."""
    fall: float
    hours_a_week: dict[str, Range]          # by Census hours band
    replaced_share: Range
    hours_per_fte: Range


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
        """(sector, staff group) pairs that levers move demand into: every ICB needs these cells."""
        out: set[tuple[str, str]] = set()
        for sc in self.scenarios.values():
            if "new_roles" in sc.levers:
                lv = sc.levers["new_roles"].lists
                out.add((lv["to_sector"][0], lv["to_staff_group"][0]))
            if "hospital_to_home" in sc.levers:
                lv = sc.levers["hospital_to_home"].lists
                out.update((s, g) for s in lv["to_sectors"] for g in lv["to_staff_groups"])
        return out

    def names(self, spec: str | list[str] | tuple[str, ...]) -> list[str]:
        """Scenario names from 'all', a comma list or a list; unknown names refused."""
        names = list(self.scenarios) if spec in ("all", ["all"]) else (
            [s.strip() for s in spec.split(",") if s.strip()] if isinstance(spec, str) else list(spec))
        for n in names:
            self.get(n)
        if not names:
            raise ScenarioConfigError(f"{self.path}: no scenario named; choose from {', '.join(self.scenarios)} or 'all'")
        return names


class _Where:
    def __init__(self, path: Path, scenario: str | None = None):
        self.path, self.scenario = path, scenario

    def fail(self, key: str, problem: str) -> ScenarioConfigError:
        where = f"scenario '{self.scenario}', " if self.scenario else ""
        return ScenarioConfigError(f"{self.path}: {where}key '{key}': {problem}")


def _number(value: Any, where: _Where, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise where.fail(key, f"expected a number, found {value!r}")
    return float(value)


def _range(spec: Any, kind: str, where: _Where, key: str) -> Range:
    if not isinstance(spec, dict) or "range" not in spec:
        raise where.fail(key, "expected {kind: ..., range: [low, high], source: ...}")
    if spec.get("kind", kind) != kind:
        raise where.fail(key, f"kind must be {kind!r}, found {spec.get('kind')!r}")
    r = spec["range"]
    if not isinstance(r, list) or len(r) != 2:
        raise where.fail(key, f"range must be [low, high], found {r!r}")
    low, high = (_number(v, where, key) for v in r)
    if low > high:
        raise where.fail(key, f"low {low:g} is above high {high:g}")
    lo, hi = KINDS[kind]
    if low < lo or high > hi:
        what = {"rate": "a rate must be from 0 to 1", "change": "a yearly change must be from -1 to 1",
                "factor": "a factor must be from 0 to 10,000", "years": "years must be from 0 to 50"}[kind]
        raise where.fail(key, f"{what}, found [{low:g}, {high:g}]")
    source = str(spec.get("source") or "").strip()
    if not source:
        raise where.fail(key, "every assumption needs its source or reasoning (key 'source')")
    return Range(low, high, kind, source)


def _profile(spec: Any, where: _Where, key: str) -> Profile:
    if not isinstance(spec, dict) or not {"low", "high", "source"} <= set(spec):
        raise where.fail(key, "expected {kind: profile, low: {band: value}, high: {band: value}, source: ...}")
    curves = {}
    for end in ("low", "high"):
        curve = spec[end]
        if not isinstance(curve, dict) or set(curve) != set(AGE_BANDS):
            raise where.fail(f"{key}.{end}", f"expected a value for each age band {', '.join(AGE_BANDS)} "
                                             '(quote the names, e.g. "25_34": YAML reads 25_34 unquoted as a number)')
        curves[end] = {b: _number(curve[b], where, f"{key}.{end}.{b}") for b in AGE_BANDS}
        if any(v < 0 for v in curves[end].values()):
            raise where.fail(f"{key}.{end}", "values must be zero or more")
    return Profile(curves["low"], curves["high"], str(spec["source"]).strip())


def _shares(spec: Any, where: _Where, key: str) -> dict:
    if not isinstance(spec, dict) or "source" not in spec:
        raise where.fail(key, "expected {kind: shares, health: {...}, social care: {...}, source: ...}")
    out = {}
    for fam in FAMILIES:
        s = spec.get(fam)
        if not isinstance(s, dict) or set(s) != set(ROUTES):
            raise where.fail(f"{key}.{fam}", f"expected a share for each route {', '.join(ROUTES)}")
        vals = {r: _number(s[r], where, f"{key}.{fam}.{r}") for r in ROUTES}
        if any(v < 0 or v > 1 for v in vals.values()):
            raise where.fail(f"{key}.{fam}", "a share must be from 0 to 1")
        if abs(sum(vals.values()) - 1) > 1e-6:
            raise where.fail(f"{key}.{fam}", f"shares must add up to 1, found {sum(vals.values()):g}")
        out[fam] = vals
    out["source"] = str(spec["source"]).strip()
    return out


def _assumption(name: str, spec: Any, where: _Where) -> Any:
    if name not in ASSUMPTIONS:
        raise where.fail(f"assumptions.{name}", f"unknown assumption; known: {', '.join(ASSUMPTIONS)}")
    kind = ASSUMPTIONS[name]
    key = f"assumptions.{name}"
    if kind == "profile":
        return _profile(spec, where, key)
    if kind == "shares":
        return _shares(spec, where, key)
    return _range(spec, kind, where, key)


def _codes(value: Any, allowed: list[str], what: str, where: _Where, key: str, single: bool = False) -> tuple[str, ...]:
    if value == "all" and not single:
        return tuple(allowed)
    items = [value] if single else value
    if single and not isinstance(value, str) or not single and not isinstance(value, list) or not items:
        raise where.fail(key, f"expected {'one ' + what if single else 'a list of ' + what + 's or all'}, found {value!r}")
    unknown = [v for v in items if v not in allowed]
    if unknown:
        raise where.fail(key, f"unknown {what} {', '.join(map(repr, unknown))}; known: {', '.join(allowed)}")
    return tuple(items)


def _lever(name: str, spec: Any, where: _Where) -> Lever:
    key = f"levers.{name}"
    if name not in LEVERS:
        raise where.fail(key, f"unknown lever; known: {', '.join(LEVERS)}")
    if not isinstance(spec, dict):
        raise where.fail(key, "expected a mapping of the lever's settings")
    params, lists = LEVERS[name]
    unknown = set(spec) - set(params) - set(lists)
    if unknown:
        raise where.fail(f"{key}.{sorted(unknown)[0]}", f"unknown setting; expected {', '.join(list(params) + list(lists))}")
    missing = [k for k in list(params) + list(lists) if k not in spec]
    if missing:
        raise where.fail(f"{key}.{missing[0]}", "missing")
    ranges = {p: _range(spec[p], kind, where, f"{key}.{p}") for p, kind in params.items()}
    out = {}
    for k in lists:
        is_sector = "sector" in k
        out[k] = _codes(spec[k], vocab.sector_codes() if is_sector else vocab.staff_group_codes(),
                        "sector" if is_sector else "staff group", where, f"{key}.{k}", single=not k.endswith("s"))
    return Lever(name, ranges, out)


def load(path: str | Path | None = None) -> ScenarioFile:
    """Read and check a scenario file (default ``data/reference/scenarios.yaml``)."""
    path = Path(path) if path else paths.reference(DEFAULT_FILE)
    top = _Where(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ScenarioConfigError(f"{path}: expected a mapping with horizon_years, assumptions and scenarios")
    for k in ("horizon_years", "assumptions", "scenarios"):
        if k not in raw:
            raise top.fail(k, "missing")
    horizon = raw["horizon_years"]
    if not isinstance(horizon, int) or not 1 <= horizon <= 25:
        raise top.fail("horizon_years", f"expected whole years from 1 to 25, found {horizon!r}")
    if not isinstance(raw["assumptions"], dict):
        raise top.fail("assumptions", "expected a mapping")
    base = {n: _assumption(n, s, top) for n, s in raw["assumptions"].items()}
    missing = [n for n in ASSUMPTIONS if n not in base]
    if missing:
        raise top.fail(f"assumptions.{missing[0]}", "missing (every assumption the model reads needs a range)")
    specs = raw["scenarios"]
    if not isinstance(specs, dict) or not specs:
        raise top.fail("scenarios", "expected a mapping of scenario names to scenarios")
    parsed: dict[str, Scenario] = {}
    for name, spec in specs.items():
        where = _Where(path, str(name))
        if not isinstance(spec, dict):
            raise where.fail("(scenario)", "expected a mapping with label, description and levers or combine")
        unknown = set(spec) - {"label", "description", "levers", "combine", "assumptions"}
        if unknown:
            raise where.fail(sorted(unknown)[0], "unknown key; expected label, description, assumptions, levers or combine")
        assumptions = dict(base)
        for n, s in (spec.get("assumptions") or {}).items():
            assumptions[n] = _assumption(n, s, where)
        levers = {n: _lever(n, s, where) for n, s in (spec.get("levers") or {}).items()}
        parsed[str(name)] = Scenario(str(name), str(spec.get("label") or name), str(spec.get("description") or "").strip(),
                                     assumptions, levers)
    for name, spec in specs.items():
        combine = spec.get("combine") or []
        if combine:
            where = _Where(path, str(name))
            if not isinstance(combine, list):
                raise where.fail("combine", "expected a list of scenario names")
            levers = dict(parsed[str(name)].levers)
            for other in combine:
                if other not in parsed or specs[other].get("combine"):
                    raise where.fail("combine", f"unknown scenario {other!r} (or one that itself combines); "
                                                f"known: {', '.join(n for n in parsed if not specs[n].get('combine'))}")
                for lname, lever in parsed[other].levers.items():
                    if lname in levers:
                        raise where.fail("combine", f"lever {lname!r} is set by more than one scenario combined")
                    levers[lname] = lever
            s = parsed[str(name)]
            parsed[str(name)] = Scenario(s.name, s.label, s.description, s.assumptions, levers)
    return ScenarioFile(path, horizon, parsed, _carers(raw.get("unpaid_care_sensitivity"), top))


CARER_BANDS = ("19h_or_less", "20_49h", "50h_plus")


def _carers(spec: Any, where: _Where) -> CarersSensitivity | None:
    if spec is None:
        return None
    key = "unpaid_care_sensitivity"
    if not isinstance(spec, dict) or not {"fall", "hours_a_week", "replaced_share", "hours_per_fte"} <= set(spec):
        raise where.fail(key, "expected fall, hours_a_week, replaced_share and hours_per_fte")
    fall = _number(spec["fall"], where, f"{key}.fall")
    if not 0 < fall <= 1:
        raise where.fail(f"{key}.fall", f"a rate must be above 0 and at most 1, found {fall:g}")
    hours = spec["hours_a_week"]
    if not isinstance(hours, dict) or set(hours) != set(CARER_BANDS):
        raise where.fail(f"{key}.hours_a_week", f"expected a range for each Census band {', '.join(CARER_BANDS)}")
    return CarersSensitivity(fall, {b: _range(hours[b], "factor", where, f"{key}.hours_a_week.{b}") for b in CARER_BANDS},
                             _range(spec["replaced_share"], "rate", where, f"{key}.replaced_share"),
                             _range(spec["hours_per_fte"], "factor", where, f"{key}.hours_per_fte"))


def _uniform(seed: int, key: str, n_runs: int) -> np.ndarray:
    rng = np.random.default_rng([int(seed), zlib.crc32(key.encode())])
    return rng.random(n_runs)


def draws(scenario: Scenario, n_runs: int, seed: int, centres: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """``n_runs`` values of every ranged assumption and lever setting of ``scenario``.

    Keys are assumption names and ``<lever>.<setting>``; a profile's key holds an array
    (n_runs, 6 age bands). ``centres`` move a range so that it is centred on a value, keeping its
    width (within the kind's limits): what the interactive notebook's sliders do.
    """
    if n_runs < 1:
        raise ValueError(f"n_runs {n_runs!r}: expected at least 1 run")
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
    for lname, lever in scenario.levers.items():
        for p, r in lever.ranges.items():
            out[f"{lname}.{p}"] = ranged(f"{lname}.{p}", r)
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
    for lname, lever in scenario.levers.items():
        for p, r in lever.ranges.items():
            rows.append({"key": f"{lname}.{p}", "kind": r.kind, "low": r.low, "high": r.high, "source": r.source})
    return rows
