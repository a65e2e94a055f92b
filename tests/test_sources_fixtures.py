"""Loaders on small, deliberately messy files the tests write themselves."""

import json

import pandas as pd
import pytest

from iwt_helpers.data import build, sources
from iwt_helpers.data.sources import BuildContext, _read

# Loaders on small files the tests write are unit tests; whole builds from them are integration tests.
unit, integration = pytest.mark.unit, pytest.mark.integration

SICK_HEADER = ("DATE,NHSE_REGION_CODE,NHSE_REGION_NAME,ICS_CODE,ICS_NAME,ORG_CODE,ORG_NAME,ORG_TYPE,"
               "FTE_DAYS_LOST,FTE_DAYS_AVAILABLE,SICKNESS_ABSENCE_RATE_PERCENT\n")


def sickness_file(path, rows, encoding="utf-8-sig"):
    text = SICK_HEADER + "".join(",".join(r) + "\n" for r in rows)
    path.write_bytes(text.encode(encoding))
    return path


def row(date, ics, org, lost, avail, name="Trust"):
    return [date, "Y62", "North West", ics, "X", org, f'"{name}"', "Acute", lost, avail, "1"]


@unit
def test_bom_thousands_separators_and_suppression_markers(tmp_path):
    f = sickness_file(tmp_path / "sick.csv", [
        row("31/03/2025", "QOP", "R0A", '"1,200.5"', '"30,000"'),
        row("31/03/2025", "QOP", "R0B", "*", "5000"),
        row("31/03/2025", "QOP", "R0C", "", ".."),
        row("31/03/2025", "QZZ", "0AR", "10", "100"),
    ])
    assert sources.recognise(f).ID == "nhs_sickness_absence"
    res = sources.recognise(f).load(f, BuildContext())
    k = res.tables["kpi_observations"].iloc[0]
    assert k["numerator"] == pytest.approx(1200.5)
    assert k["denominator"] == pytest.approx(35000)          # suppressed values left out, not zero
    assert k["value"] == pytest.approx(100 * 1200.5 / 35000, rel=1e-6)
    assert "national bodies" in res.notes[0] and "2 suppressed or blank" in res.notes[0]   # rows R0B and R0C


@unit
def test_windows_1252_text_is_read(tmp_path):
    f = sickness_file(tmp_path / "cp1252.csv", [row("2025-03-31", "QOP", "R0A", "10", "100", name="Caf\u00e9 \u00a3 Trust")],
                      encoding="cp1252")
    assert _read.encoding_of(f) == "cp1252"
    df = _read.read_csv(f)
    assert df.loc[0, "ORG_NAME"] == "Caf\u00e9 \u00a3 Trust"
    assert sources.recognise(f).load(f, BuildContext()).tables["kpi_observations"]["value"].iloc[0] == pytest.approx(10)


@unit
def test_unreadable_number_names_file_column_and_row(tmp_path):
    f = sickness_file(tmp_path / "bad.csv", [row("31/03/2025", "QOP", "R0A", "ten", "100")])
    with pytest.raises(_read.SourceError, match=r"bad.csv: column 'FTE_DAYS_LOST' expected numbers.*row 2: 'ten'"):
        sources.recognise(f).load(f, BuildContext())


@unit
def test_unknown_ics_code_is_rejected(tmp_path):
    f = sickness_file(tmp_path / "ics.csv", [row("31/03/2025", "QXX", "R0A", "1", "10")])
    with pytest.raises(_read.SourceError, match="ICS_CODE.*QXX"):
        sources.recognise(f).load(f, BuildContext())


