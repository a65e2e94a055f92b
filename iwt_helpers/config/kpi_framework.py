"""``kpis.yaml`` (the governance KPI framework) and ``kpi_targets.yaml`` (ICB-specific targets)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .base import Code, ConfigModel, ConfigRoot, Invalid, NonNegative, Number, Text, context, get, register, unique_field
from .icbs import ods_code

IMPROVEMENT = ("increase", "decrease", "neutral")      # as analysis.spc.DIRECTIONS reads them
FREQUENCIES = ("monthly", "annual")


class KpiDemo(ConfigModel):
    """How the synthetic demonstration series of a KPI is drawn."""

    level: Number
    sd: NonNegative = Field(description="monthly noise (standard deviation)")
    trend: Number = Field(description="change per year")
    seasonal: Number | None = Field(None, description="amplitude of a winter peak")


class Kpi(ConfigModel):
    """One KPI of the framework, read with Making Data Count SPC."""

    id: Code
    name: Text
    definition: Text
    unit: Text
    improvement: Literal[IMPROVEMENT]
    target: Number = Field(description="the default target; ICB-specific ones go in kpi_targets.yaml")
    owner_role: Text = Field(description="a role, never a person's name")
    source: Text
    frequency: Literal[FREQUENCIES] = "monthly"
    seasonal: bool = Field(False, description="the measure has a known seasonal pattern")
    rebase: list[dt.date] = Field(default_factory=list, description="dates where the process changed; limits are "
                                                                    "recalculated from each")
    rolling: int = Field(0, ge=0, le=60, description="months each value spans (0: not rolling); a rolling KPI gets "
                                                     "a run chart, no SPC")
    series_from: dt.date | None = Field(None, description="the first month of the series")
    demo: KpiDemo | None = Field(None, description="how the synthetic series is drawn; none for a KPI read from "
                                                   "real published series only")

    @field_validator("rebase")
    @classmethod
    def _rebase_in_order(cls, v: list[dt.date]) -> list[dt.date]:
        for i in range(1, len(v)):
            if v[i] <= v[i - 1]:
                raise Invalid("rebase dates must be in order, each once", at=(i,), value=v[i].isoformat())
        return v


@register("kpis.yaml")
class KpiFramework(ConfigModel):
    """The governance KPI framework: KPI ids unique."""

    min_points: int | None = Field(None, ge=2, description="observations a KPI needs before its SPC icons are shown "
                                                           "(default: the Making Data Count advice)")
    stale_after_months: int = Field(12, ge=1, description="months a KPI's latest point may lag the newest month "
                                                          "in the data before it is flagged as stale")
    kpis: list[Kpi] = Field(min_length=1)

    _ids_unique = unique_field("kpis", "KPI id", "id")

    @property
    def ids(self) -> list[str]:
        return [k.id for k in self.kpis]


@register("kpi_targets.yaml")
class KpiTargets(ConfigRoot):
    """ICB-specific KPI targets that override the defaults of kpis.yaml: ``<ICB code>: {<KPI id>: <target>}``.
    ICB codes (ODS or E54) are read as ODS codes; each ICB once; KPI ids of kpis.yaml."""

    root: dict[str, dict[str, Number] | None] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _icbs_known_once(cls, data):
        if not isinstance(data, dict):
            return data
        out: dict = {}
        for key, targets in data.items():
            try:
                code = ods_code(key)
            except ValueError as err:
                raise Invalid(str(err), at=(key,), value=key, key=True) from None
            if code in out:
                raise Invalid(f"ICB {code} is given twice", at=(key,), value=key, key=True)
            out[code] = targets
        return out

    @model_validator(mode="after")
    def _kpis_known(self, info: ValidationInfo) -> KpiTargets:
        known = context(info).get("kpi_ids") or get("kpis.yaml").ids
        for code, targets in self.root.items():
            for kpi in targets or {}:
                if kpi not in known:
                    raise Invalid(f"unknown KPI id; known: {', '.join(known)}", at=(code, kpi), value=kpi, key=True)
        return self

    def for_icb(self, icb_code: str) -> dict[str, float]:
        """The overrides of one ICB (ODS code)."""
        return dict(self.root.get(icb_code) or {})


def kpis() -> KpiFramework:
    """``kpis.yaml``, validated (cached)."""
    return get("kpis.yaml")


def kpi_targets() -> KpiTargets:
    """``kpi_targets.yaml``, validated (cached)."""
    return get("kpi_targets.yaml")
