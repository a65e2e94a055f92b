"""Benchmark: the SPC engine on 42 ICBs x 20 KPIs x 120 months (issue #4 target: under 1 s).

Run: .venv/bin/python benchmarks/bench_spc.py [--repeat N]
Prints the best and median wall time of spc.xmr over the whole table; it asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from iwt_helpers.analysis import spc
from iwt_helpers.data import geography


def make_table(n_kpis: int = 20, n_months: int = 120, seed: int = 1) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    icbs = geography.icb_codes()
    kpis = [f"kpi_{i:02d}" for i in range(n_kpis)]
    months = pd.date_range("2015-04-01", periods=n_months, freq="MS")
    idx = pd.MultiIndex.from_product([icbs, kpis, months], names=["icb_code", "kpi_id", "period"])
    df = idx.to_frame(index=False)
    level = rng.normal(50, 10, len(icbs) * n_kpis).repeat(n_months)
    df["value"] = level + rng.normal(0, 2, len(df)) + np.tile(np.linspace(0, 3, n_months), len(icbs) * n_kpis)
    directions = {k: ("increase", "decrease", "neutral")[i % 3] for i, k in enumerate(kpis)}
    return df, directions


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    df, directions = make_table()
    spc.xmr(df.head(500), by=["icb_code", "kpi_id"], improvement=directions)   # warm-up
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        out = spc.xmr(df, by=["icb_code", "kpi_id"], improvement=directions, rebase={"kpi_03": ["2020-04-01"]})
        times.append(time.perf_counter() - t0)
    special = int(out["special_cause"].sum())
    print(f"spc.xmr: {len(df):,} points = 42 ICBs x 20 KPIs x 120 months, {out.groupby(['icb_code', 'kpi_id']).ngroups} series")
    print(f"  best {min(times):.3f} s, median {statistics.median(times):.3f} s over {args.repeat} runs "
          f"(target < 1 s); {special:,} special-cause points")


if __name__ == "__main__":
    main()
