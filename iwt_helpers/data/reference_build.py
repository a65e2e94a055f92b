"""``iwt reference build``: the committed geography reference tables (``icb.csv``,
``lad_icb.csv``, ``lad_code_changes.csv``) rebuilt from the ONS lookups in
``../shared/real-data/ons-geography-geographr`` (OGL v3), with the same loader that
``iwt data build`` uses for LSOA lookups."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from iwt_helpers import atomic, paths
from iwt_helpers.data import geography, places, trust_catchment
from iwt_helpers.data.geography import GEOGRAPHR, ICB_FILE, LAD_CHANGES_FILE, LAD_HISTORY_MANUAL, LAD_ICB_FILE, OGL
from iwt_helpers.data.sources._read import SourceError
from iwt_helpers.data.sources.geography_files import LsoaIcbLookup
from iwt_helpers.errors import NotFoundError


def _short_name(name: str) -> str:
    return re.sub(r"^NHS\s+|\s+Integrated Care Board$", "", name).strip()


def build_icb_table(geo_dir: Path) -> pd.DataFrame:
    """The 42 ICBs with both code vintages and NHS England region, from the ONS lookups."""
    icb24 = pd.read_csv(geo_dir / "DERIVED_icb24_list_with_nhse_region.csv", dtype=str)
    icb22 = pd.read_csv(geo_dir / "DERIVED_lad22_sicbl22_icb22_from_lsoa11_lookup.csv", dtype=str)
    icb22 = icb22[["icb22_code", "icb22_code_h"]].drop_duplicates()
    t = icb24.merge(icb22, left_on="icb24_code_nhs", right_on="icb22_code_h", how="left")
    if t["icb22_code"].isna().any() or len(t) != 42:
        raise SourceError(f"{geo_dir}: expected 42 ICBs matched across the 2022 and 2024 lookups, "
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
        raise NotFoundError(f"{geo_dir}: folder of ONS geography lookups not found "
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
    return written + places.write_reference(real_data, out_dir)      # places use the tables just written


# Place and people: small ICB-level facts from Census 2021, IoD 2025 and the rural-urban
# classification, committed so that every report (the demo included) shows them as real figures.
CONTEXT_FILES = {
    "unpaid_care": ("unpaid_care.csv", "census-2021-unpaid-care/DERIVED_census2021_ts039_msoa21_england.csv"),
    "residents_ethnicity": ("residents_ethnicity.csv",
                            "census-2021-ethnicity/DERIVED_census2021_ts021_ethnic_group_lsoa21_england.csv"),
    "deprivation": ("deprivation_icb.csv", "imd-deprivation/imd2025_england_icb24.csv"),
    "rurality": ("rurality_icb.csv", "rural-urban/RUC England Wales - LSOA.csv"),
}


def build_context_tables(real_data: Path) -> dict[str, pd.DataFrame]:
    """ICB-level unpaid care, residents' ethnicity, deprivation and rurality, made by the same
    loaders as ``iwt data build`` (with the LSOA lookups they need)."""
    from iwt_helpers.data import schemas
    from iwt_helpers.data.sources import BuildContext, recognise

    geo_dir = real_data / GEOGRAPHR
    ctx = BuildContext()
    for lookup in ("lookup_lsoa11_sicbl22_icb22_ltla22.csv", "lookup_lsoa21_icb24.csv"):
        LsoaIcbLookup.load(geo_dir / lookup, ctx)
    out = {}
    for name, (_, rel) in CONTEXT_FILES.items():
        path = real_data / rel
        src = recognise(path)
        if src is None:
            raise SourceError(f"{path}: not recognised by any loader")
        table_name = {"residents_ethnicity": "ethnicity"}.get(name, name)
        df = src.load(path, ctx).tables[table_name]
        if "area_type" in df:
            df = df[df["area_type"] == "icb"].reset_index(drop=True)
        df = schemas.validate(table_name, df, file=str(path))
        keys = [c for c in ("icb_code", "area_code", "hours_band", "ethnic_group", "domain", "measure") if c in df]
        out[name] = df.sort_values(keys).reset_index(drop=True)
    return out


def write_context_tables(real_data: Path | None = None, out_dir: Path | None = None) -> list[Path]:
    real_data = Path(real_data or paths.REAL_DATA)
    out_dir = Path(out_dir or paths.REFERENCE)
    written = []
    for name, df in build_context_tables(real_data).items():
        text = df.to_csv(index=False, lineterminator="\n", float_format="%.10g")
        written.append(atomic.write_text(out_dir / CONTEXT_FILES[name][0], text))
    written.append(write_nhs_staff_monthly_icb(real_data, out_dir))
    written.append(trust_catchment.write_reference(real_data, out_dir))     # reads the place tables already written
    return written


# NHS trust staff in post by ICB and month (NHS Workforce Statistics), committed so that the data theme's
# trend and the governance KPI are real in every report, the demo included (a data folder's own
# nhs_staff_monthly takes precedence). From the KPI's series_from month (kpis.yaml) on.
NHS_MONTHLY_FILE = "nhs_staff_monthly_icb.csv"
NHS_MONTHLY_DIR = "nhs-workforce-statistics-monthly"


def build_nhs_staff_monthly_icb(real_data: Path) -> pd.DataFrame:
    from iwt_helpers import vocab
    from iwt_helpers.data import schemas
    from iwt_helpers.data.sources import BuildContext, recognise
    from iwt_helpers.data.sources.nhs_monthly import HchsMonthly, trust_totals_by_icb

    files = sorted((real_data / NHS_MONTHLY_DIR).glob("*.xlsx"))
    path = next((f for f in files if recognise(f) is HchsMonthly), None)
    if path is None:
        raise SourceError(f"{real_data / NHS_MONTHLY_DIR}: no NHS Workforce Statistics England and Organisation workbook")
    monthly = HchsMonthly.load(path, BuildContext()).tables["nhs_staff_monthly"]
    start = next((k.get("series_from") for k in vocab.load_yaml("kpis.yaml")["kpis"] if k["id"] == "nhs_trust_staff_mom_pct"),
                 None)
    t = trust_totals_by_icb(monthly)
    if start:
        t = t[t["period"] >= pd.Timestamp(str(start))]
    last = t["period"].max()
    t = t.assign(fte=t["fte"].round(3), source=(
        f"NHS England, NHS Workforce Statistics, {last:%B %Y}: HCHS staff in NHS trusts by ICB, monthly (ICB-employed "
        "staff apart; resident doctors included); OGL v3"))
    t = schemas.validate("nhs_staff_monthly_icb", t, file=str(path))
    return t[["period", "icb_code", "headcount", "fte", "source"]].sort_values(["period", "icb_code"]).reset_index(drop=True)


def write_nhs_staff_monthly_icb(real_data: Path | None = None, out_dir: Path | None = None) -> Path:
    real_data = Path(real_data or paths.REAL_DATA)
    out_dir = Path(out_dir or paths.REFERENCE)
    df = build_nhs_staff_monthly_icb(real_data).assign(period=lambda d: d["period"].dt.strftime("%Y-%m-%d"))
    text = df.to_csv(index=False, lineterminator="\n", float_format="%.10g")
    return atomic.write_text(out_dir / NHS_MONTHLY_FILE, text)


PREVALENCE_FILE = "prevalence.csv"
CFAS_FILE = "cfas2-dementia-rates/cfas2_dementia_prevalence_by_age_sex.csv"
CFAS_BANDS = {"65-69": "65_69", "70-74": "70_74", "75-79": "75_79", "80-84": "80_84", "85-89": "85_89", "90+": "90_plus"}
CFAS_SOURCE = ("CFAS II (Matthews et al., Lancet 2013; 382: 1405-12) reference rates as published by Birmingham City "
               "Council Public Health (BCC-PHM/OA-projections, data/dementia-reference-rates.xlsx)")
CFAS_STATUS = "CFAS II reference rates of the Birmingham repository, unchecked against the paper"


def build_prevalence(reference_data: Path, current: pd.DataFrame) -> pd.DataFrame:
    """``prevalence.csv`` with its dementia rows from the shared CFAS II table (by age band and sex,
    with 95% intervals, as percentages); the other conditions' rows are kept as they are."""
    cf = pd.read_csv(reference_data / CFAS_FILE)
    bad = sorted(set(cf["age_band"]) - set(CFAS_BANDS))
    if bad:
        raise SourceError(f"{reference_data / CFAS_FILE}: column 'age_band': unexpected band(s) {bad}")
    dementia = pd.DataFrame({
        "condition": "dementia", "condition_label": "People aged 65+ living with dementia (CFAS II rates by age and sex)",
        "age_band": cf["age_band"].map(CFAS_BANDS), "sex": cf["sex"].str.lower(),
        "prevalence_pct": (cf["prevalence"] * 100).round(4), "lower_pct": (cf["prevalence_95_lower"] * 100).round(4),
        "upper_pct": (cf["prevalence_95_upper"] * 100).round(4), "source": CFAS_SOURCE, "status": CFAS_STATUS})
    other = current[current["condition"] != "dementia"]
    return pd.concat([dementia, other], ignore_index=True)[list(dementia.columns)]


def write_prevalence(reference_data: Path | None = None, out_dir: Path | None = None) -> Path:
    reference_data = Path(reference_data or paths.SHARED / "reference-data")
    out = Path(out_dir or paths.REFERENCE) / PREVALENCE_FILE
    current = pd.read_csv(paths.reference(PREVALENCE_FILE))
    return atomic.write_text(out, build_prevalence(reference_data, current).to_csv(index=False, lineterminator="\n"))
