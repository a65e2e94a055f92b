"""``scenarios.yaml``: the assumptions of the scenario model, each a range with its source, and the
scenarios, each with the levers it sets.

This model checks the file's layout: ranges (low no higher than high, within their kind's limits, with a
source), profiles by age band, shares of joiners by route that add up to 1, windows of years before the base
year, published series (each with its source), the back-test's own ranges, sector and staff group codes,
and scenarios that combine others. Which levers exist and which settings each needs are declared with
the levers themselves (``analysis.scenarios.levers``), which check a lever's settings against its
declaration: this package may not import analysis. A lever's settings here are the cells it acts on
(the code fields of :class:`Lever`) and its ranged parameters (any other key, each a :class:`Range`).

Errors name the file, the scenario, the key and the value:
``scenarios.yaml: scenario 'retention', key 'levers.retention.leaving_reduction': low 0.3 is above high 0.1``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema, create_model, model_validator

from iwt_helpers import paths, vocab
from iwt_helpers.errors import ConfigError

from .base import ConfigModel, Invalid, register

FILE = "scenarios.yaml"
# A range's kind and its limits: a rate is a fraction, a change a yearly change, a factor a multiplier.
KINDS = {"rate": (0.0, 1.0), "change": (-1.0, 1.0), "factor": (0.0, 10_000.0), "years": (0.0, 50.0)}
KIND_WORDS = {"rate": "a rate must be from 0 to 1", "change": "a yearly change must be from -1 to 1",
              "factor": "a factor must be from 0 to 10,000", "years": "years must be from 0 to 50"}
AGE_BANDS = ("under_25", "25_34", "35_44", "45_54", "55_64", "65_plus")
ROUTES = ("newly_qualified", "international", "wider_labour_market")
FAMILIES = ("health", "social care")
CARER_BANDS = ("19h_or_less", "20_49h", "50h_plus")
# Assumptions that may be a single value because they state the published method being followed
# (adult social care demand grows with the population aged 65+ alone: Skills for Care's method).
METHOD_POINTS = {"need_growth_social_care"}
MAX_WINDOW_YEARS = 5            # the longest window of years before the base year a growth may be read over

Kind = Literal["rate", "change", "factor", "years"]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]      # a number as YAML writes it: not "0.5", not true
_YEAR = re.compile(r"(19|20)\d\d(/\d\d)?")


class ScenarioConfigError(ConfigError):
    """A scenario file that cannot be used; the message names the file, the scenario, the key and the value."""


def _sourced(v: Any) -> Any:
    if isinstance(v, str):
        if not v.strip():
            raise ValueError(f"every assumption needs its source or reasoning (key 'source'), found {v!r}")
        return v.strip()
    return v


Source = Annotated[str, BeforeValidator(_sourced)]


class Range(ConfigModel):
    """A ranged assumption or lever setting: each Monte Carlo run draws one value from low to high."""

    kind: Kind | None = Field(None, description="rate 0 to 1; change -1 to 1 a year; factor 0 to 10,000; years 0 "
                                                "to 50 (a lever's kind is declared with the lever)")
    range: tuple[Number, Number] = Field(description="[low, high]")
    source: Source = Field(description="the source or reasoning of the range")

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            raise ValueError(f"expected {{kind: ..., range: [low, high], source: ...}}, found {v!r}")
        return v

    @model_validator(mode="after")
    def _within_limits(self) -> Range:
        problem = self.problem(self.kind)
        if problem:
            raise Invalid(problem, value=list(self.range))
        return self

    def problem(self, kind: str | None) -> str | None:
        """What is wrong with the range as a range of ``kind`` (None: nothing); the value is not in it."""
        low, high = self.range
        if low > high:
            return f"low {low:g} is above high {high:g}"
        lo, hi = KINDS.get(kind, (-float("inf"), float("inf")))
        if low < lo or high > hi:
            return KIND_WORDS[kind]
        return None

    @property
    def low(self) -> float:
        return self.range[0]

    @property
    def high(self) -> float:
        return self.range[1]

    @property
    def mid(self) -> float:
        return (self.low + self.high) / 2


class Rate(Range):
    kind: Literal["rate"] = "rate"


class Change(Range):
    kind: Literal["change"] = "change"


class Factor(Range):
    kind: Literal["factor"] = "factor"


def _keys(names: tuple[str, ...], what: str, hint: str = ""):
    """Before-validator: a mapping with exactly ``names`` as keys, returned in that order."""
    def check(v: Any) -> Any:
        if not isinstance(v, dict) or set(v) != set(names):
            found = sorted(map(str, v)) if isinstance(v, dict) else v
            raise ValueError(f"expected {what} {', '.join(names)}{hint}, found {found!r}")
        return {k: v[k] for k in names}
    return check


AgeCurve = Annotated[dict[str, Annotated[Number, Field(ge=0)]],
                     BeforeValidator(_keys(AGE_BANDS, "a value for each age band",
                                           ' (quote the names, e.g. "25_34": YAML reads 25_34 unquoted as a number)'))]


class Profile(ConfigModel):
    """A value per age band between two curves, drawn as one position between them (all bands together)."""

    kind: Literal["profile"] = "profile"
    low: AgeCurve
    high: AgeCurve
    source: Source


class GrowthWindow(ConfigModel):
    """How fast staff in post grew over the years before the base year, read from a published series:
    each run draws one value uniformly between the yearly growth over the shorter window and over the
    longer one (the figures come from the data, the windows from here)."""

    kind: Literal["growth_window"] = "growth_window"
    years: tuple[Annotated[int, Field(strict=True, ge=1, le=MAX_WINDOW_YEARS)],
                 Annotated[int, Field(strict=True, ge=1, le=MAX_WINDOW_YEARS)]] = Field(
        description=f"[shorter, longer]: whole years before the base year (1 to {MAX_WINDOW_YEARS})")
    source: Source

    @model_validator(mode="after")
    def _ordered(self) -> GrowthWindow:
        if self.years[0] >= self.years[1]:
            raise Invalid(f"the shorter window must be shorter than the longer, not {self.years[0]} and {self.years[1]}",
                          value=list(self.years))
        return self

    @property
    def low(self) -> int:
        return self.years[0]

    @property
    def high(self) -> int:
        return self.years[1]


RouteShares = Annotated[dict[str, Annotated[Number, Field(ge=0, le=1)]],
                        BeforeValidator(_keys(ROUTES, "a share for each route"))]


class JoinerRoutes(ConfigModel):
    """Share of the base year's joiners from outside the sector by route, for each sector family."""

    kind: Literal["shares"] = "shares"
    health: RouteShares
    social_care: RouteShares = Field(alias="social care")
    source: Source

    @model_validator(mode="after")
    def _shares_add_up(self) -> JoinerRoutes:
        for family in FAMILIES:
            total = sum(self.of(family).values())
            if abs(total - 1) > 1e-6:
                raise Invalid(f"shares must add up to 1, not {total:g}", at=(family,))
        return self

    def of(self, family: str) -> dict[str, float]:
        """The shares of ``family`` ('health' or 'social care'), by route."""
        return self.health if family == "health" else self.social_care


