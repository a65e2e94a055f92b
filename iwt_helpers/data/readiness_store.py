"""Readiness self-assessments: the item bank, and the responses files partners' answers are saved to.

One CSV per ICB, ``<data>/readiness/<ICB>.csv`` (``data/readiness/`` without a data folder), one
row per partner x item x round (:data:`COLUMNS`; a blank score means not assessed). A round is a
partner's answers on one assessment date (partners need not share dates; an assessment date after
today is refused, or it would stay the latest round for good). Saving appends a round: the bytes already in the file
are written back unchanged and the new rows added after them, through a temporary file renamed
into place (:mod:`iwt_helpers.atomic`), under a lock so that two people saving at once cannot lose
each other's rows. Saving again for the same partner and date appends again; the later save (lower in
the file; ``saved_at`` records when) wins, and the earlier rows stay in the file.

Everything read or imported is checked first, and refused with a :class:`ResponsesError` naming
the file, the line (or sheet and cell) and the field; a refused save or import leaves the
responses file byte for byte as it was.

Also here: the Excel template a partner fills in offline (:func:`write_template`) and its import
(:func:`import_workbook`), the functions behind ``iwt readiness template`` and
``iwt readiness import``.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from iwt_helpers import atomic, config, paths
from iwt_helpers.errors import ConfigError, IwtError

from . import geography

ITEMS_FILE = "readiness_items.yaml"
# The periods the ICB view of the readiness report can group assessments by (``period:`` in the item
# bank; default a quarter): name -> pandas period frequency. A financial year runs April to March.
PERIODS = {"month": "M", "quarter": "Q", "year": "Y", "financial year": "Y-MAR"}
COLUMNS = ["icb_code", "assessment_date", "partner", "item_id", "score", "evidence", "owner", "due_date", "saved_at"]
REQUIRED = ["icb_code", "assessment_date", "partner", "item_id", "score"]
SOURCE = "Partners' readiness self-assessment (saved with iwt)"
MAX_TEXT = 2000                 # characters in an evidence, owner or partner field
FORMULA_START = ("=", "+", "-", "@")


class ResponsesError(IwtError, ValueError):
    """Responses that cannot be saved or read; the message names the file, line or cell, and field."""


# --------------------------------------------------------------------------- the item bank


@dataclass(frozen=True)
class ItemBank:
    items: pd.DataFrame          # id, domain, domain_label, section, text, weight, level_0..level_4, helps, order
    scale: dict[int, str]        # level -> name
    domains: pd.DataFrame        # id, label, section
    target: int
    red_below: float
    green_from: float
    disagreement_levels: int
    period: str = "quarter"      # what the ICB view groups assessments by: a key of PERIODS

    @property
    def freq(self) -> str:
        """The pandas period frequency of :attr:`period`."""
        if self.period not in PERIODS:
            raise ConfigError(f"{paths.reference(ITEMS_FILE)}: period {self.period!r} is not one of {', '.join(PERIODS)}")
        return PERIODS[self.period]

    @property
    def ids(self) -> list[str]:
        return self.items["id"].tolist()

    @property
    def domain_of(self) -> dict[str, str]:
        """Item id -> its domain."""
        return dict(zip(self.items["id"], self.items["domain"], strict=True))

    @property
    def levels(self) -> list[int]:
        return sorted(self.scale)

    def scale_text(self) -> str:
        return ", ".join(f"{k} {v.lower()}" for k, v in sorted(self.scale.items()))


@functools.cache
def item_bank() -> ItemBank:
    """The items of ``data/reference/readiness_items.yaml``, validated by its config model: every item
    has a known domain, a section, text, a positive weight, one descriptor per level and what helps."""
    cfg = config.readiness_items()
    scale = dict(cfg.scale)
    labels = {d.id: d.label for d in cfg.domains}
    rows = [{"id": it.id, "domain": it.domain, "domain_label": labels[it.domain], "section": it.section,
             "text": it.text, "weight": float(it.weight), **{f"level_{lv}": it.levels[lv] for lv in scale},
             "helps": it.helps, "order": k} for k, it in enumerate(cfg.items)]
    domains = pd.DataFrame([d.model_dump() for d in cfg.domains])
    return ItemBank(pd.DataFrame(rows), scale, domains, cfg.target_level, float(cfg.rag.red_below),
                    float(cfg.rag.green_from), cfg.disagreement_levels, cfg.period)


# --------------------------------------------------------------------------- where responses live


def readiness_dir(data_dir: str | Path | None = None) -> Path:
    """``DIR/readiness`` for a data folder, else ``data/readiness``."""
    return Path(data_dir) / "readiness" if data_dir else paths.READINESS


def responses_path(icb: str, data_dir: str | Path | None = None) -> Path:
    """The responses file of an ICB (the code is checked against the 42, so it cannot steer a path)."""
    return readiness_dir(data_dir) / f"{geography.resolve_icb(icb)}.csv"


# --------------------------------------------------------------------------- checking one row


def _text(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]00:00:00)?$")


def parse_date(value) -> date | None:
    """A date from a date, a datetime, ISO text (YYYY-MM-DD) or UK text (DD/MM/YYYY); None if blank."""
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        return None
    try:
        if m := _DMY.match(text):
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if _ISO.match(text):
            return date.fromisoformat(text[:10])
    except ValueError:
        pass
    raise ValueError(f"{text[:40]!r} is not a date (expected YYYY-MM-DD or DD/MM/YYYY)")


def parse_score(value, bank: ItemBank) -> int | None:
    """A level of the scale (a whole number, or text such as '3' or '3 Established'); None if blank."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a score ({bank.scale_text()}, or blank for not assessed)")
    text = _text(value)
    if not text:
        return None
    m = re.match(r"^(-?\d+)(?:\.0+)?(?:\s*[-:]?\s*([A-Za-z ]+))?$", text)
    if not m or int(m.group(1)) not in bank.scale:
        raise ValueError(f"{text[:40]!r} is not a score on the scale ({bank.scale_text()}, or blank for not assessed)")
    return int(m.group(1))


