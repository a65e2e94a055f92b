"""NHS England turnover benchmarking (staff, joiners and leavers by staff group and organisation,
monthly) and the ODS list of NHS trusts.

Turnover benchmarking gives, for every NHS trust and every ICB as an employer, headcount and
FTE at the start and end of a one-month window, and the joiners and leavers in it. Staff at the
end of each window go into ``workforce`` (sector ``nhs_trust``, period = the month the window
ends in); joiners and leavers of all the windows read go into ``flows`` as one row per ICB and
staff group, with ``months`` saying how many one-month windows the counts add up.
Resident doctors (doctors in training and equivalents) are excluded from these files by the
publisher, and ICB-employed staff are left out of the NHS trust sector (counted in the notes).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from iwt_helpers.data import geography
from iwt_helpers import vocab
from . import BuildContext, LoadResult
from ._read import SourceError, clean_code, head_columns, read_csv, require_columns, to_number

OGL = "Open Government Licence v3.0"
TYPES = {"Denominator at start of period": "start", "Denominator at end of period": "end",
         "Joiners": "joiners", "Leavers": "leavers"}
ALL_GROUPS = "All staff groups"
ICB_EMPLOYER = "Integrated Care Board"
CAVEAT = "resident doctors excluded by the publisher"


def nhs_staff_groups() -> dict[str, str]:
    """Published NHS staff group name (any vintage) -> harmonised staff group code."""
    return {g: row["code"] for row in vocab.load_yaml("vocabulary.yaml")["staff_groups"]
            for g in row.get("nhs_hchs_groups", [])}


class TurnoverBenchmarking:
    """NHS England, NHS Workforce Statistics: "Turnover benchmarking 2. Staff group and
    organisation, monthly" (CSV)."""
    ID, KIND, PREFERENCE = "nhs_workforce_turnover", "data", 10
    TITLE = "NHS turnover benchmarking: staff, joiners and leavers by staff group and organisation (monthly)"
    PUBLISHER = "NHS England, NHS Workforce Statistics"
    NEEDED = ["PERIOD", "TYPE", "ICS_CODE", "REPORTING_ORG_CODE", "REPORTING_ORG_NAME", "CLUSTER_GROUP",
              "STAFF_GROUP_1_NAME", "HC", "FTE"]

    @classmethod
    def recognise(cls, path: Path) -> bool:
        cols = set(head_columns(path) or [])
        return {"PERIOD", "TYPE", "REPORTING_ORG_CODE", "STAFF_GROUP_1_NAME", "FTE"} <= cols

    @classmethod
    def _read(cls, path: Path) -> pd.DataFrame:
        df = read_csv(path)
        require_columns(df, cls.NEEDED, path)
        bad_type = sorted(set(df["TYPE"].str.strip()) - set(TYPES))
        if bad_type:
            raise SourceError(f"{path}: column 'TYPE': value(s) not in the published list: {', '.join(map(repr, bad_type))}; "
                              f"expected {', '.join(TYPES)}")
        groups = nhs_staff_groups()
        bad_group = sorted(set(df["STAFF_GROUP_1_NAME"].str.strip()) - set(groups) - {ALL_GROUPS})
        if bad_group:
            raise SourceError(f"{path}: column 'STAFF_GROUP_1_NAME': staff group(s) not in the published list: "
                              f"{', '.join(map(repr, bad_group))} (mapping in data/reference/vocabulary.yaml)")
        df["ICS_CODE"] = clean_code(df["ICS_CODE"])
        unknown = sorted(set(df["ICS_CODE"]) - set(geography.icb_codes()))
        if unknown:
            raise SourceError(f"{path}: column 'ICS_CODE': codes not among the 42 ICBs: {', '.join(unknown[:5])}")
        m = df["PERIOD"].str.strip().str.fullmatch(r"(\d{6}) to (\d{6})")
        if not m.all():
            r = df.index[~m][0]
            raise SourceError(f"{path}: column 'PERIOD' row {r + 2}: expected 'YYYYMM to YYYYMM', found {df.at[r, 'PERIOD']!r}")
        end = df["PERIOD"].str.strip().str[-6:]
        df["period"] = pd.to_datetime(end, format="%Y%m")
        df["kind"] = df["TYPE"].str.strip().map(TYPES)
        df["fte"], _ = to_number(df["FTE"], path, "FTE")
        df["hc"], _ = to_number(df["HC"], path, "HC")
        df["org_code"] = clean_code(df["REPORTING_ORG_CODE"])
        df["group_src"] = df["STAFF_GROUP_1_NAME"].str.strip()
        return df

    @classmethod
    def org_lookup(cls, path: Path) -> dict[str, str]:
        df = read_csv(path)
        return dict(zip(clean_code(df["REPORTING_ORG_CODE"]), clean_code(df["ICS_CODE"])))

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        df = cls._read(path)
        source = f"{cls.TITLE}, {path.name}; {cls.PUBLISHER}; {OGL}; {CAVEAT}"
        icb_staff = df["CLUSTER_GROUP"].str.strip() == ICB_EMPLOYER
        groups = df[df["group_src"] != ALL_GROUPS]
        # The staff-group rows must add up to each organisation's "All staff groups" row.
        check = groups.groupby(["org_code", "kind", "period"])["fte"].sum().sub(
            df[df["group_src"] == ALL_GROUPS].set_index(["org_code", "kind", "period"])["fte"], fill_value=0)
        off = check[check.abs() > 1]
        if len(off):
            (org, kind, _), diff = next(iter(off.items()))
            raise SourceError(f"{path}: staff groups of organisation {org} ({kind}) differ from its "
                              f"'{ALL_GROUPS}' row by {diff:,.1f} FTE")
        trusts = groups[~groups["CLUSTER_GROUP"].str.strip().eq(ICB_EMPLOYER)].copy()
        trusts["staff_group"] = trusts["group_src"].map(nhs_staff_groups())
        end = trusts[trusts["kind"] == "end"]
        registered = dict(zip(vocab.staff_groups()["code"], vocab.staff_groups()["registered"]))
        g = end.groupby(["period", "ICS_CODE", "staff_group"], as_index=False)[["hc", "fte"]].sum()
        wf = pd.DataFrame({"period": g["period"], "icb_code": g["ICS_CODE"], "sector": "nhs_trust",
                           "staff_group": g["staff_group"], "registered": g["staff_group"].map(registered),
                           "headcount": g["hc"], "fte": g["fte"].round(3), "source": source})
        # The sector's headcount is the publisher's own "All staff groups" count of each trust (a person in
        # two staff groups counts once there, twice in the sum of the groups), summed over the ICB's trusts.
        all_trusts = df[(df["group_src"] == ALL_GROUPS) & (df["kind"] == "end") & ~icb_staff]
        total = all_trusts.groupby(["period", "ICS_CODE"])["hc"].sum()
        wf["headcount_total"] = [total.get((p, i)) for p, i in zip(wf["period"], wf["icb_code"])]
        ctx.parts.setdefault(cls.ID, []).append((path, trusts, source))
        month = df["period"].iloc[0]
        all_end = df[(df["group_src"] == ALL_GROUPS) & (df["kind"] == "end")]
        icb_fte = all_end.loc[icb_staff, "fte"].sum()
        res = LoadResult(tables={"workforce": wf}, period=f"month to end of {month:%B %Y}")
        res.tables["source_totals"] = pd.DataFrame({
            "source": cls.ID, "file": path.name, "period": [month, month],
            "measure": ["fte_end_of_month_trusts", "fte_end_of_month_icb_employed_left_out"],
            "file_total": [all_end.loc[~icb_staff, "fte"].sum(), icb_fte]})
        res.notes.append(f"{path.name}: end of {month:%B %Y}, {end['org_code'].nunique()} NHS trusts in "
                         f"{end['ICS_CODE'].nunique()} ICBs, {end['fte'].sum():,.1f} FTE ({CAVEAT}); "
                         f"{all_end.loc[icb_staff, 'org_code'].nunique()} ICBs as employers ({icb_fte:,.1f} FTE) left out "
                         "of the NHS trust sector")
        return res

    @classmethod
    def finalise(cls, ctx: BuildContext) -> LoadResult:
        """Joiners and leavers of every window read, as one ``flows`` row per ICB and staff group.

        ``staff_in_post`` is the mean headcount over the windows (mean of each window's start and
        end), ``joiners`` and ``leavers`` their sum, and ``months`` the number of windows: an annual
        rate is ``leavers / staff_in_post x 12 / months`` (said wherever it is shown). Joiners and
        leavers are to and from each trust, so moves between trusts of one ICB count in both.
        Counts are headcount by staff group, so a person in two staff groups counts in each (about
        0.1% more than the all-groups row).
        """
        parts = ctx.parts.get(cls.ID, [])
        trusts = pd.concat([p[1] for p in parts], ignore_index=True)
        months = trusts["period"].nunique()
        keys = ["ICS_CODE", "staff_group"]
        den = trusts[trusts["kind"].isin(["start", "end"])].groupby(keys + ["period"])["hc"].sum() / 2
        stock = den.groupby(level=[0, 1]).sum() / months
        moves = trusts[trusts["kind"].isin(["joiners", "leavers"])].pivot_table(
            index=keys, columns="kind", values="hc", aggfunc="sum").reindex(columns=["joiners", "leavers"])
        f = moves.join(stock.rename("staff_in_post"), how="outer").reset_index()
        first, last = trusts["period"].min(), trusts["period"].max()
        window = f"{first:%B %Y} to {last:%B %Y}" if months > 1 else f"{last:%B %Y}"
        year = int(last.year)
        flows = pd.DataFrame({"year": year, "icb_code": f["ICS_CODE"], "sector": "nhs_trust",
                              "staff_group": f["staff_group"], "staff_in_post": f["staff_in_post"].round(1),
                              "joiners": f["joiners"], "leavers": f["leavers"], "leavers_to_other_sector": np.nan,
                              "months": months,
                              "source": f"{cls.TITLE} ({months} one-month window(s), {window}); {cls.PUBLISHER}; "
                                        f"{OGL}; headcount by staff group; {CAVEAT}"})
        periods = sorted(trusts["period"].unique())
        gaps = [f"{a:%b %Y}-{b:%b %Y}" for a, b in zip(periods, periods[1:]) if (b.year - a.year) * 12 + b.month - a.month != 1]
        res = LoadResult(tables={"flows": flows})
        res.notes.append(f"NHS turnover benchmarking: joiners and leavers of {months} one-month window(s) to the end of "
                         f"{last:%B %Y} combined into flows for {year} (annual rate = count x 12 / {months}; headcount)"
                         + (f"; months not consecutive: {', '.join(gaps)}" if gaps else ""))
        return res


