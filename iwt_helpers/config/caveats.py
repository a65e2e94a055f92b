"""The model of ``data/reference/caveats.yaml``: the caveats the reports show, keyed by assumption id
(rendered by ``present.caveats``)."""

from __future__ import annotations

import re
import string

from pydantic import field_validator, model_validator

from .base import ConfigModel, register

FILE = "caveats.yaml"
THEMES = ("data", "readiness", "governance_metrics", "case_studies", "scenarios")
ID = re.compile(r"^A\d+(\.[a-z_]+)?$")           # an assumption id, and a case where it has several caveats
ASSUMPTION = re.compile(r"^A\d+$")


def fields(template: str) -> list[str]:
    """The names a template fills in, in order, once each."""
    return list(dict.fromkeys(name for _, name, _, _ in string.Formatter().parse(template) if name is not None))


class Caveat(ConfigModel):
    text: str
    themes: list[str]
    when: str | None = None
    also: list[str] = []
    fills: dict[str, str] = {}

    @field_validator("themes")
    @classmethod
    def _known_themes(cls, v: list[str]) -> list[str]:
        unknown = [t for t in v if t not in THEMES]
        if unknown or not v:
            raise ValueError(f"themes must be some of {', '.join(THEMES)}")
        return v

    @field_validator("also")
    @classmethod
    def _assumption_ids(cls, v: list[str]) -> list[str]:
        if any(not ASSUMPTION.match(a) for a in v):
            raise ValueError("also lists assumption ids such as A3")
        return v

    @model_validator(mode="after")
    def _fills_match_the_text(self) -> Caveat:
        names = fields(self.text)
        if any(not n.isidentifier() for n in names):
            raise ValueError("text: each {name} must be a plain name")
        if set(names) != set(self.fills):
            raise ValueError(f"fills must describe exactly the names in the text ({', '.join(names) or 'none'})")
        return self


@register(FILE)
class CaveatFile(ConfigModel):
    caveats: dict[str, Caveat]

    @field_validator("caveats")
    @classmethod
    def _ids(cls, v: dict[str, Caveat]) -> dict[str, Caveat]:
        bad = [k for k in v if not ID.match(k)]
        if bad:
            raise ValueError(f"keys are assumption ids, with a case after a dot where one has several (A8, A8.fell_back); "
                             f"found {', '.join(bad)}")
        return v
