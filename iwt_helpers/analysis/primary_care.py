"""General practice: FTE per 10,000 registered patients by role, for an ICB against its NHS
England region and England, at the latest financial year and as a trend."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pandas as pd

from iwt_helpers.data import geography

from . import indicators

# General practice roles in the order tables list them (themes.wording.GP_ROLE labels them).
ROLES = ("gp_qualified", "gp_trainee_locum", "nurse", "direct_patient_care", "admin", "gp_partner")
Once = Callable[[tuple, Callable[[], Any]], Any]          # a memo: once(key, compute) -> compute(), kept under key


def _areas(gp: pd.DataFrame, icb_code: str) -> dict[str, Callable[[], pd.DataFrame]]:
    """The rows of the ICB, its region and England, by area name (each worked out when asked)."""
    icb_code = geography.resolve_icb(icb_code)
    region = geography.region_of(icb_code)
    return {geography.icb_name(icb_code): lambda: gp[gp["icb_code"] == icb_code],
            f"{geography.region_name(icb_code)} region": lambda: gp[gp["icb_code"].map(geography.region_of) == region],
            "England": lambda: gp}


def _per_10k(d: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    fte = d.groupby(by, as_index=False)["fte"].sum()
    # Patients are counted once per ICB and year (every role row of an ICB repeats its list size).
    pts = d.drop_duplicates(["financial_year", "icb_code"]).groupby(
        [b for b in by if b != "role"], as_index=False)["registered_patients"].sum()
    out = fte.merge(pts, on=[b for b in by if b != "role"])
    out["fte_per_10k_patients"] = 10 * indicators.per_1000(out["fte"], out["registered_patients"])
    return out


def _by_area(gp: pd.DataFrame, icb_code: str, key: tuple, once: Once | None) -> pd.DataFrame:
    """:func:`_per_10k` by role of the ICB, its region and England, one below the other with the area
    named. The region's and England's go through ``once(key, compute)`` where given: a memo of the
    data ``gp`` comes from (e.g. :meth:`SystemData.memo`), as they are the same for every ICB of the
    region; ``key`` says which rows of it ``gp`` holds."""
    def table(area: str, rows: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        t = _per_10k(rows(), ["financial_year", "role"])
        t.insert(0, "area", area)
        return t
    mine, *shared = _areas(gp, icb_code).items()
    parts = [table(*mine)]
    for area, rows in shared:
        compute = functools.partial(table, area, rows)
        parts.append(compute() if once is None else once(("gp_per_10k", *key, area), compute))
    return pd.concat(parts, ignore_index=True)


def per_10k_patients(gp: pd.DataFrame, icb_code: str, financial_year: str | None = None,
                     once: Once | None = None) -> pd.DataFrame:
    """FTE per 10,000 registered patients by role (a code; :data:`ROLES` order) for the ICB, its
    region and England (``once``: see :func:`_by_area`)."""
    fy = financial_year or gp["financial_year"].max()
    out = _by_area(gp[gp["financial_year"] == fy], icb_code, ("year", fy), once)
    order = {r: i for i, r in enumerate(ROLES)}
    return out.sort_values(["role", "area"], key=lambda c: c.map(order) if c.name == "role" else c.map(
        {a: i for i, a in enumerate(out["area"].unique())})).reset_index(drop=True)


def trend_per_10k_patients(gp: pd.DataFrame, icb_code: str, role: str = "gp_qualified",
                           once: Once | None = None) -> pd.DataFrame:
    """One role's FTE per 10,000 registered patients by financial year: ICB, region, England
    (``once``: see :func:`_by_area`)."""
    out = _by_area(gp[gp["role"] == role], icb_code, ("role", role), once)
    return out.sort_values(["area", "financial_year"]).reset_index(drop=True)


def unplaced_gp_fte(unmapped: pd.DataFrame | None) -> pd.Series | None:
    """Qualified-GP FTE of the practices the build could not place in an ICB, by period (oldest
    first); None when there are none."""
    if unmapped is None or "qualified_gp_fte" not in unmapped:
        return None
    un = unmapped[unmapped["source"] == "gp_practice_workforce"]
    if not len(un):
        return None
    return un.groupby("period")["qualified_gp_fte"].sum().sort_index()