def check_row(values: Mapping, where: Callable[[str], str], icb: str | None = None,
              bank: ItemBank | None = None) -> dict:
    """One response, checked and normalised (dates as ISO text, score as int or None). ``where(field)``
    says where the value came from (file and line, or sheet and cell) for the error message."""
    bank = bank or item_bank()

    def fail(field: str, problem: str):
        raise ResponsesError(f"{where(field)}: {problem}")

    out = {}
    try:
        code = geography.resolve_icb(_text(values.get("icb_code")))
    except geography.UnknownICBError as err:
        fail("icb_code", str(err))
    if icb is not None and code != icb:
        fail("icb_code", f"{code} in the responses file of {icb} (each ICB has its own file)")
    out["icb_code"] = code
    for field in ("assessment_date", "due_date"):
        try:
            d = parse_date(values.get(field))
        except ValueError as err:
            fail(field, str(err))
        if d is None and field == "assessment_date":
            fail(field, "blank (every response needs the date of its assessment)")
        out[field] = d.isoformat() if d else ""
    partner = _text(values.get("partner"))
    if not partner:
        fail("partner", "blank (name the partner organisation)")
    for field, text in (("partner", partner), ("evidence", _text(values.get("evidence"))), ("owner", _text(values.get("owner")))):
        if len(text) > MAX_TEXT:
            fail(field, f"{len(text)} characters; at most {MAX_TEXT}")
        out[field] = text
    item = _text(values.get("item_id")).upper()
    if item not in set(bank.ids):
        fail("item_id", f"{item[:40]!r} is not an item of {ITEMS_FILE} (known: {', '.join(bank.ids)})")
    out["item_id"] = item
    try:
        out["score"] = parse_score(values.get("score"), bank)
    except ValueError as err:
        fail("score", str(err))
    saved = _text(values.get("saved_at"))
    if saved:
        try:
            datetime.fromisoformat(saved)
        except ValueError:
            fail("saved_at", f"{saved[:40]!r} is not a date and time (ISO 8601)")
    out["saved_at"] = saved
    return {c: out[c] for c in COLUMNS}


