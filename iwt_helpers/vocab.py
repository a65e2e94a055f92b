"""Controlled vocabularies (sectors, staff groups, age bands, ethnic groups) from ``vocabulary.yaml``,
validated by its model in :mod:`iwt_helpers.config`."""

from __future__ import annotations

import pandas as pd


def load_yaml(name: str) -> dict:
    """A reference YAML file from data/reference, parsed (cached; treat as read-only) and validated
    by its config model first when it has one, so a file read as a mapping is a checked file too."""
    # imported here, not at the top: modules of the config package import this one
    from iwt_helpers import config

    data = config.raw(name)
    if not isinstance(data, dict):
        from iwt_helpers import paths
        from iwt_helpers.errors import ConfigError
        raise ConfigError(f"{paths.reference(name)}: expected a mapping at the top level")
    return data


def _vocab():
    from iwt_helpers import config
    return config.vocabulary()


def sectors() -> pd.DataFrame:
    return pd.DataFrame([s.model_dump() for s in _vocab().sectors])


def sector_codes() -> list[str]:
    return _vocab().sector_codes


def sector_labels() -> dict[str, str]:
    return {s.code: s.label for s in _vocab().sectors}


def staff_groups() -> pd.DataFrame:
    return pd.DataFrame([g.model_dump() for g in _vocab().staff_groups])


def staff_group_codes() -> list[str]:
    return _vocab().staff_group_codes


def staff_group_labels() -> dict[str, str]:
    return {g.code: g.label for g in _vocab().staff_groups}


# A staff group whose shared label describes what it holds in NHS trusts (there, allied health professionals
# sit with scientific and technical staff and this group holds ambulance staff only), named for what it
# holds in the other sectors.
OTHER_SECTOR_GROUP_LABELS = {"ahp": "Allied health professionals (e.g. occupational therapists)"}


def staff_group_names(sector: pd.Series, staff_group: pd.Series, extra: dict[str, str] | None = None) -> pd.Series:
    """Each row's staff group named as its sector holds it: the vocabulary's label, or in sectors other
    than NHS trusts the label of :data:`OTHER_SECTOR_GROUP_LABELS` where it has one. ``extra``: labels of
    codes outside the vocabulary (e.g. ``{"all": "All staff groups"}``)."""
    names = staff_group.map({**staff_group_labels(), **(extra or {})})
    outside = sector != "nhs_trust"
    for code, label in OTHER_SECTOR_GROUP_LABELS.items():
        names = names.mask(outside & (staff_group == code), label)
    return names


def workforce_age_bands() -> list[str]:
    return list(_vocab().workforce_age_bands)


def population_age_bands() -> list[str]:
    return list(_vocab().population_age_bands)


def ethnic_groups() -> list[str]:
    return list(_vocab().ethnic_groups)
