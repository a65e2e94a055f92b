"""GP workforce indicators by ICB: FTE per 10,000 registered patients by deprivation quintile
(Health Equity Evidence Centre data pack, built from NHS Digital's GP workforce statistics)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from iwt_helpers.data import geography
from . import BuildContext, LoadResult
from ._read import head_columns, read_csv, require_columns, to_number

WORKFORCE_INDICATORS = {"TOTAL_GP_EXTGL_FTE": "GPs (excl. locums and trainees)", "TOTAL_NURSES_FTE": "Practice nurses",
                        "TOTAL_DPC_FTE": "Direct patient care", "TOTAL_ADMIN_FTE": "Admin and non-clinical",
                        "TOTAL_LOCUUM_TRN_FTE": "Locums and GP trainees"}


class GpWorkforceIndicators:
    ID, KIND, PREFERENCE = "gp_workforce_icb", "data", 10
    TITLE, PUBLISHER = "GP workforce FTE per 10,000 patients by ICB and deprivation quintile", "HEEC from NHS Digital"

    @staticmethod
    def recognise(path: Path) -> bool:
        cols = set(head_columns(path) or [])
        return {"Year", "Indicator", "ICB.NAME", "quin_1", "avg"} <= cols

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        df = read_csv(path)
        df = df[df["Indicator"].isin(WORKFORCE_INDICATORS)].copy()
        df["icb_code"] = df["ICB.NAME"].map(geography.icb_code_from_name)
        unplaced = sorted(df.loc[df["icb_code"].isna(), "ICB.NAME"].unique())
        df = df.dropna(subset=["icb_code"])
        quint = [c for c in ("quin_1", "quin_2", "quin_3", "quin_4_5") if c in df]
        for c in quint + ["avg"]:
            df[c], _ = to_number(df[c], path, c)
        year, _ = to_number(df["Year"], path, "Year")
        out = pd.DataFrame({"icb_code": df["icb_code"], "year": year.astype(int), "indicator": df["Indicator"],
                            "indicator_label": df["Indicator"].map(WORKFORCE_INDICATORS),
                            **{f"per_10k_{c}": df[c] for c in quint},
                            "per_10k_mean_of_quintiles": df[quint].mean(axis=1),
                            "per_10k_england": df["avg"],
                            "source": f"{cls.TITLE}, {path.name}; {cls.PUBLISHER}"})
        res = LoadResult(tables={"gp_indicators": out}, period=", ".join(str(y) for y in sorted(out["year"].unique())))
        res.notes.append(f"{path.name}: {out['icb_code'].nunique()} ICBs; rows not for an ICB left out: "
                         f"{', '.join(unplaced)}; the ICB figure is the unweighted mean of its quintiles")
        return res


SOURCES = [GpWorkforceIndicators]


# ----------------------------------------------------------------------------- practice level

# role -> (label, harmonised staff group, FTE column(s), headcount column(s), counted in the total)
PRACTICE_ROLES = {
    "gp_qualified": ("GPs (excluding trainees and locums)", "doctor", ["TOTAL_GP_EXTGL_FTE"], ["TOTAL_GP_EXTGL_HC"], True),
    "gp_trainee_locum": ("GP trainees and locums", "doctor", ["TOTAL_LOCUUM_TRN_FTE"], ["TOTAL_LOCUUM_TRN_HC"], True),
    "nurse": ("Practice nurses", "registered_nurse", ["TOTAL_NURSES_FTE"], ["TOTAL_NURSES_HC"], True),
    "direct_patient_care": ("Direct patient care", "support_to_clinical", ["TOTAL_DPC_FTE"], ["TOTAL_DPC_HC"], True),
    "admin": ("Admin and non-clinical", "infrastructure_admin", ["TOTAL_ADMIN_FTE"], ["TOTAL_ADMIN_HC"], True),
    "gp_partner": ("GP partners (part of qualified GPs)", "doctor", ["TOTAL_GP_SEN_PTNR_FTE", "TOTAL_GP_PTNR_PROV_FTE"],
                   ["TOTAL_GP_SEN_PTNR_HC", "TOTAL_GP_PTNR_PROV_HC"], False),
}
TREND_ROLES = {"gp_qualified": (["TOTAL_GP_EXTGL_FTE"], ["TOTAL_GP_EXTGL_HC"]), "admin": (["TOTAL_ADMIN_FTE"], [])}
PRACTICE_KEYS = ["Practice.Code", "Year", "TOTAL_PATIENTS"]
DETAILED_COLUMNS = PRACTICE_KEYS + ["ICB_NAME"] + sorted({c for r in PRACTICE_ROLES.values() for c in r[2] + r[3]})
TREND_COLUMNS = PRACTICE_KEYS + sorted({c for r in TREND_ROLES.values() for c in r[0] + r[1]})
LOOKUP_MARK = "lookup "
GPW = "NHS England (NHS Digital), General Practice Workforce, practice-level CSVs; annual means by HEEC"
OGL = "Open Government Licence v3.0"


def financial_year(year_end: pd.Series) -> pd.Series:
    """2025 -> '2024/25' (the files' Year is the financial year's end)."""
    y = year_end.astype(int)
    return (y - 1).astype(str) + "/" + (y % 100).map("{:02d}".format)


class GpPracticeWorkforce:
    """General practice workforce by practice and financial year (HEEC's annual means of NHS
    Digital's monthly practice CSVs). Two layouts: the detailed one (with ICB_NAME and every
    staff group) and the older trend one (qualified GPs and admin, no ICB). All files are
    combined in :meth:`finalise`: for each financial year the newest file that has it is used;
    practices are placed by the ICB the file names, else by the ICB another practice file gives
    them; names that match no ICB are listed with their practices and FTE."""
    ID, KIND, PREFERENCE = "gp_practice_workforce", "data", 10
    TITLE, PUBLISHER = "General practice workforce by practice and financial year", GPW

    @staticmethod
    def recognise(path: Path) -> bool:
        cols = set(head_columns(path) or [])
        return {"Practice.Code", "Year", "TOTAL_PATIENTS"} <= cols and any(c.startswith("TOTAL_GP_") for c in cols)

    @staticmethod
    def _layout(path: Path) -> list[str]:
        return DETAILED_COLUMNS if "ICB_NAME" in (head_columns(path) or []) else TREND_COLUMNS

    @classmethod
    def _read(cls, path: Path) -> pd.DataFrame:
        df = read_csv(path)
        require_columns(df, cls._layout(path), path)
        df["practice"] = df["Practice.Code"].str.strip().str.upper()
        year, _ = to_number(df["Year"], path, "Year")
        df["year_end"] = year.astype(int)
        for c in cls._layout(path)[2:]:
            if c != "ICB_NAME":
                df[c], _ = to_number(df[c], path, c)
        return df

    @classmethod
    def prepare(cls, path: Path, ctx: BuildContext) -> None:
        """Practice -> ICB from the file's own ICB names (latest year first)."""
        if "ICB_NAME" not in (head_columns(path) or []):
            return
        df = read_csv(path)
        df = df.sort_values("Year", ascending=False)
        for p, name in zip(df["Practice.Code"].str.strip().str.upper(), df["ICB_NAME"]):
            code = geography.icb_code_from_name(name)
            if code and (p not in ctx.practice_icb or ctx.practice_source[p].startswith(LOOKUP_MARK)):
                ctx.practice_icb[p], ctx.practice_source[p] = code, path.name

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        df = cls._read(path)
        ctx.parts.setdefault(cls.ID, []).append((path, df))
        years = sorted(df["year_end"].unique())
        return LoadResult(period=f"{financial_year(pd.Series([years[0]]))[0]} to {financial_year(pd.Series([years[-1]]))[0]}",
                          notes=[f"{path.name}: {df['practice'].nunique():,} practices, financial years "
                                 f"{', '.join(financial_year(pd.Series(years)))}"])

    @classmethod
    def finalise(cls, ctx: BuildContext) -> LoadResult:
        parts = sorted(ctx.parts.get(cls.ID, []), key=lambda p: ("ICB_NAME" in p[1], p[1]["year_end"].max()), reverse=True)
        rows, unplaced, totals, notes, taken, areas = [], [], [], [], set(), []
        for path, df in parts:
            detailed = "ICB_NAME" in df
            roles = ({r: (v[2], v[3]) for r, v in PRACTICE_ROLES.items()} if detailed else TREND_ROLES)
            df = df[~df["year_end"].isin(taken)].copy()
            if df.empty:
                continue
            taken |= set(df["year_end"])
            named = df["ICB_NAME"].map(geography.icb_code_from_name) if detailed else pd.Series(None, index=df.index, dtype=object)
            df["icb_code"] = named.fillna(df["practice"].map(ctx.practice_icb))
            df["fy"] = financial_year(df["year_end"])
            long = []
            for role, (fte_cols, hc_cols) in roles.items():
                label, group, _, _, in_total = PRACTICE_ROLES[role]
                long.append(df.assign(role=role, staff_group=group, in_total=in_total, fte=df[fte_cols].sum(axis=1, min_count=1),
                                      headcount=df[hc_cols].sum(axis=1, min_count=1) if hc_cols else float("nan")))
            long = pd.concat(long, ignore_index=True)
            placed = long[long["icb_code"].notna()]
            g = placed.groupby(["fy", "icb_code", "role", "staff_group", "in_total"], as_index=False).agg(
                fte=("fte", "sum"), headcount=("headcount", lambda s: s.sum(min_count=1)))
            base = df[df["icb_code"].notna()].groupby(["fy", "icb_code"], as_index=False).agg(
                practices=("practice", "nunique"), registered_patients=("TOTAL_PATIENTS", "sum"))
            g = g.merge(base, on=["fy", "icb_code"], how="left")
            g["source"] = f"{cls.TITLE}, {path.name}; {cls.PUBLISHER}; {OGL}"
            rows.append(g.rename(columns={"fy": "financial_year"}))
            areas.append(_by_area(placed, df, f"{cls.TITLE}, {path.name}; {cls.PUBLISHER}; {OGL}; {PLACES_SOURCE}"))
            lost = long[long["icb_code"].isna() & long["in_total"]]
            if len(lost):
                given = df.set_index(["practice", "fy"])["ICB_NAME"] if detailed else None
                u = lost.groupby(["fy", "practice"], as_index=False).agg(fte_unmapped=("fte", "sum"))
                u = u.merge(lost[lost["role"] == "gp_qualified"].groupby(["fy", "practice"], as_index=False)["fte"].sum()
                            .rename(columns={"fte": "qualified_gp_fte"}), on=["fy", "practice"], how="left")
                u["org_name"] = [("ICB named in the file: " + str(given.get((p, y))) if given is not None and
                                  isinstance(given.get((p, y)), str) and given.get((p, y)).strip() else "no ICB in the file")
                                 for p, y in zip(u["practice"], u["fy"])]
                unplaced.append(pd.DataFrame({"source": cls.ID, "period": u["fy"], "org_code": u["practice"],
                                              "org_name": u["org_name"], "fte_unmapped": u["fte_unmapped"],
                                              "qualified_gp_fte": u["qualified_gp_fte"], "file": path.name}))
                bad_names = sorted({n for n in u["org_name"] if n.startswith("ICB named")})
                notes.append(f"{path.name}: {u['practice'].nunique()} practice(s) not placed in an ICB "
                             f"({u['fte_unmapped'].sum():,.1f} FTE){'; unmatched names: ' + ', '.join(bad_names[:5]) if bad_names else ''}")
            t = df.groupby("fy")["TOTAL_GP_EXTGL_FTE"].sum()
            a = long[long["in_total"]].groupby("fy")["fte"].sum()
            totals.append(pd.DataFrame({"source": cls.ID, "file": path.name, "period": [*t.index, *a.index],
                                        "measure": ["qualified_gp_fte"] * len(t) + ["fte"] * len(a),
                                        "file_total": [*t.values, *a.values]}))
        table = pd.concat(rows, ignore_index=True)
        area = pd.concat(areas, ignore_index=True)
        latest = area[(area["financial_year"] == area["financial_year"].max()) & (area["area_type"] == "no_place")]
        if len(latest):
            notes.append(f"General practice by place, {area['financial_year'].max()}: {int(latest['practices'].max()):,} "
                         "practice(s) at most per ICB have no place in NHS England's October 2025 practice mapping "
                         "(most had closed); they count in their ICB's figures and are shown apart from its places")
        res = LoadResult(tables={"gp_workforce": table, "gp_workforce_area": area,
                                 "source_totals": pd.concat(totals, ignore_index=True)},
                         unmapped=pd.concat(unplaced, ignore_index=True) if unplaced else None, notes=notes)
        res.notes.append(f"General practice workforce: {table['financial_year'].nunique()} financial years "
                         f"({table['financial_year'].min()} to {table['financial_year'].max()}) in "
                         f"{table['icb_code'].nunique()} ICBs; each year from the newest file that has it")
        return res


