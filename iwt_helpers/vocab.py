"""Controlled vocabularies (sectors, staff groups, age bands, ethnic groups) from YAML."""

from __future__ import annotations

import functools

import pandas as pd
import yaml

from iwt_helpers import paths


@functools.cache
def load_yaml(name: str) -> dict:
    """A reference YAML file from data/reference, parsed (cached; treat as read-only)."""
    path = paths.reference(name)
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


def _vocab() -> dict:
    return load_yaml("vocabulary.yaml")


def sectors() -> pd.DataFrame:
    return pd.DataFrame(_vocab()["sectors"])


def sector_codes() -> list[str]:
    return [s["code"] for s in _vocab()["sectors"]]


def sector_labels() -> dict[str, str]:
    return {s["code"]: s["label"] for s in _vocab()["sectors"]}


def staff_groups() -> pd.DataFrame:
    return pd.DataFrame(_vocab()["staff_groups"])


def staff_group_codes() -> list[str]:
    return [s["code"] for s in _vocab()["staff_groups"]]


def staff_group_labels() -> dict[str, str]:
    return {s["code"]: s["label"] for s in _vocab()["staff_groups"]}


def workforce_age_bands() -> list[str]:
    return list(_vocab()["workforce_age_bands"])


def population_age_bands() -> list[str]:
    return list(_vocab()["population_age_bands"])


def ethnic_groups() -> list[str]:
    return list(_vocab()["ethnic_groups"])
