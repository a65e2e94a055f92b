"""Benchmark: the naive papermill + nbconvert loop against `iwt report` (issues #5 and #17: at
least 10x faster per report over every ICB and theme).

Run: .venv/bin/python benchmarks/bench_report.py [--icbs QOP,QE1,QHG] [--skip-all]
In one run on the same machine it times
  1. the usual shell loop: `papermill` CLI then `jupyter nbconvert --to html --no-input` CLI,
     once per report, for the given ICBs x every theme;
  2. the `iwt report` command (warm kernels, --force so nothing is reused) for the same reports,
     as a new process, --repeat times (median used);
  3. the `iwt report --icb all --themes all` command (every ICB x every theme), once;
and prints the seconds per report of each and the speed-up per report of 2 and 3 over 1.
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
from iwt_helpers.data import geography
from iwt_helpers.report import themes

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


def iwt_report(icb: str, jobs: int, out: Path) -> tuple[float, int]:
    """The command as a user runs it: a new process, so its own start-up is counted too."""
    t0 = time.perf_counter()
    r = subprocess.run([str(BIN / "iwt"), "report", "--icb", icb, "--themes", "all", "--force",
                        "--jobs", str(jobs), "--out", str(out), "--no-progress"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0, r.returncode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--icbs", default="QOP,QE1,QHG")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--skip-all", action="store_true", help="skip the run over every ICB")
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
        per_naive = t_naive / n
        print(f"naive loop (papermill CLI + nbconvert CLI per report): {t_naive:.1f} s ({per_naive:.2f} s/report)")
        # Timed --repeat times and the median used, so that one slow moment of a shared machine
        # does not decide the ratio.
        runs = [iwt_report(",".join(icbs), args.jobs, tmp / "iwt") for _ in range(args.repeat)]
        t_cli = statistics.median(t for t, _ in runs)
        print(f"`iwt report --icb {args.icbs}` (--jobs {args.jobs}, new process): median {t_cli:.2f} s of "
              f"{', '.join(f'{t:.2f}' for t, _ in runs)} ({t_cli / n:.2f} s/report), exit status "
              f"{sorted({c for _, c in runs})} (includes tables.xlsx, index pages and manifest)")
        print(f"speed-up per report over the naive loop: {per_naive / (t_cli / n):.1f}x "
              f"(a small run: kernel start-up is a large share of it)")
        if not args.skip_all:
            n_all = len(geography.icb_codes()) * n_themes
            t_all, code = iwt_report("all", args.jobs, tmp / "all")
            print(f"`iwt report --icb all --themes all` (--jobs {args.jobs}, new process): {n_all} reports in "
                  f"{t_all:.1f} s ({t_all / n_all:.2f} s/report), exit status {code}")
            print(f"speed-up per report over the naive loop: {per_naive / (t_all / n_all):.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
