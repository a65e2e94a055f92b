"""``readiness_items.yaml``: the item bank of the readiness self-assessment (``data.readiness_store``)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, Strict, StringConstraints, field_validator, model_validator

from .base import ConfigModel, Invalid, Text, get, register, unique_field

# What the ICB view can group assessments by; data.readiness_store maps each to a pandas frequency.
PERIODS = ("month", "quarter", "year", "financial year")
ItemId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
Weight = Annotated[float, Strict(), Field(gt=0, allow_inf_nan=False)]
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def email_problems(text: str, what: str) -> list[tuple[int, str, str]]:
    """Lines of a file's text (comments included) that hold an e-mail address."""
    return [(n, f"contains an e-mail address; {what} holds no contact details", m.group(0))
            for n, line in enumerate(text.splitlines(), 1) for m in [EMAIL.search(line)] if m]


class Rag(ConfigModel):
    """RAG of an item from the partners' mean score in the latest round."""

    red_below: float = Field(2.0, description="mean below this: red")
    green_from: float = Field(3.0, description="mean this or more: green; amber between")


class Domain(ConfigModel):
    id: ItemId
    label: Text
    section: Text


class Item(ConfigModel):
    """One readiness item: what "ready" looks like, a descriptor per level and what helps."""

    id: ItemId = Field(description="stable identifier: responses files refer to it; never reuse or renumber")
    domain: ItemId
    section: Text
    text: Text
    weight: Weight = Field(description="how much a gap counts in the action plan (weight x (target - score))")
    levels: dict[int, Text] = Field(description="one descriptor per level of the scale")
    helps: Text


@register("readiness_items.yaml")
class ReadinessItems(ConfigModel):
    """The item bank: levels numbered 0, 1, 2, ...; every item with a known domain, a descriptor per
    level and a positive weight; ids unique; no contact details."""

    scale: dict[int, Text] = Field(min_length=2, description="level -> name, from 0")
    target: int | None = Field(None, description="the level the action plan measures gaps against (default: the top)")
    rag: Rag = Field(default_factory=Rag)
    disagreement_levels: int = Field(2, ge=1, description="partners disagree when their scores are this far apart")
    period: Literal[PERIODS] = Field("quarter", description="what the ICB view groups assessments by")
    domains: list[Domain] = Field(min_length=1)
    items: list[Item] = Field(min_length=1)

    @classmethod
    def text_problems(cls, text: str) -> list[tuple[int, str, str]]:
        return email_problems(text, "the item bank")

    @field_validator("period", mode="before")
    @classmethod
    def _period_words(cls, v):
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("scale")
    @classmethod
    def _levels_from_0(cls, v: dict[int, str]) -> dict[int, str]:
        if sorted(v) != list(range(len(v))):
            raise Invalid("the levels must be numbered 0, 1, 2, ...", value=sorted(v))
        return dict(sorted(v.items()))

    _domains_unique = unique_field("domains", "domain id", "id")

    _items_unique = unique_field("items", "item id", "id")

    @model_validator(mode="after")
    def _fits_the_scale(self) -> ReadinessItems:
        levels, top = list(self.scale), max(self.scale)
        domains = [d.id for d in self.domains]
        for k, item in enumerate(self.items):
            if item.domain not in domains:
                raise Invalid(f"unknown domain; expected one of {', '.join(domains)}", at=("items", k, "domain"),
                              value=item.domain)
            if sorted(item.levels) != levels:
                raise Invalid(f"one descriptor for each level {', '.join(map(str, levels))} is needed",
                              at=("items", k, "levels"), value=sorted(item.levels))
        if self.target is not None and self.target not in self.scale:
            raise Invalid(f"the target must be a level of the scale (0 to {top})", at=("target",), value=self.target)
        for key in ("red_below", "green_from"):
            if not 0 <= getattr(self.rag, key) <= top:
                raise Invalid(f"must be from 0 to {top}, the levels of the scale", at=("rag", key),
                              value=getattr(self.rag, key))
        if self.rag.red_below > self.rag.green_from:
            raise Invalid("red_below is above green_from", at=("rag", "red_below"), value=self.rag.red_below)
        if self.disagreement_levels > top:
            raise Invalid(f"must be at most {top}, the top level", at=("disagreement_levels",),
                          value=self.disagreement_levels)
        return self

    @property
    def ids(self) -> list[str]:
        return [i.id for i in self.items]

    @property
    def target_level(self) -> int:
        return max(self.scale) if self.target is None else self.target


def readiness_items() -> ReadinessItems:
    """``readiness_items.yaml``, validated (cached)."""
    return get("readiness_items.yaml")