class _Named(ConfigModel):
    """Assumptions by name: an unknown name is refused with the known ones listed."""

    @model_validator(mode="before")
    @classmethod
    def _known(cls, v: Any) -> Any:
        if isinstance(v, dict):
            for name in v:
                if name not in cls.model_fields:
                    raise Invalid(f"unknown assumption; known: {', '.join(cls.model_fields)}", at=(name,), key=True)
        return v


class Assumptions(_Named):
    """Every assumption the scenario model reads, with its kind (each one is required)."""

    leaving_rate_scale: Factor
    leaving_by_age: Profile
    joiner_age_profile: Profile
    joiner_routes: JoinerRoutes
    newly_qualified_growth: Change
    international_growth: Change
    health_international_first_year: Change
    health_international_growth: Change
    wider_labour_market_growth: Change
    cross_sector_scale: Factor
    pay_gap_drift: Change
    flow_response_to_pay: Factor
    nhs_age_weighting: Rate
    need_growth_health: Change
    need_growth_social_care: Change
    social_care_leavers_staying_in_sector: Rate
    nhs_leaving_rate: Rate
    recent_growth: GrowthWindow
    local_rate_weight: Rate
    local_net_growth_sd: Rate
    national_net_growth: Change
    gp_leaving_rate: Rate
    gp_training_conversion: Factor
    nhs_leavers_to_social_care: Rate


AssumptionOverrides = create_model(
    "AssumptionOverrides", __base__=_Named, __doc__="Assumptions a scenario sets otherwise than the shared ones.",
    **{name: (field.annotation | None, None) for name, field in Assumptions.model_fields.items()})