# --------------------------------------------------------------------------- reading a responses file


def _read_rows(path: Path, text: str, icb: str | None, bank: ItemBank) -> list[dict]:
    """Check every line of a responses file's text; raise naming file, line and field."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as err:
        raise ResponsesError(f"{path}, line 1: not a readable CSV header ({err})") from None
    if not header:
        raise ResponsesError(f"{path}, line 1: empty file (expected a header row with {', '.join(COLUMNS)})")
    header = [h.strip().lstrip("\ufeff") for h in header]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ResponsesError(f"{path}, line 1, field {', '.join(missing)}: missing required column(s); "
                             f"expected columns {', '.join(COLUMNS)}")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise ResponsesError(f"{path}, line 1, field {', '.join(unknown)}: unknown column(s); expected {', '.join(COLUMNS)}")
    rows, start = [], reader.line_num + 1
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            raise ResponsesError(f"{path}, line {start}: malformed CSV ({err})") from None
        line = start
        start = reader.line_num + 1
        if not rec or rec == [""]:
            continue
        if len(rec) != len(header):
            raise ResponsesError(f"{path}, line {line}: {len(rec)} fields where the header has {len(header)} "
                                 "(a stray comma or quote?)")
        rows.append(check_row(dict(zip(header, rec)), lambda f, n=line: f"{path}, line {n}, field {f}", icb, bank))
    return rows


def _frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["assessment_date"] = pd.to_datetime(df["assessment_date"])
    df["due_date"] = pd.to_datetime(df["due_date"].replace("", None))
    df["score"] = pd.to_numeric(df["score"], errors="coerce").astype("Float64")
    df["saved_at"] = df["saved_at"].replace("", None)
    return df


def read_file(path: str | Path, icb: str | None = None) -> pd.DataFrame:
    """Every row of a responses file, checked (see :func:`check_row`)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ResponsesError(f"{path}: not UTF-8 text (byte {err.start}); save it as CSV UTF-8") from None
    df = _frame(_read_rows(path, text, icb, item_bank()))
    df["source"] = SOURCE
    return df


def read_responses(icb: str, data_dir: str | Path | None = None) -> pd.DataFrame | None:
    """An ICB's saved responses (every round), or None when nothing has been saved for it."""
    code = geography.resolve_icb(icb)
    path = responses_path(code, data_dir)
    if not path.exists():
        return None
    return read_file(path, code)


def latest_answers(icb: str, partner: str, data_dir: str | Path | None = None) -> pd.DataFrame:
    """A partner's latest saved answer to each item (empty when it has saved nothing)."""
    df = read_responses(icb, data_dir)
    if df is None:
        return pd.DataFrame(columns=COLUMNS)
    df = df[df["partner"].str.casefold() == partner.strip().casefold()]
    if df.empty:
        return df
    df = df[df["assessment_date"] == df["assessment_date"].max()]
    return df.drop_duplicates("item_id", keep="last").reset_index(drop=True)     # rows are appended in time order


def partners(icb: str, data_dir: str | Path | None = None) -> list[str]:
    df = read_responses(icb, data_dir)
    return [] if df is None else sorted(df["partner"].unique(), key=str.casefold)


# --------------------------------------------------------------------------- saving a round


def latest_allowed_date() -> date:
    """The latest assessment date a save accepts: today (the later of the local and the UTC date,
    so that nobody a few hours ahead of UTC is refused their own today)."""
    return max(date.today(), datetime.now(UTC).date())


