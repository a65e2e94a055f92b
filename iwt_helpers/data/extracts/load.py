"""Read record-level extracts (ESR-style NHS staff lists, social-care worker files) through their
mapping file, check them, and pseudonymise them at load.

What leaves :func:`load_extracts` holds no raw identifier and no date of birth: staff and worker
identifiers (and social-care establishment identifiers) are replaced by keyed HMAC-SHA256
pseudonyms, age and date of birth are reduced to the workforce age bands, and start and leaving
dates to their month. A file with a missing mapped column, an unparseable date or number, an age
outside 16-100, a record without identifier or an identifier twice in one snapshot is refused
with the file, rows and column named (never the values, which may be personal).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from iwt_helpers import vocab
from iwt_helpers.errors import IwtError

from .. import disclosure, geography
from . import mapping as mp

AGE_MIN, AGE_MAX = 16, 100
MAX_ROWS_SHOWN = 5
RECORD_COLUMNS = ["snapshot_date", "kind", "person_id", "organisation_id", "icb_code", "sector", "staff_group",
                  "occupation_code", "band", "fte", "age_band", "ethnic_group", "sex", "start_month", "leaving_month",
                  "leaving_reason", "destination_family", "contract_type", "hours_per_week", "pay_gbp_per_hour"]
AGE_EDGES = [AGE_MIN, 25, 35, 45, 55, 65, AGE_MAX + 1]


class ExtractError(IwtError, ValueError):
    """An extract refused; the message names the file, the rows and the column."""


@dataclass
class Loaded:
    records: pd.DataFrame
    files: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unplaced: pd.DataFrame | None = None          # organisation, sector, records (true counts)
    unmapped_values: pd.DataFrame | None = None   # field, value, records (true counts)


class Stages(dict):
    """Seconds spent in each stage of a load (``read``, ``checksum``, ``check``, ``pseudonymise``,
    then in ``write.load_to_folder`` ``aggregate``, ``validate``, ``write``), added up over the
    files; pass one to :func:`load_extracts` or ``write.load_to_folder`` to have it filled
    (``benchmarks/bench_extract.py`` prints it). Each :meth:`lap` books the time since the previous
    one (or since the object was made), so the stages add up to the whole. Work done in a thread
    is booked to the stage it runs beside: most of the hashing of the first file's identifiers to
    the reading and checking of the next files, the writing of the records file to ``aggregate``."""

    def __init__(self) -> None:
        super().__init__()
        self._mark = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self[stage] = self.get(stage, 0.0) + now - self._mark
        self._mark = now


CHUNK = 100_000             # identifiers hashed at a time (bounds the Python strings held at once)


def _hash_distinct(distinct: pa.Array, key: bytes, stop: threading.Event) -> pa.ChunkedArray:
    """Pseudonyms of ``distinct`` (identifiers, each once), a chunk at a time; once ``stop`` is set
    it returns the chunks done so far."""
    many = disclosure.pseudonymiser(key)
    done = []
    for i in range(0, len(distinct), CHUNK):
        if stop.is_set():
            break
        done.append(pa.array(many(distinct.slice(i, CHUNK).to_pylist()), pa.string()))
    return pa.chunked_array(done, pa.string())


def _pseudonymise_people(ids: list[pa.Array], key: bytes,
                         ahead: pa.ChunkedArray | None = None) -> tuple[np.ndarray, pd.Series]:
    """(person numbers, pseudonyms) of the records of all files, from their identifiers (stripped
    of surrounding spaces), file after file. Each distinct identifier is hashed once over the whole
    load, so a person in two snapshots costs one HMAC, not two; its number (0, 1, ... in order of
    first appearance) says who a record is, for the duplicate check and the joins between snapshots
    (numbers follow identifiers: two identifiers stay two people even if, against odds of about one
    in ten million for 1.7 million identifiers, their 64-bit pseudonyms coincided). ``ahead``: the
    pseudonyms of the first distinct identifiers, already worked out (see :func:`_hash_distinct`)."""
    enc = pc.dictionary_encode(pa.chunked_array(ids, type=pa.string()))
    person = pa.chunked_array([c.indices for c in enc.chunks], pa.int32()).to_numpy()
    distinct = enc.chunk(enc.num_chunks - 1).dictionary if enc.num_chunks else pa.array([], pa.string())
    del enc
    ahead = ahead if ahead is not None else pa.chunked_array([], pa.string())
    rest = _hash_distinct(distinct.slice(len(ahead)), key, threading.Event())
    hashed = pa.chunked_array(ahead.chunks + rest.chunks, pa.string())
    ends = np.cumsum([0] + [len(i) for i in ids])
    pseudonyms = pa.chunked_array([chunk for a, b in zip(ends[:-1], ends[1:])           # one piece per file
                                   for chunk in hashed.take(pa.array(person[a:b])).chunks], pa.string())
    return person, pd.Series(pd.array(pseudonyms, dtype="string[pyarrow]"))


def _rows(mask: pd.Series | np.ndarray) -> str:
    idx = np.flatnonzero(np.asarray(mask))
    shown = ", ".join(str(i + 2) for i in idx[:MAX_ROWS_SHOWN])
    more = f" and {len(idx) - MAX_ROWS_SHOWN} more" if len(idx) > MAX_ROWS_SHOWN else ""
    return f"{len(idx)} row(s): row {shown}{more} (the header is row 1)"


def _problem(path: Path, header: str, fld: str, what: str, mask) -> str:
    return f"{path}: column '{header}' ({fld}): {what} in {_rows(mask)}"


def _cat(s: pd.Series) -> pd.Series:
    """s as a categorical without missing values (missing counts as blank, as in the file)."""
    if not isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype("category")
    if s.isna().any():
        if "" not in s.cat.categories:
            s = s.cat.add_categories([""])
        s = s.fillna("")
    return s


def _each(s: pd.Series, fn) -> pd.Series:
    """``fn`` (distinct values -> results, as Series) worked out once per distinct value of ``s``
    and spread back to its rows: text columns are categoricals, so parsing and cleaning cost
    the number of distinct values, not the number of records."""
    s = _cat(s)
    res = fn(pd.Series(s.cat.categories.astype(object)))
    # the spread-out array is new: wrapped as it is rather than copied once more
    return pd.Series(res.to_numpy()[s.cat.codes.to_numpy()], index=s.index, copy=False)


def _each_cat(s: pd.Series, fn) -> pd.Series:
    """As :func:`_each` for text results, kept categorical (missing results stay missing)."""
    s = _cat(s)
    codes, uniques = pd.factorize(fn(pd.Series(s.cat.categories.astype(object))), use_na_sentinel=True)
    return pd.Series(pd.Categorical.from_codes(codes[s.cat.codes.to_numpy()], uniques), index=s.index)


def _blank(s: pd.Series) -> pd.Series:
    return _each(s, lambda v: v.isna() | (v.str.strip() == "")).astype(bool)


def _clean(s: pd.Series, case: str | None = None) -> pd.Series:
    """Stripped text (upper or lower case if asked) as a categorical; blank becomes missing."""
    def fn(v: pd.Series) -> pd.Series:
        v = v.str.strip()
        v = v.str.upper() if case == "upper" else v.str.lower() if case == "lower" else v
        return v.where(v != "")
    return _each_cat(s, fn)


def _parse_dates(s: pd.Series, fmt: str | None) -> pd.Series:
    return _each(s, lambda v: pd.to_datetime(v.str.strip(), format=fmt or "%Y-%m-%d", errors="coerce"))


def _months(s: pd.Series, fmt: str | None) -> pd.Series:
    """The month (as its first day) of each date."""
    return _each(s, lambda v: pd.to_datetime(v.str.strip(), format=fmt or "%Y-%m-%d", errors="coerce")
                 .dt.to_period("M").dt.to_timestamp())


def _numbers(s: pd.Series) -> pd.Series:
    return _each(s, lambda v: pd.to_numeric(v.str.strip().replace("", None), errors="coerce").astype(float))


def _read_columns(path: Path, heads: list[str], id_head: str) -> tuple[dict[str, pd.Series], int]:
    """The mapped columns of a CSV as text exactly as written (blank stays blank): the identifier
    as an Arrow string column, every other column dictionary-encoded by the reader as it parses
    (a pandas categorical), so the file's text is never held as one string per record."""
    types = {h: pa.string() if h == id_head else pa.dictionary(pa.int32(), pa.string()) for h in heads}
    try:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            include_columns=heads, column_types=types, strings_can_be_null=False))
    except (pa.ArrowInvalid, OSError) as exc:
        what = re.sub(r"(got \d+)\b.*", r"\1", str(exc).splitlines()[0])   # never echo a row's values
        raise ExtractError(f"{path}: cannot be read as a CSV extract ({what})") from None
    n = table.num_rows
    arrays = {h: table.column(h) for h in heads}
    del table
    cols = {}
    for h in heads:
        arr = arrays.pop(h)
        cols[h] = (pd.Series(pd.array(arr.combine_chunks(), dtype="string[pyarrow]")) if h == id_head
                   else pd.Series(arr.to_pandas()))
        del arr
    return cols, n


