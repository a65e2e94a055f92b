"""The scenarios theme end to end: `iwt scenarios run` writes the projection table, the report command
writes the scenarios report for three ICBs, and the two agree figure for figure."""

from __future__ import annotations

import re
import subprocess
import sys

import pandas as pd
import pytest

from iwt_helpers import cli
from iwt_helpers.report import outputs, run_reports

ICBS = ("QOC", "QE1", "QOP")


@pytest.fixture(scope="module")
def projections(tmp_path_factory):
    out = tmp_path_factory.mktemp("proj") / "projections.parquet"
    assert cli.main(["scenarios", "run", "--icb", ",".join(ICBS), "--scenario", "all", "--runs", "1000",
                     "--seed", "2022", "--out", str(out)]) == 0
    return pd.read_parquet(out)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = tmp_path_factory.mktemp("scenario-reports")
    s = run_reports(icb=",".join(ICBS), theme_spec="scenarios", out_dir=out, jobs=2, progress=False)
    assert s.exit_code == 0, s.failed
    found = {icb: outputs.collect(outputs.read_notebook(out / icb / "scenarios.ipynb")) for icb in ICBS}
    return out, found


@pytest.mark.integration
def test_the_cli_writes_every_icb_scenario_year_sector_and_staff_group_with_ordered_percentiles(projections):
    p = projections
    assert list(p.columns) == ["icb_code", "scenario", "year", "sector", "staff_group", "measure", "p10", "p50", "p90"]
    assert set(p["icb_code"]) == set(ICBS)
    assert {"baseline", "pay_parity", "retention", "new_roles", "hospital_to_home", "combined"} <= set(p["scenario"])
    assert sorted(p["year"].unique()) == list(range(2024, 2040))
    assert set(p["measure"]) == {"supply", "demand", "gap"}
    assert ((p["p10"] <= p["p50"] + 1e-6) & (p["p50"] <= p["p90"] + 1e-6)).all()
    whole = p[(p["sector"] == "all") & (p["staff_group"] == "all")].pivot_table(
        index=["icb_code", "scenario", "year"], columns="measure", values="p50")
    assert (whole["demand"] > whole["supply"]).all()


