"""NHS sources: sickness absence, Staff Survey, HCHS workforce statistics, organisation lookups."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from iwt_helpers.data import geography
from iwt_helpers import vocab
from . import BuildContext, LoadResult
from ._read import SourceError, clean_code, head_columns, month_start, read_csv, read_sheet, require_columns, sheet_names, to_number

OGL = "Open Government Licence v3.0"
EXCLUDED_ICS = {"QZZ"}          # special health authorities and other national bodies: no ICB


def _has(path: Path, needed: set[str]) -> bool:
    cols = head_columns(path)
    return bool(cols) and needed <= {c.strip() for c in cols}


class SicknessAbsence:
    """NHS Sickness Absence Rates, monthly organisation-level CSV (NHS Digital / NHS England).

    ICB rate = 100 x sum of FTE days lost / sum of FTE days available over the ICB's
    organisations: aggregated from days, never by averaging organisations' rates.
    """
    ID, KIND, PREFERENCE = "nhs_sickness_absence", "data", 10
    TITLE, PUBLISHER = "NHS Sickness Absence Rates (monthly, by organisation)", "NHS England (NHS Digital)"
    NEEDED = {"DATE", "ICS_CODE", "ORG_CODE", "FTE_DAYS_LOST", "FTE_DAYS_AVAILABLE"}

    @classmethod
    def recognise(cls, path: Path) -> bool:
        return _has(path, cls.NEEDED)

    @classmethod
    def org_lookup(cls, path: Path) -> dict[str, str]:
        df = read_csv(path)
        return dict(zip(clean_code(df["ORG_CODE"]), clean_code(df["ICS_CODE"])))

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        df = read_csv(path)
        require_columns(df, sorted(cls.NEEDED), path)
        df["period"] = month_start(df["DATE"], path, "DATE", ("%d/%m/%Y", "%Y-%m-%d", "%d-%b-%y", "%b-%y"))
        lost, s1 = to_number(df["FTE_DAYS_LOST"], path, "FTE_DAYS_LOST")
        avail, s2 = to_number(df["FTE_DAYS_AVAILABLE"], path, "FTE_DAYS_AVAILABLE")
        df["lost"], df["avail"], df["suppressed"] = lost, avail, s1 | s2
        df["ICS_CODE"] = clean_code(df["ICS_CODE"])
        national = df["ICS_CODE"].isin(EXCLUDED_ICS)
        unknown = sorted(set(df.loc[~national, "ICS_CODE"]) - set(geography.icb_codes()))
        if unknown:
            raise SourceError(f"{path}: column 'ICS_CODE': codes not among the 42 ICBs: {', '.join(unknown[:5])}")
        held, held_notes = cls.implausible(df, path)
        use = df[~national & ~held]
        g = use.groupby(["ICS_CODE", "period"], as_index=False).agg(
            numerator=("lost", "sum"), denominator=("avail", "sum"), suppressed=("suppressed", "sum"))
        g["value"] = (100 * g["numerator"] / g["denominator"]).round(6)
        out = pd.DataFrame({"icb_code": g["ICS_CODE"], "kpi_id": "sickness_absence_nhs", "period": g["period"],
                            "value": g["value"], "target": np.nan, "numerator": g["numerator"],
                            "denominator": g["denominator"],
                            "source": f"{cls.TITLE}, {path.name}; {cls.PUBLISHER}; {OGL}"})
        res = LoadResult(tables={"kpi_observations": out},
                         period=", ".join(sorted({f"{p:%b %Y}" for p in g["period"]})))
        res.notes.append(f"{path.name}: {len(use)} organisations in {g['ICS_CODE'].nunique()} ICBs; "
                         f"{int(national.sum())} national bodies (ICS {', '.join(EXCLUDED_ICS)}) left out; "
                         f"{int(df['suppressed'].sum())} suppressed or blank values kept as missing")
        res.notes.extend(held_notes)
        return res

    @staticmethod
    def implausible(df: pd.DataFrame, path: Path, shown: int = 10) -> tuple[pd.Series, list[str]]:
        """Rows of the publisher's file that no rate can be drawn from, quarantined (left out of every
        ICB's rate) and listed: days lost or available not a finite number, below zero, days lost above
        days available, and an organisation's month given more than once in the file (every row of it
        when the rows differ; the repeats when they are the same)."""
        lost, avail = df["lost"], df["avail"]
        rules = [
            ("FTE_DAYS_LOST", "a finite number (not inf)", np.isinf(lost)),
            ("FTE_DAYS_AVAILABLE", "a finite number (not inf)", np.isinf(avail)),
            ("FTE_DAYS_LOST", "zero or more", lost < 0),
            ("FTE_DAYS_AVAILABLE", "zero or more", avail < 0),
            ("FTE_DAYS_LOST", "days lost no more than days available", (lost > avail) & np.isfinite(lost) & np.isfinite(avail)),
        ]
        rows = pd.DataFrame({"org": clean_code(df["ORG_CODE"]), "period": df["period"], "lost": lost, "avail": avail})
        distinct = rows.drop_duplicates()
        clash = distinct.loc[distinct.duplicated(["org", "period"], keep=False), ["org", "period"]]
        differ = pd.MultiIndex.from_frame(rows[["org", "period"]]).isin(pd.MultiIndex.from_frame(clash))
        rules.append(("ORG_CODE", "one row per organisation and month (a repeated row, or rows that differ)",
                      rows.duplicated(keep="first").to_numpy() | differ))
        held, notes = pd.Series(False, index=df.index), []
        for column, rule, mask in rules:
            mask = pd.Series(mask, index=df.index).fillna(False).astype(bool)
            if not mask.any():
                continue
            held |= mask
            rows = [int(i) + 2 for i in df.index[mask]]       # the header is row 1
            more = f" and {len(rows) - shown} more" if len(rows) > shown else ""
            notes.append(f"{path.name}: quarantined {len(rows)} row(s) breaking rule '{rule}' in column '{column}' "
                         f"(row {', '.join(map(str, rows[:shown]))}{more}; the header is row 1): left out of the ICB "
                         "rates, never drawn")
        return held, notes


class _OrganisationLookup:
    """A two-column list placing organisation codes in ICBs (shared by the lookups below)."""
    CODE_COL = ICB_COL = WHAT = ""
    STRICT = False          # True: every ICB code must be one of the 42

    @classmethod
    def recognise(cls, path: Path) -> bool:
        return _has(path, {cls.CODE_COL, cls.ICB_COL})

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        df = read_csv(path)
        icb = clean_code(df[cls.ICB_COL])
        bad = sorted(set(icb) - set(geography.icb_codes()))
        if cls.STRICT and bad:
            raise SourceError(f"{path}: column '{cls.ICB_COL}': not among the 42 ICBs: {', '.join(bad[:5])}")
        n = ctx.add_orgs(dict(zip(clean_code(df[cls.CODE_COL]), icb)), path.name)
        return LoadResult(notes=[f"{path.name}: {n} {cls.WHAT} placed in ICBs"])


class OrganisationDimension(_OrganisationLookup):
    """A reference list of NHS organisations with their ICS (e.g. dim_organisation.csv); national
    bodies (ICS QZZ) are kept in the list but never placed in an ICB."""
    ID, KIND, PREFERENCE = "nhs_organisation_lookup", "lookup", 20
    TITLE, PUBLISHER = "NHS organisation to ICS lookup", "built from NHS workforce publications"
    CODE_COL, ICB_COL, WHAT = "OrganisationCode", "ICSCode", "organisations"


class CcgIcbLookup(_OrganisationLookup):
    """Former CCG (Sub-ICB location) codes -> ICB."""
    ID, KIND, PREFERENCE = "nhs_ccg_icb_lookup", "lookup", 20
    TITLE, PUBLISHER = "CCG / Sub-ICB location to ICB lookup", "NHS England (ODS)"
    CODE_COL, ICB_COL, WHAT, STRICT = "CCG Code", "ICB Code", "former CCG codes", True


class DownloadManifest:
    ID, KIND, PREFERENCE = "download_manifest", "provenance", 90
    TITLE, PUBLISHER = "Download manifest (provenance only)", "-"

    @staticmethod
    def recognise(path: Path) -> bool:
        return _has(path, {"FileName", "SHA256"})

    @staticmethod
    def load(path: Path, ctx: BuildContext) -> LoadResult:
        return LoadResult(notes=[f"{path.name}: download provenance, recorded in the build report"])


class StaffSurvey:
    """NHS Staff Survey organisational results. ICB indicators = base-weighted means of the
    organisations' rates (sum of rate x base / sum of base), per survey year."""
    ID, KIND, PREFERENCE = "nhs_staff_survey", "data", 10
    TITLE, PUBLISHER = "NHS Staff Survey organisational results", "NHS England / Picker"
    INDICATORS = {"Enough_staff": "enough_staff", "Burned_out": "burned_out", "Stress": "stress",
                  "Time_demands_meet": "time_demands_met", "Emotionally_exhausting": "emotionally_exhausting"}

    @staticmethod
    def recognise(path: Path) -> bool:
        return _has(path, {"ODS code", "Year", "Enough_staff_base", "Enough_staff_rate"})

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        df = read_csv(path)
        df["org"] = clean_code(df["ODS code"])
        df["icb_code"] = ctx.icb_of(df["org"])
        # Organisations with no code in the lookups: fall back to the ICS name column, if any.
        if "ICS" in df.columns:
            by_name = df["ICS"].map(geography.icb_code_from_name)
            df["icb_code"] = df["icb_code"].fillna(by_name)
        year, _ = to_number(df["Year"], path, "Year")
        df["year"] = year.astype(int)
        rows = []
        for col, ind in cls.INDICATORS.items():
            base_col, rate_col = f"{col}_base", f"{col}_rate"
            if base_col not in df or rate_col not in df:
                continue
            base, _ = to_number(df[base_col], path, base_col)
            rate, sup = to_number(df[rate_col], path, rate_col)
            d = df.assign(base=base, rate=rate)[["icb_code", "year", "base", "rate"]].dropna()
            d = d[d["base"] > 0]
            d["w"] = d["base"] * d["rate"]
            g = d.groupby(["icb_code", "year"], as_index=False)[["w", "base"]].sum()
            g["rate_pct"] = g["w"] / g["base"]
            g["indicator"] = ind
            rows.append(g[["icb_code", "year", "indicator", "rate_pct", "base"]])
        table = pd.concat(rows, ignore_index=True)
        table["source"] = f"{cls.TITLE}, {path.name}; {cls.PUBLISHER}; {OGL}"
        unmapped = df[df["icb_code"].isna()][["org", "Organisation name", "year"]].drop_duplicates()
        unmapped = unmapped.rename(columns={"org": "org_code", "Organisation name": "org_name", "year": "period"})
        unmapped["source"] = cls.ID
        es = table[table["indicator"] == "enough_staff"]
        kpi = pd.DataFrame({"icb_code": es["icb_code"], "kpi_id": "enough_staff_pct",
                            "period": pd.to_datetime(es["year"].astype(str) + "-10-01"), "value": es["rate_pct"].round(4),
                            "target": np.nan, "numerator": (es["rate_pct"] * es["base"] / 100).round(2),
                            "denominator": es["base"], "source": table["source"].iloc[0]})
        res = LoadResult(tables={"staff_survey": table, "kpi_observations": kpi}, unmapped=unmapped,
                         period=", ".join(str(y) for y in sorted(df["year"].unique())))
        res.notes.append(f"{path.name}: {df['org'].nunique()} organisations; {len(unmapped)} organisation-years "
                         f"not placed in an ICB (listed, not used)")
        return res


