"""The YAML mapping file of a record-level extract: which of the extract's own headers holds each
canonical field, and how its values translate to iwt's vocabularies.

```yaml
kind: esr                      # or social_care
columns:                       # canonical field: the extract's header
  staff_id: Staff Number
  organisation_code: Org Code
  staff_group: Staff Group
  date_of_birth: Date of Birth # or age: Age
  ...
date_format: "%Y-%m-%d"        # optional (default ISO dates)
sector: asc_independent        # social care: one sector for the whole file, unless a sector column is mapped
organisations: {RXX: QOP}      # optional: organisation -> ICB where no icb_code column is mapped
values:                        # optional: extract value -> iwt code, beside the built-in defaults
  staff_group: {"Nursing and Midwifery Registered": registered_nurse}
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from iwt_helpers import vocab
from iwt_helpers.errors import IwtError

KINDS = ("esr", "social_care")
FIELDS = {
    "esr": ["staff_id", "organisation_code", "icb_code", "staff_group", "occupation_code", "band", "fte",
            "date_of_birth", "age", "ethnicity", "sex", "start_date", "leaving_date", "leaving_reason",
            "destination", "snapshot_date"],
    "social_care": ["worker_id", "establishment_id", "local_authority", "icb_code", "sector", "job_role",
                    "contract_type", "hours", "hourly_pay", "date_of_birth", "age", "ethnicity", "sex",
                    "start_date", "leaving_date", "leaving_reason", "destination", "snapshot_date"],
}
REQUIRED = {"esr": ["staff_id", "organisation_code", "staff_group"],
            "social_care": ["worker_id", "establishment_id", "job_role"]}
ID_FIELD = {"esr": "staff_id", "social_care": "worker_id"}
ORG_FIELD = {"esr": "organisation_code", "social_care": "establishment_id"}
GROUP_FIELD = {"esr": "staff_group", "social_care": "job_role"}
DATE_FIELDS = ("date_of_birth", "start_date", "leaving_date", "snapshot_date")

# Built-in value maps (matched ignoring case and surrounding spaces); a mapping file's `values`
# add to or override them. Staff groups follow data/reference/vocabulary.yaml: NHS allied health
# professionals are counted with scientific, therapeutic and technical staff, as NHS England does.
ESR_STAFF_GROUPS = {
    "medical and dental": "doctor", "nursing and midwifery registered": "registered_nurse",
    "add prof scientific and technic": "scientific_technical", "allied health professionals": "scientific_technical",
    "healthcare scientists": "scientific_technical", "additional clinical services": "support_to_clinical",
    "administrative and clerical": "infrastructure_admin", "estates and ancillary": "infrastructure_admin",
    "students": "unknown",
}
CARE_ROLES = {
    "registered manager": "registered_manager", "senior care worker": "senior_care_worker",
    "care worker": "care_worker", "support worker": "care_worker", "community support and outreach work": "care_worker",
    "social worker": "social_worker", "registered nurse": "registered_nurse", "occupational therapist": "ahp",
    "senior management": "infrastructure_admin", "administrative / office staff not care-providing": "infrastructure_admin",
    "ancillary staff not care-providing": "infrastructure_admin",
}
SECTORS = {"local authority": "asc_local_authority", "independent": "asc_independent", "private": "asc_independent",
           "voluntary": "asc_voluntary", "voluntary / charity": "asc_voluntary", "nhs": "nhs_trust"}
# ONS 2001 ethnic category letters, as ESR writes them ("A White - British"), and the group words.
ETHNIC_LETTERS = {**dict.fromkeys("ABC", "white"), **dict.fromkeys("DEFG", "mixed"), **dict.fromkeys("HJKL", "asian"),
                  **dict.fromkeys("MNP", "black"), **dict.fromkeys("RS", "other"), "Z": "unknown"}
# Destinations on leaving: which family of sectors a leaver went to (health or social care).
DESTINATION_WORDS = {"social care": "social care", "local authority": "social care", "care home": "social care",
                     "nhs": "health", "general practice": "health", "primary care": "health"}


class MappingError(IwtError, ValueError):
    """A mapping file that cannot be used; the message names the file and the key."""


@dataclass
class Mapping:
    path: Path
    kind: str
    columns: dict[str, str]
    date_format: str | None = None
    sector: str | None = None
    organisations: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def id_field(self) -> str:
        return ID_FIELD[self.kind]

    def value_map(self, name: str, defaults: dict[str, str]) -> dict[str, str]:
        out = {k.strip().lower(): v for k, v in defaults.items()}
        out.update({str(k).strip().lower(): str(v) for k, v in (self.values.get(name) or {}).items()})
        return out


def load_mapping(path: Path | str) -> Mapping:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"--mapping {path}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise MappingError(f"--mapping {path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise MappingError(f"{path}: expected keys `kind` and `columns` at the top level")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise MappingError(f"{path}: key `kind` is {kind!r}; expected one of {', '.join(KINDS)}")
    cols = raw.get("columns")
    if not isinstance(cols, dict) or not cols:
        raise MappingError(f"{path}: key `columns` must map canonical field names to the extract's headers")
    unknown = sorted(set(cols) - set(FIELDS[kind]))
    if unknown:
        raise MappingError(f"{path}: `columns` has unknown field(s) {', '.join(unknown)} for kind {kind}; "
                           f"known fields: {', '.join(FIELDS[kind])}")
    missing = [f for f in REQUIRED[kind] if f not in cols]
    if "date_of_birth" not in cols and "age" not in cols:
        missing.append("date_of_birth or age")
    if kind == "social_care" and "local_authority" not in cols and "icb_code" not in cols:
        missing.append("local_authority or icb_code")
    if missing:
        raise MappingError(f"{path}: `columns` must map {', '.join(missing)} (kind {kind})")
    sector = raw.get("sector")
    if sector is not None and sector not in vocab.sector_codes():
        raise MappingError(f"{path}: `sector` {sector!r} is not a sector code of vocabulary.yaml "
                           f"({', '.join(vocab.sector_codes())})")
    if kind == "social_care" and sector is None and "sector" not in cols:
        raise MappingError(f"{path}: a social care extract needs `sector` (one of asc_local_authority, "
                           "asc_independent, asc_voluntary) or a mapped `sector` column")
    values = raw.get("values") or {}
    groups = values.get(GROUP_FIELD[kind]) or {}
    bad = sorted({str(v) for v in groups.values()} - set(vocab.staff_group_codes()))
    if bad:
        raise MappingError(f"{path}: values.{GROUP_FIELD[kind]} maps to {', '.join(bad)}, not staff group codes "
                           f"of vocabulary.yaml ({', '.join(vocab.staff_group_codes())})")
    return Mapping(path, kind, {k: str(v) for k, v in cols.items()}, raw.get("date_format"), sector,
                   {str(k).strip().upper(): str(v) for k, v in (raw.get("organisations") or {}).items()}, values)


def write_mapping(path: Path, kind: str, columns: dict[str, str], **extra) -> Path:
    from iwt_helpers import atomic
    body = {"kind": kind, "columns": columns, **extra}
    return atomic.write_text(path, yaml.safe_dump(body, sort_keys=False, allow_unicode=True))
