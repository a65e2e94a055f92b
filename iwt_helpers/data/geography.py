"""ICBs, NHS England regions, local authority -> ICB shares and LAD code changes.

The committed reference tables in ``data/reference/`` are built by ``reference_build.build_reference``
from the ONS lookups in ``../shared/real-data/ons-geography-geographr`` (OGL v3). Everything
else reads them through :func:`icbs`, :func:`lad_icb` and :func:`resolve_icb`.

Inside the package an ICB is always its ODS Q-code (``icb_code``); ONS E54 codes of either
the 2022 or 2024 vintage are accepted at the edges and converted.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pandas as pd

from iwt_helpers import atomic, paths
from iwt_helpers.errors import IwtError

ICB_FILE = "icb.csv"
LAD_ICB_FILE = "lad_icb.csv"
LAD_CHANGES_FILE = "lad_code_changes.csv"
LAD_HISTORY_MANUAL = "lad_code_history_manual.csv"
SUB_ICB_FILE = "sub_icb.csv"

OGL = "Open Government Licence v3.0"
GEOGRAPHR = "ons-geography-geographr"


class UnknownICBError(IwtError, ValueError):
    """An ICB code that is not one of the 42."""


# --------------------------------------------------------------------------- reading


@functools.lru_cache(maxsize=1)
def icbs() -> pd.DataFrame:
    """The 42 ICBs: icb_code (ODS), icb_code_ons (E54, 2024), icb_code_ons_2022, names, region."""
    df = pd.read_csv(paths.reference(ICB_FILE), dtype=str, keep_default_na=False)
    return df.sort_values("icb_code").reset_index(drop=True)


@functools.lru_cache(maxsize=1)
def lad_icb() -> pd.DataFrame:
    """Local authority -> ICB with share weights (several vintages; see ``lad_vintage``)."""
    df = pd.read_csv(paths.reference(LAD_ICB_FILE), dtype={"lad_vintage": int})
    return df


@functools.lru_cache(maxsize=1)
def lad_code_changes() -> pd.DataFrame:
    """Retired LAD codes -> successor codes (whole-authority mergers and re-codings)."""
    return pd.read_csv(paths.reference(LAD_CHANGES_FILE), dtype=str)


@functools.lru_cache(maxsize=1)
def _code_index() -> dict[str, str]:
    t = icbs()
    index: dict[str, str] = {}
    for col in ("icb_code", "icb_code_ons", "icb_code_ons_2022"):
        for code, q in zip(t[col], t["icb_code"]):
            if code:
                index[code.upper()] = q
    return index


def icb_codes() -> list[str]:
    return icbs()["icb_code"].tolist()


def ods_code(code: object) -> str | None:
    """The ODS code of an ICB given as ODS or E54 code (either vintage), or None if it is not one."""
    return _code_index().get(str(code).strip().upper()) if code is not None else None


def resolve_icb(code: object) -> str:
    """Normalise an ICB code given as ODS (``QOP``) or ONS E54 (``E54000057``), any case.

    Raises :class:`UnknownICBError` naming the code and how to list the valid ones.
    """
    text = str(code).strip().upper() if code is not None else ""
    found = _code_index().get(text)
    if found is None:
        shown = repr(code) if len(str(code)) < 60 else repr(str(code)[:57] + "...")
        raise UnknownICBError(
            f"Unknown ICB code {shown}: expected one of the 42 ICBs as an ODS code (e.g. QOP) "
            "or an ONS E54 code (e.g. E54000057), in any case. Run `iwt list-icbs` to list them."
        )
    return found


@functools.lru_cache(maxsize=1)
def _rows() -> dict[str, dict]:
    """Each ICB's row of :func:`icbs` by ODS code (names and regions are looked up per table row in
    some sections, so a lookup must cost a dictionary access, not an index build)."""
    return {r["icb_code"]: r for r in icbs().to_dict("records")}


def icb_name(code: str, short: bool = True) -> str:
    row = _rows()[resolve_icb(code)]
    return row["icb_short_name"] if short else row["icb_name"]


FORMER_NAMES_FILE = "icb_former_names.csv"


def _name_key(name: str) -> str:
    """A name reduced for matching: case, '&', punctuation, 'NHS', 'ICB', 'the' and partnership
    suffixes ignored."""
    s = str(name).lower().replace("&", " and ")
    s = re.sub(r"\b(nhs|integrated care (board|system)|icb|ics|health and (social )?care partnership|the)\b", " ", s)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", s).split())


@functools.lru_cache(maxsize=1)
def _name_index() -> dict[str, str]:
    t = icbs()
    index = {_name_key(n): c for col in ("icb_name", "icb_short_name") for n, c in zip(t[col], t["icb_code"])}
    former = pd.read_csv(paths.reference(FORMER_NAMES_FILE), dtype=str)
    index.update({_name_key(n): c for n, c in zip(former["former_name"], former["icb_code"])})
    return index


def icb_code_from_name(name: object) -> str | None:
    """The ICB (ODS code) a published name refers to, current or former, or None."""
    if name is None or (isinstance(name, float) and pd.isna(name)) or not str(name).strip():
        return None
    return _name_index().get(_name_key(str(name)))


def region_name(code: str) -> str:
    return _rows()[resolve_icb(code)]["region_name"]


def region_of(code: str) -> str:
    return _rows()[resolve_icb(code)]["region_code"]


def lad_shares() -> pd.DataFrame:
    """LAD -> ICB shares for authorities of any recent vintage: the 2022 codes, plus 2023/2024
    codes (e.g. Cumberland, North Yorkshire, Somerset) from the 2024 lookup."""
    lk = lad_icb()
    v22 = lk[lk["lad_vintage"] == 2022]
    v24 = lk[(lk["lad_vintage"] == 2024) & ~lk["lad_code"].isin(set(v22["lad_code"]))]
    return pd.concat([v22, v24], ignore_index=True)


def apportion_to_icb(df: pd.DataFrame, value_cols: list[str], lad_col: str = "lad_code",
                     vintage: int | None = None, by: list[str] | None = None) -> pd.DataFrame:
    """Sum LAD-level counts to ICBs, splitting authorities across ICBs by their share weights.

    Retired LAD codes are first mapped to their successors. Returns the ICB totals and, in
    ``attrs['unmatched']``, the LAD codes that no lookup could place.
    """
    by = list(by or [])
    lk = lad_icb()[lambda d: d["lad_vintage"] == vintage] if vintage is not None else lad_shares()
    work = df.copy()
    work[lad_col] = map_retired_lads(work[lad_col])
    merged = work.merge(lk[["lad_code", "icb_code", "share"]], left_on=lad_col,
                        right_on="lad_code", how="left", suffixes=("", "_lk"))
    unmatched = sorted(merged.loc[merged["icb_code"].isna(), lad_col].unique().tolist())
    merged = merged.dropna(subset=["icb_code"])
    for col in value_cols:
        merged[col] = merged[col] * merged["share"]
    out = merged.groupby(["icb_code", *by], as_index=False)[value_cols].sum()
    out.attrs["unmatched"] = unmatched
    return out


def map_retired_lads(codes: pd.Series) -> pd.Series:
    """Replace retired LAD codes by their successors, following chains (e.g. 2016 -> 2019 -> 2023)."""
    changes = dict(zip(lad_code_changes()["old_code"], lad_code_changes()["new_code"]))
    current_2022 = set(lad_icb().query("lad_vintage == 2022")["lad_code"])

    def follow(code: str) -> str:
        seen = set()
        # Stop at a 2022 authority: the lookups are keyed on 2022 and 2024 codes.
        while code in changes and code not in current_2022 and code not in seen:
            seen.add(code)
            code = changes[code]
        return code

    return codes.map(follow)


@functools.lru_cache(maxsize=1)
def sub_icbs() -> pd.DataFrame:
    """The 106 sub-ICB locations (the places an ICS plans for): E38 code, ODS code (e.g. 00T),
    ONS name and ICB, from the ONS LSOA21 to sub-ICB location to ICB (April 2024) lookup."""
    return pd.read_csv(paths.reference(SUB_ICB_FILE), dtype=str)


def clear_caches() -> None:
    for f in (icbs, lad_icb, lad_code_changes, _code_index, _name_index, sub_icbs):
        f.cache_clear()
