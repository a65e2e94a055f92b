"""NHS England, NHS Workforce Statistics: the "England and Organisation" workbook (monthly HCHS staff).

The workbook (e.g. "NHS Workforce Statistics, March 2025 England and Organisation.xlsx") holds

* tables 4 and 5, "All Staff, NHSE & Org - HC / FTE": every month end since September 2009, total
  HCHS staff of each organisation under its NHS England region and ICS (organisations sit in the
  ICS they belonged to at the latest month; the ICS code is on the ICS subtotal row above them);
* tables 2 and 3, "NHSE, Org & SG - HC / FTE": the latest month by organisation and main staff
  group, with subtotal columns ("Professionally qualified clinical staff", "HCHS Doctors" over the
  doctor grades, "Support to clinical staff", "NHS infrastructure support").

Tables 4 and 5 go into ``nhs_staff_monthly`` (one row per organisation and month, ``org_type``
``trust`` for NHS trusts and other core organisations, ``icb`` for staff the ICBs employ, ``ccg``
for the clinical commissioning groups they replaced in July 2022), never into ``workforce``, which
would count the month twice. Tables 2 and 3, trusts only and without the subtotal columns, go into
``workforce`` (sector ``nhs_trust``) for the latest month. HCHS staff include resident doctors;
the turnover benchmarking files (``nhs_turnover``) exclude them, so the two do not compare.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd

from iwt_helpers import vocab
from iwt_helpers.data import geography

from . import BuildContext, LoadResult
from ._read import ENGINE, SourceError, sheet_names, to_number

OGL = "Open Government Licence v3.0"
PUBLISHER = "NHS England, NHS Workforce Statistics"
CAVEAT = ("HCHS staff in NHS trusts and other core organisations, resident doctors included (the turnover "
          "benchmarking files exclude them)")
ID_COLUMNS = ["NHS England region code", "NHS England region name", "ICS code", "ICS name", "Organisation name",
              "Organisation code"]
# Sheet names end with these (the table number in front may change between publications).
SERIES = {"headcount": "All Staff, NHSE & Org - HC", "fte": "All Staff, NHSE & Org - FTE"}
BY_GROUP = {"headcount": "NHSE, Org & SG - HC", "fte": "NHSE, Org & SG - FTE"}
# Columns of tables 2 and 3 that add up others, and the doctor grades that "HCHS Doctors" adds up.
SUBTOTALS = {"total", "professionally qualified clinical staff", "support to clinical staff", "nhs infrastructure support"}
DOCTOR_GRADES = {"consultant", "associate specialist", "specialty doctor", "staff grade", "specialty registrar",
                 "core training", "foundation doctor year 2", "foundation doctor year 1",
                 "hospital practitioner / clinical assistant", "other hchs doctor grades"}
ORG_TYPES = ("trust", "icb", "ccg")
SCAN_ROWS = 15


def _letter(i: int) -> str:
    """Spreadsheet column letter of 0-based column ``i``."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _sheet(path: Path, suffix: str) -> str:
    names = [n for n in sheet_names(path) if n.strip().endswith(suffix)]
    if not names:
        raise SourceError(f"{path}: no sheet named like '... {suffix}'; sheets: {', '.join(sheet_names(path))}")
    return names[0]


def _text(v) -> str:
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT else str(v).strip()


def _header_row(raw: pd.DataFrame, path: Path, sheet: str) -> int:
    want = [c.lower() for c in ID_COLUMNS]
    for i in range(min(SCAN_ROWS, len(raw))):
        if [_text(v).lower() for v in raw.iloc[i, :len(want)]] == want:
            return i
    raise SourceError(f"{path} [{sheet}]: no header row starting {', '.join(ID_COLUMNS)} in the first {SCAN_ROWS} rows")


def _month(v, path: Path, sheet: str, col: int) -> pd.Timestamp:
    """A month column's header (a month-end date) as the first day of its month."""
    if isinstance(v, (dt.datetime, dt.date, pd.Timestamp)) and not pd.isna(v):
        return pd.Timestamp(v).to_period("M").to_timestamp()
    text = _text(v)
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d/%m/%Y", "%B %Y", "%b-%y", "%b %Y"):
        try:
            return pd.Timestamp(dt.datetime.strptime(text, fmt)).to_period("M").to_timestamp()
        except ValueError:
            continue
    raise SourceError(f"{path} [{sheet}]: column {_letter(col)} ({text!r}): expected a month-end date as the "
                      "header of a month column")


