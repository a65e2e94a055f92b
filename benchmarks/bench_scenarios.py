"""Benchmark of the scenario model: 1,000 Monte Carlo runs for all 42 ICBs x every sector and
staff group x 15 years, on the embedded demo data (the issue's target: under 5 seconds).

Prints, for each of several repeats: the simulation alone, and the simulation with the p10/p50/p90
table the CLI writes (cells, sector totals and whole-system totals). Run:
    .venv/bin/python benchmarks/bench_scenarios.py [--runs 1000] [--repeats 3] [--scenario baseline]
"""

from __future__ import annotations

import argparse
import statistics
import time

from iwt_helpers.analysis import scenarios as sa
from iwt_helpers.analysis.scenarios import config, inputs, summary
from iwt_helpers.data.datastore import open_dataset
from iwt_helpers.themes import data as data_theme
from iwt_helpers.themes.params import ReportParams


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scenario", default="baseline")
    args = ap.parse_args()

    t0 = time.perf_counter()
    ctx = data_theme.DataContext.load(open_dataset(None), ReportParams.parse(icb_code="QOP"))
    f = config.load()
    inp = inputs.build(ctx.t, ctx.snapshot, f.horizon_years, ensure=f.receiving_cells())
    setup = time.perf_counter() - t0
    sc = f.get(args.scenario)
    print(f"inputs: {len(inp.icbs)} ICBs, {len(inp.cells):,} ICB x sector x staff group cells, "
          f"{inp.horizon} years ({inp.base_year}-{inp.base_year + inp.horizon}); built in {setup:.2f} s")
    sims, totals = [], []
    for i in range(args.repeats):
        t = time.perf_counter()
        run = sa.run(inp, sc, args.runs, seed=i)
        t_sim = time.perf_counter() - t
        table = summary.percentiles(run)
        t_all = time.perf_counter() - t
        sims.append(t_sim)
        totals.append(t_all)
        print(f"repeat {i + 1}: simulate {t_sim:.2f} s; with percentiles ({len(table):,} rows) {t_all:.2f} s")
    print(f"median: {args.runs:,} runs x {len(inp.cells):,} cells x {inp.horizon} years ({args.scenario}): "
          f"simulate {statistics.median(sims):.2f} s, simulate + percentiles {statistics.median(totals):.2f} s (target < 5 s)")


if __name__ == "__main__":
    main()
