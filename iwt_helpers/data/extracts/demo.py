"""A synthetic ESR-style extract of two snapshots a year apart, and its mapping file, for tests,
the benchmark and trying the loader (``iwt extract demo``). Deterministic: the same arguments
give the same bytes. Identifiers are 8-digit numbers made from the record's position; nothing in
it describes a real person or organisation (organisation codes start SYN)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from iwt_helpers import atomic
from iwt_helpers.errors import UsageError

from .. import geography
from . import mapping as mp

SNAPSHOTS = ("2024-03-31", "2025-03-31")
ORGS_PER_ICB = 4
HEADERS = {"staff_id": "Staff Number", "organisation_code": "Organisation Code", "staff_group": "Staff Group",
           "occupation_code": "Occupation Code", "band": "AfC Band", "fte": "FTE", "date_of_birth": "Date of Birth",
           "ethnicity": "Ethnic Origin", "sex": "Gender", "start_date": "Hire Date", "leaving_date": "Termination Date",
           "leaving_reason": "Leaving Reason", "destination": "Destination on Leaving"}
GROUPS = {"Nursing and Midwifery Registered": 0.26, "Medical and Dental": 0.10, "Add Prof Scientific and Technic": 0.05,
          "Allied Health Professionals": 0.06, "Healthcare Scientists": 0.02, "Additional Clinical Services": 0.27,
          "Administrative and Clerical": 0.18, "Estates and Ancillary": 0.06}
ETHNIC = {"A White - British": 0.62, "C White - Any other White background": 0.06, "H Asian or Asian British - Indian": 0.08,
          "J Asian or Asian British - Pakistani": 0.03, "N Black or Black British - African": 0.07,
          "M Black or Black British - Caribbean": 0.02, "D Mixed - White & Black Caribbean": 0.02,
          "S Any other ethnic group": 0.03, "Z Not Stated": 0.07}
DESTINATIONS = {"Retirement": 0.25, "Other NHS Organisation": 0.2, "Social Care": 0.06, "Private Health": 0.09,
                "Education": 0.05, "Unknown": 0.35}
REASONS = ["Voluntary Resignation - Work Life Balance", "Retirement Age", "Voluntary Resignation - Relocation",
           "End of Fixed Term Contract", "Voluntary Resignation - Promotion"]
BANDS = ["Band 2", "Band 3", "Band 4", "Band 5", "Band 6", "Band 7", "Band 8a", "Consultant"]


def staff_ids(n: int, offset: int = 0) -> np.ndarray:
    """n distinct 8-digit identifiers (a permutation of positions, so known to tests)."""
    return 10_000_000 + ((np.arange(n, dtype=np.int64) + offset) * 7919) % 90_000_000


def _pick(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    p = np.array(list(table.values()))
    return np.array(list(table), dtype=object)[rng.choice(len(p), n, p=p / p.sum())]


def _dates(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D").astype(object)


def _write_csv(path: Path, cols: dict[str, np.ndarray]) -> None:
    table = pa.table({k: pa.array(v) for k, v in cols.items()})
    atomic.write_with(path, lambda tmp: pacsv.write_csv(table, tmp), suffix=".csv")


def write_demo(out: Path, records: int = 20_000, seed: int = 2024) -> dict[str, Path]:
    """Write ``esr_<date>.csv`` for two snapshots (``records`` staff in post in the first) and
    ``mapping.yaml`` into ``out``; returns their paths."""
    if records < 1:
        raise UsageError("--records must be at least 1")
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise atomic.write_error(exc, out) from None
    rng = np.random.default_rng(seed)
    icbs = geography.icb_codes()
    orgs = np.array([f"SYN{i:03d}" for i in range(len(icbs) * ORGS_PER_ICB)], dtype=object)
    org_icb = {o: icbs[i // ORGS_PER_ICB] for i, o in enumerate(orgs)}
    org_w = rng.gamma(2.0, 1.0, len(orgs))
    s0, s1 = (np.datetime64(s, "D") for s in SNAPSHOTS)
    n = records
    org = orgs[rng.choice(len(orgs), n, p=org_w / org_w.sum())]
    age = np.clip(rng.normal(43, 11, n), 18, 67).astype(int)
    dob = s0.astype(int) - age * 365 - rng.integers(1, 364, n)
    start = s0.astype(int) - (rng.exponential(8, n) * 365).astype(int).clip(0, (age - 17) * 365)
    staff = {"staff_id": staff_ids(n), "organisation_code": org, "staff_group": _pick(rng, GROUPS, n),
             "band": np.array(BANDS, dtype=object)[rng.integers(0, len(BANDS), n)],
             "fte": np.round(np.where(rng.random(n) < 0.7, 1.0, rng.uniform(0.2, 0.95, n)), 2),
             "dob": dob, "ethnicity": _pick(rng, ETHNIC, n),
             "sex": np.where(rng.random(n) < 0.77, "Female", "Male").astype(object), "start": start}
    occ = {g: f"{g[0]}{i}0" for i, g in enumerate(GROUPS)}
    staff["occupation_code"] = np.array([occ[g] for g in staff["staff_group"]], dtype=object)

    def frame(idx: np.ndarray, snapshot, leaving=None, reason=None, dest=None, orgs_now=None) -> dict:
        k = len(idx)
        return {HEADERS["staff_id"]: staff["staff_id"][idx].astype(str),
                HEADERS["organisation_code"]: (staff["organisation_code"][idx] if orgs_now is None else orgs_now),
                HEADERS["staff_group"]: staff["staff_group"][idx], HEADERS["occupation_code"]: staff["occupation_code"][idx],
                HEADERS["band"]: staff["band"][idx], HEADERS["fte"]: staff["fte"][idx],
                HEADERS["date_of_birth"]: _dates(staff["dob"][idx]), HEADERS["ethnicity"]: staff["ethnicity"][idx],
                HEADERS["sex"]: staff["sex"][idx], HEADERS["start_date"]: _dates(staff["start"][idx]),
                HEADERS["leaving_date"]: np.full(k, "", dtype=object) if leaving is None else leaving,
                HEADERS["leaving_reason"]: np.full(k, "", dtype=object) if reason is None else reason,
                HEADERS["destination"]: np.full(k, "", dtype=object) if dest is None else dest,
                "Snapshot Date": np.full(k, str(snapshot), dtype=object)}

    first = frame(np.arange(n), s0)
    # A year later: about 10% left (a leaver row with date, reason and destination), 3% moved to
    # another organisation, and new joiners (about 11%) arrived.
    u = rng.random(n)
    left, moved = np.flatnonzero(u < 0.10), np.flatnonzero((u >= 0.10) & (u < 0.13))
    stay = np.flatnonzero(u >= 0.13)
    new_org = orgs[rng.integers(0, len(orgs), len(moved))]
    joiners = int(round(n * 0.11))
    j_staff = {"staff_id": staff_ids(joiners, offset=n)}
    j_org = orgs[rng.choice(len(orgs), joiners, p=org_w / org_w.sum())]
    j_age = np.clip(rng.normal(35, 10, joiners), 18, 67).astype(int)
    leave_days = s0.astype(int) + rng.integers(1, 365, len(left))
    parts = [frame(stay, s1), frame(moved, s1, orgs_now=new_org),
             frame(left, s1, _dates(leave_days), np.array(REASONS, dtype=object)[rng.integers(0, len(REASONS), len(left))],
                   _pick(rng, DESTINATIONS, len(left)))]
    joined = {HEADERS["staff_id"]: j_staff["staff_id"].astype(str), HEADERS["organisation_code"]: j_org,
              HEADERS["staff_group"]: _pick(rng, GROUPS, joiners), HEADERS["occupation_code"]: np.full(joiners, "N01", dtype=object),
              HEADERS["band"]: np.array(BANDS, dtype=object)[rng.integers(0, 5, joiners)],
              HEADERS["fte"]: np.round(np.where(rng.random(joiners) < 0.7, 1.0, rng.uniform(0.2, 0.95, joiners)), 2),
              HEADERS["date_of_birth"]: _dates(s1.astype(int) - j_age * 365 - rng.integers(1, 364, joiners)),
              HEADERS["ethnicity"]: _pick(rng, ETHNIC, joiners),
              HEADERS["sex"]: np.where(rng.random(joiners) < 0.77, "Female", "Male").astype(object),
              HEADERS["start_date"]: _dates(s0.astype(int) + rng.integers(1, 365, joiners)),
              HEADERS["leaving_date"]: np.full(joiners, "", dtype=object),
              HEADERS["leaving_reason"]: np.full(joiners, "", dtype=object),
              HEADERS["destination"]: np.full(joiners, "", dtype=object),
              "Snapshot Date": np.full(joiners, str(s1), dtype=object)}
    second = {h: np.concatenate([p[h] for p in parts] + [joined[h]]) for h in first}
    paths = {}
    for snap, cols in ((SNAPSHOTS[0], first), (SNAPSHOTS[1], second)):
        paths[f"esr_{snap}"] = out / f"esr_{snap}.csv"
        _write_csv(paths[f"esr_{snap}"], cols)
    paths["mapping"] = mp.write_mapping(out / "mapping.yaml", "esr", {**HEADERS, "snapshot_date": "Snapshot Date"},
                                        organisations=org_icb, synthetic=True)
    return paths