def org_type(code: str, name: str, icbs: set[str] | None = None) -> str:
    """``icb`` for staff an ICB employs (the organisation code is an ICB's, or the name says ICB),
    ``ccg`` for a clinical commissioning group, ``trust`` for NHS trusts and other core organisations."""
    n = name.strip().lower()
    if code in (icbs if icbs is not None else set(geography.icb_codes())) or n.endswith(" icb") or n.endswith("integrated care board"):
        return "icb"
    if n.endswith(" ccg") or n.endswith("clinical commissioning group"):
        return "ccg"
    return "trust"


def _organisations(raw: pd.DataFrame, header: int, path: Path, sheet: str) -> pd.DataFrame:
    """The organisation rows below the header, each with the ICS code it sits under and its Excel
    row number; ICS subtotal rows are returned too (``is_ics``) for checking the sums."""
    rows, ics = [], None
    ids = raw.iloc[header + 1:, :6].map(_text)
    valid = set(geography.icb_codes())
    for i, (_region, _region_name, ics_code, ics_name, org_name, org_code) in zip(ids.index, ids.itertuples(index=False)):
        if ics_code and not org_code:                    # an ICS subtotal row
            ics = ics_code.upper()
            rows.append((i, ics, "", ics_name, True))
            continue
        if not org_code:
            continue                                      # England, region, blank and note rows
        code = (ics_code or ics or "").upper()
        if code not in valid:
            raise SourceError(f"{path} [{sheet}]: row {i + 1}: organisation {org_code} ({org_name}) sits under ICS code "
                              f"{code or '(none)'!r}, not one of the 42 ICBs")
        rows.append((i, code, org_code.upper(), org_name, False))
    if not any(not r[4] for r in rows):
        raise SourceError(f"{path} [{sheet}]: no organisation rows below the header row")
    return pd.DataFrame(rows, columns=["row", "icb_code", "org_code", "org_name", "is_ics"]).set_index("row")


def _org_types(orgs: pd.DataFrame) -> pd.Series:
    icbs = set(geography.icb_codes())
    pairs = orgs[["org_code", "org_name"]].drop_duplicates()
    kinds = {(c, n): org_type(c, n, icbs) for c, n in zip(pairs["org_code"], pairs["org_name"])}
    return pd.Series([kinds[(c, n)] for c, n in zip(orgs["org_code"], orgs["org_name"])], index=orgs.index)


def _numbers(block: pd.DataFrame, path: Path, sheet: str, labels: list[str]) -> pd.DataFrame:
    """The numbers of a block of cells; text in a cell (a suppression marker or anything else) is
    read by :func:`to_number`, which names the column and row of what it cannot read."""
    num = block.apply(pd.to_numeric, errors="coerce").astype(float)
    text = block.notna() & num.isna()
    if not text.to_numpy().any():
        num.columns = labels
        return num
    out = {}
    for col, label in zip(block.columns, labels):
        vals, _ = to_number(block[col].reset_index(drop=True), f"{path} [{sheet}]", label)
        out[label] = vals.to_numpy()
    return pd.DataFrame(out, index=block.index)


