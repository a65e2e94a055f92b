"""``peer_indicators.yaml``: the context indicators nearest-neighbour peers are found on, and how
much each counts (``analysis.peers``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictInt, field_validator

from .base import ConfigModel, Invalid, NonNegative, get, register

# The indicators analysis.peers computes (it labels and formats them); a weight for any other is an error.
INDICATORS = ("population", "share_65_plus", "share_85_plus", "growth_65_plus", "imd_score", "rural_share")
Indicator = Literal[INDICATORS]


@register("peer_indicators.yaml")
class PeerIndicators(ConfigModel):
    """Weights of the context indicators: known indicators, each 0 or more, not all 0 (an indicator
    left out counts 0)."""

    base_year: StrictInt = Field(2025, ge=2000, le=2100, description="the year population indicators are read in")
    growth_years: StrictInt = Field(10, ge=1, le=25, description="growth of the 65+ population is over these years")
    weights: dict[Indicator, NonNegative] = Field(description="indicator id -> weight (0 leaves it out)")

    @field_validator("weights")
    @classmethod
    def _some_weight(cls, v: dict[str, float]) -> dict[str, float]:
        if sum(v.values()) <= 0:
            raise Invalid("every weight is 0; at least one indicator must count")
        return v


def peer_indicators() -> PeerIndicators:
    """``peer_indicators.yaml``, validated (cached)."""
    return get("peer_indicators.yaml")