PLACES_SOURCE = "practices placed by NHS England's GP practice mapping (October 2025)"


def _by_area(placed: pd.DataFrame, practices: pd.DataFrame, source: str) -> pd.DataFrame:
    """General practice by place (sub-ICB location) and PCN of each ICB, and its practices with no
    place in the October 2025 mapping as one 'no_place' row per ICB, so places + no_place = ICB."""
    from iwt_helpers.data import places
    pm = places.practice_places().set_index("practice_code")
    mine = dict(zip(pm.index, pm["icb_code"]))
    # A practice is placed only where the mapping puts it in the ICB the workforce file gives it.
    ok = placed["practice"].map(mine) == placed["icb_code"]
    sicb = placed["practice"].map(pm["sicb_code"]).where(ok)
    pcn = placed["practice"].map(pm["pcn_code"]).where(ok)
    pcn_name = dict(zip(pm["pcn_code"], pm["pcn_name"]))
    keys = ["fy", "icb_code", "role", "staff_group", "in_total"]
    base = practices[practices["icb_code"].notna()].assign(
        sicb=practices["practice"].map(pm["sicb_code"]).where(practices["practice"].map(mine) == practices["icb_code"]),
        pcn=practices["practice"].map(pm["pcn_code"]).where(practices["practice"].map(mine) == practices["icb_code"]))
    out = []
    for area_type, code, bcode in (("place", sicb, "sicb"), ("pcn", pcn, "pcn"), ("no_place", None, None)):
        if area_type == "no_place":
            d = placed[sicb.isna()].assign(area_code=lambda x: "none in " + x["icb_code"])
            b = base[base["sicb"].isna()].assign(area_code=lambda x: "none in " + x["icb_code"])
        else:
            d = placed[code.notna()].assign(area_code=code[code.notna()])
            b = base[base[bcode].notna()].assign(area_code=base[bcode])
        g = d.groupby([*keys, "area_code"], as_index=False).agg(fte=("fte", "sum"),
                                                                 headcount=("headcount", lambda s: s.sum(min_count=1)))
        n = b.groupby(["fy", "icb_code", "area_code"], as_index=False).agg(
            practices=("practice", "nunique"), registered_patients=("TOTAL_PATIENTS", "sum"))
        g = g.merge(n, on=["fy", "icb_code", "area_code"], how="left")
        g["area_type"] = area_type
        g["area_name"] = (g["area_code"].map(pcn_name) if area_type == "pcn" else
                          g["area_code"].map(dict(zip(places.geography.sub_icbs()["sicb_code"],
                                                      places.geography.sub_icbs()["place_name"])))
                          if area_type == "place" else "practices with no place (closed by October 2025)")
        g["sicb_code"] = (g["area_code"] if area_type == "place" else
                          g["area_code"].map(dict(zip(pm["pcn_code"], pm["sicb_code"]))) if area_type == "pcn" else None)
        out.append(g)
    a = pd.concat(out, ignore_index=True).rename(columns={"fy": "financial_year"})
    a["source"] = source
    return a[["financial_year", "area_type", "area_code", "area_name", "sicb_code", "icb_code", "role", "staff_group",
              "in_total", "fte", "headcount", "practices", "registered_patients", "source"]]


