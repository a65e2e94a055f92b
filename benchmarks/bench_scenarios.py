"""Benchmark of the scenario model: 1,000 Monte Carlo runs for all 42 ICBs x every sector and
staff group x 15 years, on the embedded demo data (the issue's target: under 5 seconds).

Times the whole CLI job (issue #29, goal 5 s), as a user runs it, in a new process each time:
    iwt scenarios run --icb all --scenario all --runs 1000 --out <temporary>.csv
with its wall time, CPU time (its processes', from os.wait4) and peak resident memory (the job's own
process, from os.wait4, and of all its processes together: the job shares the ICBs out between
processes forked from it, whose resident memory is sampled from /proc every 0.1 s and summed; pages
they share are counted in each), median and range of ``--cli-repeats`` runs; then prints, for each of
several repeats, the simulation alone and the simulation with the p10/p50/p90 table the CLI writes
(cells, sector totals and whole-system totals), in this process.
The CLI job runs first: a process started from this one once it holds a model run would report this one's
memory as its peak (Linux counts the parent's resident memory at the start in the child's peak). Run:
    .venv/bin/python benchmarks/bench_scenarios.py [--runs 1000] [--repeats 3] [--scenario baseline]
        [--cli-repeats 3] [--cli-format csv|parquet] [--cli-only] [--controls] [--moves 6]
``--controls`` times instead the in-kernel redraw of every control of the scenarios notebook
(notebooks/05_scenarios.ipynb, demo data, its default ICB), through the notebook's own render path: its
code cells run in this process with the explorer interactive (ipywidgets without a browser), then each
control (the ICB picker, the scenario picker, each slider) is moved ``--moves`` times, each move to
another value, the last back to its starting value; each move's wall and CPU seconds of
``Explorer.redraw`` are printed, and their medians (issue #29: goal 0.5 s end to end).
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
    ap.add_argument("--controls", action="store_true", help="time the scenarios notebook's controls instead")
    ap.add_argument("--moves", type=int, default=6, help="--controls: moves of each control (default 6)")
    args = ap.parse_args()
    if args.controls:
        sys.exit(controls(args.moves))
    rc = cli_job(args.runs, args.cli_repeats, args.cli_format) if args.cli_repeats > 0 else 0   # first: see above
    if not args.cli_only:
        model(args)
    sys.exit(rc)


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
    walls, peaks, tree_peaks = [], [], []
    with tempfile.TemporaryDirectory(prefix="iwt-bench-scenarios-") as tmp:
        out = Path(tmp) / f"projections.{fmt}"
        argv = [str(iwt), "scenarios", "run", "--icb", "all", "--scenario", "all", "--runs", str(runs), "--out", str(out)]
        print(f"whole CLI job, a new process each time: iwt {' '.join(argv[1:-1])} <tmp>.{fmt}")
        for i in range(repeats):
            load = os.getloadavg()[0]
            t = time.perf_counter()
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            tree = _TreeMemory(proc.pid)
            log = proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)            # this process's own peak, not the largest child so far
            wall = time.perf_counter() - t
            tree.stop()
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                print(f"the CLI job failed (exit {proc.returncode}):\n{log}", file=sys.stderr)
                return 1
            walls.append(wall)
            peaks.append(usage.ru_maxrss / 1024 ** 2)        # kB on Linux
            tree_peaks.append(tree.peak / 1024 ** 3)
            said = next((line for line in log.splitlines() if line.startswith("wrote ")), "").rsplit("; ", 1)[-1]
            print(f"run {i + 1}: wall {wall:.2f} s (the command's own figure: {said}), peak memory {peaks[-1]:.2f} GB "
                  f"(all its processes together {tree_peaks[-1]:.2f} GB), "
                  f"user+system CPU {usage.ru_utime + usage.ru_stime:.1f} s, load average {load:.2f}, "
                  f"output {out.stat().st_size / 1024 ** 2:.1f} MB")
    print(f"median of {repeats}: iwt scenarios run --icb all --scenario all --runs {runs:,}: wall "
          f"{statistics.median(walls):.2f} s (range {min(walls):.2f}-{max(walls):.2f}; goal 5 s), peak memory "
          f"{statistics.median(peaks):.2f} GB (range {min(peaks):.2f}-{max(peaks):.2f}), all its processes together "
          f"{statistics.median(tree_peaks):.2f} GB (range {min(tree_peaks):.2f}-{max(tree_peaks):.2f}; goal 4 GB); "
          f"{os.cpu_count()} cores")
    return 0


class _TreeMemory:
    """The largest sum of resident memory (bytes) of a process and its descendants, sampled every 0.1 s
    from /proc in a thread until :meth:`stop`."""

    def __init__(self, pid: int) -> None:
        import threading
        self.pid, self.peak = pid, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._done.wait(0.1):
            parent: dict[int, int] = {}
            rss: dict[int, int] = {}
            for d in os.listdir("/proc"):
                if not d.isdigit():
                    continue
                try:
                    stat = Path(f"/proc/{d}/stat").read_text()
                    fields = stat[stat.rindex(")") + 2:].split()
                    parent[int(d)], rss[int(d)] = int(fields[1]), int(fields[21]) * page
                except (OSError, ValueError, IndexError):
                    continue
            tree, grew = {self.pid}, True
            while grew:
                more = {p for p, pp in parent.items() if pp in tree} - tree
                tree |= more
                grew = bool(more)
            self.peak = max(self.peak, sum(rss.get(p, 0) for p in tree))

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


ICB_MOVES = ("QE1", "QHM", "QOC", "QT1", "QWE", "QKK", "QJK", "QHG", "QT6")     # as bench_controls.py


def _values(widget, n: int, prefer: tuple = ()) -> list:
    """``n`` values for a control, each unlike the one before, the last its starting value."""
    start = widget.value
    if hasattr(widget, "options") and not hasattr(widget, "min"):
        values = [v for _, v in widget.options]
        others = [v for v in prefer if v in values and v != start] + [v for v in values if v != start and v not in prefer]
    else:
        lo, hi, step = widget.min, widget.max, widget.step or 1
        spots = (lo, hi, lo + (hi - lo) / 2, lo + (hi - lo) / 4, hi - (hi - lo) / 4, lo + (hi - lo) / 8, hi - (hi - lo) / 8)
        others = list(dict.fromkeys(v for v in (round(lo + round((x - lo) / step) * step, 10) for x in spots) if v != start))
    return [*(others[i % len(others)] for i in range(n - 1)), start] if others else []


def controls(moves: int) -> int:
    """Run the scenarios notebook's code cells here with an interactive explorer, then move each control."""
    import contextlib
    import io
    import json as json_

    from iwt_helpers import paths
    nb = json_.loads((paths.NOTEBOOKS / "05_scenarios.ipynb").read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    ns: dict = {}
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        for src in cells:
            exec(compile(src.replace("Explorer(params.icb_code)", "Explorer(params.icb_code, interactive=True)"),
                      "05_scenarios", "exec"), ns)
    explorer = ns["explorer"]
    print(f"scenarios notebook, demo data, {ns['params'].icb_code}, {ns['params'].n_runs:,} runs: cells run in "
          f"{time.perf_counter() - t0:.1f} s; {moves} moves of each control; load average {os.getloadavg()[0]:.2f}, "
          f"{os.cpu_count()} cores")
    names = [n for n in explorer.control_names() if n != "icb_code"] + ["icb_code"]      # the ICB last, as bench_controls
    rows = []
    for name in names:
        w = explorer.widget(name)
        walls, cpus = [], []
        for v in _values(w, moves, ICB_MOVES if name == "icb_code" else ()):
            c0 = time.process_time()
            with contextlib.redirect_stdout(io.StringIO()):
                w.value = v
            cpus.append(time.process_time() - c0)
            walls.append(explorer.last_redraw_s)
        rows.append((name, walls, cpus))
        print(f"  {name:28s} " + " ".join(f"{t:.2f}" for t in walls) + " s", flush=True)
    print(f"{'control':28s} {'redraw s (median)':>18s} {'range':>11s} {'CPU s (median)':>15s}")
    for name, walls, cpus in rows:
        print(f"{name:28s} {statistics.median(walls):>18.2f} {min(walls):.2f}-{max(walls):.2f} {statistics.median(cpus):>15.2f}")
    return 0


if __name__ == "__main__":
    main()
