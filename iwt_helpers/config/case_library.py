"""``case_studies.yaml``: the case-study library of the case_studies theme (``analysis.case_studies``)."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .base import Code, ConfigModel, Invalid, Text, context, get, register, unique
from .icbs import IcbCode
from .item_bank import ItemId, email_problems


class Initiative(ConfigModel):
    """What partners could adopt."""

    id: Code = Field(description="stable identifier, unique across the library")
    title: Text
    what: Text
    readiness: list[ItemId] = Field(min_length=1, description="ids of the readiness items it helps with "
                                                              "(data/reference/readiness_items.yaml)")
    themes: list[Code] = Field(min_length=1, description="the guide's themes it illustrates")

    @field_validator("readiness")
    @classmethod
    def _known_items(cls, v: list[str], info: ValidationInfo) -> list[str]:
        known = context(info).get("readiness_item_ids") or get("readiness_items.yaml").ids
        for i, tag in enumerate(v):
            if tag not in known:
                raise Invalid("not an item id of data/reference/readiness_items.yaml", at=(i,), value=tag)
        return v


class System(ConfigModel):
    """A system the guide describes, summarised in iwt's own words."""

    id: Code
    icb_code: IcbCode = Field(description="the ICB covering the system (ODS or E54 code, read as ODS)")
    name: Text
    summary: Text
    facts: list[Text] = Field(default_factory=list)
    initiatives: list[Initiative] = Field(default_factory=list)


@register("case_studies.yaml")
class CaseStudyLibrary(ConfigModel):
    """The library: known ICB codes, unique ids, at least one known readiness item and known themes per
    initiative, no contact details."""

    source: Text
    themes: list[Code] = Field(min_length=1)
    systems: list[System] = Field(min_length=1)

    @classmethod
    def text_problems(cls, text: str) -> list[tuple[int, str, str]]:
        return email_problems(text, "the library")

    @field_validator("themes")
    @classmethod
    def _themes_unique(cls, v: list[str]) -> list[str]:
        unique(v, "theme")
        return v

    @model_validator(mode="after")
    def _ids_unique_and_themes_known(self) -> CaseStudyLibrary:
        unique([s.id for s in self.systems], "system id", "id", at=("systems",))
        seen: set[str] = set()
        for i, s in enumerate(self.systems):
            for j, ini in enumerate(s.initiatives):
                at = ("systems", i, "initiatives", j)
                if ini.id in seen:
                    raise Invalid(f"initiative id {ini.id!r} is used twice", at=(*at, "id"), value=ini.id)
                seen.add(ini.id)
                for k, theme in enumerate(ini.themes):
                    if theme not in self.themes:
                        raise Invalid(f"unknown theme; expected some of {', '.join(self.themes)}",
                                      at=(*at, "themes", k), value=theme)
        return self


def case_studies() -> CaseStudyLibrary:
    """``case_studies.yaml``, validated (cached)."""
    return get("case_studies.yaml")
