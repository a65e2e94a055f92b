"""Benchmark: the naive papermill + nbconvert loop against `iwt report` (issues #5, #17 and #29: at
least 10x faster per report over every ICB and theme).

Run: .venv/bin/python benchmarks/bench_report.py [--icbs QOP,QE1,QHG] [--skip-all] [--all-icbs N]
                                                 [--baseline DIR] [--skip-naive]
In one run on the same machine it times
  1. the usual shell loop: `papermill` CLI then `jupyter nbconvert --to html --no-input` CLI,
     once per report, for the given ICBs x every theme;
  2. the `iwt report` command (warm kernels, --force so nothing is reused) for the same reports,
     as a new process, --repeat times (median used);
  3. the `iwt report --icb all --themes all` command (every ICB x every theme, or the first
     --all-icbs ICBs where a loaded machine makes all 42 too slow), --repeat-all times;
and prints the seconds per report of each and the speed-up per report of 2 and 3 over 1.
--baseline DIR: a copy of the project as it was before a change (e.g. `git worktree add DIR COMMIT`,
or a copied folder); 2 and 3 are then also run from it (its package first on PYTHONPATH, so its
kernels, notebooks and data are its own), alternating with the current code so that both meet the
same load, and the ratio of the medians is printed. The machine's load average is printed before and
after: compare figures only from the same conditions.
Outputs go to a temporary folder. It asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
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


def cpu_of_children() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def iwt_report(icb: str, jobs: int, out: Path, code: Path | None = None) -> tuple[float, int, float]:
    """The command as a user runs it: a new process, so its own start-up is counted too. ``code``: a
    copy of the project to run instead of this one (its package first on PYTHONPATH). Seconds, exit
    status and CPU seconds of the command and its kernels (which it waits for): the CPU time is
    less swayed than the elapsed time by other work on a shared machine."""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), *filter(None, [env.get("PYTHONPATH")])])
    t0, cpu0 = time.perf_counter(), cpu_of_children()
    r = subprocess.run([str(BIN / "iwt"), "report", "--icb", icb, "--themes", "all", "--force",
                        "--jobs", str(jobs), "--out", str(out), "--no-progress"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0, r.returncode, cpu_of_children() - cpu0


def timed(icb: str, jobs: int, out: Path, repeat: int, baseline: Path | None) -> dict[str, list[tuple[float, int, float]]]:
    """``repeat`` runs of the current code and, given a baseline, as many of it, alternating."""
    runs: dict[str, list[tuple[float, int, float]]] = {"current": [], "baseline": []}
    for i in range(repeat):
        order = [("current", None), ("baseline", baseline)] if baseline else [("current", None)]
        for name, code in order if i % 2 == 0 else order[::-1]:
            runs[name].append(iwt_report(icb, jobs, out / name, code))
    return runs


def show(label: str, runs: dict[str, list[tuple[float, int, float]]], n: int, per_naive: float | None) -> None:
    medians, cpus = {}, {}
    for name, rs in runs.items():
        if not rs:
            continue
        medians[name] = t = statistics.median(s for s, _, _ in rs)
        cpus[name] = c = statistics.median(u for _, _, u in rs)
        speed = f"; {per_naive / (t / n):.1f}x the naive loop per report" if per_naive else ""
        print(f"{label} [{name}]: median {t:.1f} s of {', '.join(f'{s:.1f}' for s, _, _ in rs)} ({t / n:.2f} s/report{speed}); "
              f"CPU median {c:.1f} s of {', '.join(f'{u:.1f}' for _, _, u in rs)} ({c / n:.2f} s/report); "
              f"exit status {sorted({code for _, code, _ in rs})}")
    if len(medians) == 2:
        print(f"{label}: current / baseline = {medians['current'] / medians['baseline']:.3f} elapsed, "
              f"{cpus['current'] / cpus['baseline']:.3f} CPU")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--icbs", default="QOP,QE1,QHG")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--skip-all", action="store_true", help="skip the run over every ICB")
    ap.add_argument("--skip-naive", action="store_true", help="skip the naive loop (no speed-up over it is printed)")
    ap.add_argument("--all-icbs", type=int, default=0, help="the 'all' run over the first N ICBs only (0: all 42)")
    ap.add_argument("--repeat", type=int, default=5, help="times to run the `iwt report` command (median used)")
    ap.add_argument("--repeat-all", type=int, default=1, help="times to run the 'all' command (median used)")
    ap.add_argument("--baseline", type=Path, help="a copy of the project before a change, timed alternately with this one")
    args = ap.parse_args()
    if args.baseline and not (args.baseline / "iwt_helpers" / "__init__.py").is_file():
        ap.error(f"--baseline {args.baseline}: no iwt_helpers package there")
    icbs = args.icbs.split(",")
    n_themes = len(themes.discover())
    n = len(icbs) * n_themes
    print(f"machine: {os.cpu_count()} cores, load average {load()}; {len(icbs)} ICBs x {n_themes} themes = {n} reports")
    # As `make report` does; both ways below import the package in every kernel.
    for root in filter(None, [paths.ROOT, args.baseline]):
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "iwt_helpers")], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        per_naive = None
        if not args.skip_naive:
            t_naive = naive(icbs, tmp / "naive")
            per_naive = t_naive / n
            print(f"naive loop (papermill CLI + nbconvert CLI per report): {t_naive:.1f} s ({per_naive:.2f} s/report)")
        # Timed --repeat times and the median used, so that one slow moment of a shared machine
        # does not decide the ratio.
        show(f"`iwt report --icb {args.icbs}` (--jobs {args.jobs}, new process, includes tables.xlsx, index pages and manifest)",
             timed(",".join(icbs), args.jobs, tmp / "iwt", args.repeat, args.baseline), n, per_naive)
        if not args.skip_all:
            codes = geography.icb_codes()[: args.all_icbs or None]
            spec = "all" if len(codes) == len(geography.icb_codes()) else ",".join(codes)
            n_all = len(codes) * n_themes
            show(f"`iwt report --icb {'all' if spec == 'all' else f'<first {len(codes)} ICBs>'} --themes all` "
                 f"(--jobs {args.jobs}, new process): {n_all} reports",
                 timed(spec, args.jobs, tmp / "all", args.repeat_all, args.baseline), n_all, per_naive)
            if per_naive:
                print("target: >= 20x the naive loop per report, and all 42 x 5 reports in under 60 s (issue #29)")
    print(f"load average at the end: {load()}")


if __name__ == "__main__":
    main()