def hchs_workbook(path, fte_values, title_rows=3):
    data = pd.DataFrame({"Month": ["2018-JUN"] * len(fte_values), "Organisation code": ["R0A", "R0B", "ZZZ"][: len(fte_values)],
                         "Organisation name": ["Trust A", "Trust B", "Gone trust"][: len(fte_values)],
                         "Staff group": ["HCHS doctors", "Nurses & health visitors", "Central functions"][: len(fte_values)],
                         "Nationality": "British", "FTE": fte_values})
    with pd.ExcelWriter(path) as xw:
        pd.DataFrame({"a": ["Notes"]}).to_excel(xw, sheet_name="Notes", index=False)
        pd.DataFrame([["HCHS staff by staff group, FTE"], ["Source: NHS Digital"], [""]][:title_rows]).to_excel(
            xw, sheet_name="Data", index=False, header=False)
        data.to_excel(xw, sheet_name="Data", index=False, startrow=title_rows)
    return path


@unit
def test_xlsx_title_rows_are_skipped_and_unmapped_organisations_listed(tmp_path):
    f = hchs_workbook(tmp_path / "hchs.xlsx", ["100.5", "1,000", "*"])
    ctx = BuildContext()
    ctx.add_orgs({"R0A": "QOP", "R0B": "QE1"}, "test")
    src = sources.recognise(f)
    assert src.ID == "nhs_hchs_workforce"
    res = src.load(f, ctx)
    wf = res.tables["workforce"].set_index("icb_code")
    assert wf.at["QOP", "fte"] == pytest.approx(100.5) and wf.at["QE1", "fte"] == pytest.approx(1000)
    assert wf.at["QOP", "staff_group"] == "doctor" and wf.at["QE1", "staff_group"] == "registered_nurse"
    assert res.unmapped["org_code"].tolist() == ["ZZZ"]
    assert res.tables["source_totals"]["file_total"].iloc[0] == pytest.approx(1100.5)


@unit
def test_retired_local_authority_codes_are_mapped_and_reported(tmp_path):
    f = tmp_path / "sfc.csv"
    f.write_text("LAD19CD,Staff turnover rate,Mean sickness days,Vacancy rate\n"
                 "E07000004,0.30,5.0,0.08\nE07000005,0.20,4.0,0.06\nE07000006,*,4.5,0.07\nE07000007,0.25,5.5,0.09\n"
                 "E06000001,0.31,6.0,0.10\n")
    res = sources.recognise(f).load(f, BuildContext())
    k = res.tables["kpi_observations"]
    assert "4 retired codes mapped" in res.notes[0]
    bucks_icb = k[(k["kpi_id"] == "turnover_asc")]
    # Buckinghamshire (E06000060, from four 2019 districts) sits in two ICBs; its turnover is the
    # mean of the readable district rates, (30 + 20 + 25) / 3.
    from iwt_helpers.data import geography
    icbs = geography.lad_icb().query("lad_vintage == 2022 and lad_code == 'E06000060'")["icb_code"]
    only_bucks = [c for c in icbs if c not in set(geography.lad_icb().query("lad_code == 'E06000001'")["icb_code"])]
    val = bucks_icb.set_index("icb_code").loc[only_bucks[0], "value"]
    assert val == pytest.approx(25.0)
    assert (k["period"] == pd.Timestamp("2020-03-01")).all()


@unit
def test_population_weighting_uses_lad_populations_when_available(tmp_path):
    f = tmp_path / "vac.csv"
    from iwt_helpers.data import geography
    lk = geography.lad_icb().query("lad_vintage == 2022")
    icb = "QOP"
    lads = lk[(lk["icb_code"] == icb) & (lk["share"] == 1)]["lad_code"].tolist()[:2]
    f.write_text(f"lad_code,vacancy\n{lads[0]},0.10\n{lads[1]},0.20\n")
    ctx = BuildContext(lad_population={lads[0]: 300_000, lads[1]: 100_000})
    k = sources.recognise(f).load(f, ctx).tables["kpi_observations"].set_index("icb_code")
    assert k.at[icb, "value"] == pytest.approx(100 * (0.1 * 3 + 0.2 * 1) / 4)