def _codes(what: str, one: bool):
    """Before-validator: one code (``one``) or a list of codes or ``all``, each in the vocabulary."""
    def check(v: Any) -> tuple[str, ...]:
        allowed = vocab.sector_codes() if what == "sector" else vocab.staff_group_codes()
        if v == "all" and not one:
            return tuple(allowed)
        items = [v] if one else v
        if not isinstance(v, str if one else list) or not items:
            raise ValueError(f"expected {'one ' + what if one else 'a list of ' + what + 's or all'}, found {v!r}")
        unknown = [x for x in items if x not in allowed]
        if unknown:
            raise ValueError(f"unknown {what} {', '.join(map(repr, unknown))}; known: {', '.join(allowed)}")
        return tuple(items)
    schema = {"type": "string"} if one else {"anyOf": [{"type": "array", "items": {"type": "string"}, "minItems": 1},
                                                       {"const": "all"}]}
    return Annotated[tuple[str, ...], BeforeValidator(check),
                     WithJsonSchema({**schema, "description": f"{what} code{'' if one else 's, or all'} of vocabulary.yaml"})]


Sectors, StaffGroups = _codes("sector", one=False), _codes("staff group", one=False)
Sector, StaffGroup = _codes("sector", one=True), _codes("staff group", one=True)


