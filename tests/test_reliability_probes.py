"""Nothing lost, nothing impossible (issue 30): impossible values never reach a report, files the
commands did not write are never deleted or overwritten, a half-swapped folder is put right by the next
report, the README's own build step works on a fresh clone, and the smaller probes (runs cap, parameter
values, malformed CSV rows, impossible extract dates, what a SIGKILL leaves)."""

import json
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iwt_helpers import atomic, cli, paths
from iwt_helpers.data import build, datastore, demo, disclosure, schemas
from iwt_helpers.data.extracts import demo as extract_demo
from iwt_helpers.data.extracts import load as extract_load
from iwt_helpers.data.extracts import write as extract_write
from iwt_helpers.data.sources import _read
from iwt_helpers.report import engine, run_reports, runner
from iwt_helpers.themes.params import ParameterError

integration, unit = pytest.mark.integration, pytest.mark.unit

SICK_HEADER = ("DATE,NHSE_REGION_CODE,NHSE_REGION_NAME,ICS_CODE,ICS_NAME,ORG_CODE,ORG_NAME,ORG_TYPE,"
               "FTE_DAYS_LOST,FTE_DAYS_AVAILABLE,SICKNESS_ABSENCE_RATE_PERCENT\n")


def sickness_file(path: Path, rows: list[tuple]) -> Path:
    """A sickness absence CSV as NHS England publishes it: rows of (ICS, organisation, days lost, days available)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SICK_HEADER + "".join(f"31/03/2025,Y62,North West,{ics},X,{org},Trust,Acute,{lost},{avail},1\n"
                                          for ics, org, lost, avail in rows), encoding="utf-8")
    return path


def built(tmp_path: Path, name: str = "processed") -> tuple[Path, Path]:
    """A raw folder with one plausible sickness file, built into ``tmp_path/name``: (raw, out)."""
    raw = tmp_path / "raw"
    sickness_file(raw / "sick.csv", [("QOP", "R0A", "10", "100")])
    out = tmp_path / name
    build.build(raw, out)
    return raw, out


def processed_folder(folder: Path, tables: dict[str, pd.DataFrame]) -> Path:
    """A data folder marked as iwt data build marks it, holding ``tables`` as Parquet files."""
    folder.mkdir(parents=True)
    (folder / "datasets.json").write_text(json.dumps({"dataset": datastore.PROCESSED_MARK, "tables": {
        name: {"file": f"{name}.parquet", "synthetic": False, "source": "test"} for name in tables}}))
    for name, df in tables.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def demo_table(name: str) -> pd.DataFrame:
    df = pd.read_csv(paths.DEMO / f"{name}.csv")
    if "period" in df:
        df["period"] = pd.to_datetime(df["period"])
    return df


# 1. Impossible raw values: quarantined from the publisher's file, refused in a table.

@integration
def test_sickness_rows_with_inf_impossible_negative_or_repeated_days_are_quarantined_and_listed(tmp_path):
    raw = tmp_path / "raw"
    sickness_file(raw / "sick.csv", [
        ("QOP", "R0A", "40", "1000"),          # row 2: plausible
        ("QOP", "R0B", "inf", "1000"),         # row 3: not finite
        ("QOP", "R0C", "9999999", "1000"),     # row 4: more days lost than available
        ("QOP", "R0D", "-5", "1000"),          # row 5: negative
        ("QOP", "R0E", "60", "2000"),          # row 6: plausible
        ("QOP", "R0E", "60", "2000"),          # row 7: the same row again
        ("QOP", "R0F", "10", "100"),           # row 8: the same organisation and month, different values
        ("QOP", "R0F", "20", "100"),           # row 9
    ])
    report = build.build(raw, tmp_path / "out")
    k = datastore.open_dataset(tmp_path / "out").table("kpi_observations").set_index("icb_code")
    assert k.loc["QOP", "value"] == pytest.approx(100 * (40 + 60) / (1000 + 2000))   # only the plausible rows
    notes = "\n".join(json.loads((tmp_path / "out" / "build_report.json").read_text())["notes"])
    assert notes == "\n".join(report.notes)
    for column, rule, rows in [("FTE_DAYS_LOST", "a finite number (not inf)", "row 3;"),
                               ("FTE_DAYS_LOST", "days lost no more than days available", "row 4;"),
                               ("FTE_DAYS_LOST", "zero or more", "row 5;"),
                               ("ORG_CODE", "one row per organisation and month", "row 7, 8, 9;")]:
        line = next((n for n in report.notes if f"rule '{rule}" in n and f"column '{column}'" in n), "")
        assert line.startswith("sick.csv: quarantined") and rows in line, (rule, report.notes)


@unit
def test_a_duplicated_row_in_a_processed_workforce_table_is_refused_on_open_naming_file_row_and_rule(tmp_path):
    wf = demo_table("workforce")
    folder = processed_folder(tmp_path / "p", {"workforce": pd.concat([wf, wf.iloc[[7]]], ignore_index=True)})
    with pytest.raises(schemas.TableValidationError) as err:
        datastore.open_dataset(folder).table("workforce")
    text = str(err.value)
    assert "workforce.parquet" in text and "no duplicate keys" in text
    assert "row 7:" in text and f"row {len(wf)}:" in text


@unit
def test_the_same_key_from_two_publications_is_not_a_duplicate():
    wf = demo_table("workforce").head(20)
    other = wf.assign(source="NHS Workforce Statistics, a later publication")
    assert len(schemas.validate("workforce", pd.concat([wf, other], ignore_index=True))) == 40


@unit
@pytest.mark.parametrize("numerator, denominator, value", [
    (np.inf, 1000.0, np.inf),            # inf days lost: "inf%"
    (7956.0, 1000.0, 795.6),             # more days lost than available: "795.6%"
    (np.nan, np.nan, np.inf),            # a value that is not finite
])
def test_an_impossible_rate_in_a_processed_kpi_table_is_refused_on_open(tmp_path, numerator, denominator, value):
    k = demo_table("kpi_observations")
    k["numerator"], k["denominator"] = np.nan, np.nan
    k.loc[4, ["numerator", "denominator", "value"]] = [numerator, denominator, value]
    folder = processed_folder(tmp_path / "p", {"kpi_observations": k})
    with pytest.raises(schemas.TableValidationError, match=r"(?s)kpi_observations\.parquet.*row 4:"):
        datastore.open_dataset(folder).table("kpi_observations")


@unit
def test_the_demo_tables_pass_the_plausibility_rules():
    for name in demo.DEMO_TABLES:
        assert len(schemas.validate(name, demo_table(name))) > 0


# 2. Files the command did not make are neither deleted nor overwritten.

@integration
def test_a_rebuild_refuses_a_processed_folder_holding_an_analysts_notes_and_leaves_them(tmp_path):
    raw, out = built(tmp_path)
    (out / "notes.txt").write_text("my notes")
    (out / "analysis").mkdir()
    (out / "analysis" / "draft.csv").write_text("a,b\n")
    with pytest.raises(build.BuildError, match=r"did not make \(analysis/, notes.txt\)"):
        build.build(raw, out)
    assert (out / "notes.txt").read_text() == "my notes" and (out / "analysis" / "draft.csv").exists()


@integration
def test_a_users_folder_named_like_the_swaps_old_folder_is_never_deleted(tmp_path):
    raw, out = built(tmp_path)
    mine = tmp_path / ".processed.old"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    with pytest.raises(build.BuildError, match=r"\.processed\.old is in the way"):
        build.build(raw, out)
    assert (mine / "keep.txt").read_text() == "mine" and (out / "datasets.json").exists()
    # the same name as the raw folder itself
    raw_old = tmp_path / "b" / ".processed.old"
    sickness_file(raw_old / "sick.csv", [("QOP", "R0A", "10", "100")])
    with pytest.raises(build.BuildError, match="in the way"):
        build.build(raw_old, tmp_path / "b" / "processed")
    assert (raw_old / "sick.csv").exists()


@unit
def test_a_folder_iwt_did_not_make_is_not_taken_for_a_half_swapped_build(tmp_path):
    mine = tmp_path / ".processed.old"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    with pytest.raises(FileNotFoundError, match="folder not found"):
        datastore.open_dataset(tmp_path / "processed")
    assert (mine / "keep.txt").read_text() == "mine" and not (tmp_path / "processed").exists()


@integration
def test_a_rebuild_keeps_the_output_folders_permissions(tmp_path):
    raw, out = built(tmp_path)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~atomic._umask()       # not mkdtemp's 0700
    out.chmod(0o750)
    build.build(raw, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o750


@integration
def test_data_demo_refuses_a_folder_holding_a_users_files_and_overwrites_nothing(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "workforce.csv").write_text("my own workforce figures\n")
    assert cli.main(["data", "demo", "--out", str(mine)]) == 2
    assert "did not make" in capsys.readouterr().err
    assert (mine / "workforce.csv").read_text() == "my own workforce figures\n" and len(list(mine.iterdir())) == 1
    assert cli.main(["data", "demo", "--out", str(tmp_path / "new")]) == 0
    assert cli.main(["data", "demo", "--out", str(tmp_path / "new")]) == 0     # its own folder again


@unit
def test_report_refuses_an_output_folder_holding_a_users_index_and_manifest(tmp_path, kernel_starts):
    mine = tmp_path / "site"
    mine.mkdir()
    (mine / "index.html").write_text("<p>my page</p>")
    (mine / "manifest.json").write_text('{"mine": true}')
    with pytest.raises(ValueError, match=r"holds files iwt report did not make \(index.html, manifest.json\)"):
        run_reports(icb="QOP", theme_spec="data", out_dir=mine, progress=False)
    assert (mine / "index.html").read_text() == "<p>my page</p>" and (mine / "manifest.json").read_text() == '{"mine": true}'
    assert kernel_starts == [] and sorted(p.name for p in mine.iterdir()) == ["index.html", "manifest.json"]


@unit
def test_the_projects_reports_folder_with_its_readme_counts_as_its_own_and_is_marked(tmp_path, monkeypatch):
    shipped = tmp_path / "reports"
    shipped.mkdir()
    (shipped / "README.md").write_text("Outputs of iwt report; not committed.\n")
    monkeypatch.setattr(paths, "REPORTS", shipped)
    out = runner.request("QOP", "data", None, None, None)[3]
    assert out == shipped and atomic.folder_maker(shipped) == runner.MARK
    assert (shipped / "README.md").read_text() == "Outputs of iwt report; not committed.\n"


# 3. A half-swapped processed folder is put right by the next report.

@unit
def test_a_half_swapped_processed_folder_is_recovered_by_the_next_report(tmp_path):
    processed = processed_folder(tmp_path / "processed", {"workforce": demo_table("workforce").head(10)})
    processed.rename(tmp_path / ".processed.old")               # a build killed between its two renames
    codes, _, data_path, _ = runner.request("QOP", "data", str(processed), str(tmp_path / "out"), None)
    assert data_path == processed and (processed / "workforce.parquet").exists()
    assert not (tmp_path / ".processed.old").exists()


# 4. The README's build step on a fresh clone: data/processed holds only its committed README.

@integration
def test_the_readmes_build_step_accepts_data_processed_holding_its_readme_and_keeps_it(tmp_path, monkeypatch):
    shipped = tmp_path / "data" / "processed"
    shipped.mkdir(parents=True)
    (shipped / "README.md").write_text("Built by `iwt data build`; not committed.\n")
    monkeypatch.setattr(paths, "PROCESSED", shipped)
    raw = tmp_path / "data" / "raw"
    sickness_file(raw / "sick.csv", [("QOP", "R0A", "10", "100")])
    build.build(raw, shipped)
    build.build(raw, shipped)
    assert (shipped / "README.md").read_text() == "Built by `iwt data build`; not committed.\n"
    assert (shipped / "datasets.json").exists()


# 5. Smaller probes.

@integration
def test_scenario_runs_above_the_readmes_100000_are_refused_before_any_work(tmp_path, capsys, monkeypatch):
    from iwt_helpers.analysis.scenarios import config

    def no_work(*args, **kw):
        raise AssertionError("the scenario file was read before --runs was checked")
    monkeypatch.setattr(config, "load", no_work)
    out = tmp_path / "s.csv"
    assert cli.main(["scenarios", "run", "--icb", "QOP", "--runs", "100001", "--out", str(out)]) == 2
    assert "--runs 100,001: expected a whole number of runs from 1 to 100,000" in capsys.readouterr().err
    assert not out.exists()


@unit
def test_report_parameter_values_are_checked_before_any_kernel_starts(tmp_path, kernel_starts):
    with pytest.raises(ParameterError, match=r"^-p scenarios\.n_runs: n_runs 0: expected a whole number of runs from 1 to 100,000$"):
        run_reports(icb="QOP", theme_spec="all", out_dir=tmp_path / "out", progress=False,
                    parameters={"scenarios.n_runs": 0})
    assert kernel_starts == [] and not (tmp_path / "out").exists()


@unit
def test_a_malformed_csv_row_names_the_file_and_line(tmp_path):
    f = tmp_path / "sick.csv"
    f.write_text("a,b\n1,2\n1,2,3\n")
    with pytest.raises(_read.SourceError, match=rf"{f}: line 3: not a well-formed CSV row"):
        _read.read_csv(f)


@integration
@pytest.mark.parametrize("column, value, expected", [
    ("Hire Date", "2030-01-01", "a start date after the snapshot date"),
    ("Termination Date", "1990-01-01", "a leaving date before the start date"),
])
def test_an_extract_hire_after_the_snapshot_or_leaving_before_hiring_is_refused(tmp_path, monkeypatch, column, value,
                                                                               expected):
    monkeypatch.setenv(disclosure.KEY_ENV, "test-key-0123456789abcdef")
    files = extract_demo.write_demo(tmp_path / "in", records=500)
    f = files["esr_2024-03-31"]
    df = pd.read_csv(f, dtype=str, keep_default_na=False)
    df.loc[5, column] = value                      # row 7 of the file (the header is row 1)
    df.to_csv(f, index=False)
    with pytest.raises(extract_load.ExtractError) as err:
        extract_write.load_to_folder([f, files["esr_2025-03-31"]], files["mapping"], tmp_path / "out")
    msg = str(err.value)
    assert str(f) in msg and f"column '{column}'" in msg and "row 7 " in msg and expected in msg
    assert value not in msg and not (tmp_path / "out").exists()


@integration                 # starts a process and runs the report runner up to its parameter check
def test_the_next_run_removes_kernel_folders_of_dead_runs_and_rebuilds_a_stale_manifest(tmp_path, kernel_starts):
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()                                            # a pid that no longer runs
    dead = Path(tempfile.mkdtemp(prefix=engine.KERNEL_DIR_PREFIX))
    (dead / engine.OWNER).write_text(f"{ended.pid} 1\n")
    alive = Path(tempfile.mkdtemp(prefix=engine.KERNEL_DIR_PREFIX))
    (alive / engine.OWNER).write_text(f"{os.getppid()} {engine._start_time(os.getppid()) or ''}\n")
    out = tmp_path / "out"
    (out / "QOP").mkdir(parents=True)
    atomic.mark_folder(out, runner.MARK)
    (out / "manifest.json").write_text(json.dumps({"tool": "iwt", "reports": {}}))
    os.utime(out / "manifest.json", (1, 1))                 # written before the killed run's last report
    for f in ("data.ipynb", "data.html"):
        (out / "QOP" / f).write_text("x")
    (out / "QOP" / "data.json").write_text(json.dumps({
        "icb_code": "QOP", "theme": "data", "status": "ok", "icb_label": "Greater Manchester", "region": "North West",
        "outputs": {"QOP/data.ipynb": "h", "QOP/data.html": "h"}}))
    try:
        with pytest.raises(ValueError, match="'colour' is not a parameter"):   # refused after the lock is taken
            run_reports(icb="QOP", theme_spec="data", out_dir=out, progress=False, parameters={"colour": "red"})
        assert not dead.exists() and alive.exists()
        assert list(json.loads((out / "manifest.json").read_text())["reports"]) == ["QOP/data"]
    finally:
        atomic.shutil.rmtree(alive, ignore_errors=True)
        atomic.shutil.rmtree(dead, ignore_errors=True)


@integration
def test_each_kernel_folder_records_the_process_that_made_it(tmp_path):
    import asyncio

    async def start_and_stop():
        w = engine.Worker(fresh=True)
        await w.start(tmp_path)
        try:
            return (Path(w.ipc_dir) / engine.OWNER).read_text().split()
        finally:
            await w.stop()
    pid, started = asyncio.run(start_and_stop())
    assert int(pid) == os.getpid() and started == engine._start_time(os.getpid())


@integration
def test_quarantined_rows_are_listed_in_the_data_reports_quality_section(tmp_path):
    from iwt_helpers.present.items import Table
    from iwt_helpers.themes import data as data_theme
    from iwt_helpers.themes.params import ReportParams
    raw = tmp_path / "raw"
    sickness_file(raw / "sick.csv", [("QOP", "R0A", "40", "1000"), ("QOP", "R0B", "inf", "1000")])
    build.build(raw, tmp_path / "out")
    params = ReportParams.parse(icb_code="QOP", data_dir=str(tmp_path / "out"))
    ctx = data_theme.DataContext.load(datastore.open_dataset(params.data_dir), params)
    shown = [i for i in data_theme.quality_section(ctx)("QOP") if isinstance(i, Table) and i.key == "quarantined_rows"]
    assert len(shown) == 1 and "sick.csv: quarantined 1 row(s)" in shown[0].df["note"].iloc[0]