class GpPracticeIcb:
    """Practice -> ICB name (with the practice's IMD 2019 score), as HEEC publishes it
    (imd_icb.csv): places practices that the practice workforce files do not place themselves."""
    ID, KIND, PREFERENCE = "gp_practice_icb", "lookup", 20
    TITLE, PUBLISHER = "GP practice to ICB (by name) with practice deprivation", "HEEC from NHS Digital and OHID Fingertips"

    @staticmethod
    def recognise(path: Path) -> bool:
        return {"Practice.Code", "ICB.NAME", "IMD"} <= set(head_columns(path) or [])

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        return LoadResult(notes=[f"{path.name}: practice to ICB lookup, used where a practice file names no ICB"])

    @classmethod
    def prepare(cls, path: Path, ctx: BuildContext) -> None:
        # A practice file's own ICB names come first (they replace these, whichever is read first).
        df = read_csv(path)
        for p, name in zip(df["Practice.Code"].str.strip().str.upper(), df["ICB.NAME"]):
            code = geography.icb_code_from_name(name)
            if code and p not in ctx.practice_icb:
                ctx.practice_icb[p], ctx.practice_source[p] = code, f"{LOOKUP_MARK}{path.name}"


SOURCES = [GpWorkforceIndicators, GpPracticeWorkforce, GpPracticeIcb]