class Lever(ConfigModel):
    """A lever as a scenario sets it: the cells it acts on (sector and staff group codes; ``from_`` and
    ``to_`` name cells it moves demand out of and into) and its ranged parameters (every other key, a
    :class:`Range` each). Which of these a lever takes is declared with it in ``analysis.scenarios.levers``."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, Range]

    sectors: Sectors | None = None
    staff_groups: StaffGroups | None = None
    from_sectors: Sectors | None = None
    from_staff_groups: StaffGroups | None = None
    to_sectors: Sectors | None = None
    to_staff_groups: StaffGroups | None = None
    to_sector: Sector | None = None
    to_staff_group: StaffGroup | None = None

    @property
    def cells(self) -> dict[str, tuple[str, ...]]:
        """The code settings given, by name (a single code as a tuple of one)."""
        return {k: v for k in type(self).model_fields if (v := getattr(self, k)) is not None}

    @property
    def ranges(self) -> dict[str, Range]:
        return dict(self.model_extra or {})


class Scenario(ConfigModel):
    """A scenario: the levers it sets (or the scenarios whose levers it joins) and any assumptions it changes."""

    label: str | None = Field(None, description="its name in reports (default: its key)")
    description: str = ""
    assumptions: AssumptionOverrides | None = None
    levers: dict[str, Lever] | None = None
    combine: list[str] | None = Field(None, description="scenarios whose levers this one joins (none of them "
                                                        "combining others, no lever set twice)")


class ByYear(ConfigModel):
    """Published figures by year (calendar years such as 2021, or financial years such as "2018/19"), with
    their source; a year that was estimated says so in the source."""

    values: dict[str, Annotated[Number, Field(ge=0)]] = Field(min_length=1)
    source: Source

    @model_validator(mode="before")
    @classmethod
    def _years(cls, v: Any) -> Any:
        if isinstance(v, dict) and isinstance(v.get("values"), dict):
            for year in v["values"]:
                if not (isinstance(year, int) or (isinstance(year, str) and _YEAR.fullmatch(year))):
                    raise Invalid(f"a year must be like 2021 or \"2018/19\", not {year!r}", at=("values", year), key=True)
            v = {**v, "values": {str(k): x for k, x in v["values"].items()}}
        return v

    def at(self, year: str | int) -> float | None:
        return self.values.get(str(year))


class Training(ByYear):
    """Acceptances to a training programme by the calendar year training starts, and how many years later
    those who complete it join the qualified workforce."""

    years_to_qualify: int = Field(ge=1, le=10, strict=True)


class RoutePaths(ConfigModel):
    """Joiners by route in each financial year (the back-test follows them; index = each year against the
    first year of the back-test), with their source."""

    international: dict[str, Annotated[Number, Field(gt=0)]]
    newly_qualified: dict[str, Annotated[Number, Field(gt=0)]]
    source: Source

    @model_validator(mode="after")
    def _same_years(self) -> RoutePaths:
        for name in ("international", "newly_qualified"):
            bad = [y for y in getattr(self, name) if not _YEAR.fullmatch(y) or "/" not in y]
            if bad:
                raise Invalid(f"financial years are written like \"2018/19\", not {bad[0]!r}", at=(name,))
        if set(self.international) != set(self.newly_qualified):
            raise Invalid("international and newly_qualified must give the same financial years",
                          value=sorted(set(self.international) ^ set(self.newly_qualified)))
        return self


class PublishedSeries(ConfigModel):
    """Published figures the model reads by year: GP training acceptances (the projection's and the
    back-test's GP joiners) and joiners by route (the back-test's route paths)."""

    gp_training_acceptances: Training
    health_joiners_by_route: RoutePaths


class Backtest(ConfigModel):
    """The back-test's own ranges: its rates are those of its base year, not the projection's."""

    nhs_leaving_rate: Rate
    international_share: Rate
    international_exponent: Factor


class Carers(ConfigModel):
    """Unpaid care as a sensitivity: what a fall in the hours unpaid carers give would add to paid care demand."""

    fall: Annotated[Number, Field(gt=0, le=1)] = Field(description="the fall asked about (0.10: 10% fewer hours)")
    hours_a_week: Annotated[dict[str, Factor], BeforeValidator(_keys(CARER_BANDS, "a range for each Census band"))]
    replaced_share: Rate
    hours_per_fte: Factor


@register(FILE)
class ScenarioFileModel(ConfigModel):
    """The scenario file: the horizon, the shared assumptions, the unpaid-care sensitivity and the scenarios."""

    horizon_years: int = Field(ge=1, le=25, strict=True, description="whole years projected after the base year")
    assumptions: Assumptions
    published_series: PublishedSeries
    backtest: Backtest
    unpaid_care_sensitivity: Carers | None = None
    scenarios: dict[str, Scenario] = Field(min_length=1)

    @model_validator(mode="after")
    def _combinations(self) -> ScenarioFileModel:
        plain = [n for n, s in self.scenarios.items() if not s.combine]
        for name, sc in self.scenarios.items():
            seen = set(sc.levers or {})
            for other in sc.combine or []:
                if other not in plain:
                    raise Invalid(f"unknown scenario {other!r} (or one that itself combines); known: {', '.join(plain)}",
                                  at=("scenarios", name, "combine"))
                for lever in self.scenarios[other].levers or {}:
                    if lever in seen:
                        raise Invalid(f"lever {lever!r} is set by more than one scenario combined",
                                      at=("scenarios", name, "combine"))
                    seen.add(lever)
        return self


def where(loc: tuple) -> str:
    """``scenario 'x', key 'a.b'`` for a key path in the file (``key 'a.b'`` outside the scenarios)."""
    loc = tuple(loc)
    head = ""
    if len(loc) >= 2 and loc[0] == "scenarios":
        head, loc = f"scenario '{loc[1]}', ", loc[2:]
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return f"{head}key '{key or ('(scenario)' if head else '(top level)')}'"


def error_at(source: str | Path, loc: tuple, problem: str) -> ScenarioConfigError:
    """The error for ``problem`` at key path ``loc`` of the file ``source`` (the problem names the value)."""
    return ScenarioConfigError(f"{source}: {where(loc)}: {problem}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _dig(value: Any, at: tuple) -> Any:
    for part in at:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _problem(err: dict) -> tuple[tuple, str]:
    """(key path, problem naming the value found) of one pydantic error."""
    loc, cause = tuple(err["loc"]), (err.get("ctx") or {}).get("error")
    if isinstance(cause, Invalid):
        value = _dig(err.get("input"), cause.at) if cause.value is ... else cause.value
        return loc + cause.at, str(cause) + ("" if cause.key else f" (found {_shown(value)})")
    if err["type"] == "value_error":                 # the validators of this module name the value themselves
        return loc, str(cause)
    if err["type"] == "missing":
        return loc, "missing"
    msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
    return loc, f"{msg} (found {_shown(err.get('input'))})"


def load(path: str | Path | None = None) -> ScenarioFileModel:
    """Read and validate a scenario file (default ``data/reference/scenarios.yaml``), or raise
    :class:`ScenarioConfigError` naming the file, the scenario, the key and the value."""
    path = Path(path) if path else paths.reference(FILE)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))   # libyaml where there
    except OSError as exc:
        raise ScenarioConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise ScenarioConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        return ScenarioFileModel.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        errors = [error_at(path, *_problem(err)) for err in exc.errors()[:10]]
        more = f"\n{path}: ... and {exc.error_count() - 10} more" if exc.error_count() > 10 else ""
        raise ScenarioConfigError("\n".join(map(str, errors)) + more) from None
