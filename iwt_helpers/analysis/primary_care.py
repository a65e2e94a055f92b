"""General practice: FTE per 10,000 registered patients by role, for an ICB against its NHS
England region and England, at the latest financial year and as a trend."""

from __future__ import annotations

import pandas as pd

from iwt_helpers.data import geography

from . import indicators

# General practice roles in the order tables list them (themes.wording.GP_ROLE labels them).
ROLES = ("gp_qualified", "gp_trainee_locum", "nurse", "direct_patient_care", "admin", "gp_partner")


def _areas(gp: pd.DataFrame, icb_code: str) -> dict[str, pd.DataFrame]:
    icb_code = geography.resolve_icb(icb_code)
    region = geography.region_of(icb_code)
    in_region = gp["icb_code"].map(geography.region_of) == region
    return {geography.icb_name(icb_code): gp[gp["icb_code"] == icb_code],
            f"{geography.region_name(icb_code)} region": gp[in_region], "England": gp}


def _per_10k(d: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    fte = d.groupby(by, as_index=False)["fte"].sum()
    # Patients are counted once per ICB and year (every role row of an ICB repeats its list size).
    pts = d.drop_duplicates(["financial_year", "icb_code"]).groupby(
        [b for b in by if b != "role"], as_index=False)["registered_patients"].sum()
    out = fte.merge(pts, on=[b for b in by if b != "role"])
    out["fte_per_10k_patients"] = 10 * indicators.per_1000(out["fte"], out["registered_patients"])
    return out


def per_10k_patients(gp: pd.DataFrame, icb_code: str, financial_year: str | None = None) -> pd.DataFrame:
    """FTE per 10,000 registered patients by role (a code; :data:`ROLES` order) for the ICB, its
    region and England."""
    fy = financial_year or gp["financial_year"].max()
    rows = []
    for area, d in _areas(gp[gp["financial_year"] == fy], icb_code).items():
        t = _per_10k(d, ["financial_year", "role"])
        t.insert(0, "area", area)
        rows.append(t)
    out = pd.concat(rows, ignore_index=True)
    order = {r: i for i, r in enumerate(ROLES)}
    return out.sort_values(["role", "area"], key=lambda c: c.map(order) if c.name == "role" else c.map(
        {a: i for i, a in enumerate(out["area"].unique())})).reset_index(drop=True)


def trend_per_10k_patients(gp: pd.DataFrame, icb_code: str, role: str = "gp_qualified") -> pd.DataFrame:
    """One role's FTE per 10,000 registered patients by financial year: ICB, region, England."""
    d = gp[gp["role"] == role]
    rows = []
    for area, a in _areas(d, icb_code).items():
        t = _per_10k(a, ["financial_year", "role"])
        t.insert(0, "area", area)
        rows.append(t)
    return pd.concat(rows, ignore_index=True).sort_values(["area", "financial_year"]).reset_index(drop=True)


def unplaced_gp_fte(unmapped: pd.DataFrame | None) -> pd.Series | None:
    """Qualified-GP FTE of the practices the build could not place in an ICB, by period (oldest
    first); None when there are none."""
    if unmapped is None or "qualified_gp_fte" not in unmapped:
        return None
    un = unmapped[unmapped["source"] == "gp_practice_workforce"]
    if not len(un):
        return None
    return un.groupby("period")["qualified_gp_fte"].sum().sort_index()
