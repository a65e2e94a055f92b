"""Record-level extracts: bad input refused with file, row and column; nothing written; the
written folder holds no raw identifier, date of birth or key."""

import re

import pandas as pd
import pytest

from iwt_helpers.data import datastore, disclosure
from iwt_helpers.data.extracts import demo, load, write

KEY = "test-key-0123456789abcdef"


@pytest.fixture
def extract(tmp_path, monkeypatch):
    monkeypatch.setenv(disclosure.KEY_ENV, KEY)
    return demo.write_demo(tmp_path / "in", records=3000)


def _edit(path, row, column, value):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[row - 2, column] = value              # row numbers count the header as row 1
    df.to_csv(path, index=False)


@pytest.mark.integration
@pytest.mark.parametrize("column, value, expected", [
    ("Date of Birth", "31/02/1980", "not a date"),
    ("Date of Birth", "2015-01-01", "age outside 16-100"),
    ("Hire Date", "soon", "not a date"),
    ("FTE", "full", "not a number"),
])
def test_bad_values_are_refused_naming_file_row_and_column_and_nothing_is_written(extract, tmp_path, column, value,
                                                                                   expected):
    f = extract["esr_2024-03-31"]
    _edit(f, 7, column, value)
    out = tmp_path / "out"
    with pytest.raises(load.ExtractError) as err:
        write.load_to_folder([f, extract["esr_2025-03-31"]], extract["mapping"], out)
    msg = str(err.value)
    assert str(f) in msg and f"column '{column}'" in msg and "row 7 " in msg and expected in msg
    assert value not in msg                         # the offending value (maybe personal) is not echoed
    assert not out.exists()


