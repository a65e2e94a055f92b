"""Workforce scenarios: supply against demand 5 to 15 years ahead, with uncertainty.

``config`` reads and checks ``data/reference/scenarios.yaml`` and draws the assumptions; ``levers``
declares each lever (its settings, its effect on the model, its words); ``inputs`` builds the base
year from the canonical tables, with ``calibration`` setting NHS trusts' and general practice's rates
on the published basis; ``model`` runs the stock-and-flow and demand model for many draws at once;
``summary`` turns runs into percentiles, waterfalls and comparisons; ``figures`` prints the figures
docs/scenarios.md gives for the published basis.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from iwt_helpers.errors import UsageError

from . import calibration, config, inputs, levers, model, sensitivity, summary  # noqa: F401 (levers: the registry the themes read)


def run(inp: inputs.Inputs, scenario: config.Scenario, n_runs: int = 1000, seed: int = 2022,
        centres: dict[str, float] | None = None) -> model.Run:
    """One scenario's Monte Carlo runs (``centres`` move assumption ranges, e.g. from sliders)."""
    return model.simulate(inp, scenario, config.draws(scenario, n_runs, seed, centres), seed)


def projections(inp: inputs.Inputs, scenarios: list[config.Scenario], n_runs: int = 1000, seed: int = 2022) -> pd.DataFrame:
    """Percentiles of supply, demand and gap by ICB, scenario, year, sector and staff group (with
    sector and whole-system totals: staff_group / sector 'all'), the columns of ``iwt scenarios run``."""
    return pd.concat([summary.percentiles(run(inp, sc, n_runs, seed)) for sc in scenarios], ignore_index=True)


def write(table: pd.DataFrame, out: Path) -> Path:
    """Write a projections table as CSV or Parquet (by the file's suffix), atomically."""
    from iwt_helpers import atomic
    out = Path(out)
    table = table.assign(**{c: table[c].astype(float).round(1) for c in ("p10", "p50", "p90")})   # FTE to 0.1
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise UsageError(f"--out {out}: expected a .csv or .parquet file")
    if out.suffix.lower() == ".csv":
        atomic.write_bytes(out, table.to_csv(index=False, float_format="%.1f").encode())
    else:
        atomic.write_with(out, lambda tmp: table.to_parquet(tmp, index=False))
    return out
