"""Benchmark of the scenario model: 1,000 Monte Carlo runs for all 42 ICBs x every sector and
staff group x 15 years, on the embedded demo data (the issue's target: under 5 seconds).

Prints, for each of several repeats: the simulation alone, and the simulation with the p10/p50/p90
table the CLI writes (cells, sector totals and whole-system totals). Then times the whole CLI job
(issue #29, goal 5 s), as a user runs it, in a new process each time:
    iwt scenarios run --icb all --scenario all --runs 1000 --out <temporary>.csv
with its wall time and peak resident memory (the job's process, from os.wait4), median and range of
``--cli-repeats`` runs. Run:
    .venv/bin/python benchmarks/bench_scenarios.py [--runs 1000] [--repeats 3] [--scenario baseline]
        [--cli-repeats 3] [--cli-format csv|parquet] [--cli-only]
Asserts nothing; exits non-zero only when the CLI job fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from iwt_helpers.analysis import scenarios as sa
from iwt_helpers.analysis.params import ReportParams
from iwt_helpers.analysis.scenarios import config, inputs, summary
from iwt_helpers.analysis.system_data import SystemData
from iwt_helpers.data.datastore import open_dataset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scenario", default="baseline")
    ap.add_argument("--cli-repeats", type=int, default=3, help="runs of the whole CLI job (0: none)")
    ap.add_argument("--cli-format", choices=("csv", "parquet"), default="csv", help="the CLI job's --out format")
    ap.add_argument("--cli-only", action="store_true", help="time the CLI job only")
    args = ap.parse_args()
    if not args.cli_only:
        model(args)
    if args.cli_repeats > 0:
        sys.exit(cli_job(args.runs, args.cli_repeats, args.cli_format))


def model(args: argparse.Namespace) -> None:
    """The model in this process: simulation, and simulation with percentiles."""
    t0 = time.perf_counter()
    ctx = SystemData.load(open_dataset(None), ReportParams.parse(icb_code="QOP"))
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


def cli_job(runs: int, repeats: int, fmt: str) -> int:
    """Run the CLI job ``repeats`` times in new processes; print wall time and peak memory of each and
    their median and range; 1 if a run failed."""
    iwt = Path(sys.executable).parent / "iwt"
    walls, peaks = [], []
    with tempfile.TemporaryDirectory(prefix="iwt-bench-scenarios-") as tmp:
        out = Path(tmp) / f"projections.{fmt}"
        argv = [str(iwt), "scenarios", "run", "--icb", "all", "--scenario", "all", "--runs", str(runs), "--out", str(out)]
        print(f"whole CLI job, a new process each time: iwt {' '.join(argv[1:-1])} <tmp>.{fmt}")
        for i in range(repeats):
            load = os.getloadavg()[0]
            t = time.perf_counter()
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            log = proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)            # this process's own peak, not the largest child so far
            wall = time.perf_counter() - t
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                print(f"the CLI job failed (exit {proc.returncode}):\n{log}", file=sys.stderr)
                return 1
            walls.append(wall)
            peaks.append(usage.ru_maxrss / 1024 ** 2)        # kB on Linux
            said = next((line for line in log.splitlines() if line.startswith("wrote ")), "").rsplit("; ", 1)[-1]
            print(f"run {i + 1}: wall {wall:.2f} s (the command's own figure: {said}), peak memory {peaks[-1]:.2f} GB, "
                  f"user+system CPU {usage.ru_utime + usage.ru_stime:.1f} s, load average {load:.2f}, "
                  f"output {out.stat().st_size / 1024 ** 2:.1f} MB")
    print(f"median of {repeats}: iwt scenarios run --icb all --scenario all --runs {runs:,}: wall "
          f"{statistics.median(walls):.2f} s (range {min(walls):.2f}-{max(walls):.2f}; goal 5 s), peak memory "
          f"{statistics.median(peaks):.2f} GB (range {min(peaks):.2f}-{max(peaks):.2f}); {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    main()