@pytest.mark.integration
def test_a_missing_mapped_column_is_refused(extract, tmp_path):
    f = extract["esr_2024-03-31"]
    pd.read_csv(f, dtype=str).drop(columns="Staff Group").to_csv(f, index=False)
    with pytest.raises(load.ExtractError, match=r"'Staff Group' \(staff_group\) not in the file"):
        write.load_to_folder([f], extract["mapping"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.integration
def test_a_duplicate_identifier_in_one_snapshot_is_reported_with_its_rows(extract, tmp_path):
    f = extract["esr_2024-03-31"]
    df = pd.read_csv(f, dtype=str, keep_default_na=False)
    df.loc[9, "Staff Number"] = df.loc[2, "Staff Number"]
    df.to_csv(f, index=False)
    with pytest.raises(load.ExtractError, match=r"column 'Staff Number' \(staff_id\).*row 4, 11 ") as err:
        write.load_to_folder([f], extract["mapping"], tmp_path / "out")
    assert df.loc[2, "Staff Number"] not in str(err.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.integration
def test_a_missing_key_stops_the_load_before_anything_is_read(extract, tmp_path, monkeypatch):
    monkeypatch.delenv(disclosure.KEY_ENV)
    monkeypatch.setattr(disclosure, "KEY_FILE", tmp_path / "no_key")
    with pytest.raises(disclosure.MissingKeyError, match="IWT_PSEUDONYM_KEY"):
        write.load_to_folder([extract["esr_2024-03-31"]], extract["mapping"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _loaded(tmp_path, monkeypatch, records: int):
    """A synthetic two-snapshot extract of ``records`` staff, loaded: (the extract's files, out folder, dataset)."""
    monkeypatch.setenv(disclosure.KEY_ENV, KEY)
    extract = demo.write_demo(tmp_path / "in", records=records)
    out = tmp_path / "out"
    write.load_to_folder([extract["esr_2024-03-31"], extract["esr_2025-03-31"]], extract["mapping"], out)
    return extract, out, datastore.open_dataset(out)


@pytest.mark.integration
def test_flows_count_the_planted_leavers_joiners_and_moves(tmp_path, monkeypatch):
    # big enough (about 1,000 staff per ICB) that most cells are above the suppression threshold
    extract, out, ds = _loaded(tmp_path, monkeypatch, 42_000)
    flows, moves = ds.table("flows"), ds.table("moves")
    first = pd.read_csv(extract["esr_2024-03-31"], dtype=str, keep_default_na=False)
    second = pd.read_csv(extract["esr_2025-03-31"], dtype=str, keep_default_na=False)
    in_post = second[second["Termination Date"] == ""]
    true_leavers = (~first["Staff Number"].isin(in_post["Staff Number"])).sum() + \
        first.merge(in_post, on="Staff Number").pipe(lambda m: (m["Organisation Code_x"] != m["Organisation Code_y"]).sum())
    # published cells are rounded and some suppressed: the total is close, never above by more than rounding
    published = flows["leavers"].sum()
    assert abs(published - true_leavers) <= 0.15 * true_leavers
    assert set(moves["move"]) == {"other_organisation", "other_sector_same_family", "other_family", "left"}
    shown = pd.concat([flows[c] for c in ("staff_in_post", "joiners", "leavers", "leavers_to_other_sector")]).dropna()
    assert not ((shown >= 1) & (shown <= 4)).any() and (shown % 5 == 0).all()
    assert ds.info("flows").synthetic           # the demo extract says it is synthetic
    assert disclosure.folder_rule(out) == disclosure.record_level_rule()


def _found(data: bytes, needles: list[str]) -> list[str]:
    """Needles found as whole tokens (an 8-digit id inside a longer number such as
    9.210000000000001 is not a hit)."""
    return [n for n in needles if n.encode() in data
            and re.search(rb"(?<![0-9])" + re.escape(n.encode()) + rb"(?![0-9])", data)]


def _scan(folder, needles):
    hits = []
    for p in folder.rglob("*"):
        if p.is_file():
            hits += [(str(p), n) for n in _found(p.read_bytes(), needles)]
    return hits


@pytest.mark.e2e
def test_no_raw_identifier_date_of_birth_or_key_reaches_any_output(extract, tmp_path):
    from iwt_helpers.report import run_reports
    data = tmp_path / "data"
    write.load_to_folder([extract["esr_2024-03-31"], extract["esr_2025-03-31"]], extract["mapping"], data)
    reports = tmp_path / "reports"
    summary = run_reports(icb="QOP", theme_spec="all", data_dir=str(data), out_dir=str(reports), jobs=1,
                          force=True, progress=False, parameters={})
    assert summary.exit_code == 0
    raw = pd.concat([pd.read_csv(extract[k], dtype=str, keep_default_na=False)
                     for k in ("esr_2024-03-31", "esr_2025-03-31")])
    needles = sorted(set(raw["Staff Number"]) | set(raw["Date of Birth"])) + [KEY]
    written = [p for p in reports.rglob("*") if p.is_file()]
    assert any(p.suffix == ".xlsx" for p in written) and any(p.suffix == ".html" for p in written)
    assert (reports / "manifest.json").exists()
    assert _scan(data, needles) == [] and _scan(reports, needles) == []
    # xlsx is zipped: scan its unzipped XML too
    import zipfile
    for x in (p for p in written if p.suffix == ".xlsx"):
        with zipfile.ZipFile(x) as z:
            text = b"".join(z.read(n) for n in z.namelist())
        assert _found(text, needles) == []
    html = (reports / "QOP" / "data.html").read_text(encoding="utf-8")
    assert re.search(r"rounded to the nearest 5", html)


# --------------------------------------------------------------------------- social care workers

CARE_HEADER = ["Worker ID", "Establishment ID", "LA Code", "Main Job Role", "Contract Type", "Contracted Hours",
               "Hourly Pay", "Age", "Ethnicity", "Gender", "Start Date"]
CARE_ROWS = [  # row 2 onwards (the header is row 1)
    ["W000101", "EST-17", "E06000001", "Care Worker", "Permanent", "37.5", "11.44", "23", "White", "Female", "01/04/2019"],
    ["W000102", "EST-17", "E06000001", "Senior Care Worker", "Permanent", "30", "12.10", "41", "Asian", "Female",
     "15/06/2015"],
    ["W000103", "EST-22", " e08000025 ", "Registered Manager", "Permanent", "40", "19.00", "58", "Black", "Male",
     "03/01/2010"],
    ["W000104", "EST-22", "E08000025", "care worker", "Zero hours", "", "11.00", "67", "Not known", "Male", "20/02/2024"],
    ["W000105", "EST-31", "E06000060", "Social Worker", "Temporary", "22.5", "21.35", "35", "Mixed", "Female",
     "09/09/2022"],
]


def _care_extract(folder, rows=CARE_ROWS):
    folder.mkdir(parents=True, exist_ok=True)
    f = folder / "asc_workers_2024-03-31.csv"         # the snapshot date comes from the file name
    pd.DataFrame(rows, columns=CARE_HEADER).to_csv(f, index=False)
    mapping = folder / "care_mapping.yaml"
    mapping.write_text(
        "kind: social_care\n"
        "sector: asc_independent\n"
        "date_format: '%d/%m/%Y'\n"
        "columns:\n"
        "  worker_id: Worker ID\n  establishment_id: Establishment ID\n  local_authority: LA Code\n"
        "  job_role: Main Job Role\n  contract_type: Contract Type\n  hours: Contracted Hours\n"
        "  hourly_pay: Hourly Pay\n  age: Age\n  ethnicity: Ethnicity\n  sex: Gender\n  start_date: Start Date\n",
        encoding="utf-8")
    return f, mapping


@pytest.mark.integration
def test_a_social_care_worker_extract_is_pseudonymised_placed_by_local_authority_and_banded(tmp_path, monkeypatch):
    import hashlib
    import hmac

    from iwt_helpers.data.extracts import mapping as mp
    monkeypatch.setenv(disclosure.KEY_ENV, KEY)
    f, mapping = _care_extract(tmp_path / "in")
    rec = load.load_extracts([f], mp.load_mapping(mapping)).records
    assert len(rec) == 5 and set(rec["kind"]) == {"social_care"} and set(rec["sector"]) == {"asc_independent"}
    assert (rec["snapshot_date"] == pd.Timestamp("2024-03-31")).all()
    expected = ["P" + hmac.new(KEY.encode(), r[0].encode(), hashlib.sha256).hexdigest()[:16] for r in CARE_ROWS]
    assert rec["person_id"].tolist() == expected
    # establishments are pseudonymised too (they can be small enough to identify people)
    est = ["P" + hmac.new(KEY.encode(), r[1].encode(), hashlib.sha256).hexdigest()[:16] for r in CARE_ROWS]
    assert rec["organisation_id"].astype(str).tolist() == est
    # ICB from the local authority: Hartlepool -> North East and North Cumbria, Birmingham (any case and
    # spacing) -> Birmingham and Solihull, Buckinghamshire (split) -> the ICB with most of its small areas
    assert rec["icb_code"].astype(str).tolist() == ["QHM", "QHM", "QHL", "QHL", "QU9"]
    assert rec["age_band"].astype(str).tolist() == ["under_25", "35_44", "55_64", "65_plus", "35_44"]
    assert rec["staff_group"].astype(str).tolist() == ["care_worker", "senior_care_worker", "registered_manager",
                                                       "care_worker", "social_worker"]
    assert rec["ethnic_group"].astype(str).tolist() == ["white", "asian", "black", "unknown", "mixed"]
    assert rec["start_month"].tolist() == [pd.Timestamp(d) for d in
                                           ("2019-04-01", "2015-06-01", "2010-01-01", "2024-02-01", "2022-09-01")]
    assert rec["hours_per_week"].tolist()[:3] == [37.5, 30.0, 40.0] and pd.isna(rec["hours_per_week"][3])
    assert rec["pay_gbp_per_hour"].tolist() == [11.44, 12.10, 19.00, 11.00, 21.35]
    assert rec["contract_type"].astype(str).tolist()[3] == "Zero hours"
    # and the folder written from it holds neither worker nor establishment identifiers
    out = tmp_path / "out"
    write.load_to_folder([f], mapping, out)
    needles = [r[0] for r in CARE_ROWS] + [r[1] for r in CARE_ROWS]
    assert _scan(out, needles) == []
    assert len(datastore.open_dataset(out).table("workforce_age")) > 0


@pytest.mark.integration
@pytest.mark.parametrize("column, value, expected", [
    ("Age", "15", "age outside 16-100"),
    ("Start Date", "2019-04-01", "not a date in the format %d/%m/%Y"),
    ("Hourly Pay", "-3", "not a number of zero or more"),
    ("Worker ID", "  ", "no identifier"),
])
def test_a_bad_social_care_row_is_refused_naming_file_row_and_column(tmp_path, monkeypatch, column, value, expected):
    monkeypatch.setenv(disclosure.KEY_ENV, KEY)
    rows = [list(r) for r in CARE_ROWS]
    rows[2][CARE_HEADER.index(column)] = value      # row 4 of the file
    f, mapping = _care_extract(tmp_path / "in", rows)
    with pytest.raises(load.ExtractError) as err:
        write.load_to_folder([f], mapping, tmp_path / "out")
    msg = str(err.value)
    assert str(f) in msg and f"column '{column}'" in msg and "1 row(s): row 4 " in msg and expected in msg
    assert not (tmp_path / "out").exists()


@pytest.mark.unit
def test_the_output_scan_finds_a_planted_identifier(tmp_path):
    # positive control for the scan the e2e test relies on: a planted raw id is found, in any file
    # type and inside other text, but not as part of a longer number
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "table.parquet").write_bytes(b"PAR1\x00\x0812345678\x00PAR1")
    (tmp_path / "notes.json").write_text('{"rate": 9.1234567891}', encoding="utf-8")
    hits = _scan(tmp_path, ["12345678", "23456789", "99999999"])
    assert hits == [(str(tmp_path / "sub" / "table.parquet"), "12345678")]


@pytest.mark.integration
def test_a_malformed_row_is_refused_without_echoing_it(extract, tmp_path):
    f = extract["esr_2024-03-31"]
    with open(f, "a", encoding="utf-8") as fh:
        fh.write("87654321,SYN001,Medical and Dental,extra,fields,that,do,not,fit,the,header,at,all,1984-01-01,x\n")
    with pytest.raises(load.ExtractError, match="cannot be read as a CSV extract") as err:
        write.load_to_folder([f], extract["mapping"], tmp_path / "out")
    assert str(f) in str(err.value) and "87654321" not in str(err.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.integration
def test_staff_in_post_is_published_once_so_no_table_shows_what_another_suppresses(tmp_path, monkeypatch):
    extract, _, ds = _loaded(tmp_path, monkeypatch, 8_000)
    wa, wf = ds.table("workforce_age"), ds.table("workforce")
    lr, fl = ds.table("leaving_rates"), ds.table("flows")
    first = wa["year"].min()
    cells = lr.merge(wa[wa["year"] == first], on=["icb_code", "sector", "staff_group", "age_band"], how="left")
    assert len(cells) and cells["headcount"].isna().eq(cells["staff_in_post"].isna()).all()
    both = cells.dropna(subset=["headcount"])
    assert (both["headcount"] == both["staff_in_post"]).all()
    totals = fl.merge(wf[wf["period"] == wf["period"].min()], on=["icb_code", "sector", "staff_group"], how="inner")
    assert len(totals) and ((totals["headcount"] == totals["staff_in_post"]) | (totals["headcount"].isna() & totals["staff_in_post"].isna())).all()
    assert cells["staff_in_post"].isna().any(), "small cells exist and are suppressed in both tables alike"
    # the flows tables take snapshot a's staff from its published tables, not from a control of their own:
    # a cell suppressed there (here by hand) is suppressed in leaving_rates and flows too
    from iwt_helpers.data.extracts import aggregate, mapping
    m = mapping.load_mapping(extract["mapping"])
    rec = load.load_extracts([extract["esr_2024-03-31"], extract["esr_2025-03-31"]], m, KEY.encode()).records
    a, b = sorted(pd.Timestamp(x) for x in rec["snapshot_date"].unique())
    cfg = disclosure.record_level_settings()
    staff = aggregate.snapshot_tables(rec, a, "test", cfg)
    hit = staff["workforce_age"].dropna(subset=["headcount"]).iloc[0]
    staff["workforce_age"].loc[hit.name, "headcount"] = float("nan")
    out_rates = aggregate.flow_tables(rec, a, b, "test", cfg, staff=staff)["leaving_rates"]
    row = out_rates[(out_rates["icb_code"] == hit["icb_code"]) & (out_rates["sector"] == hit["sector"])
                    & (out_rates["staff_group"] == hit["staff_group"]) & (out_rates["age_band"] == hit["age_band"])]
    assert len(row) == 1 and pd.isna(row["staff_in_post"].iloc[0]) and pd.isna(row["leaving_rate_pct"].iloc[0])


# --------------------------------------------------------------------------- pseudonyms over several files

def _pseudonym(raw_id: str) -> str:
    import hashlib
    import hmac
    return "P" + hmac.new(KEY.encode(), raw_id.strip().encode(), hashlib.sha256).hexdigest()[:16]


@pytest.mark.integration
def test_a_person_in_both_snapshots_has_one_pseudonym_whatever_the_spaces_around_the_identifier(extract):
    from iwt_helpers.data.extracts import mapping
    first, second = extract["esr_2024-03-31"], extract["esr_2025-03-31"]
    raw2 = pd.read_csv(second, dtype=str, keep_default_na=False)
    padded = raw2.loc[0, "Staff Number"]                   # in post in both snapshots
    raw2.loc[0, "Staff Number"] = f"  {padded} "
    raw2.to_csv(second, index=False)
    raw = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in (first, second)], ignore_index=True)
    rec = load.load_extracts([first, second], mapping.load_mapping(extract["mapping"]), KEY.encode()).records
    # every record's pseudonym is the keyed hash of its own identifier, computed here independently
    assert rec["person_id"].tolist() == [_pseudonym(i) for i in raw["Staff Number"]]
    both = rec[rec["person_id"] == _pseudonym(padded)]
    assert len(both) == 2 and both["snapshot_date"].nunique() == 2
    # records share a person number exactly when they share a pseudonym
    assert (rec.groupby("person_id")["_person"].nunique() == 1).all()
    assert (rec.groupby("_person")["person_id"].nunique() == 1).all()


@pytest.mark.integration
def test_an_identifier_repeated_with_spaces_around_it_is_a_duplicate(extract, tmp_path):
    f = extract["esr_2024-03-31"]
    df = pd.read_csv(f, dtype=str, keep_default_na=False)
    df.loc[9, "Staff Number"] = f" {df.loc[2, 'Staff Number']}  "
    df.to_csv(f, index=False)
    with pytest.raises(load.ExtractError, match=r"column 'Staff Number' \(staff_id\).*2 row\(s\): row 4, 11 "):
        write.load_to_folder([f, extract["esr_2025-03-31"]], extract["mapping"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.integration
def test_a_load_reports_the_time_of_each_stage(extract, tmp_path):
    import time
    t = time.perf_counter()
    stages = load.Stages()
    write.load_to_folder([extract["esr_2024-03-31"], extract["esr_2025-03-31"]], extract["mapping"],
                         tmp_path / "out", stages=stages)
    elapsed = time.perf_counter() - t
    assert list(stages) == ["read", "check", "checksum", "pseudonymise", "aggregate", "validate", "write"]
    assert all(v >= 0 for v in stages.values()) and sum(stages.values()) <= elapsed


@pytest.mark.unit
def test_pseudonyms_hashed_ahead_in_part_are_completed_in_the_order_people_are_numbered():
    import threading

    import pyarrow as pa
    ids = [pa.array(["a1", "b2", "c3", "a1"]), pa.array(["c3", "d4", "b2", "e5"])]
    stop = threading.Event()
    for ahead in (None, load._hash_distinct(pa.array(["a1", "b2"]), KEY.encode(), stop)):
        person, pseud = load._pseudonymise_people(ids, KEY.encode(), ahead)
        assert pseud.tolist() == [_pseudonym(i) for part in ids for i in part.to_pylist()]
        assert person.tolist() == [0, 1, 2, 0, 2, 3, 1, 4]
    stop.set()                                         # a stopped hashing returns what it has done
    assert len(load._hash_distinct(pa.array(["a1", "b2"]), KEY.encode(), stop)) == 0


@pytest.mark.integration
def test_pseudonyms_are_right_when_the_first_file_is_hashed_beside_the_second_in_chunks(extract, monkeypatch):
    from iwt_helpers.data.extracts import mapping
    monkeypatch.setattr(load, "CHUNK", 500)            # several chunks, hashed in a thread
    first, second = extract["esr_2024-03-31"], extract["esr_2025-03-31"]
    raw = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in (first, second)], ignore_index=True)
    rec = load.load_extracts([first, second], mapping.load_mapping(extract["mapping"]), KEY.encode()).records
    assert rec["person_id"].tolist() == [_pseudonym(i) for i in raw["Staff Number"]]


@pytest.mark.integration
def test_a_bad_second_file_is_refused_while_the_first_is_hashed_and_nothing_is_written(extract, tmp_path):
    second = extract["esr_2025-03-31"]
    _edit(second, 7, "FTE", "full")
    out = tmp_path / "out"
    with pytest.raises(load.ExtractError, match=rf"{re.escape(str(second))}: column 'FTE' \(fte\).* row 7 "):
        write.load_to_folder([extract["esr_2024-03-31"], second], extract["mapping"], out)
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["in"]


@pytest.mark.integration
def test_snapshots_too_far_apart_leave_no_temporary_folder_behind(extract, tmp_path):
    second = extract["esr_2025-03-31"]
    df = pd.read_csv(second, dtype=str, keep_default_na=False)
    df["Snapshot Date"] = "2026-03-31"                 # 24 months after the first: no flows
    df.to_csv(second, index=False)
    out = tmp_path / "out"
    with pytest.raises(load.ExtractError, match="24 months apart"):
        write.load_to_folder([extract["esr_2024-03-31"], second], extract["mapping"], out)
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["in"]