@integration
def test_an_unrecognised_file_stops_the_build_and_keeps_the_previous_output(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    sickness_file(raw / "sick.csv", [row("31/03/2025", "QOP", "R0A", "10", "100")])
    build.build(raw, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (raw / "mystery.csv").write_text("foo,bar\n1,2\n")
    with pytest.raises(build.BuildError, match=r"mystery.csv: not a recognised source file"):
        build.build(raw, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.build-")]


@integration
def test_a_schema_failure_stops_the_build_naming_table_and_file(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    hchs_workbook(raw / "hchs.xlsx", ["-5", "10"])        # negative FTE
    sickness_file(raw / "sick.csv", [row("31/03/2025", "QOP", "R0A", "10", "100"), row("31/03/2025", "QE1", "R0B", "1", "10")])
    with pytest.raises(build.BuildError, match=r"(?s)table 'workforce' in built from .*hchs.xlsx.*column 'fte'"):
        build.build(raw, out)
    assert not out.exists()


@integration
def test_build_writes_manifest_report_and_readable_tables(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    (raw / "README.md").write_text("notes")
    sickness_file(raw / "a.csv", [row("30/04/2024", "QOP", "R0A", "10", "100")])
    sickness_file(raw / "b.csv", [row("31/05/2024", "QOP", "R0A", "20", "100")])
    report = build.build(raw, out)
    m = json.loads((out / "datasets.json").read_text())
    assert m["tables"]["kpi_observations"]["synthetic"] is False
    assert report.ignored == ["README.md"]
    from iwt_helpers.data.datastore import open_dataset
    k = open_dataset(out).table("kpi_observations")
    assert sorted(k["value"]) == [10.0, 20.0]


@integration
def test_build_refuses_an_output_that_is_inside_or_holds_the_raw_folder_or_other_files(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    for out in (raw, raw / "processed", tmp_path):
        with pytest.raises(build.BuildError, match="raw folder|did not make"):
            build.build(raw, out)
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.csv").write_text("a,b\n")
    with pytest.raises(build.BuildError, match="did not make"):
        build.build(raw, other)
    assert notes.read_text() == "my notes" and (other / "keep.csv").exists() and raw.is_dir()


@integration
def test_an_interrupted_swap_is_recovered_before_the_next_build(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    sickness_file(raw / "sick.csv", [row("31/03/2025", "QOP", "R0A", "10", "100")])
    out = tmp_path / "processed"
    build.build(raw, out)
    out.rename(tmp_path / ".processed.old")               # killed between the two renames
    build.build(raw, out)
    assert (out / "datasets.json").exists() and not (tmp_path / ".processed.old").exists()


@integration
def test_a_byte_identical_copy_is_listed_as_a_duplicate_file(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    sickness_file(raw / "sick.csv", [row("31/03/2025", "QOP", "R0A", "10", "100")])
    (raw / "copy").mkdir()
    (raw / "copy" / "sick (1).csv").write_bytes((raw / "sick.csv").read_bytes())
    report = build.build(raw, tmp_path / "processed")
    assert [d for d in report.duplicates if "duplicate file" in d] == [
        "sick.csv: duplicate file, the same bytes as copy/sick (1).csv (read once)"]


@unit
def test_recognising_a_file_reads_its_header_not_the_whole_file(tmp_path):
    f = tmp_path / "big.csv"
    f.write_bytes(SICK_HEADER.encode() + b"x" * (_read.HEAD_BYTES * 2) + b"\xff\xfe\x00 not text at all")
    assert _read.head_columns(f)[:2] == ["DATE", "NHSE_REGION_CODE"]


@integration
def test_a_rebuild_keeps_the_readiness_rounds_saved_in_the_folder(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    sickness_file(raw / "sick.csv", [row("31/03/2025", "QOP", "R0A", "10", "100")])
    out = tmp_path / "processed"
    build.build(raw, out)
    (out / "readiness").mkdir()
    (out / "readiness" / "QOP.csv").write_text("saved by partners\n")
    build.build(raw, out)
    assert (out / "readiness" / "QOP.csv").read_text() == "saved by partners\n"