@pytest.mark.integration
def test_the_cli_refuses_an_unknown_scenario_and_a_bad_scenario_file_naming_them(tmp_path):
    r = subprocess.run([sys.executable, "-m", "iwt_helpers.cli", "scenarios", "run", "--scenario", "utopia",
                        "--out", str(tmp_path / "x.csv")], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown scenario 'utopia'" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "s.yaml"
    from iwt_helpers import paths
    bad.write_text(paths.reference("scenarios.yaml").read_text().replace("range: [0.10, 0.20]", "range: [0.20, 0.10]", 1))
    r = subprocess.run([sys.executable, "-m", "iwt_helpers.cli", "scenarios", "run", "--file", str(bad), "--icb", "QOP",
                        "--out", str(tmp_path / "x.csv")], capture_output=True, text=True)
    assert r.returncode == 2 and str(bad) in r.stderr and "scenario 'retention'" in r.stderr
    assert "key 'levers.retention.leaving_reduction': low 0.2 is above high 0.1" in r.stderr
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.e2e
@pytest.mark.parametrize("icb", ICBS)
def test_the_report_states_the_gap_the_cli_computes_with_its_range(reports, projections, icb):
    out, found = reports
    html = (out / icb / "scenarios.html").read_text()
    m = re.search(r'class="iwt-headline" data-gap="(-?\d+)"', html)
    assert m, "the headline sentence is in the report"
    cli_gap = projections.query("icb_code == @icb and scenario == 'baseline' and year == 2039 and sector == 'all' "
                                "and measure == 'gap'")["p50"].iloc[0]
    assert float(m.group(1)) == pytest.approx(cli_gap, abs=1.0)
    heads = {h["name"]: h for h in found[icb]["headlines"]}
    head = heads["Illustrative gap in 2039, FTE (Baseline, median; partly synthetic inputs)"]
    assert head["value"] == pytest.approx(cli_gap, abs=1.0)
    assert head["provenance"]["status"] == "mixed" and "population" in head["provenance"]["detail"]


@pytest.mark.e2e
@pytest.mark.parametrize("icb", ICBS)
def test_the_board_comparison_has_every_scenario_at_5_10_and_15_years_and_matches_the_cli(reports, projections, icb):
    _, found = reports
    t = {x["name"]: x for x in found[icb]["tables"]}["comparison"]
    comp = pd.DataFrame(t["table"]["data"], columns=t["table"]["columns"])
    assert len(comp) == 7 * 3
    assert set(comp["Years ahead"]) == {5, 10, 15}
    row = comp[(comp["Scenario"] == "Improved retention") & (comp["Years ahead"] == 10)].iloc[0]
    cli_gap = projections.query("icb_code == @icb and scenario == 'retention' and year == 2034 and sector == 'all' "
                                "and measure == 'gap'")["p50"].iloc[0]
    assert row["Gap, median"] == pytest.approx(cli_gap, abs=1.0)
    assert t["provenance"]["status"] == "mixed"


@pytest.mark.e2e
def test_the_waterfall_adds_up_and_every_figure_says_it_is_partly_synthetic(reports):
    out, found = reports
    t = {x["name"]: x for x in found["QOP"]["tables"]}["waterfall"]
    w = pd.DataFrame(t["table"]["data"], columns=t["table"]["columns"]).set_index("Part")
    parts = w["Whole system"]
    assert parts.iloc[:-1].sum() == pytest.approx(parts.iloc[-1], abs=1.0)
    html = (out / "QOP" / "scenarios.html").read_text()
    assert html.count("PARTLY SYNTHETIC DEMONSTRATION DATA") >= 5
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?://', html), "the report loads nothing from the network"


@pytest.mark.e2e
def test_papermill_parameters_choose_the_scenario_and_the_runs(tmp_path):
    s = run_reports(icb="QOP", theme_spec="scenarios", out_dir=tmp_path, jobs=1, progress=False,
                    parameters={"scenarios.scenario": "retention", "scenarios.n_runs": 200})
    assert s.exit_code == 0, s.failed
    found = outputs.collect(outputs.read_notebook(tmp_path / "QOP" / "scenarios.ipynb"))
    assert "Illustrative gap in 2039, FTE (Improved retention, median; partly synthetic inputs)" in {
        h["name"] for h in found["headlines"]}
    assert "median of 200 runs" in (tmp_path / "QOP" / "scenarios.html").read_text()
    from iwt_helpers.themes.params import ParameterError
    with pytest.raises(ParameterError, match="unknown scenario 'utopia'"):     # refused before any kernel starts
        run_reports(icb="QOP", theme_spec="scenarios", out_dir=tmp_path / "bad", jobs=1, progress=False,
                    parameters={"scenarios.scenario": "utopia"})
    assert not (tmp_path / "bad" / "QOP").exists()


@pytest.mark.e2e
def test_the_unpaid_care_sensitivity_is_real_census_data_and_matches_the_model(reports):
    import openpyxl
    wb = openpyxl.load_workbook(reports[0] / "QE1" / "tables.xlsx", read_only=True)
    assert {"comparison", "carers_sensitivity", "by_year"} <= set(wb.sheetnames)
    assert not any(n.endswith(("~2", "~3")) for n in wb.sheetnames), wb.sheetnames
    from iwt_helpers.analysis.scenarios import config, summary
    from iwt_helpers.data.datastore import open_dataset
    _, found = reports
    t = {x["name"]: x for x in found["QE1"]["tables"]}["carers_sensitivity"]
    rows = pd.DataFrame(t["table"]["data"], columns=t["table"]["columns"]).set_index("Measure")
    assert t["provenance"]["status"] == "modelled" and "Census 2021" in t["provenance"]["source"]   # a model result on Census counts
    res = summary.carers_sensitivity(open_dataset(None).table("unpaid_care"), "QE1", config.load().carers, 1000, 2022)
    assert rows.loc["Paid care needed (FTE)", "Median"] == pytest.approx(res["fte"]["p50"], abs=1.0)
    assert res["fte"]["p50"] > 100


@pytest.mark.integration
def test_the_cli_job_loads_neither_the_app_nor_the_notebook_machinery(tmp_path):
    out = tmp_path / "p.csv"
    code = ("import sys; from iwt_helpers import cli; "
            f"rc = cli.main(['scenarios', 'run', '--icb', 'QOP', '--scenario', 'baseline,pay_parity', '--runs', '20', '--out', {str(out)!r}]); "
            "heavy = ('iwt_helpers.app.server', 'iwt_helpers.present.explorer', 'ipywidgets', 'matplotlib', 'nbformat', 'jupyter_client'); "
            "print(rc, sorted(m for m in heavy if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip().splitlines()[-1] == "0 []", r.stdout + r.stderr
    assert list(pd.read_csv(out)["scenario"].unique()) == ["baseline", "pay_parity"]


@pytest.mark.e2e
def test_the_base_year_shows_the_models_moves_and_a_status_per_part_and_the_caveat_names_a_real_sheet(reports):
    import openpyxl
    out, found = reports
    t = {x["name"]: x for x in found["QOP"]["tables"]}["base_year"]
    base = pd.DataFrame(t["table"]["data"], columns=t["table"]["columns"]).set_index("Sector")
    nhs = base.loc["NHS trusts"]
    assert nhs["Moving to the other sector, % a year"] > 0        # nhs_leavers_to_social_care, not 0
    status = nhs["Real, synthetic or assumed, by part"]
    assert "staff in post" in status and "vacancy rate synthetic" in status and "moving to the other sector assumption" in status
    html = (out / "QOP" / "scenarios.html").read_text()
    sheet = re.search(r"tables\.xlsx \(sheet ([A-Za-z_]+)\)", html).group(1)
    assert sheet in openpyxl.load_workbook(out / "QOP" / "tables.xlsx", read_only=True).sheetnames
    # the services-by-age table names each of its sources once
    src = re.search(r"Source: (iwt assumption; see basis;[^.]*)\.", html).group(1)
    parts = [x.strip() for x in src.split(";")]
    assert len(parts) == len(set(parts)), src


@pytest.mark.e2e
def test_beside_the_headline_the_gap_at_each_end_of_need_beyond_demography_and_the_back_test(reports):
    out, found = reports
    t = {x["name"]: x for x in found["QOP"]["tables"]}["gap_by_need_growth"]
    held = pd.DataFrame(t["table"]["data"], columns=t["table"]["columns"])
    assert len(held) == 4 and held.iloc[:, 0].str.startswith("0% a year").iloc[0]
    assert held["Gap, NHS trusts and general practice (median)"].is_monotonic_increasing
    assert held["Gap, whole system (median)"].is_monotonic_increasing
    html = (out / "QOP" / "scenarios.html").read_text()
    line = re.search(r"Back-test \(section 7\): [^<]*", html).group(0)
    bt = {x["name"]: x for x in found["QOP"]["tables"]}["backtest_by_icb"]
    every = pd.DataFrame(bt["table"]["data"], columns=bt["table"]["columns"])
    nhs = every[every["Part"].str.startswith("NHS trusts")]
    assert f"in {int((nhs['Error, %'] < 0).sum())} of {len(nhs)} ICBs" in line
    mine = nhs[nhs["ICB code"] == "QOP"].iloc[0]
    assert f"Greater Manchester's was {abs(mine['Error, %']):.1f}% {'below' if mine['Error, %'] < 0 else 'above'}" in line
    assert ("inside its range" if mine["Published inside the range"] == "yes" else "outside its range") in line


@pytest.fixture(scope="module")
def health_real():
    """The demo's scenarios context for QOP with NHS trusts and general practice marked as published (as on
    the real files): the page must not rank them against the synthetic social care sectors."""
    from iwt_helpers.data.datastore import open_dataset
    from iwt_helpers.themes import scenarios as theme
    from iwt_helpers.themes.params import ReportParams
    ctx = theme.ScenarioContext.load(open_dataset(None), ReportParams.parse(icb_code="QOP", n_runs=60))
    c = ctx.inputs("QOP").cells
    c.loc[c["family"] == "health", ["stock_synthetic", "rates_synthetic"]] = False
    return theme, ctx


@pytest.mark.integration
def test_where_health_is_published_and_social_care_synthetic_no_title_ranks_them_and_levers_say_what_they_rest_on(health_real):
    theme, ctx = health_real
    title = theme.sector_section(ctx)("QOP")[0].fig.get_suptitle()
    assert title.startswith("Gap by sector in") and "largest" not in title and "synthetic" in title
    fam = [i for i in theme.summary_section(ctx)("QOP") if hasattr(i, "fig")][-1].fig.get_suptitle()
    assert fam.startswith("Gap by part of the system") and "carries" not in fam
    assert theme._lever_inputs(ctx, "QOP", "pay_parity") == "synthetic"       # synthetic pay and care workers' rates
    assert theme._lever_inputs(ctx, "QOP", "productivity") == ""              # NHS and general practice only
    assert theme._lever_inputs(ctx, "QOP", "combined") == "partly"
    assert theme._lever_inputs(ctx, "QOP", "baseline") == ""
    notes = " ".join(theme.caveats(ctx, "QOP"))
    assert "The gaps of adult social care rest on synthetic" in notes and "Its gaps are then illustrations" not in notes


@pytest.fixture(scope="module")
def split_sentence(health_real):
    """QOP's sentence splitting the health gap into its parts, and the health waterfall's parts (FTE) it
    reads, at the horizon."""
    from iwt_helpers.analysis import measures
    from iwt_helpers.analysis.scenarios import summary
    theme, ctx = health_real
    run = ctx.run("QOP")
    text = theme._real_and_synthetic_gap(ctx, "QOP", run, run.inputs.horizon)
    return text, summary.waterfall(measures.median_runs(run, "QOP"), "QOP", "health").set_index("part")["fte"]


@pytest.mark.integration
def test_the_split_sentence_gives_the_need_beyond_demography_part_from_the_waterfall(split_sentence):
    text, w = split_sentence
    assert f"adds about {w['demand_need']:,.0f} FTE" in text
    assert "projected from published staff numbers and rates" not in text
    assert "With no growth in need beyond demography" in text


@pytest.mark.integration
def test_the_split_sentence_adds_up_the_health_gap_from_the_waterfalls_parts_and_titles_name_what_it_rests_on(
        health_real, split_sentence):
    theme, ctx = health_real
    text, w = split_sentence
    flows = w[["leavers", "leaving_avoided", "joiners", "joiners_new_roles", "moves"]].sum()
    total = w[["base_gap", "demand_population", "demand_need", "demand_levers"]].sum() + flows
    assert f"{w['base_gap']:,.0f} (posts vacant in the base year" in text
    assert f"{'−' if flows < 0 else '+'} {abs(flows):,.0f} (staff flows" in text
    assert f"= <strong>{total:,.0f} FTE</strong>" in text
    assert "published staff in post and leaving rates" not in text
    fam = " ".join([i for i in theme.summary_section(ctx)("QOP") if hasattr(i, "fig")][-1].fig.get_suptitle().split())
    assert "leaving rates" not in fam and "assumed growth in need beyond demography" in fam


@pytest.mark.integration
def test_the_headline_names_the_widest_tornado_bar_and_the_tornado_draws_no_bar_held_at_zero(health_real):
    theme, ctx = health_real
    t, flat, _ = theme._tornado(ctx, "QOP")
    top = t.iloc[0]
    line = theme._driver_line(ctx, "QOP", ctx.inputs("QOP").base_year + ctx.inputs("QOP").horizon)
    assert f"a swing of {top['swing']:,.0f} FTE" in line and top["swing"] == t["swing"].max()
    assert "local_net_growth_sd" in set(flat["key"]) and "local_net_growth_sd" not in set(t["key"])
    items = theme.tornado_section(ctx)("QOP")
    assert any("held at 0" in getattr(i, "markdown", "") for i in items)
    title = " ".join(items[0].fig.get_suptitle().split())
    assert "england's" not in title and "nhs" not in title


@pytest.mark.unit
def test_a_label_inside_a_sentence_keeps_its_names_and_abbreviations():
    from iwt_helpers.themes import scenarios as theme
    assert theme._lower_first("England's NHS trust growth") == "England's NHS trust growth"
    assert theme._lower_first("NHS leavers moving to social care") == "NHS leavers moving to social care"
    assert theme._lower_first("Health need beyond demography") == "health need beyond demography"


@pytest.mark.integration
def test_contexts_over_the_same_data_share_the_england_run_and_a_new_seed_or_data_folder_does_not(tmp_path):
    """A warm kernel makes a new context for each report: what is the same for every ICB (the England inputs,
    baseline, validation and back-test) is kept across them, keyed by the data, scenario file, runs and seed."""
    import json
    import os

    from iwt_helpers.data import datastore
    from iwt_helpers.themes import scenarios as theme
    from iwt_helpers.themes.params import ReportParams

    def ctx(data_dir="", seed=7):
        return theme.ScenarioContext.load(datastore.open_dataset(data_dir or None),
                                          ReportParams.parse(icb_code="QOP", data_dir=str(data_dir), n_runs=12, seed=seed))
    a, b = ctx("", 7), ctx("", 7)
    assert b.england() is a.england() and b.england_inputs() is a.england_inputs()
    v = theme.validation_section(a)("QOP")
    assert b.shared(("validation",), lambda: pytest.fail("computed again")) is a.shared(("validation",), dict)
    assert theme.validation_section(b)("QOP")[1].df.equals(v[1].df)
    # b read no table for them, yet its data set lists the same tables as a's (the provenance of its report)
    assert b.ds.provenance().equals(a.ds.provenance())
    assert ctx("", 8).england() is not a.england()                      # another seed
    (tmp_path / "datasets.json").write_text(json.dumps({"dataset": datastore.PROCESSED_MARK, "tables": {}}))
    other = ctx(tmp_path, 7)                                              # another data folder (every table from the demo)
    assert other.england() is not a.england()
    assert other.england().supply.shape == a.england().supply.shape
    assert len(theme._SHARED) <= theme.SHARED_KEPT
    table = tmp_path / "build_report.json"                                # a file of the folder written again: a new key
    table.write_text("{}")
    before = ctx(tmp_path, 7)._shared_key()
    os.utime(table, ns=(table.stat().st_atime_ns, table.stat().st_mtime_ns + 1_000_000))
    assert ctx(tmp_path, 7)._shared_key() != before


@pytest.mark.integration
def test_need_held_shares_the_common_part_and_gives_what_building_it_afresh_gives():
    """The gap with need beyond demography held (``sensitivity.held_at``) builds the common part once and only
    the demand for each other value (``Common.with_need``): the same arrays, bit for bit, as building it from
    those draws; draws differing elsewhere are refused."""
    import dataclasses

    import numpy as np

    from iwt_helpers.analysis.scenarios import config, model, sensitivity
    from iwt_helpers.data import datastore
    from iwt_helpers.themes import scenarios as theme
    from iwt_helpers.themes.params import ReportParams

    ctx = theme.ScenarioContext.load(datastore.open_dataset(None), ReportParams.parse(icb_code="QOP", n_runs=40, seed=3))
    inp, sc = ctx.inputs("QOP"), ctx.file.get("baseline")
    d = config.draws(sc, 40, 3, {"nhs_leaving_rate": 0.07})
    common = model.Common.build(inp, sc, d)
    for v in (0.0, 0.02):
        dv = {**d, "need_growth_health": np.full_like(d["need_growth_health"], v)}
        a, b = model.Common.build(inp, sc, dv), common.with_need(dv)
        for f in dataclasses.fields(a):
            x = getattr(a, f.name)
            if isinstance(x, np.ndarray):
                assert x.dtype == getattr(b, f.name).dtype and x.tobytes() == getattr(b, f.name).tobytes(), f.name
    with pytest.raises(ValueError, match="nhs_leaving_rate"):
        common.with_need({**d, "nhs_leaving_rate": d["nhs_leaving_rate"] + 0.01})
    m = (inp.cells["icb_code"] == "QOP").to_numpy()
    values = {"none": 0.0, "high": 0.03}
    got = sensitivity.held_at(inp, sc, "need_growth_health", values, {"all": m}, 40, 3, {"nhs_leaving_rate": 0.07})
    for name, value in values.items():                       # each value simulated on its own, from scratch
        dv = config.draws(sc, 40, 3, {"nhs_leaving_rate": 0.07})
        dv["need_growth_health"] = np.full_like(dv["need_growth_health"], value)
        run = model.simulate(inp, sc, dv, 3, flows=False)
        gap = run.demand[:, m, -1].sum(axis=1, dtype=np.float64) - run.supply[:, m, -1].sum(axis=1, dtype=np.float64)
        row = got[got["name"] == name].iloc[0]
        assert [row["p10"], row["p50"], row["p90"]] == list(np.quantile(gap, (0.1, 0.5, 0.9)))
    # given the common part of the scenario's own runs, it starts from it (need alone differs): the same table
    shared = sensitivity.held_at(inp, sc, "need_growth_health", values, {"all": m}, 40, 3, {"nhs_leaving_rate": 0.07},
                                 common=common)
    pd.testing.assert_frame_equal(shared, got, check_exact=True)
    other = model.Common.build(inp, sc, config.draws(sc, 40, 3, {"nhs_leaving_rate": 0.09}))   # drawn otherwise
    pd.testing.assert_frame_equal(sensitivity.held_at(inp, sc, "need_growth_health", values, {"all": m}, 40, 3,
                                                      {"nhs_leaving_rate": 0.07}, common=other), got, check_exact=True)


@pytest.mark.integration
def test_sections_no_slider_or_scenario_reaches_are_redrawn_for_the_icb_only():
    """The validation, back-test and unpaid-care sections depend on the ICB alone: a slider or the scenario
    picker does not redraw them; the sections a slider moves depend on every control."""
    from iwt_helpers.data import datastore
    from iwt_helpers.themes import scenarios as theme
    from iwt_helpers.themes.params import ReportParams

    ctx = theme.ScenarioContext.load(datastore.open_dataset(None), ReportParams.parse(icb_code="QOP", n_runs=12))
    for section in (theme.validation_section, theme.backtest_section, theme.carers_section):
        assert section(ctx).depends_on == frozenset({"icb_code"})
    for section in (theme.summary_section, theme.sector_section, theme.drivers_section, theme.comparison_section,
                    theme.tornado_section, theme.assumptions_section):
        assert getattr(section(ctx), "depends_on", None) is None


@pytest.mark.integration
def test_the_sector_table_and_the_export_read_one_set_of_percentiles_the_same_as_computing_each():
    from iwt_helpers.analysis.scenarios import summary
    from iwt_helpers.data import datastore
    from iwt_helpers.themes import scenarios as theme
    from iwt_helpers.themes.params import ReportParams

    ctx = theme.ScenarioContext.load(datastore.open_dataset(None), ReportParams.parse(icb_code="QOP", n_runs=12))
    run = ctx.run("QOP")
    for levels in (("staff_group", "sector"), ("staff_group", "sector", "icb")):
        assert theme._percentiles(ctx, "QOP", levels).equals(summary.percentiles(run, levels))
    assert theme._percentiles(ctx, "QOP").equals(summary.percentiles(run))