def check_not_future(when: date, where: str) -> None:
    """Refuse an assessment dated after today: it would stay the partner's latest round for good."""
    today = latest_allowed_date()
    if when > today:
        raise ResponsesError(f"{where}, field assessment_date: {when.isoformat()} is after today ({today.isoformat()}); "
                             "an assessment is dated the day it was made (nothing saved)")


def _csv_bytes(rows: list[dict], header: bool) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(COLUMNS)
    for r in rows:
        w.writerow(["" if r[c] is None else r[c] for c in COLUMNS])
    return buf.getvalue().encode("utf-8")


def save_round(icb: str, partner: str, assessment_date, answers: Iterable[Mapping] | pd.DataFrame,
               data_dir: str | Path | None = None, origin: str = "answers", saved_at: datetime | None = None) -> Path:
    """Append a partner's round: one row per item of the bank (items not answered get a blank
    score). ``answers`` are mappings (or a DataFrame) with ``item_id`` and optionally ``score``,
    ``evidence``, ``owner``, ``due_date``. Everything is checked, and the file's current contents
    too, before anything is written; the existing bytes are kept as they are."""
    bank = item_bank()
    code = geography.resolve_icb(icb)
    records = answers.to_dict("records") if isinstance(answers, pd.DataFrame) else [dict(a) for a in answers]
    stamp = (saved_at or datetime.now(UTC)).isoformat(timespec="seconds")
    given: dict[str, dict] = {}
    for k, a in enumerate(records):
        where = a.pop("_where", None) or (lambda f, k=k: f"{origin}, answer {k + 1}, field {f}")
        row = check_row({**a, "icb_code": code, "partner": partner, "assessment_date": assessment_date,
                         "saved_at": stamp}, where, code, bank)
        if row["item_id"] in given:
            raise ResponsesError(f"{where('item_id')}: {row['item_id']} answered twice in one round")
        given[row["item_id"]] = row
    if not any(r["score"] is not None for r in given.values()):
        raise ResponsesError(f"{origin}: no item has a score ({bank.scale_text()}); nothing saved")
    blank = check_row({"icb_code": code, "partner": partner, "assessment_date": assessment_date, "item_id": bank.ids[0],
                       "saved_at": stamp}, lambda f: f"{origin}, field {f}", code, bank)
    check_not_future(date.fromisoformat(blank["assessment_date"]), origin)
    rows = [given.get(i) or {**blank, "item_id": i} for i in bank.ids]
    path = responses_path(code, data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(f".{path.name}.lock")
    with atomic.exclusive_lock(lock, busy=f"{path}: another save is in progress (pid {{pid}}); try again"):
        old = path.read_bytes() if path.exists() else b""
        if old:
            try:
                text = old.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ResponsesError(f"{path}: not UTF-8 text (byte {err.start}); nothing saved") from None
            _read_rows(path, text, code, bank)          # refuse to append to a file that is already broken
            if not old.endswith(b"\n"):
                old += b"\n"
        atomic.write_bytes(path, old + _csv_bytes(rows, header=not old))
    return path


# --------------------------------------------------------------------------- Excel template and import

SHEET = "Assessment"
META = {"ICB": "icb_code", "Partner": "partner", "Assessment date": "assessment_date"}
HEAD = ["Item id", "Domain", "Guide section", "Item"]
ANSWER_COLUMNS = {"Score": "score", "Evidence": "evidence", "Owner": "owner", "Due date": "due_date"}


def _text_cell(cell, value):
    """Put a value in a cell; text stays text (a value starting with =, +, - or @ is never a formula)."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def write_template(icb: str, partner: str, data_dir: str | Path | None = None, out: str | Path = "readiness.xlsx",
                   assessment_date: date | None = None) -> Path:
    """An Excel workbook for one partner to fill in: each item with its five level descriptors, a
    ``Score`` drop-down of the scale, and ``Evidence``, ``Owner`` and ``Due date`` (filled with the
    partner's latest saved answers, if any). Written atomically."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    bank = item_bank()
    code = geography.resolve_icb(icb)
    partner = _text(partner)
    if not partner:
        raise ResponsesError("--partner: blank (name the partner organisation)")
    latest = latest_answers(code, partner, data_dir).set_index("item_id") if partner else pd.DataFrame()
    level_heads = [f"{lv} {name}" for lv, name in sorted(bank.scale.items())]
    headers = HEAD + level_heads + list(ANSWER_COLUMNS) + ["What helps"]

    def write(tmp: Path) -> None:
        wb = Workbook()
        ws = wb.active
        ws.title = SHEET
        bold = Font(bold=True)
        _text_cell(ws["A1"], "iwt readiness self-assessment").font = Font(bold=True, size=14)
        meta = {"ICB": code, "Partner": partner, "Assessment date": assessment_date or date.today()}
        for r, (label, value) in enumerate(meta.items(), start=2):
            _text_cell(ws.cell(r, 1), label).font = bold
            c = _text_cell(ws.cell(r, 2), value)
            if isinstance(value, date):
                c.number_format = "yyyy-mm-dd"
        _text_cell(ws.cell(2, 3), geography.icb_name(code, short=False))
        _text_cell(ws.cell(5, 1), f"Score each item {bank.scale_text()}; leave Score blank for not assessed. "
                                  "Say what the score rests on under Evidence, and for a gap the Owner (a role) "
                                  "and the Due date of the next step. Then run: iwt readiness import FILE.xlsx")
        hr = 7
        fill = PatternFill("solid", fgColor="E8EDEE")
        for j, h in enumerate(headers, start=1):
            c = _text_cell(ws.cell(hr, j), h)
            c.font, c.fill, c.alignment = bold, fill, Alignment(wrap_text=True, vertical="top")
        for i, it in enumerate(bank.items.itertuples(index=False), start=hr + 1):
            prev = latest.loc[it.id] if it.id in latest.index else None
            vals = [it.id, it.domain_label, it.section, it.text, *[getattr(it, f"level_{lv}") for lv in bank.levels]]
            if prev is not None:
                vals += [None if pd.isna(prev["score"]) else int(prev["score"]), prev["evidence"] or None,
                         prev["owner"] or None, None if pd.isna(prev["due_date"]) else prev["due_date"].date()]
            else:
                vals += [None, None, None, None]
            vals.append(it.helps)
            for j, v in enumerate(vals, start=1):
                c = _text_cell(ws.cell(i, j), v)
                c.alignment = Alignment(wrap_text=True, vertical="top")
                if isinstance(v, date):
                    c.number_format = "yyyy-mm-dd"
        last = hr + len(bank.items)
        score_col = get_column_letter(headers.index("Score") + 1)
        dv = DataValidation(type="list", formula1='"' + ",".join(str(lv) for lv in bank.levels) + '"', allow_blank=True,
                            showErrorMessage=True, errorTitle="Score",
                            error=f"Choose a level: {bank.scale_text()} (or leave blank)")
        dv.add(f"{score_col}{hr + 1}:{score_col}{last}")
        ws.add_data_validation(dv)
        due_col = get_column_letter(headers.index("Due date") + 1)
        for r in range(hr + 1, last + 1):
            ws[f"{due_col}{r}"].number_format = "yyyy-mm-dd"
        widths = {"Item id": 8, "Domain": 14, "Guide section": 24, "Item": 48, "Score": 8, "Evidence": 40,
                  "Owner": 20, "Due date": 12, "What helps": 40}
        for j, h in enumerate(headers, start=1):
            ws.column_dimensions[get_column_letter(j)].width = widths.get(h, 26)
        ws.freeze_panes = f"E{hr + 1}"
        sc = wb.create_sheet("Scale")
        _text_cell(sc.cell(1, 1), "Score").font = bold
        _text_cell(sc.cell(1, 2), "Level").font = bold
        for r, (lv, name) in enumerate(sorted(bank.scale.items()), start=2):
            sc.cell(r, 1, lv)
            _text_cell(sc.cell(r, 2), name)
        wb.save(tmp)

    return atomic.write_with(out, write, suffix=".xlsx")


def import_workbook(path: str | Path, data_dir: str | Path | None = None) -> dict:
    """Check a filled-in template and append it as a round for its ICB and partner. Returns what
    was saved: icb_code, partner, assessment_date, items, scored, file."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    path = Path(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except Exception as err:   # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        raise ResponsesError(f"{path}: not a readable .xlsx workbook ({type(err).__name__}: {err})") from None
    try:
        if SHEET not in wb.sheetnames:
            raise ResponsesError(f"{path}: no sheet {SHEET!r} (found {', '.join(wb.sheetnames)}); start from "
                                 "`iwt readiness template`")
        grid = [list(r) for r in wb[SHEET].iter_rows(values_only=True)]
    finally:
        wb.close()

    def cell(r: int, c: int) -> str:
        return f"{path}, sheet {SHEET}, cell {get_column_letter(c + 1)}{r + 1}"

    meta, header_row = {}, None
    for r, row in enumerate(grid):
        first = _text(row[0]) if row else ""
        if first in META and len(row) > 1:
            meta[META[first]] = (row[1], r)
        if first == HEAD[0]:
            header_row = r
            break
    for label, field in META.items():
        if field not in meta:
            raise ResponsesError(f"{path}, sheet {SHEET}, column A, field {field}: no {label!r} row above the items")
    if header_row is None:
        raise ResponsesError(f"{path}, sheet {SHEET}, column A: no header row starting {HEAD[0]!r}")
    header = [_text(h) for h in grid[header_row]]
    cols = {}
    for name in [HEAD[0], *ANSWER_COLUMNS]:
        if name not in header:
            raise ResponsesError(f"{path}, sheet {SHEET}, row {header_row + 1}, field {ANSWER_COLUMNS.get(name, 'item_id')}: "
                                 f"missing required column {name!r}")
        cols[name] = header.index(name)
    icb_value, icb_row = meta["icb_code"]
    try:
        code = geography.resolve_icb(_text(icb_value))
    except geography.UnknownICBError as err:
        raise ResponsesError(f"{cell(icb_row, 1)}, field icb_code: {err}") from None
    partner, partner_row = meta["partner"]
    when, when_row = meta["assessment_date"]
    try:
        when_date = parse_date(when)
    except ValueError as err:
        raise ResponsesError(f"{cell(when_row, 1)}, field assessment_date: {err}") from None
    if when_date is None:
        raise ResponsesError(f"{cell(when_row, 1)}, field assessment_date: blank")
    check_not_future(when_date, cell(when_row, 1))
    if not _text(partner):
        raise ResponsesError(f"{cell(partner_row, 1)}, field partner: blank (name the partner organisation)")
    answers = []
    fields = {HEAD[0]: "item_id", **ANSWER_COLUMNS}
    for r in range(header_row + 1, len(grid)):
        row = grid[r] + [None] * (len(header) - len(grid[r]))
        if not _text(row[cols[HEAD[0]]]):
            continue
        spots = {fields[n]: cell(r, c) for n, c in cols.items()}
        ans = {fields[n]: row[c] for n, c in cols.items()}
        ans["_where"] = lambda f, s=spots, r=r: f"{s.get(f) or cell(r, 0)}, field {f}"
        answers.append(ans)
    saved = save_round(code, _text(partner), when_date, answers, data_dir, origin=str(path))
    return {"icb_code": code, "partner": _text(partner), "assessment_date": when_date.isoformat(),
            "items": len(answers), "scored": sum(parse_score(a["score"], item_bank()) is not None for a in answers),
            "file": str(saved)}