def read_series(path: Path, measure: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Table 4 or 5 (``measure`` "headcount" or "fte") long: (organisation rows, ICS subtotal rows,
    England row), each month a first-of-month ``period``."""
    sheet = _sheet(path, SERIES[measure])
    raw = pd.read_excel(path, sheet_name=sheet, header=None, engine=ENGINE)
    h = _header_row(raw, path, sheet)
    heads = raw.iloc[h, 6:]
    last = max((j for j, v in heads.items() if _text(v)), default=None)
    if last is None:
        raise SourceError(f"{path} [{sheet}]: no month columns after 'Organisation code'")
    cols = list(range(6, last + 1))
    months = [_month(raw.iat[h, j], path, sheet, j) for j in cols]
    if len(set(months)) != len(months):
        raise SourceError(f"{path} [{sheet}]: the same month appears in two columns")
    orgs = _organisations(raw, h, path, sheet)
    labels = [f"{_letter(j)} ({m:%b %Y})" for j, m in zip(cols, months)]
    values = _numbers(raw.loc[orgs.index, cols], path, sheet, labels)
    values.columns = months
    england_rows = raw.index[(raw.index > h) & (raw.iloc[:, 1].map(_text).str.lower() == "england")]
    england = (pd.Series(pd.to_numeric(raw.loc[england_rows[0], cols], errors="coerce").to_numpy(), index=months)
               if len(england_rows) else pd.Series(np.nan, index=months))
    wide = orgs.join(values)
    long = wide.melt(id_vars=["icb_code", "org_code", "org_name", "is_ics"], var_name="period", value_name=measure)
    long["period"] = pd.to_datetime(long["period"])
    return long[~long["is_ics"]].drop(columns="is_ics"), long[long["is_ics"]].drop(columns=["is_ics", "org_code"]), england


def _check_sums(orgs: pd.DataFrame, ics: pd.DataFrame, path: Path) -> None:
    """Organisations' FTE must add up to their ICS subtotal row in every month."""
    got = orgs.groupby(["icb_code", "period"])["fte"].sum()
    want = ics.groupby(["icb_code", "period"])["fte"].sum()
    diff = got.sub(want, fill_value=0)
    off = diff[diff.abs() > np.maximum(1.0, 1e-5 * want.reindex(diff.index).abs().fillna(0))]
    if len(off):
        (icb, period), d = next(iter(off.items()))
        raise SourceError(f"{path}: the organisations of ICS {icb} add up to {d:+,.1f} FTE more than its subtotal row "
                          f"in {period:%B %Y}")


def staff_group_map() -> dict[str, str]:
    """Published HCHS staff group (lower case) -> harmonised staff group (data/reference/vocabulary.yaml)."""
    return {g.lower(): row["code"] for row in vocab.load_yaml("vocabulary.yaml")["staff_groups"]
            for g in row.get("nhs_hchs_groups", [])}


def read_by_group(path: Path, measure: str) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Table 2 or 3 long: one row per organisation and harmonised staff group (subtotal columns and
    the doctor grades left out, "HCHS Doctors" kept), and the month it describes."""
    sheet = _sheet(path, BY_GROUP[measure])
    raw = pd.read_excel(path, sheet_name=sheet, header=None, engine=ENGINE)
    h = _header_row(raw, path, sheet)
    title = " ".join(_text(v) for v in raw.iloc[:h, 0])
    m = re.search(r"([A-Z][a-z]+ \d{4}) monthly data", title)
    if not m:
        raise SourceError(f"{path} [{sheet}]: no '<Month YYYY> monthly data' line above the header row")
    month = pd.Timestamp(dt.datetime.strptime(m.group(1), "%B %Y"))
    groups = staff_group_map()
    keep, total = {}, None
    for j in range(6, raw.shape[1]):
        name = _text(raw.iat[h, j])
        low = name.lower()
        if not name:
            continue
        if low == "total":
            total = j
        if low in SUBTOTALS or low in DOCTOR_GRADES:
            continue
        if low not in groups:
            raise SourceError(f"{path} [{sheet}]: column {_letter(j)}: staff group {name!r} is neither a known subtotal "
                              "nor in the mapping of data/reference/vocabulary.yaml (nhs_hchs_groups)")
        keep[j] = name
    if total is None:
        raise SourceError(f"{path} [{sheet}]: no 'Total' column")
    orgs = _organisations(raw, h, path, sheet)
    orgs = orgs[~orgs["is_ics"]]
    vals = _numbers(raw.loc[orgs.index, list(keep) + [total]], path, sheet, list(keep.values()) + ["Total"])
    if measure == "fte":        # FTE adds up exactly; headcount by group may count a person twice
        off = (vals[list(keep.values())].sum(axis=1) - vals["Total"]).abs() > 0.01
        if off.any():
            r = off.index[off][0]
            raise SourceError(f"{path} [{sheet}]: row {r + 1}: the staff groups of {orgs.at[r, 'org_code']} do not add "
                              "up to its Total (a subtotal column may be counted)")
    long = orgs.drop(columns="is_ics").join(vals.drop(columns="Total")).melt(
        id_vars=["icb_code", "org_code", "org_name"], var_name="group_src", value_name=measure)
    long["staff_group"] = long["group_src"].str.lower().map(groups)
    return long, month


def trust_totals_by_icb(monthly: pd.DataFrame) -> pd.DataFrame:
    """NHS trust staff in post (headcount, FTE) per ICB and month from ``nhs_staff_monthly``
    (ICB-employed staff and CCGs left out); an ICB-level table passes through."""
    if "org_type" not in monthly:
        return monthly[["period", "icb_code", "headcount", "fte"]].copy()
    t = monthly[monthly["org_type"] == "trust"]
    return t.groupby(["period", "icb_code"], as_index=False)[["headcount", "fte"]].sum(min_count=1)


class HchsMonthly:
    """NHS Workforce Statistics "England and Organisation" workbook (XLSX): monthly HCHS staff by
    organisation (tables 4 and 5) and the latest month by staff group (tables 2 and 3)."""
    ID, KIND, PREFERENCE = "nhs_workforce_monthly", "data", 10
    TITLE = "NHS Workforce Statistics: HCHS staff by organisation, monthly, and by staff group (England and Organisation)"
    PUBLISHER = PUBLISHER

    @staticmethod
    def recognise(path: Path) -> bool:
        names = [n.strip() for n in sheet_names(path)]
        return all(any(n.endswith(s) for n in names) for s in (*SERIES.values(), *BY_GROUP.values()))

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        hc, hc_ics, _ = read_series(path, "headcount")
        fte, fte_ics, england = read_series(path, "fte")
        _check_sums(fte, fte_ics, path)
        keys = ["icb_code", "org_code", "org_name", "period"]
        both = fte.merge(hc, on=keys, how="outer")
        last = both["period"].max()
        source = (f"{PUBLISHER}, {last:%B %Y}: HCHS staff by organisation, monthly ({path.name}); {OGL}; {CAVEAT}; "
                  "ICB-employed staff kept apart from trusts")
        both["org_type"] = _org_types(both)
        # Months before an organisation opened or after it closed are published as zero: left out.
        staffed = (both["fte"].fillna(0) > 0) | (both["headcount"].fillna(0) > 0)
        table = both[staffed].assign(source=source)[
            ["period", "org_code", "org_name", "icb_code", "org_type", "headcount", "fte", "source"]]
        table = table.sort_values(["period", "icb_code", "org_code"]).reset_index(drop=True)

        # The latest month by staff group: NHS trusts only, into workforce.
        g_fte, month = read_by_group(path, "fte")
        g_hc, _ = read_by_group(path, "headcount")
        g = g_fte.merge(g_hc[["org_code", "group_src", "headcount"]], on=["org_code", "group_src"], how="outer")
        g["org_type"] = _org_types(g)
        trusts = g[g["org_type"] == "trust"]
        agg = trusts.groupby(["icb_code", "staff_group"], as_index=False)[["headcount", "fte"]].sum(min_count=1)
        registered = dict(zip(vocab.staff_groups()["code"], vocab.staff_groups()["registered"]))
        wf = pd.DataFrame({"period": month, "icb_code": agg["icb_code"], "sector": "nhs_trust",
                           "staff_group": agg["staff_group"], "registered": agg["staff_group"].map(registered),
                           "headcount": agg["headcount"], "fte": agg["fte"].round(3),
                           "source": f"{PUBLISHER}, {month:%B %Y}: HCHS staff by organisation and main staff group "
                                     f"({path.name}); {OGL}; NHS trusts and other core organisations, ICB-employed "
                                     f"staff left out; resident doctors included (the turnover benchmarking files "
                                     "exclude them)"})
        series_trusts = table.loc[(table["period"] == month) & (table["org_type"] == "trust"), "fte"].sum()
        if abs(wf["fte"].sum() - series_trusts) > 1:
            raise SourceError(f"{path}: trusts' FTE by staff group in {month:%B %Y} ({wf['fte'].sum():,.1f}) differs from "
                              f"the monthly series ({series_trusts:,.1f})")

        at_last = table[table["period"] == last]
        by_type = at_last.groupby("org_type")["fte"].sum().reindex(list(ORG_TYPES), fill_value=0.0)
        res = LoadResult(tables={"nhs_staff_monthly": table, "workforce": wf},
                         period=f"{table['period'].min():%B %Y} to {last:%B %Y} (monthly); {month:%B %Y} by staff group")
        res.tables["source_totals"] = pd.DataFrame({
            "source": cls.ID, "file": path.name, "period": [last] * 4,
            "measure": ["fte_england_published", "fte_trusts", "fte_icb_employed", "fte_ccg"],
            "file_total": [float(england.get(last, np.nan)), by_type["trust"], by_type["icb"], by_type["ccg"]]})
        res.notes.append(
            f"{path.name}: {table['org_code'].nunique()} organisations in {table['icb_code'].nunique()} ICBs, "
            f"{table['period'].nunique()} months to {last:%B %Y}; {last:%B %Y}: {by_type.sum():,.1f} FTE (England row "
            f"{england.get(last, np.nan):,.1f}) = {by_type['trust']:,.1f} in NHS trusts and other core organisations + "
            f"{by_type['icb']:,.1f} employed by ICBs (kept apart, org_type 'icb'); CCGs (until mid-2022) kept apart as "
            f"org_type 'ccg'; {int((~staffed).sum())} organisation-months published as zero left out; {CAVEAT}. "
            f"Staff by group ({month:%B %Y}, trusts only, subtotal columns left out) added to workforce")
        return res


SOURCES = [HchsMonthly]