# ----------------------------------------------------------------------------- ODS trusts

ODS_COLUMNS = 27
_ORG = re.compile(r"^[A-Z0-9]{3,5}$")
_REGION = re.compile(r"^(Y\d\d|W00)$")


class OdsTrusts:
    """NHS Organisation Data Service "etr" (NHS trusts) CSV: no header row; columns by position
    (0 organisation code, 1 name, 2 NHS England region, 3 ICB of the headquarters, 10 open date,
    11 close date). Places trusts (closed ones at their last ICB) after the published ICS codes."""
    ID, KIND, PREFERENCE = "ods_trusts", "lookup", 20
    TITLE, PUBLISHER = "NHS trusts (ODS etr list) with region and ICB of headquarters", "NHS England Organisation Data Service"

    @staticmethod
    def recognise(path: Path) -> bool:
        row = head_columns(path)           # no header: the first row of data
        return bool(row) and len(row) == ODS_COLUMNS and bool(_ORG.match(row[0].strip())) and bool(
            _REGION.match(row[2].strip())) and bool(re.fullmatch(r"[A-Z0-9]{3}", row[3].strip()))

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        df = read_csv(path, header=None)
        if df.shape[1] != ODS_COLUMNS:
            raise SourceError(f"{path}: expected the ODS layout of {ODS_COLUMNS} columns without a header row, "
                              f"found {df.shape[1]}")

        def date(col: str) -> pd.Series:
            s = df[col].str.strip()
            out = pd.to_datetime(s.where(s != ""), format="%Y%m%d", errors="coerce")
            bad = out.isna() & (s != "")
            if bad.any():
                r = df.index[bad][0]
                raise SourceError(f"{path}: column {int(col) + 1} (date) row {r + 1}: expected YYYYMMDD, found {s[r]!r}")
            return out

        org, icb = clean_code(df["0"]), clean_code(df["3"])
        in_england = icb.isin(geography.icb_codes())
        table = pd.DataFrame({"org_code": org, "org_name": df["1"].str.strip(), "region_code": clean_code(df["2"]),
                              "icb_code": icb.where(in_england), "opened": date("10"), "closed": date("11"),
                              "source": f"{cls.TITLE}, {path.name}; {cls.PUBLISHER}; {OGL}"})
        n = ctx.add_orgs(dict(zip(org[in_england], icb[in_england])), f"{path.name} (ICB of headquarters)")
        closed = int(table["closed"].notna().sum())
        return LoadResult(tables={"nhs_trusts": table}, period=f"opened up to {table['opened'].max():%b %Y}",
                          notes=[f"{path.name}: {len(table)} trusts ({closed} closed, {int((~in_england).sum())} "
                                 f"outside England); {n} not already placed by a published ICS code now placed "
                                 "by the ICB of their headquarters"])


SOURCES = [TurnoverBenchmarking, OdsTrusts]