HCHS_GROUPS = {g: row["code"] for row in vocab.load_yaml("vocabulary.yaml")["staff_groups"]
               for g in row.get("nhs_hchs_groups", [])}


class HchsWorkforce:
    """NHS Digital HCHS workforce statistics: FTE by staff group and organisation, as the
    supplementary XLSX (sheet 'Data', any title rows) or a CSV with the same content."""
    ID, KIND = "nhs_hchs_workforce", "data"
    TITLE, PUBLISHER = "NHS Hospital and Community Health Services workforce statistics (FTE)", "NHS Digital"
    PREFERENCE = 10

    @staticmethod
    def recognise(path: Path) -> bool:
        if _has(path, {"month", "org_code", "staff_group", "fte_total"}) or _has(
                path, {"Month", "Organisation code", "Staff group", "FTE"}):
            return True
        names = sheet_names(path)
        if "Data" in names:
            try:
                read_sheet(path, "Data", ["Month", "Organisation code", "Staff group", "FTE"], max_scan=15)
                return True
            except SourceError:
                return False
        return False

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        if path.suffix.lower() in (".xlsx", ".xls", ".xlsm"):
            df = read_sheet(path, "Data", ["Month", "Organisation code", "Staff group", "FTE"])
        else:
            df = read_csv(path)
        df = df.rename(columns={"Month": "month", "Organisation code": "org_code", "Organisation name": "org_name",
                                "Staff group": "staff_group_src", "staff_group": "staff_group_src",
                                "FTE": "fte", "fte_total": "fte"})
        require_columns(df, ["month", "org_code", "staff_group_src", "fte"], path)
        fte, sup = to_number(df["fte"], path, "FTE")
        df["fte"] = fte
        df["period"] = month_start(df["month"].astype(str).str.title(), path, "Month", ("%Y-%b", "%b-%y", "%Y-%m", "%Y-%m-%d"))
        unknown_groups = sorted(set(df["staff_group_src"]) - set(HCHS_GROUPS))
        if unknown_groups:
            raise SourceError(f"{path}: column 'Staff group': unrecognised group(s) {', '.join(unknown_groups[:5])}; "
                              f"expected one of {', '.join(HCHS_GROUPS)} (mapping in data/reference/vocabulary.yaml)")
        df["staff_group"] = df["staff_group_src"].map(HCHS_GROUPS)
        df["org_code"] = clean_code(df["org_code"])
        df["icb_code"] = ctx.icb_of(df["org_code"])
        if "org_name" not in df:
            df["org_name"] = ""
        registered = dict(zip(vocab.staff_groups()["code"], vocab.staff_groups()["registered"]))
        mapped = df[df["icb_code"].notna()]
        g = mapped.groupby(["period", "icb_code", "staff_group"], as_index=False)["fte"].sum()
        wf = pd.DataFrame({"period": g["period"], "icb_code": g["icb_code"], "sector": "nhs_trust",
                           "staff_group": g["staff_group"], "registered": g["staff_group"].map(registered),
                           "headcount": np.nan, "fte": g["fte"].round(3),
                           "source": f"{cls.TITLE}, {path.name}; {cls.PUBLISHER}; {OGL}"})
        un = df[df["icb_code"].isna()].groupby(["period", "org_code", "org_name"], as_index=False)["fte"].sum()
        un["source"] = cls.ID
        totals = df.groupby("period")["fte"].sum()
        res = LoadResult(tables={"workforce": wf}, unmapped=un.rename(columns={"fte": "fte_unmapped"}),
                         period=", ".join(f"{p:%b %Y}" for p in totals.index))
        for p, tot in totals.items():
            m = mapped.loc[mapped["period"] == p, "fte"].sum()
            res.notes.append(f"{path.name} {p:%b %Y}: {tot:,.1f} FTE in the file; {m:,.1f} placed in ICBs; "
                             f"{tot - m:,.1f} in {un[un['period'] == p]['org_code'].nunique()} organisations "
                             "with no current ICB (listed as unmapped)")
        res.tables["source_totals"] = pd.DataFrame({"source": cls.ID, "file": path.name, "period": totals.index,
                                                    "measure": "fte", "file_total": totals.values})
        return res


SOURCES = [SicknessAbsence, OrganisationDimension, CcgIcbLookup, DownloadManifest, StaffSurvey, HchsWorkforce]
