"""``ambulance_trusts.yaml``: the ten English ambulance trusts and the ICBs (or parts of ICBs) each
serves; input of ``iwt reference build`` (``data.trust_catchment``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, StrictInt, StringConstraints, model_validator

from .base import ConfigModel, Invalid, Text, get, register, unique_field
from .icbs import IcbCode

PlaceCode = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v),
                      StringConstraints(pattern=r"^[0-9A-Z]{3}$")]
LadCode = Annotated[str, StringConstraints(pattern=r"^E0[6-9][0-9]{6}$")]
OrgCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3,5}$")]


class Served(ConfigModel):
    """An ICB a trust serves: whole (``icb`` only) or the part named by places, local authorities, or
    the whole ICB less some authorities."""

    icb: IcbCode
    places: list[PlaceCode] | None = Field(None, min_length=1, description="sub-ICB locations (ODS codes)")
    lads: list[LadCode] | None = Field(None, min_length=1, description="local authorities (2023 codes)")
    except_lads: list[LadCode] | None = Field(None, min_length=1, description="the ICB less these authorities")


class Trust(ConfigModel):
    org_code: OrgCode
    name: Text
    area: Text
    sources: list[Text] = Field(min_length=1)
    icbs: list[Served] = Field(min_length=1)


@register("ambulance_trusts.yaml")
class AmbulanceTrusts(ConfigModel):
    """Ambulance trusts and the ICBs each serves, split by the population of the year named."""

    population_year: StrictInt = Field(ge=2000, le=2100, description="ONS population year of the split")
    source: Text
    trusts: list[Trust] = Field(min_length=1)

    _org_codes_unique = unique_field("trusts", "trust", "org_code")

    @model_validator(mode="after")
    def _one_way_to_name_a_part(self) -> AmbulanceTrusts:
        for i, t in enumerate(self.trusts):
            for j, s in enumerate(t.icbs):
                if s.lads is not None and s.except_lads is not None:
                    raise Invalid("name the part by lads or by except_lads, not both",
                                  at=("trusts", i, "icbs", j, "except_lads"), value=s.except_lads)
        return self


def ambulance_trusts() -> AmbulanceTrusts:
    """``ambulance_trusts.yaml``, validated (cached)."""
    return get("ambulance_trusts.yaml")
