"""Workforce scenarios: supply against demand 5 to 15 years ahead, with uncertainty.

``config`` reads and checks ``data/reference/scenarios.yaml`` and draws the assumptions; ``levers``
declares each lever (its settings, its effect on the model, its words); ``inputs`` builds the base
year from the canonical tables, with ``calibration`` setting NHS trusts' and general practice's rates
on the published basis; ``model`` runs the stock-and-flow and demand model for many draws at once;
``summary`` turns runs into percentiles, waterfalls and comparisons; ``figures`` prints the figures
docs/scenarios.md gives for the published basis.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from iwt_helpers.errors import UsageError

from . import calibration, config, inputs, levers, model, sensitivity, summary  # noqa: F401 (levers: the registry the themes read)


def run(inp: inputs.Inputs, scenario: config.Scenario, n_runs: int = 1000, seed: int = 2022,
        centres: dict[str, float] | None = None, common: model.Common | None = None, base: model.Run | None = None,
        flows: bool = True) -> model.Run:
    """One scenario's Monte Carlo runs (``centres`` move assumption ranges, e.g. from sliders). ``common``:
    what it shares with the other scenarios of the projection (:class:`model.Common`), used when it fits
    (same inputs, assumptions and draws); ``base``: the baseline's run on that ``common``, whose cells the
    scenario's levers cannot reach are taken as they are; ``flows=False``: supply and demand only
    (:func:`model.simulate`)."""
    d = config.draws(scenario, n_runs, seed, centres)
    if common is None or not common.fits(inp, scenario, d):
        common, base = None, None
    if base is not None and ((flows and not base.flows) or base.demand_population.base is not common.population):
        base = None                                     # without the flows asked for, or not on this common part
    return model.simulate(inp, scenario, d, seed, common, base, flows)


def percentile_tables(inp: inputs.Inputs, scenarios: list[config.Scenario], n_runs: int = 1000,
                      seed: int = 2022, snapshot: pd.DataFrame | None = None,
                      processes: int | None = None) -> Iterator[pd.DataFrame]:
    """Each scenario's table of :func:`projections` in turn. The scenarios share what they have in common
    (:class:`model.Common`: the demand with no lever, leaving rates, moves, the routes' supply); the
    baseline is run first, and a scenario projects again only the cells its levers reach (with the cells
    moves join to them) and takes percentiles of only the cells and totals that differ from the
    baseline's, the others being the baseline's, identical to what computing them again would give. Flows
    are not kept (the table needs supply and demand only).

    ``snapshot`` (the one ``inp`` was built from) lets the ICBs be shared out between ``processes``
    (default: the cores this process may use, up to 4; 1: all here): every figure of an ICB's rows is its own
    (:func:`inputs.part`), so each process projects some of the ICBs (forked from this one, which keeps
    the first) and a scenario's percentiles are theirs joined in ICB order (:meth:`summary.PercentileArrays.joined`):
    the same rows in the same order. Where processes cannot be forked (not Linux), or the ICBs' parts would
    have another base year, all are projected here."""
    parts = _shares(inp, snapshot, processes) if snapshot is not None else None
    if not parts:
        for p in _percentiles(inp, scenarios, n_runs, seed):
            yield p.frame()
        return
    from . import split
    for joined in split.tables(parts, lambda part: _percentiles(part, scenarios, n_runs, seed),
                               summary.PercentileArrays.joined):
        yield joined.frame()


HERE = 0.8          # the share of a part's ICBs' cells this process takes, as it also writes the tables


def _shares(inp: inputs.Inputs, snapshot: pd.DataFrame, processes: int | None) -> list[inputs.Inputs] | None:
    """``inp``'s ICBs in ``processes`` parts, in the order of the cells (ICB code), as :func:`inputs.part`
    makes them, of about as many cells each (this process's first part a little smaller: it also writes);
    None where one process is to project them all."""
    import multiprocessing
    import sys

    from iwt_helpers.atomic import usable_cores
    n = min(4, usable_cores()) if processes is None else processes
    n = min(n, len(inp.icbs))
    if n < 2 or not sys.platform.startswith("linux") or "fork" not in multiprocessing.get_all_start_methods():
        return None
    per_icb = inp.cells.groupby("icb_code", sort=True).size()             # the cells' own order
    share = np.r_[HERE, np.ones(n - 1)]
    ends = np.searchsorted(np.cumsum(per_icb.to_numpy()), np.cumsum(share)[:-1] / share.sum() * len(inp.cells))
    groups = [list(g) for g in np.split(per_icb.index.to_numpy(dtype=object), np.unique(np.clip(ends, 1, len(per_icb) - 1)))]
    out = [inputs.part(inp, g, snapshot) for g in groups if g]
    return None if len(out) < 2 or any(p is None for p in out) else out


def _percentiles(inp: inputs.Inputs, scenarios: list[config.Scenario], n_runs: int,
                 seed: int) -> Iterator[summary.PercentileArrays]:
    """The percentiles of each scenario in turn, for ``inp``'s ICBs, in this process."""
    order = sorted(range(len(scenarios)), key=lambda i: bool(scenarios[i].levers))     # a scenario with no lever first
    commons: list[model.Common] = []
    bases: dict[int, tuple[model.Run, summary.Percentiles]] = {}
    done: dict[int, summary.PercentileArrays] = {}
    due = 0
    for i in order:
        sc = scenarios[i]
        d = config.draws(sc, n_runs, seed)
        common = next((c for c in commons if c.fits(inp, sc, d)), None)
        if common is None:
            common = model.Common.build(inp, sc, d)
            commons.append(common)
        base = bases.get(id(common))
        r = model.simulate(inp, sc, d, seed, common, base[0] if base and sc.levers else None, flows=False)
        p = summary.percentile_arrays(r, like=base[1] if base else None)
        if not sc.levers and base is None:
            bases[id(common)] = (r, p)
        done[i] = p.arrays()
        del r, p
        while due in done:
            yield done.pop(due)
            due += 1


def projections(inp: inputs.Inputs, scenarios: list[config.Scenario], n_runs: int = 1000, seed: int = 2022) -> pd.DataFrame:
    """Percentiles of supply, demand and gap by ICB, scenario, year, sector and staff group (with
    sector and whole-system totals: staff_group / sector 'all'), the columns of ``iwt scenarios run``."""
    return pd.concat(list(percentile_tables(inp, scenarios, n_runs, seed)), ignore_index=True)


def write(tables: pd.DataFrame | Iterable[pd.DataFrame], out: Path) -> Path:
    """Write a projections table (or its parts in turn, e.g. :func:`percentile_tables`) as CSV or Parquet
    (by the file's suffix), atomically, FTE to 0.1. A CSV is written part by part, as pandas'
    ``to_csv(index=False, float_format="%.1f")`` would write the whole (:func:`csv_text`)."""
    from iwt_helpers import atomic
    out = Path(out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise UsageError(f"--out {out}: expected a .csv or .parquet file")
    parts = [tables] if isinstance(tables, pd.DataFrame) else tables
    if out.suffix.lower() == ".csv":
        def csv(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                for i, t in enumerate(parts):
                    fh.write(csv_text(_rounded(t), header=i == 0))
        atomic.write_with(out, csv)
    else:
        table = pd.concat([_rounded(t) for t in parts], ignore_index=True)
        atomic.write_with(out, lambda tmp: table.to_parquet(tmp, index=False))
    return out


def _rounded(table: pd.DataFrame) -> pd.DataFrame:
    return table.assign(**{c: table[c].astype(float).round(1) for c in ("p10", "p50", "p90")})   # FTE to 0.1


def csv_text(table: pd.DataFrame, header: bool = True) -> bytes:
    """``table`` as CSV, the bytes pandas' ``to_csv(index=False, float_format="%.1f")`` writes (fields quoted
    only where the csv module would, missing values empty), built a column at a time with pyarrow: text
    columns quote each distinct value once; floats are written from their tenths as integers."""
    import pyarrow as pa
    import pyarrow.compute as pc
    fields = []
    for c in table.columns:
        col = table[c]
        if pd.api.types.is_float_dtype(col):
            fields.append(_tenths(col.to_numpy(dtype=float)))
        elif pd.api.types.is_integer_dtype(col) and not col.hasnans:
            fields.append(pc.cast(pa.array(col.to_numpy()), pa.string()))
        else:
            codes, uniques = pd.factorize(col, use_na_sentinel=True)
            text = pa.array([_csv_field(str(u)) for u in uniques] + [""], pa.string())
            fields.append(pc.take(text, pa.array(np.where(codes < 0, len(uniques), codes))))
    lines = pc.binary_join_element_wise(*fields, ",") if len(table) else pa.array([], pa.string())
    head = ",".join(_csv_field(str(c)) for c in table.columns) + "\n" if header else ""
    return (head + "\n".join(lines.to_pylist()) + ("\n" if len(table) else "")).encode()


def _csv_field(value: str) -> str:
    """One field as the csv module writes it in a row of several (quoted only where needed)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([value, ""])
    return buf.getvalue()[:-2]


def _tenths(v: np.ndarray):
    """Values already rounded to 0.1 as "%.1f" writes them: from the integer number of tenths (exact for any
    FTE), with its sign (so -0.0 stays "-0.0"); missing values empty, infinities as "inf"."""
    import pyarrow as pa
    import pyarrow.compute as pc
    k = np.rint(v * 10.0)
    finite = np.isfinite(k)
    n = np.abs(np.where(finite, k, 0.0)).astype(np.int64)
    sign = pa.array(np.where(np.signbit(k), "-", ""))
    text = pc.binary_join_element_wise(pc.binary_join_element_wise(sign, pc.cast(pa.array(n // 10), pa.string()), ""),
                                       pc.cast(pa.array(n % 10), pa.string()), ".")
    other = np.where(np.isnan(k), "", np.where(k > 0, "inf", "-inf"))
    return pc.if_else(pa.array(finite), text, pa.array(other)) if not finite.all() else text
