"""ONS and NHS geography lookups of any vintage: LSOA -> Sub-ICB -> ICB (-> LAD), LAD change
lookups, and NHS trust -> ICB / region lookups.

Column names are normalised first, so both ONS's own headers (``LSOA11CD``, ``ICB22CDH``,
``LAD22CD``) and the tidy names used by the geographr package (``lsoa11_code``,
``icb22_code_h``, ``ltla22_code``) are recognised.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from iwt_helpers.data import geography
from . import BuildContext, LoadResult
from ._read import SourceError, clean_code, head_columns, read_csv

OGL = "Open Government Licence v3.0"


def normalise_columns(cols: list[str]) -> list[str]:
    out = []
    for c in cols:
        m = re.fullmatch(r"(LSOA|SICBL|ICB|LAD|LTLA|UTLA|RGN|NHSER)(\d\d)(CD|CDH|NM)", c.strip(), flags=re.I)
        if m:
            kind, yy, what = m.group(1).lower(), m.group(2), m.group(3).upper()
            kind = {"lad": "ltla", "rgn": "region"}.get(kind, kind)
            c = f"{kind}{yy}_" + {"CD": "code", "CDH": "code_h", "NM": "name"}[what]
        c = re.sub(r"_code_nhs$", "_code_h", c.strip())
        out.append(c)
    return out


def _cols(path: Path) -> set[str]:
    cols = head_columns(path)
    return set(normalise_columns(cols)) if cols else set()


def _read(path: Path) -> pd.DataFrame:
    df = read_csv(path)
    df.columns = normalise_columns(list(df.columns))
    return df


def _vintage(cols: set[str], prefix: str) -> str | None:
    for c in sorted(cols):
        m = re.fullmatch(rf"{prefix}(\d\d)_code(_h)?", c)
        if m:
            return m.group(1)
    return None


class LsoaIcbLookup:
    """LSOA -> (Sub-ICB) -> ICB, with LAD where the file has it; any vintage."""
    ID, KIND, PREFERENCE = "ons_lsoa_icb_lookup", "lookup", 10
    TITLE, PUBLISHER = "ONS LSOA to Sub-ICB Location to ICB (to LAD) lookup", "Office for National Statistics"

    @staticmethod
    def recognise(path: Path) -> bool:
        c = _cols(path)
        return bool(_vintage(c, "lsoa") and _vintage(c, "icb")) and any(x.endswith("_code_h") and x.startswith("icb") for x in c)

    @staticmethod
    def load(path: Path, ctx: BuildContext) -> LoadResult:
        df = _read(path)
        cols = set(df.columns)
        ly, iy, lad_y = _vintage(cols, "lsoa"), _vintage(cols, "icb"), _vintage(cols, "ltla")
        keep = {f"lsoa{ly}_code": "lsoa_code", f"lsoa{ly}_name": "lsoa_name", f"icb{iy}_code_h": "icb_code"}
        if lad_y:
            keep |= {f"ltla{lad_y}_code": "lad_code", f"ltla{lad_y}_name": "lad_name"}
        table, notes, period = LsoaIcbLookup.shares(path, frame=df)
        lsoa = df[list(keep)].rename(columns=keep)
        lsoa["icb_code"] = clean_code(lsoa["icb_code"])
        ctx.lsoa.setdefault(ly, lsoa)
        notes.append(f"{path.name}: {len(lsoa):,} LSOAs ({ly}) placed in ICBs, for sources published by small area")
        return LoadResult(tables={"lad_icb": table}, notes=notes, period=period)

    @staticmethod
    def shares(path: Path, known: pd.DataFrame | None = None, changes: pd.DataFrame | None = None,
               frame: pd.DataFrame | None = None) -> tuple[pd.DataFrame, list[str], str]:
        """LAD -> ICB shares (by LSOA count) from one LSOA lookup file.

        Files without a LAD column (the 2024 lookup) get their authority from the LSOA names,
        which carry the 2021 authority's name: matched to the 2022 codes in ``known`` (short forms
        such as 'Bristol' for 'Bristol, City of' too), then carried through the 2023 changes in
        ``changes``. Both default to the committed reference tables; the reference build passes
        the ones it has just made. ``frame`` is the file already read, if the caller has it.
        """
        df = _read(path) if frame is None else frame.copy()
        cols = set(df.columns)
        iy, ly = _vintage(cols, "icb"), _vintage(cols, "lsoa")
        icb_col = f"icb{iy}_code_h"
        lad_y = _vintage(cols, "ltla")
        df[icb_col] = clean_code(df[icb_col])
        unknown = sorted(set(df[icb_col]) - set(geography.icb_codes()))
        if unknown:
            raise SourceError(f"{path}: column '{icb_col}': ICB codes not among the 42: {', '.join(unknown[:5])}")
        notes = []
        if lad_y:
            lad_code, lad_name = f"ltla{lad_y}_code", f"ltla{lad_y}_name"
            g = df.groupby([lad_code, lad_name, icb_col], as_index=False).size()
            g.columns = ["lad_code", "lad_name", "icb_code", "n_lsoa"]
            g["lad_vintage"] = 2000 + int(lad_y)
        else:
            notes.append(f"{path.name}: no LAD column; authorities are taken from LSOA names")
            g = df.assign(lad_name=df[f"lsoa{ly}_name"].str.replace(r"\s+\d{3}[A-Z]$", "", regex=True))
            g = g.groupby(["lad_name", icb_col], as_index=False).size()
            g.columns = ["lad_name", "icb_code", "n_lsoa"]
            if g.empty:
                raise SourceError(f"{path}: no rows")
            g["lad_code"], g["lad_name"] = lad_of_names(g["lad_name"], path, known, changes)
            g = g.groupby(["lad_code", "lad_name", "icb_code"], as_index=False)["n_lsoa"].sum()
            g["lad_vintage"] = 2000 + int(iy)
        tot = g.groupby(["lad_vintage", "lad_code"])["n_lsoa"].transform("sum")
        g["share"] = (g["n_lsoa"] / tot).round(6)
        g["share_basis"] = "share of the authority's LSOAs"
        g["source"] = f"ONS LSOA{ly} to ICB{iy} lookup ({path.name}); {OGL}"
        cols_out = ["lad_vintage", "lad_code", "lad_name", "icb_code", "share", "n_lsoa", "share_basis", "source"]
        out = g[cols_out].sort_values(["lad_vintage", "lad_code", "icb_code"]).reset_index(drop=True)
        return out, notes, f"20{iy} ICBs, 20{ly} LSOAs"


def lad_of_names(lad_names: pd.Series, path: Path, known: pd.DataFrame | None = None,
                 changes: pd.DataFrame | None = None) -> tuple[pd.Series, pd.Series]:
    """2023 authority codes and names for the 2021 authority names that LSOA21 names carry
    ('Bolton 001A' -> Bolton): matched to the 2022 codes in ``known`` (short forms such as
    'Bristol' for 'Bristol, City of' too), then carried through the 2023 changes in ``changes``."""
    known = geography.lad_icb().query("lad_vintage == 2022") if known is None else known
    changes = geography.lad_code_changes() if changes is None else changes
    names = {}
    for name, code in zip(known["lad_name"], known["lad_code"]):
        names[name] = code
        names[re.sub(r",\s+(City|County) of$", "", name)] = code
    c23 = changes[changes["effective"] == "2023-04-01"]
    to23 = dict(zip(c23["old_code"], c23["new_code"]))
    new_names = dict(zip(known["lad_code"], known["lad_name"])) | dict(zip(c23["new_code"], c23["new_name"]))
    codes = lad_names.map(names)
    if codes.isna().any():
        missing = lad_names[codes.isna()].unique()[:5]
        raise SourceError(f"{path}: LSOA names with no known authority: {', '.join(missing)}")
    codes = codes.map(lambda c: to23.get(c, c))
    return codes, codes.map(new_names)


class LadChangeLookup:
    ID, KIND, PREFERENCE = "ons_lad_change_lookup", "lookup", 10
    TITLE, PUBLISHER = "ONS local authority district change lookup", "Office for National Statistics"

    @staticmethod
    def recognise(path: Path) -> bool:
        c = _cols(path)
        years = sorted({m.group(1) for x in c if (m := re.fullmatch(r"ltla(\d\d)_code", x))})
        return len(years) == 2 and not any(x.startswith(("lsoa", "icb", "utla", "region")) for x in c)

    @staticmethod
    def load(path: Path, ctx: BuildContext) -> LoadResult:
        df = _read(path)
        years = sorted({m.group(1) for x in df.columns if (m := re.fullmatch(r"ltla(\d\d)_code", x))})
        old, new = years
        changed = df[df[f"ltla{old}_code"] != df[f"ltla{new}_code"]]
        changed = changed[changed[f"ltla{old}_code"].str.startswith("E")]
        res = LoadResult(period=f"20{old} to 20{new}")
        res.notes.append(f"{path.name}: {len(changed)} English authority code changes 20{old}->20{new} "
                         f"(e.g. {', '.join(changed[f'ltla{new}_name'].unique()[:3])})")
        res.tables["lad_code_changes"] = pd.DataFrame({
            "old_code": changed[f"ltla{old}_code"], "old_name": changed[f"ltla{old}_name"],
            "new_code": changed[f"ltla{new}_code"], "new_name": changed[f"ltla{new}_name"],
            "effective": f"20{new}-04-01", "source": f"ONS LAD{old} to LAD{new} lookup ({path.name}); {OGL}"})
        return res


class TrustIcbLookup:
    """NHS trust -> ICB catchment shares (OHID). Used to place trusts with no host ICS in
    other files: each trust goes to the ICB that most of its patients come from."""
    ID, KIND, PREFERENCE = "nhs_trust_icb_lookup", "lookup", 30
    TITLE, PUBLISHER = "NHS trust catchment shares by ICB", "OHID / NHS Digital"

    @staticmethod
    def recognise(path: Path) -> bool:
        c = _cols(path)
        return any(x.startswith("nhs_trust") and x.endswith("_code") for x in c) and any(
            x.startswith("proportion") for x in c)

    @staticmethod
    def load(path: Path, ctx: BuildContext) -> LoadResult:
        df = _read(path)
        trust = next(c for c in df.columns if c.startswith("nhs_trust") and c.endswith("_code"))
        icb = next(c for c in df.columns if c.startswith("icb") and c.endswith("_code"))
        share = next(c for c in df.columns if c.startswith("proportion"))
        df[share] = pd.to_numeric(df[share], errors="coerce")
        best = df.sort_values(share, ascending=False).drop_duplicates(trust)
        mapping = {t: geography.ods_code(i) or i for t, i in zip(clean_code(best[trust]), clean_code(best[icb]))}
        n = ctx.add_orgs(mapping, "trust catchment (largest share)")
        return LoadResult(notes=[f"{path.name}: {n} trusts placed by their largest catchment share"])


class IgnoredGeography:
    """Recognised geography files that the model does not need (listed in the build report)."""
    ID, KIND, PREFERENCE = "ons_other_lookup", "provenance", 90
    TITLE, PUBLISHER = "Other ONS/NHS geography lookup (not needed)", "Office for National Statistics"

    @staticmethod
    def recognise(path: Path) -> bool:
        # Geography columns carry their vintage (utla23_code, region24_name, nhs_region21_nhs_code,
        # RGN21CD): a plain `region` column is a label in a data file (e.g. Skills for Care's rates), not a lookup.
        c = _cols(path)
        return bool(c) and (any(re.fullmatch(r"(utla|region|nhser|nhs_region)\d\d_\w+", x) for x in c) or
                            {"icb24_code", "icb24_code_h"} <= c or "share_of_lad_lsoas" in c)

    @staticmethod
    def load(path: Path, ctx: BuildContext) -> LoadResult:
        return LoadResult(notes=[f"{path.name}: recognised geography lookup, not needed by the model"])


SOURCES = [LsoaIcbLookup, LadChangeLookup, TrustIcbLookup, IgnoredGeography]
