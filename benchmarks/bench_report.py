"""Benchmark: the naive papermill + nbconvert loop against `iwt report` (issue #5: at least 10x).

Run: .venv/bin/python benchmarks/bench_report.py [--icbs QOP,QE1,QHG] [--skip-all]
In one run on the same machine it times
  1. the usual shell loop: `papermill` CLI then `jupyter nbconvert --to html --no-input` CLI,
     once per report, for the given ICBs x every theme;
  2. `iwt report` (warm kernels, --force so nothing is reused) for the same reports, as a new
     process, --repeat times (median used);
and prints both and their ratio; then the wall time of `iwt report --icb all --themes all`.
Outputs go to a temporary folder. It asserts nothing.
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

from iwt_helpers import paths
from iwt_helpers.report import run_reports, themes

BIN = Path(sys.executable).parent


def naive(icbs: list[str], out: Path) -> float:
    t0 = time.perf_counter()
    for icb in icbs:
        for theme, nb in themes.discover().items():
            dest = out / icb / f"{theme}.ipynb"
            dest.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([str(BIN / "papermill"), str(nb), str(dest), "-p", "icb_code", icb, "-k", "python3",
                            "--cwd", str(paths.NOTEBOOKS), "--log-level", "ERROR"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(dest)],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--icbs", default="QOP,QE1,QHG")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--skip-all", action="store_true", help="skip the 42-ICB run")
    ap.add_argument("--repeat", type=int, default=5, help="times to run the `iwt report` command (median used)")
    args = ap.parse_args()
    icbs = args.icbs.split(",")
    n_themes = len(themes.discover())
    n = len(icbs) * n_themes
    print(f"machine: {os.cpu_count()} cores; {len(icbs)} ICBs x {n_themes} themes = {n} reports")
    # As `make report` does; both ways below import the package in every kernel.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(paths.ROOT / "iwt_helpers")], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t_naive = naive(icbs, tmp / "naive")
        print(f"naive loop (papermill CLI + nbconvert CLI per report): {t_naive:.1f} s ({t_naive / n:.2f} s/report)")
        # The command as a user runs it: a new process, so its own start-up is counted too.
        # Timed --repeat times (it takes seconds, the naive loop half a minute) and the median
        # is used, so that one slow moment of a shared machine does not decide the ratio.
        times, codes = [], set()
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            r = subprocess.run([str(BIN / "iwt"), "report", "--icb", ",".join(icbs), "--themes", "all", "--force",
                                "--jobs", str(args.jobs), "--out", str(tmp / "iwt-cli"), "--no-progress"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
            codes.add(r.returncode)
        t_cli = statistics.median(times)
        print(f"`iwt report` command (--jobs {args.jobs}, new process): median {t_cli:.2f} s of "
              f"{', '.join(f'{t:.2f}' for t in times)} ({t_cli / n:.2f} s/report), exit status {sorted(codes)} "
              f"(includes tables.xlsx, index pages and manifest)")
        t0 = time.perf_counter()
        s = run_reports(icb=",".join(icbs), theme_spec="all", out_dir=tmp / "iwt", jobs=args.jobs, force=True,
                        progress=False)
        t_iwt = time.perf_counter() - t0
        print(f"run_reports() in this process (modules already imported): {t_iwt:.1f} s, {len(s.failed)} failed")
        print(f"speed-up of the command over the naive loop: {t_naive / t_cli:.1f}x (target >= 10x); "
              f"in-process: {t_naive / t_iwt:.1f}x")
        if not args.skip_all:
            t0 = time.perf_counter()
            s = run_reports(icb="all", theme_spec="all", out_dir=tmp / "all", jobs=args.jobs, force=True, progress=False)
            t_all = time.perf_counter() - t0
            print(f"iwt report --icb all --themes all --jobs {args.jobs}: {len(s.records)} reports in {t_all:.1f} s "
                  f"({t_all / len(s.records):.2f} s/report), {len(s.failed)} failed")


if __name__ == "__main__":
    main()