def _snapshot_from_name(path: Path) -> pd.Timestamp | None:
    m = re.search(r"(20\d\d)-?([01]\d)-?([0-3]\d)", path.name)
    if not m:
        return None
    try:
        return pd.Timestamp(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def age_bands(age: pd.Series) -> pd.Series:
    """Workforce age bands of vocabulary.yaml from ages in years."""
    return pd.cut(age, AGE_EDGES, right=False, labels=vocab.workforce_age_bands())


def _age_at(snap: pd.Series, dob: pd.Series) -> pd.Series:
    """Age in whole years at ``snap`` of someone born on ``dob`` (missing if either date is),
    worked out once per distinct pair of dates and spread back to the records."""
    cs, us = pd.factorize(snap, use_na_sentinel=False)
    cd, ud = pd.factorize(dob, use_na_sentinel=False)
    width = max(len(ud), 1)
    pair, up = pd.factorize(cs.astype(np.int64) * width + cd)
    s, d = pd.Series(us[up // width]), pd.Series(ud[up % width])
    age = s.dt.year - d.dt.year - ((s.dt.month < d.dt.month) | ((s.dt.month == d.dt.month) & (s.dt.day < d.dt.day)))
    return pd.Series(age.to_numpy()[pair], index=snap.index, copy=False)


def _each_age_band(age: pd.Series) -> pd.Series:
    """:func:`age_bands` of ``age``, worked out once per distinct age."""
    codes, ages = pd.factorize(age, use_na_sentinel=False)
    bands = age_bands(pd.Series(ages))
    return pd.Series(pd.Categorical.from_codes(bands.cat.codes.to_numpy()[codes], dtype=bands.dtype), index=age.index)


def _map_values(s: pd.Series, table: dict[str, str], default: str) -> tuple[pd.Series, pd.Series]:
    """Map text values through a lower-case lookup; returns the mapped values and the values
    that had no entry (as the original text)."""
    cat = s.astype("category")
    cats = pd.Series(cat.cat.categories)
    mapped = cats.str.strip().str.lower().map(table)
    unmapped = cats[mapped.isna()]
    codes = cat.cat.codes.to_numpy()
    values = np.append(mapped.fillna(default).to_numpy(dtype=object), default)   # code -1 (missing): default
    # the categorical pandas would make of values[codes] (its categories: the values present, sorted),
    # built from the distinct codes instead of a Python string per record
    present = pd.Categorical(values[np.unique(codes)])
    lookup = present.categories.get_indexer(values)
    return pd.Series(pd.Categorical.from_codes(lookup[codes], dtype=present.dtype), index=s.index), unmapped


def _ethnic_group(s: pd.Series) -> pd.Series:
    groups = set(vocab.ethnic_groups())

    def one(text: str) -> str:
        t = str(text).strip()
        low = t.lower()
        if low in groups:
            return low
        if len(t) >= 1 and (len(t) == 1 or not t[1].isalpha()) and t[0].upper() in mp.ETHNIC_LETTERS:
            return mp.ETHNIC_LETTERS[t[0].upper()]
        for word, g in (("white", "white"), ("mixed", "mixed"), ("asian", "asian"), ("black", "black"),
                        ("other", "other")):
            if word in low:
                return g
        return "unknown"

    return _each_cat(s, lambda v: v.map(one))


def _destination_family(s: pd.Series) -> pd.Series:
    def one(text: str) -> str | None:
        low = str(text).strip().lower()
        return next((fam for word, fam in mp.DESTINATION_WORDS.items() if word in low), None)

    return _each_cat(s, lambda v: v.map(one))


def _constant(value: str, n: int) -> pd.Series:
    return pd.Series(pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), [value]))


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def read_extract(path: Path, m: mp.Mapping, key: bytes,
                 stages: Stages | None = None) -> tuple[pd.DataFrame, dict, list[str]]:
    """One extract file as checked records (plus the file's rows for duplicate checks: column
    ``_row``), its file record, and the problems found (empty when it can be used). The staff or
    worker identifiers, stripped of surrounding spaces, are in the file record (``_ids``, an Arrow
    array): :func:`load_extracts` pseudonymises those of all files together, then drops them."""
    path = Path(path)
    with ThreadPoolExecutor(max_workers=1) as side:    # the file's SHA-256, worked out beside the parsing
        return _read_extract(path, m, key, side.submit(_sha256, path),
                             (stages if stages is not None else Stages()).lap)


def _read_extract(path: Path, m: mp.Mapping, key: bytes, sha256: Future,
                  lap: Callable[[str], None]) -> tuple[pd.DataFrame, dict, list[str]]:
    try:
        header = list(pd.read_csv(path, nrows=0, dtype=str).columns)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ExtractError(f"{path}: cannot be read as a CSV extract ({exc})") from None
    missing = [f"'{h}' ({f})" for f, h in m.columns.items() if h not in header]
    if missing:
        raise ExtractError(f"{path}: mapped column(s) {', '.join(missing)} not in the file (mapping {m.path}); "
                           f"the file's columns are: {', '.join(header[:40])}")
    heads = list(dict.fromkeys(m.columns.values()))
    raw, n = _read_columns(path, heads, m.columns[m.id_field])
    col = {f: raw[h] for f, h in m.columns.items()}
    del raw
    lap("read")
    index = pd.RangeIndex(n)
    problems: list[str] = []
    out = pd.DataFrame(index=index)

    def bad(fld: str, what: str, mask) -> None:
        problems.append(_problem(path, m.columns[fld], fld, what, mask))

    # snapshot
    if "snapshot_date" in col:
        snap = _parse_dates(col["snapshot_date"], m.date_format)
        if snap.isna().any():
            bad("snapshot_date", f"not a date in the format {m.date_format or '%Y-%m-%d'}", snap.isna())
    else:
        when = _snapshot_from_name(path)
        if when is None:
            raise ExtractError(f"{path}: no snapshot date: map a `snapshot_date` column in {m.path} or put the "
                               "date in the file name (e.g. esr_2024-03-31.csv)")
        snap = pd.Series(when, index=index)
    out["snapshot_date"] = snap
    dates = {}
    for fld in ("date_of_birth", "start_date", "leaving_date"):
        if fld in col:
            parsed = _parse_dates(col[fld], m.date_format)
            wrong = parsed.isna() & ~_blank(col[fld])
            if wrong.any():
                bad(fld, f"not a date in the format {m.date_format or '%Y-%m-%d'}", wrong)
            dates[fld] = parsed
    if "start_date" in dates:                # a hire after the snapshot, or a leaving before the hire
        future = (dates["start_date"] > snap).fillna(False)
        if future.any():
            bad("start_date", "a start date after the snapshot date of the extract", future)
        if "leaving_date" in dates:
            early = (dates["leaving_date"] < dates["start_date"]).fillna(False)
            if early.any():
                bad("leaving_date", "a leaving date before the start date", early)
    # age
    if "age" in col:
        age = _numbers(col["age"])
        if age.isna().any():
            bad("age", "not a whole number of years", age.isna())
    else:
        dob = dates["date_of_birth"]
        if dob.isna().any():
            bad("date_of_birth", "missing (an age band is needed for every record)", dob.isna())
        age = _age_at(snap, dob)
    outside = age.notna() & ((age < AGE_MIN) | (age > AGE_MAX))
    if outside.any():
        bad("age" if "age" in col else "date_of_birth", f"an age outside {AGE_MIN}-{AGE_MAX} "
            f"({'at the snapshot date' if 'age' not in col else 'years'})", outside)
    out["age_band"] = _each_age_band(age)
    # numbers
    for fld, name in (("fte", "fte"), ("hours", "hours_per_week"), ("hourly_pay", "pay_gbp_per_hour")):
        if fld in col:
            vals = _numbers(col[fld])
            wrong = vals.isna() & ~_blank(col[fld]) | (vals < 0)
            if wrong.any():
                bad(fld, "not a number of zero or more", wrong)
            out[name] = vals.astype(float)
        else:
            out[name] = np.nan
    # identifiers
    idf = m.id_field
    ids = pc.utf8_trim_whitespace(pa.array(col.pop(idf).astype("string[pyarrow]"), type=pa.string()))
    no_id = pc.fill_null(pc.equal(ids, ""), True).to_numpy(zero_copy_only=False)
    if no_id.any():
        bad(idf, "no identifier", no_id)
    org_field = mp.ORG_FIELD[m.kind]
    if _blank(col[org_field]).any():
        bad(org_field, "no organisation", _blank(col[org_field]))
    if problems:
        lap("check")
        return pd.DataFrame(), {}, problems
    orgs = _clean(col[org_field], "upper")
    out["organisation_id"] = orgs if m.kind == "esr" else _each_cat(
        orgs, lambda v: disclosure.pseudonymise(v, key=key).astype(object))
    out["_org_code"] = orgs                               # for placement only; dropped before anything leaves
    out["kind"] = _constant(m.kind, n)
    # vocabularies
    if m.kind == "esr":
        out["sector"] = _constant(m.sector or "nhs_trust", n)
    elif "sector" in col:
        out["sector"], _ = _map_values(col["sector"], m.value_map("sector", mp.SECTORS), "")
        wrong = ~out["sector"].isin(vocab.sector_codes())
        if wrong.any():
            bad("sector", "a sector the mapping file does not translate (add it under values.sector)", wrong)
    else:
        out["sector"] = _constant(m.sector, n)
    group_field = mp.GROUP_FIELD[m.kind]
    defaults = mp.ESR_STAFF_GROUPS if m.kind == "esr" else mp.CARE_ROLES
    sg = vocab.staff_groups()
    defaults = {**{c: c for c in vocab.staff_group_codes()},
                **{g.lower(): code for code, groups in zip(sg["code"], sg["nhs_hchs_groups"]) for g in groups},
                **defaults}
    out["staff_group"], unmapped = _map_values(col[group_field], m.value_map(group_field, defaults), "unknown")
    out["ethnic_group"] = _ethnic_group(col["ethnicity"]) if "ethnicity" in col else "unknown"
    out["sex"] = _clean(col["sex"], "lower") if "sex" in col else None
    for fld in ("occupation_code", "band", "leaving_reason", "contract_type"):
        out[fld] = _clean(col[fld]) if fld in col else None
    out["destination_family"] = _destination_family(col["destination"]) if "destination" in col else None
    out["start_month"] = _months(col["start_date"], m.date_format) if "start_date" in dates else pd.NaT
    out["leaving_month"] = _months(col["leaving_date"], m.date_format) if "leaving_date" in dates else pd.NaT
    out["_leaving_date"] = dates.get("leaving_date", pd.Series(pd.NaT, index=index))
    out["_icb_given"] = _clean(col["icb_code"], "upper") if "icb_code" in col else None
    out["_lad"] = _clean(col["local_authority"], "upper") if "local_authority" in col else None
    out["_row"] = np.arange(n, dtype=np.int32) + 2
    out["_file"] = _constant(str(path), n)
    lap("check")
    if problems:
        return pd.DataFrame(), {}, problems
    info = {"file": path.name, "kind": m.kind, "rows": int(len(out)),
            "sha256": sha256.result(),
            "snapshots": sorted({f"{d:%Y-%m-%d}" for d in out["snapshot_date"].unique()})}
    lap("checksum")
    unmapped_counts = None
    if len(unmapped):
        vc = col[group_field][col[group_field].isin(list(unmapped))].value_counts()
        vc = vc[vc > 0]
        unmapped_counts = pd.DataFrame({"field": group_field, "value": vc.index.astype(str), "records": vc.to_numpy()})
    info["_unmapped"] = unmapped_counts
    info["_ids"] = ids
    return out, info, problems


def _org_lookup(m: mp.Mapping, lookup_dir: Path | None) -> dict[str, str]:
    table: dict[str, str] = {}
    if lookup_dir is not None:
        from ..datastore import read_table_file
        f = next((Path(lookup_dir) / f"nhs_trusts{e}" for e in (".parquet", ".csv")
                  if (Path(lookup_dir) / f"nhs_trusts{e}").exists()), None)
        if f is None:
            raise ExtractError(f"--lookup {lookup_dir}: no nhs_trusts table (build one from the ODS trust list "
                               "with `iwt data build`)")
        t = read_table_file(f, "nhs_trusts").dropna(subset=["icb_code"])
        table.update(zip(t["org_code"].str.upper(), t["icb_code"]))
    table.update(m.organisations)
    return table


def place(records: pd.DataFrame, m: mp.Mapping, lookup_dir: Path | None = None) -> pd.Series:
    """Each record's ICB: a mapped icb_code column (ODS or E54 codes), else the organisation
    lookups (NHS) or the local authority's ICB (social care: the ICB holding the largest share of
    the authority's small areas). Unplaced records get a missing ICB."""
    if records["_icb_given"].notna().any():
        return _each_cat(records["_icb_given"], lambda v: v.map(geography.ods_code))
    if m.kind == "esr":
        table = _org_lookup(m, lookup_dir)
        for c in list(table):
            table[c] = geography.ods_code(table[c]) or table[c]
        return _each_cat(records["_org_code"], lambda v: v.map(table))
    lk = geography.lad_shares().sort_values("share", ascending=False).drop_duplicates("lad_code")
    lad_to_icb = dict(zip(lk["lad_code"], lk["icb_code"]))
    return _each_cat(records["_lad"], lambda v: geography.map_retired_lads(v).map(lad_to_icb))


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Files' records one under another, categoricals kept categorical (pandas would turn a
    categorical whose categories differ between files into Python objects). The files' frames are
    emptied column by column as they are joined, so the records are never held twice."""
    if len(parts) == 1:
        return parts[0]
    cols = {}
    for c in list(parts[0].columns):
        pieces = [p.pop(c) for p in parts]
        if all(isinstance(x.dtype, pd.CategoricalDtype) for x in pieces):
            cats = pd.Index(pd.unique(np.concatenate([x.cat.categories.to_numpy(dtype=object) for x in pieces])))
            pieces = [x.cat.set_categories(cats) for x in pieces]
        cols[c] = pd.concat(pieces, ignore_index=True)
    return pd.DataFrame(cols, copy=False)


def _duplicated(rec: pd.DataFrame) -> pd.Series:
    """Records whose identifier appears more than once in their snapshot: person number x snapshot,
    counted (the numbers are 0, 1, ..., so a count per possible pair is a small array, and no
    hashing is needed)."""
    snap, snaps = pd.factorize(rec["snapshot_date"], use_na_sentinel=False)
    key = rec["_person"].to_numpy().astype(np.int64) * max(len(snaps), 1) + snap
    return pd.Series(np.bincount(key)[key] > 1, index=rec.index)


def _read_files(files: list[Path], m: mp.Mapping, key: bytes, stages: Stages) -> tuple[list, list, list, list,
                                                                                   pa.ChunkedArray | None]:
    """Every file read and checked, as (records, file records, unmapped values, identifiers) per
    file, and the pseudonyms of the first file's distinct identifiers (in order of first
    appearance; None for a single file). Those are hashed in a thread while the other files are
    read: the hashing holds the GIL, but the CSV reader and the checksum mostly do not, so the two
    share the machine's cores.
    All problems of all files are collected, then the load is refused if there are any."""
    parts, infos, problems, unmapped, ids = [], [], [], [], []
    stop, side, ahead = threading.Event(), ThreadPoolExecutor(max_workers=1), None
    try:
        for i, f in enumerate(files):
            df, info, probs = read_extract(Path(f), m, key, stages)
            problems.extend(probs)
            if not probs:
                unmapped.append(info.pop("_unmapped"))
                ids.append(info.pop("_ids"))
                parts.append(df)
                infos.append(info)
            if ahead is None and ids and not problems and i < len(files) - 1:    # files still to read
                ahead = side.submit(lambda first: _hash_distinct(pc.unique(first), key, stop), ids[0])
        if problems:
            raise ExtractError("extract refused, nothing written:\n  " + "\n  ".join(problems))
        return parts, infos, unmapped, ids, ahead.result() if ahead is not None else None
    finally:
        stop.set()                   # a refused load does not wait for the hashing to finish
        side.shutdown(wait=True)


def load_extracts(files: list[Path], m: mp.Mapping, key: bytes | None = None,
                  lookup_dir: Path | None = None, stages: Stages | None = None) -> Loaded:
    """Read, check and pseudonymise every file (all problems of all files are collected, then the
    load is refused if there are any). The records carry, besides :data:`RECORD_COLUMNS`, the
    leaving date and a person number (``_leaving_date``, ``_person``) for the flows; columns whose
    name starts with ``_`` are never written."""
    key = key or disclosure.require_key()
    if not files:
        raise ExtractError("no extract files given")
    stages = stages if stages is not None else Stages()
    parts, infos, unmapped, ids, ahead = _read_files(files, m, key, stages)
    rec = _concat(parts)
    del parts
    stages.lap("check")
    rec["_person"], rec["person_id"] = _pseudonymise_people(ids, key, ahead)
    del ids
    stages.lap("pseudonymise")
    dup = _duplicated(rec)
    if dup.any():
        lines = []
        for (snap, fname), g in rec[dup].groupby(["snapshot_date", "_file"], sort=True, observed=True):
            lines.append(_problem(Path(fname), m.columns[m.id_field], m.id_field,
                                  f"an identifier that appears more than once in the snapshot of {snap:%Y-%m-%d}",
                                  np.isin(np.arange(g["_row"].max() - 1), g["_row"].to_numpy() - 2)))
        raise ExtractError("extract refused, nothing written (duplicate identifiers):\n  " + "\n  ".join(lines))
    rec["icb_code"] = place(rec, m, lookup_dir)
    unplaced = rec[rec["icb_code"].isna()]
    unplaced_t = None
    notes = []
    if len(unplaced):
        unplaced_t = (unplaced.groupby(["organisation_id", "sector"], observed=True).size()
                      .rename("records").reset_index())
        notes.append(f"{len(unplaced):,} records in {len(unplaced_t)} organisation(s) could not be placed in an ICB "
                     "and are left out of the tables (see unplaced in extract_report.json; map them under "
                     "`organisations` in the mapping file or give --lookup a folder with the ODS trust list)")
    rec["icb_code"] = rec["icb_code"].astype("category")
    records = rec[RECORD_COLUMNS + ["_leaving_date", "_person"]]
    del rec
    um = [u for u in unmapped if u is not None]
    stages.lap("check")
    return Loaded(records, infos, notes, unplaced_t,
                  pd.concat(um, ignore_index=True).groupby(["field", "value"], as_index=False)["records"].sum()
                  if um else None)
