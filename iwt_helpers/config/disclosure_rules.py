"""``disclosure.yaml``: statistical disclosure control of every output table (small counts
suppressed) and of tables built from record-level extracts (rounded, secondary suppression)."""

from __future__ import annotations

from pydantic import Field, field_validator

from .base import ConfigModel, Positive, Text, get, register, unique


class RecordLevel(ConfigModel):
    """Rules of tables built from record-level extracts (``iwt extract load``)."""

    round_to: int = Field(5, ge=1, description="counts of people rounded to the nearest round_to")
    fte_round_to: Positive = Field(5.0, description="FTE rounded to the nearest fte_round_to")
    rate_min_denominator: int = Field(20, ge=1, description="a rate with fewer people behind it is suppressed")


@register("disclosure.yaml")
class Disclosure(ConfigModel):
    """Counts of people from 1 to min_count - 1 are suppressed and shown as the marker."""

    min_count: int = Field(ge=1)
    marker: Text
    count_columns: list[Text] = Field(min_length=1, description="columns that hold counts of people")
    record_level: RecordLevel = Field(default_factory=RecordLevel)

    @field_validator("count_columns")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        unique(v, "column")
        return v


def disclosure() -> Disclosure:
    """``disclosure.yaml``, validated (cached)."""
    return get("disclosure.yaml")
