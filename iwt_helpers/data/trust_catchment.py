"""Which ICBs each NHS trust serves: the committed table ``nhs_trust_catchment.csv``.

Rebuilt by ``iwt reference build`` from

* acute and specialist trusts (kind ``acute_specialist``): each trust's share of admissions by the
  ICB its patients live in, from OHID's "NHS Acute (Hospital) Trust Catchment Populations" (October
  2022) as published by geographr (``lookup_nhs_trusts22_icb22.csv``; 2022 ICB codes read as
  today's ICBs), 138 trusts;
* ambulance trusts (kind ``ambulance``): the ICBs each of the ten serves, from the sourced list
  ``ambulance_trusts.yaml``, split by the population of the part of each ICB in the trust's area
  (place populations of the year the file names; a local authority split between places counts by
  its share of the place's LSOAs).

Mental health, community and other trusts have no row: they stay with the ICB they sit in (see
:mod:`iwt_helpers.analysis.trust_catchment`, which applies the table).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from iwt_helpers import atomic, config, paths
from iwt_helpers.errors import ConfigError

from . import geography

CATCHMENT_FILE = "nhs_trust_catchment.csv"
AMBULANCE_FILE = "ambulance_trusts.yaml"
ADMISSIONS_FILE = "lookup_nhs_trusts22_icb22.csv"
TRUST_NAMES_FILE = "lookup_nhs_trusts22_nhs_region21.csv"
COLUMNS = ["org_code", "org_name", "kind", "icb_code", "share", "basis", "source"]
ADMISSIONS_BASIS = "share of the trust's admissions from residents of the ICB (2022)"
ADMISSIONS_SOURCE = ("OHID, NHS Acute (Hospital) Trust Catchment Populations (October 2022), by ICB as published by "
                     "geographr (lookup_nhs_trusts22_icb22); Open Government Licence v3.0")


def build_admission_shares(geo_dir: Path) -> pd.DataFrame:
    """Acute and specialist trusts' shares of admissions by ICB (today's ICB codes), each trust's
    shares adding to 1."""
    lk = pd.read_csv(geo_dir / ADMISSIONS_FILE, dtype={"nhs_trust22_code": str, "icb22_code": str})
    names = pd.read_csv(geo_dir / TRUST_NAMES_FILE, dtype=str).drop_duplicates("nhs_trust22_code")
    lk["icb_code"] = lk["icb22_code"].map(geography.resolve_icb)
    g = lk.groupby(["nhs_trust22_code", "icb_code"], as_index=False)["proportion_trust_came_from_icb"].sum()
    g["share"] = g["proportion_trust_came_from_icb"] / g.groupby("nhs_trust22_code")["proportion_trust_came_from_icb"].transform("sum")
    out = pd.DataFrame({"org_code": g["nhs_trust22_code"],
                        "org_name": g["nhs_trust22_code"].map(names.set_index("nhs_trust22_code")["nhs_trust22_name"]),
                        "kind": "acute_specialist", "icb_code": g["icb_code"], "share": g["share"].round(6),
                        "basis": ADMISSIONS_BASIS, "source": ADMISSIONS_SOURCE})
    return out


def _part_population(spec: dict, parts: pd.DataFrame) -> float:
    """Population of the part of an ICB a trust serves (``parts``: one row per place x authority
    with its population)."""
    icb = geography.resolve_icb(spec["icb"])
    p = parts[parts["icb_code"] == icb]
    if p.empty:
        raise ConfigError(f"{AMBULANCE_FILE}: ICB {spec['icb']} has no places in sub_icb.csv")
    if "places" in spec:
        unknown = set(map(str, spec["places"])) - set(p["sicb_ods"])
        if unknown:
            raise ConfigError(f"{AMBULANCE_FILE}: ICB {icb}: places {sorted(unknown)} are not places of the ICB")
        p = p[p["sicb_ods"].isin([str(x) for x in spec["places"]])]
    if "lads" in spec:
        unknown = set(spec["lads"]) - set(p["lad_code"])
        if unknown:
            raise ConfigError(f"{AMBULANCE_FILE}: ICB {icb}: local authorities {sorted(unknown)} are not in the ICB")
        p = p[p["lad_code"].isin(spec["lads"])]
    if "except_lads" in spec:
        p = p[~p["lad_code"].isin(spec["except_lads"])]
    return float(p["population"].sum())


def build_ambulance_shares(reference_dir: Path | None = None) -> pd.DataFrame:
    """The ten ambulance trusts' shares by ICB: population of the part of each ICB served over the
    population of the trust's whole area."""
    reference_dir = Path(reference_dir or paths.REFERENCE)
    spec = config.ambulance_trusts()          # validated: known ICB codes, place and authority codes
    year = spec.population_year
    sub = pd.read_csv(reference_dir / geography.SUB_ICB_FILE, dtype=str)[["sicb_code", "sicb_ods", "icb_code"]]
    lads = pd.read_csv(reference_dir / "sub_icb_lad.csv", dtype={"sicb_code": str, "lad_code": str})
    pop = pd.read_csv(reference_dir / "place_population.csv")
    pop = pop[pop["year"] == year].groupby("sicb_code")["population"].sum()
    if pop.empty:
        raise ConfigError(f"place_population.csv: no population for {year} (population_year of {AMBULANCE_FILE})")
    parts = lads.merge(sub, on="sicb_code", how="left")
    parts["population"] = parts["sicb_code"].map(pop) * parts["share_of_place"]
    rows = []
    for t in spec.trusts:
        served = [(s.icb, _part_population(s.model_dump(exclude_none=True), parts)) for s in t.icbs]
        total = sum(v for _, v in served)
        basis = (f"share of the population of the trust's area living in the ICB ({year}, ONS); area: {t.area}")
        for icb, v in served:
            rows.append({"org_code": t.org_code, "org_name": t.name, "kind": "ambulance", "icb_code": icb,
                         "share": round(v / total, 6), "basis": basis,
                         "source": f"{spec.source}: {'; '.join(t.sources)}"})
    out = pd.DataFrame(rows)
    return out.groupby(["org_code", "org_name", "kind", "icb_code", "basis", "source"], as_index=False)["share"].sum()[COLUMNS]


def build_catchment(real_data: Path, reference_dir: Path | None = None) -> pd.DataFrame:
    """Acute and specialist trusts by admissions, ambulance trusts by population served."""
    geo = build_admission_shares(Path(real_data) / geography.GEOGRAPHR)
    amb = build_ambulance_shares(reference_dir)
    geo = geo[~geo["org_code"].isin(amb["org_code"])]
    out = pd.concat([geo, amb], ignore_index=True)[COLUMNS]
    return out.sort_values(["org_code", "icb_code"]).reset_index(drop=True)


def write_reference(real_data: Path | None = None, out_dir: Path | None = None) -> Path:
    real_data = Path(real_data or paths.REAL_DATA)
    out_dir = Path(out_dir or paths.REFERENCE)
    text = build_catchment(real_data).to_csv(index=False, lineterminator="\n", float_format="%.6f")
    return atomic.write_text(out_dir / CATCHMENT_FILE, text)


@functools.lru_cache(maxsize=1)
def _catchment() -> pd.DataFrame:
    return pd.read_csv(paths.reference(CATCHMENT_FILE), dtype={"org_code": str, "icb_code": str})


def catchment() -> pd.DataFrame:
    """The committed catchment table (a copy): org_code, org_name, kind, icb_code, share, basis, source."""
    return _catchment().copy()
