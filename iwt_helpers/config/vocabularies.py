"""``vocabulary.yaml``: the controlled vocabularies of the data model (sectors, staff groups, age
bands, ethnic groups). Codes are what the tables hold, labels what reports show."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from .base import Code, ConfigModel, Invalid, Text, get, register, unique, unique_field


class Sector(ConfigModel):
    """A sector of the integrated workforce."""

    code: Code
    label: Text
    family: Literal["health", "social care"] = Field(description="the sector family charts and totals group by")
    ownership: Text


class StaffGroup(ConfigModel):
    """A staff group harmonised across sectors."""

    code: Code
    label: Text
    registered: bool = Field(description="the usual state of the group: professional registration (GMC, NMC, HCPC, "
                                         "Social Work England)")
    nhs_hchs_groups: list[Text] = Field(default_factory=list, description="NHS staff group names as NHS England "
                                                                          "publishes them, read as this group")


@register("vocabulary.yaml")
class Vocabulary(ConfigModel):
    """Controlled vocabularies: every code unique, every published NHS staff group read as one group only."""

    sectors: list[Sector] = Field(min_length=1)
    staff_groups: list[StaffGroup] = Field(min_length=1)
    workforce_age_bands: list[Code] = Field(min_length=1)
    population_age_bands: list[Code] = Field(min_length=1)
    ethnic_groups: list[Code] = Field(min_length=1)

    _sector_codes_unique = unique_field("sectors", "code", "code")
    _staff_group_codes_unique = unique_field("staff_groups", "code", "code")

    @field_validator("workforce_age_bands", "population_age_bands", "ethnic_groups")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        unique(v, "code")
        return v

    @model_validator(mode="after")
    def _hchs_groups_map_to_one_group(self) -> Vocabulary:
        seen: dict[str, str] = {}
        for i, g in enumerate(self.staff_groups):
            for j, name in enumerate(g.nhs_hchs_groups):
                if name in seen:
                    raise Invalid(f"NHS staff group {name!r} is already read as {seen[name]!r}",
                                  at=("staff_groups", i, "nhs_hchs_groups", j), value=name)
                seen[name] = g.code
        return self

    @property
    def sector_codes(self) -> list[str]:
        return [s.code for s in self.sectors]

    @property
    def staff_group_codes(self) -> list[str]:
        return [g.code for g in self.staff_groups]


def vocabulary() -> Vocabulary:
    """``vocabulary.yaml``, validated (cached)."""
    return get("vocabulary.yaml")
