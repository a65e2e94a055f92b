"""``iwt reference build``: the committed geography reference tables (``icb.csv``,
``lad_icb.csv``, ``lad_code_changes.csv``) rebuilt from the ONS lookups in
``../shared/real-data/ons-geography-geographr`` (OGL v3), with the same loader that
``iwt data build`` uses for LSOA lookups."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from iwt_helpers import atomic, paths
from iwt_helpers.data import geography
from iwt_helpers.data.geography import GEOGRAPHR, ICB_FILE, LAD_CHANGES_FILE, LAD_HISTORY_MANUAL, LAD_ICB_FILE, OGL
from iwt_helpers.data.sources.geography_files import LsoaIcbLookup


def _short_name(name: str) -> str:
    return re.sub(r"^NHS\s+|\s+Integrated Care Board$", "", name).strip()


def build_icb_table(geo_dir: Path) -> pd.DataFrame:
    """The 42 ICBs with both code vintages and NHS England region, from the ONS lookups."""
    icb24 = pd.read_csv(geo_dir / "DERIVED_icb24_list_with_nhse_region.csv", dtype=str)
    icb22 = pd.read_csv(geo_dir / "DERIVED_lad22_sicbl22_icb22_from_lsoa11_lookup.csv", dtype=str)
    icb22 = icb22[["icb22_code", "icb22_code_h"]].drop_duplicates()
    t = icb24.merge(icb22, left_on="icb24_code_nhs", right_on="icb22_code_h", how="left")
    if t["icb22_code"].isna().any() or len(t) != 42:
        raise ValueError(f"{geo_dir}: expected 42 ICBs matched across the 2022 and 2024 lookups, "
                         f"found {len(t)} with {int(t['icb22_code'].isna().sum())} unmatched")
    out = pd.DataFrame({
        "icb_code": t["icb24_code_nhs"],
        "icb_code_ons": t["icb24_code"],
        "icb_code_ons_2022": t["icb22_code"].where(t["icb22_code"] != t["icb24_code"], ""),
        "icb_name": t["icb24_name"],
        "icb_short_name": t["icb24_name"].map(_short_name),
        "region_code": t["NHSE_REGION_CODE"],
        "region_name": t["NHSE_REGION_NAME"],
        "source": f"ONS ICB (April 2024) and LSOA11-SICBL22-ICB22 (July 2022) lookups; NHS England region from NHS sickness absence statistics; {OGL}",
    })
    return out.sort_values("icb_code").reset_index(drop=True)


def build_lad_icb(geo_dir: Path, changes: pd.DataFrame | None = None) -> pd.DataFrame:
    """LAD -> ICB shares for the 2022 and 2024 vintages, weighted by share of the LAD's LSOAs.

    LSOAs hold similar populations (about 1,500 people), so the LSOA-count share is a close
    proxy for a population share; the basis is recorded in ``share_basis``. The same loader as
    ``iwt data build`` does the work (iwt_helpers.data.sources.geography_files).
    """
    v22, _, _ = LsoaIcbLookup.shares(geo_dir / "lookup_lsoa11_sicbl22_icb22_ltla22.csv")
    v24, _, _ = LsoaIcbLookup.shares(geo_dir / "lookup_lsoa21_icb24.csv", known=v22,
                                  changes=build_lad_changes(geo_dir) if changes is None else changes)
    return pd.concat([v22, v24], ignore_index=True)


def build_lad_changes(geo_dir: Path) -> pd.DataFrame:
    """Retired -> successor LAD codes: ONS LAD22 -> LAD23 lookup plus transcribed earlier changes."""
    l = pd.read_csv(geo_dir / "lookup_ltla22_ltla23.csv", dtype=str)
    l = l[l["ltla22_code"] != l["ltla23_code"]]
    from_lookup = pd.DataFrame({
        "old_code": l["ltla22_code"], "old_name": l["ltla22_name"],
        "new_code": l["ltla23_code"], "new_name": l["ltla23_name"],
        "effective": "2023-04-01",
        "source": f"ONS LAD (2022) to LAD (2023) lookup; {OGL}",
    })
    manual = pd.read_csv(paths.reference(LAD_HISTORY_MANUAL), dtype=str)
    out = pd.concat([manual, from_lookup], ignore_index=True)
    return out.sort_values(["effective", "old_code"]).reset_index(drop=True)


def build_reference(real_data: Path | None = None, out_dir: Path | None = None) -> list[Path]:
    """Rebuild the committed geography reference tables from the shared ONS files."""
    real_data = Path(real_data or paths.REAL_DATA)
    out_dir = Path(out_dir or paths.REFERENCE)
    geo_dir = real_data / GEOGRAPHR
    if not geo_dir.is_dir():
        raise FileNotFoundError(f"{geo_dir}: folder of ONS geography lookups not found "
                                "(expected ../shared/real-data/ons-geography-geographr)")
    changes = build_lad_changes(geo_dir)
    tables = {
        ICB_FILE: build_icb_table(geo_dir),
        LAD_CHANGES_FILE: changes,
        LAD_ICB_FILE: build_lad_icb(geo_dir, changes),
    }
    written = []
    for name, df in tables.items():
        written.append(atomic.write_text(out_dir / name, df.to_csv(index=False, lineterminator="\n")))
    geography.clear_caches()
    return written
