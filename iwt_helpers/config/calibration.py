"""``demo_calibration.yaml``: the national figures the synthetic demonstration data set meets
exactly in its calibration year, and the shapes around them (``data.demo``)."""

from __future__ import annotations

import datetime as dt
import math

from pydantic import Field, StrictInt, field_validator, model_validator

from .base import ConfigModel, Invalid, NonNegative, Number, Pct, Positive, Share, Text, get, register

FAMILIES = ("nhs_trust", "primary_care", "social_care")      # age and ethnicity profiles: the ASC sectors share one
SHARE_TOLERANCE = 1e-6
Shares = dict[str, Share]
Weights = dict[str, Positive]
ByYear = dict[int, Positive]


def _adds_to_one(shares: dict[str, float], at: tuple) -> None:
    total = sum(shares.values())
    if not math.isclose(total, 1.0, abs_tol=SHARE_TOLERANCE):
        raise Invalid(f"the shares must add up to 1; they add up to {total:.6g}", at=at, value=shares)


def _known(keys, known, what: str, at: tuple) -> None:
    for key in keys:
        if key not in known:
            raise Invalid(f"unknown {what}; expected one of {', '.join(map(str, known))}", at=(*at, key), value=key,
                          key=True)


def _covers(mapping: dict, needed, what: str, at: tuple) -> None:
    missing = [k for k in needed if k not in mapping]
    if missing:
        raise Invalid(f"no {what} for {', '.join(map(str, missing))}", at=at, value=sorted(mapping))


class StaffedSector(ConfigModel):
    """An NHS sector (NHS trusts, primary care) calibrated on its national FTE."""

    total_fte: Positive = Field(description="national FTE in the calibration year")
    fte_per_head: Positive
    growth_pct_per_year: Number
    staff_groups: Shares = Field(description="staff group -> share of the FTE (adding up to 1)")
    leaver_rate_pct: Pct
    leaver_weights: Weights = Field(default_factory=dict, description="staff group -> relative leaver rate (default 1)")
    to_other_sector_pct_of_leavers: Pct


class NhsTrustSector(StaffedSector):
    vacancies: Positive = Field(description="national vacancies in the calibration year")
    vacancy_weights: Weights = Field(description="staff group -> relative vacancy level (one for each of its groups)")


class PrimaryCareSector(StaffedSector):
    vacancy_rate_pct: Pct


class AscSector(ConfigModel):
    """An adult social care sector: its share of the national filled posts."""

    share_of_asc_filled_posts: Share
    vacancy_sector_weight: Positive


class Sectors(ConfigModel):
    """One entry for each sector of vocabulary.yaml."""

    nhs_trust: NhsTrustSector
    primary_care: PrimaryCareSector
    asc_local_authority: AscSector
    asc_independent: AscSector
    asc_voluntary: AscSector

    def asc(self) -> dict[str, AscSector]:
        return {k: v for k, v in self if isinstance(v, AscSector)}


class AdultSocialCare(ConfigModel):
    total_filled_posts: Positive
    fte_per_filled_post: Positive
    growth_pct_per_year: Number
    vacancies: Positive
    turnover_pct: Pct
    staff_groups: dict[str, Shares] = Field(description="ASC sector -> staff group -> share of its filled posts")
    vacancy_weights: Weights
    turnover_weights: Weights
    to_nhs_pct_of_leavers: dict[str, Pct] = Field(description="staff group (or default) -> % of leavers going to the NHS")

    @field_validator("to_nhs_pct_of_leavers")
    @classmethod
    def _has_default(cls, v: dict[str, float]) -> dict[str, float]:
        if "default" not in v:
            raise Invalid("needs a default for the other staff groups", value=v)
        return v


class Pay(ConfigModel):
    calibration_year: StrictInt = Field(description="the year care workers earn care_worker_gap_gbp less than new NHS HCAs")
    nhs_hca_new_to_role: ByYear = Field(description="year -> GBP per hour")
    care_worker_gap_gbp: NonNegative
    care_worker_average: ByYear = Field(description="year -> GBP per hour (not the calibration year: set by the gap)")
    national_living_wage: ByYear
    relative_to_nhs_hca: Weights
    relative_to_care_worker: Weights
    london_uplift: dict[str, Positive]

    @field_validator("london_uplift")
    @classmethod
    def _nhs_and_asc(cls, v: dict[str, float]) -> dict[str, float]:
        _covers(v, ("nhs", "asc"), "uplift", ())
        _known(v, ("nhs", "asc"), "uplift", ())
        return v


class PrimaryCarePractices(ConfigModel):
    qualified_gp_share_of_doctors: Share
    partner_share_of_qualified_gps: Share
    list_inflation: Positive = Field(description="registered patients per resident")
    patients_per_practice: Positive


class Ethnicity(ConfigModel):
    workforce_multiplier: dict[str, Positive] = Field(description="sector family -> multiplier of residents' "
                                                                  "ethnic minority share")
    unknown_share: dict[str, Share]


class KpiMonths(ConfigModel):
    start: dt.date
    end: dt.date


@register("demo_calibration.yaml")
class DemoCalibration(ConfigModel):
    """Calibration of the demo set: known sectors, staff groups and age bands; shares adding up to 1;
    a figure for every year and staff group the generator looks up; a label that says SYNTHETIC."""

    seed: StrictInt
    snapshot_month: StrictInt = Field(ge=1, le=12)
    years: list[StrictInt] = Field(min_length=1)
    calibration_year: StrictInt
    label: Text = Field(description="the source of every demo row; must say SYNTHETIC")
    sectors: Sectors
    adult_social_care: AdultSocialCare
    vacancy_year_factor: ByYear = Field(description="year -> vacancy level relative to the calibration year")
    pay: Pay
    primary_care_practices: PrimaryCarePractices
    age_profile: dict[str, Shares] = Field(description="sector family -> workforce age band -> share")
    ethnicity: Ethnicity
    kpi_months: KpiMonths
    readiness_rounds: list[dt.date] = Field(min_length=1)

    @field_validator("years")
    @classmethod
    def _years_in_order(cls, v: list[int]) -> list[int]:
        for i in range(1, len(v)):
            if v[i] <= v[i - 1]:
                raise Invalid("years must be in order, each once", at=(i,), value=v[i])
        return v

    @field_validator("label")
    @classmethod
    def _says_synthetic(cls, v: str) -> str:
        if "SYNTHETIC" not in v:
            raise Invalid("must contain SYNTHETIC (how reports and peers recognise demo rows)")
        return v

    @field_validator("readiness_rounds")
    @classmethod
    def _rounds_in_order(cls, v: list[dt.date]) -> list[dt.date]:
        for i in range(1, len(v)):
            if v[i] <= v[i - 1]:
                raise Invalid("rounds must be in order, each once", at=(i,), value=v[i].isoformat())
        return v

    @model_validator(mode="after")
    def _consistent(self) -> DemoCalibration:
        vocab = get("vocabulary.yaml")
        groups, bands = vocab.staff_group_codes, list(vocab.workforce_age_bands)
        years = self.years
        if self.calibration_year not in years:
            raise Invalid(f"must be one of the years {years}", at=("calibration_year",), value=self.calibration_year)
        sector_codes = [name for name, _ in self.sectors]
        if sector_codes != vocab.sector_codes:
            raise Invalid(f"one entry for each sector of vocabulary.yaml ({', '.join(vocab.sector_codes)})",
                          at=("sectors",), value=sector_codes)
        for name in ("nhs_trust", "primary_care"):
            sc = getattr(self.sectors, name)
            at = ("sectors", name)
            for key in ("staff_groups", "leaver_weights", "vacancy_weights"):
                _known(getattr(sc, key, {}), groups, "staff group", (*at, key))
            _adds_to_one(sc.staff_groups, (*at, "staff_groups"))
        _covers(self.sectors.nhs_trust.vacancy_weights, self.sectors.nhs_trust.staff_groups, "vacancy weight",
                ("sectors", "nhs_trust", "vacancy_weights"))
        asc = self.sectors.asc()
        _adds_to_one({k: v.share_of_asc_filled_posts for k, v in asc.items()}, ("sectors",))
        a, at = self.adult_social_care, ("adult_social_care",)
        _known(a.staff_groups, list(asc), "adult social care sector", (*at, "staff_groups"))
        _covers(a.staff_groups, asc, "staff groups", (*at, "staff_groups"))
        used = sorted({g for shares in a.staff_groups.values() for g in shares})
        for sector, shares in a.staff_groups.items():
            _known(shares, groups, "staff group", (*at, "staff_groups", sector))
            _adds_to_one(shares, (*at, "staff_groups", sector))
        for key in ("vacancy_weights", "turnover_weights"):
            _known(getattr(a, key), groups, "staff group", (*at, key))
            _covers(getattr(a, key), used, key.replace("_", " ").rstrip("s"), (*at, key))
        _known(a.to_nhs_pct_of_leavers, [*groups, "default"], "staff group", (*at, "to_nhs_pct_of_leavers"))
        _covers(self.vacancy_year_factor, years, "factor", ("vacancy_year_factor",))
        p, at = self.pay, ("pay",)
        if p.calibration_year not in years:
            raise Invalid(f"must be one of the years {years}", at=(*at, "calibration_year"), value=p.calibration_year)
        _covers(p.nhs_hca_new_to_role, years, "NHS healthcare assistant pay", (*at, "nhs_hca_new_to_role"))
        _covers(p.national_living_wage, years, "National Living Wage", (*at, "national_living_wage"))
        _covers(p.care_worker_average, [y for y in years if y != p.calibration_year], "care worker pay",
                (*at, "care_worker_average"))
        for key in ("relative_to_nhs_hca", "relative_to_care_worker"):
            _known(getattr(p, key), groups, "staff group", (*at, key))
        _known(self.age_profile, FAMILIES, "sector family", ("age_profile",))
        _covers(self.age_profile, FAMILIES, "age profile", ("age_profile",))
        for family, shares in self.age_profile.items():
            _known(shares, bands, "workforce age band of vocabulary.yaml", ("age_profile", family))
            _covers(shares, bands, "share", ("age_profile", family))
            _adds_to_one(shares, ("age_profile", family))
        for key in ("workforce_multiplier", "unknown_share"):
            _known(getattr(self.ethnicity, key), FAMILIES, "sector family", ("ethnicity", key))
            _covers(getattr(self.ethnicity, key), FAMILIES, key.replace("_", " "), ("ethnicity", key))
        if self.kpi_months.start > self.kpi_months.end:
            raise Invalid("start is after end", at=("kpi_months", "start"), value=self.kpi_months.start.isoformat())
        return self


def demo_calibration() -> DemoCalibration:
    """``demo_calibration.yaml``, validated (cached)."""
    return get("demo_calibration.yaml")
