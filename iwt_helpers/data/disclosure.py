"""Disclosure control: suppression of small counts, pseudonymisation of identifiers, and the
controlled tables built from record-level extracts.

Every table a report shows or exports passes through :func:`suppress_small_counts`. Record-level
identifiers (staff or worker numbers in local extracts) are replaced at load by
:func:`pseudonymise`, a keyed one-way hash (HMAC-SHA256) whose key comes from the environment
(``IWT_PSEUDONYM_KEY``) or an untracked key file (``data/.pseudonym_key``); iwt never makes a key
on its own (``iwt extract key`` makes one on request), so a missing key stops a load.

Aggregates of record-level data pass through :func:`control_grid` before they are written: counts
from 1 to ``min_count - 1`` suppressed, the rest rounded (``record_level`` in
``data/reference/disclosure.yaml``), and secondary suppression so that no suppressed cell can be
worked out from the row and column totals shown beside it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from iwt_helpers import atomic, config, paths
from iwt_helpers.errors import IwtError

KEY_ENV = "IWT_PSEUDONYM_KEY"
KEY_FILE = paths.DATA / ".pseudonym_key"
MIN_KEY_CHARS = 16
CHUNK = 100_000             # distinct identifiers hashed at a time (bounds the Python strings held at once)
RECORD_LEVEL_KEY = "record_level_disclosure"     # datasets.json entry of a folder built from extracts


class MissingKeyError(IwtError, ValueError):
    """No pseudonymisation key: the message says how to provide one."""


class KeyFileExistsError(IwtError, FileExistsError):
    """A key file is already there: it is never replaced (pseudonyms made with it would stop matching)."""


def settings() -> dict:
    """``disclosure.yaml`` as a mapping (min_count, marker, count_columns, record_level), validated by
    its config model."""
    return config.disclosure().model_dump()


def record_level_settings() -> dict:
    """min_count, marker, round_to, fte_round_to and rate_min_denominator for record-level tables
    (each checked positive by the config model of ``disclosure.yaml``)."""
    cfg = config.disclosure()
    return {"min_count": cfg.min_count, "marker": cfg.marker, **cfg.record_level.model_dump()}


def record_level_rule(cfg: dict | None = None) -> str:
    """The disclosure rule of tables built from record-level extracts, in words."""
    c = cfg or record_level_settings()
    fte = f"{c['fte_round_to']:g}"
    return (f"Tables built from record-level staff extracts: counts of 1 to {c['min_count'] - 1} people are "
            f"suppressed (shown as {c['marker']}), other counts are rounded to the nearest {c['round_to']} and FTE "
            f"to the nearest {fte}; further cells are suppressed so that no suppressed figure can be worked out "
            f"from the totals beside it; a rate is suppressed when fewer than {c['rate_min_denominator']} people "
            "are behind it or its count is suppressed. Totals are rounded separately, so rows may not add up.")


def folder_rule(data_dir: str | Path | None) -> str | None:
    """The record-level rule a processed folder's tables were written under, or None when the
    folder holds no tables built from record-level extracts."""
    if not data_dir:
        return None
    try:
        with open(Path(data_dir) / "datasets.json", encoding="utf-8") as fh:
            entry = json.load(fh).get(RECORD_LEVEL_KEY)
    except (OSError, ValueError, AttributeError):
        return None
    return entry.get("rule") if isinstance(entry, dict) else None


def suppress_small_counts(df: pd.DataFrame, columns: list[str] | None = None,
                          min_count: int | None = None) -> pd.DataFrame:
    """Blank out counts in (0, min_count) in the given (or configured) count columns.

    Suppressed cells become missing and a column ``suppressed`` lists which were suppressed,
    so a reader can tell a suppressed value from a true zero.
    """
    cfg = settings()
    threshold = cfg["min_count"] if min_count is None else min_count
    cols = [c for c in (columns or cfg["count_columns"]) if c in df.columns]
    out = df.copy()
    flags = pd.Series([""] * len(out), index=out.index, dtype=object)
    for c in cols:
        vals = pd.to_numeric(out[c], errors="coerce")
        small = (vals > 0) & (vals < threshold)
        if small.any():
            out[c] = vals.mask(small)
            flags[small] = flags[small].map(lambda s, c=c: f"{s},{c}" if s else c)
    if cols:
        out["suppressed"] = flags.replace("", np.nan)
    out.attrs.update(df.attrs)
    out.attrs["suppression"] = f"counts from 1 to {threshold - 1} suppressed"
    return out


# --------------------------------------------------------------------------- pseudonymisation

def _key_help() -> str:
    return (f"set the environment variable {KEY_ENV} to a secret of at least {MIN_KEY_CHARS} characters "
            f"(the same secret every time, so pseudonyms stay comparable between loads), or create the "
            f"untracked key file {KEY_FILE} with `iwt extract key`. Keep the key out of git and out of any "
            "folder you share; without it the pseudonyms cannot be reproduced, with it they can be checked.")


def require_key() -> bytes:
    """The pseudonymisation key from ``IWT_PSEUDONYM_KEY`` or the key file; a missing or short key
    raises :class:`MissingKeyError` saying how to provide one. Never makes a key."""
    env = os.environ.get(KEY_ENV)
    if env is not None and env.strip():
        key, where = env.strip(), f"environment variable {KEY_ENV}"
    elif KEY_FILE.exists():
        key, where = KEY_FILE.read_text(encoding="utf-8").strip(), f"key file {KEY_FILE}"
    else:
        raise MissingKeyError(f"no pseudonymisation key: {_key_help()}")
    if len(key) < MIN_KEY_CHARS:
        raise MissingKeyError(f"the pseudonymisation key in the {where} is shorter than {MIN_KEY_CHARS} "
                              f"characters: {_key_help()}")
    return key.encode()


def make_key_file(path: Path | None = None) -> Path:
    """Write a new random key to the key file (mode 600); refuses to replace an existing one,
    because every pseudonym made with the old key would stop matching."""
    path = Path(path) if path else KEY_FILE
    if path.exists():
        raise KeyFileExistsError(f"{path}: a key file already exists; pseudonyms made with it would no longer "
                                 "match if it were replaced. Delete it yourself if you really mean to start again.")
    atomic.write_text(path, secrets.token_hex(32) + "\n")
    path.chmod(0o600)
    return path


def pseudonymiser(key: bytes, length: int = 16):
    """A function list[str] -> list of pseudonyms: "P" and the first ``length`` hex digits of
    HMAC-SHA256(key, id), from the standard library's ``hmac``: one keyed object, copied for each value
    (so the key's inner and outer states are computed once). Measured on 1.5 million identifiers
    (``benchmarks/bench_extract.py --hmac``): 1.5 s, against 2.2 s for a new ``hmac.new`` per value and
    2.3 s for the one-shot ``hmac.digest`` (OpenSSL 3 looks the digest up on every call). Hashing RFC 2104
    by hand on ``hashlib`` took 1.0 s; iwt keeps the standard library's implementation of a security
    function rather than its own."""
    keyed = hmac.new(key, digestmod=hashlib.sha256)

    def many(values: list[str]) -> list[str]:
        out = []
        append, copy = out.append, keyed.copy
        for v in values:
            h = copy()
            h.update(v.encode())
            append("P" + h.hexdigest()[:length])
        return out

    return many


def pseudonymise(values: pd.Series, key: bytes | None = None, length: int = 16) -> pd.Series:
    """Keyed SHA-256 pseudonyms: stable for one key, not reversible without it. Surrounding spaces
    are ignored; each distinct value is hashed once (in Arrow, without a Python object per row);
    missing values stay missing."""
    k = key or require_key()
    text = pa.array(values.astype("string[pyarrow]"), type=pa.string())
    enc = pc.dictionary_encode(pc.utf8_trim_whitespace(text))
    many, distinct = pseudonymiser(k, length), enc.dictionary
    hashed = pa.chunked_array([pa.array(many(distinct.slice(i, CHUNK).to_pylist()), type=pa.string())
                               for i in range(0, len(distinct), CHUNK)], type=pa.string())
    return pd.Series(pd.array(pc.take(hashed, enc.indices), dtype="string[pyarrow]"), index=values.index)


# --------------------------------------------------------------------------- controlled grids

def round_to(values: np.ndarray, base: float) -> np.ndarray:
    """Round to the nearest multiple of ``base`` (halves up); missing stays missing."""
    return np.floor(np.asarray(values, dtype=float) / base + 0.5) * base


def _bridges(n_nodes: int, edges: list[tuple[int, int]]) -> set[int]:
    """Indices of the edges that lie on no cycle (bridges) of an undirected graph."""
    adj: list[list[tuple[int, int]]] = [[] for _ in range(n_nodes)]
    for k, (u, v) in enumerate(edges):
        adj[u].append((v, k))
        adj[v].append((u, k))
    disc, low, out, t = [-1] * n_nodes, [0] * n_nodes, set(), 0
    for root in range(n_nodes):
        if disc[root] != -1:
            continue
        disc[root] = low[root] = t
        t += 1
        stack = [(root, -1, iter(adj[root]))]
        while stack:
            node, via, it = stack[-1]
            for nxt, k in it:
                if k == via:
                    continue
                if disc[nxt] == -1:
                    disc[nxt] = low[nxt] = t
                    t += 1
                    stack.append((nxt, k, iter(adj[nxt])))
                    break
                low[node] = min(low[node], disc[nxt])
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > disc[parent]:
                        out.add(via)
    return out


def _cost(values: np.ndarray) -> np.ndarray:
    """Cost of suppressing each cell as a secondary: the smallest counts first, zeros (which
    protect little) only when nothing else will do."""
    v = np.asarray(values, dtype=float)
    return np.where(v > 0, v, 1e12)


def _protect_line(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One line of cells and its total (the last entry): never exactly one suppressed."""
    mask = mask.copy()
    if mask.sum() == 1:
        cost = np.where(mask, np.inf, _cost(values))
        mask[int(np.argmin(cost))] = True
    return mask


def _protect_table(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A table with its totals row and column (the last of each): suppress further cells until no
    suppressed cell is determined by the row and column equations. Each cell is an edge between its
    row and its column; a cell is determined exactly when it lies on no cycle of suppressed cells,
    so every bridge is closed by a rectangle of cheapest extra cells."""
    mask = mask.copy()
    rows, cols = values.shape
    cost = _cost(values)
    while True:
        cells = [(int(i), int(j)) for i, j in zip(*np.nonzero(mask))]
        bridges = _bridges(rows + cols, [(i, rows + j) for i, j in cells])
        if not bridges:
            return mask
        i, j = cells[min(bridges)]
        best, best_cost = None, np.inf
        for i2 in range(rows):
            if i2 == i:
                continue
            for j2 in range(cols):
                if j2 == j:
                    continue
                extra = [(i, j2), (i2, j), (i2, j2)]
                c = sum(0.0 if mask[a, b] else cost[a, b] for a, b in extra)
                if c < best_cost:
                    best, best_cost = extra, c
        for a, b in best:
            mask[a, b] = True


def control_grid(counts: np.ndarray, extra: dict[str, np.ndarray] | None = None,
                 cfg: dict | None = None, force: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Control a rows x columns grid of counts of people, shown with its totals.

    Returns ``{"counts": published, "suppressed": mask}`` for the grid augmented with a totals row
    (last) and, when it has more than one column, a totals column (last; a single row gets only its
    totals column): cells from 1 to
    ``min_count - 1`` suppressed, then secondary suppression, then the rest rounded to the nearest
    ``round_to``; suppressed cells are NaN. ``extra`` grids of the same shape (e.g. FTE) get the
    same suppression and are rounded to ``fte_round_to``. ``force`` (the augmented shape) marks
    cells that must be suppressed because a linked table suppressed the same figure.
    """
    c = cfg or record_level_settings()
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2:
        raise ValueError("control_grid needs a 2-D grid of counts")
    one_column = counts.shape[1] == 1
    if counts.shape[0] == 1 and not one_column:          # a single row: control it as a column
        out = control_grid(counts.T, {k: np.asarray(v, dtype=float).T for k, v in (extra or {}).items()}, c,
                           None if force is None else np.asarray(force).T)
        return {k: v.T for k, v in out.items()}

    def augment(g: np.ndarray) -> np.ndarray:
        g = np.vstack([g, g.sum(axis=0, keepdims=True)])
        return g if one_column else np.hstack([g, g.sum(axis=1, keepdims=True)])

    full = augment(counts)
    mask = (full > 0) & (full < c["min_count"])
    if force is not None:
        mask |= np.asarray(force, dtype=bool)
    mask = _protect_line(full[:, 0], mask[:, 0])[:, None] if one_column else _protect_table(full, mask)
    out = {"counts": np.where(mask, np.nan, round_to(full, c["round_to"])), "suppressed": mask}
    for name, grid in (extra or {}).items():
        out[name] = np.where(mask, np.nan, round_to(augment(np.asarray(grid, dtype=float)), c["fte_round_to"]))
    return out


def control_linked(grids: list[np.ndarray], shared: list[list[tuple[int, int]]], cfg: dict | None = None,
                   extras: list[dict[str, np.ndarray]] | None = None) -> list[dict[str, np.ndarray]]:
    """Control several grids whose totals show the same figures (e.g. leavers by staff group, the
    row totals of both a staff group x age band and a staff group x destination grid).
    ``shared[g]`` lists, for grid ``g``, the augmented cells that hold the shared figures, in the
    same order for every grid. Suppression is repeated until every grid suppresses the same shared
    figures, so no grid shows a figure another protects."""
    c = cfg or record_level_settings()
    extras = extras or [{} for _ in grids]
    forced = np.zeros(len(shared[0]), dtype=bool)
    while True:
        outs, union = [], forced.copy()
        for g, grid in enumerate(grids):
            shape = control_grid(grid, cfg=c)["suppressed"].shape
            force = np.zeros(shape, dtype=bool)
            for k, (i, j) in enumerate(shared[g]):
                force[i, j] = forced[k]
            out = control_grid(grid, extras[g], c, force)
            outs.append(out)
            union |= np.array([out["suppressed"][i, j] for i, j in shared[g]], dtype=bool)
        if (union == forced).all():
            return outs
        forced = union


TOTAL = "all"


def control_long(df: pd.DataFrame, by: list[str], row: str, col: str | None, value: str,
                 extra: list[str] = (), cfg: dict | None = None,
                 row_order: list[str] | None = None, col_order: list[str] | None = None) -> pd.DataFrame:
    """Control a long table of true counts, one grid per ``by`` group (rows ``row`` x columns
    ``col``, or a single column when ``col`` is None), and return it long again with the totals
    as rows labelled ``all``, the published ``value`` (and ``extra``) and a ``suppressed`` flag.
    Categories missing from a group's rows are true zeros within its observed rows and columns."""
    c = cfg or record_level_settings()
    parts = []
    groups = df.groupby(by, sort=True, observed=True) if by else [((), df)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        cols_used = [col] if col else []
        piv = g.pivot_table(index=row, columns=cols_used or None, values=[value, *extra], aggfunc="sum",
                            fill_value=0, observed=True) if cols_used else \
            g.groupby(row, observed=True)[[value, *extra]].sum()
        rlabels = [r for r in (row_order or sorted(g[row].unique())) if r in set(g[row])]
        if cols_used:
            clabels = [x for x in (col_order or sorted(g[col].unique())) if x in set(g[col])]
            grid = {m: piv[m].reindex(index=rlabels, columns=clabels, fill_value=0).to_numpy(float)
                    for m in [value, *extra]}
        else:
            clabels = [TOTAL]
            grid = {m: piv[m].reindex(rlabels, fill_value=0).to_numpy(float)[:, None] for m in [value, *extra]}
        res = control_grid(grid[value], {m: grid[m] for m in extra}, c)
        rl = rlabels + [TOTAL]
        cl = clabels if len(clabels) == 1 else clabels + [TOTAL]
        ii, jj = np.meshgrid(np.arange(len(rl)), np.arange(len(cl)), indexing="ij")
        part = pd.DataFrame({row: np.array(rl, dtype=object)[ii.ravel()]})
        if col:
            part[col] = np.array(cl, dtype=object)[jj.ravel()]
        part[value] = res["counts"].ravel()
        for m in extra:
            part[m] = res[m].ravel()
        part["suppressed"] = res["suppressed"].ravel()
        for name, k in zip(by, key):
            part[name] = k
        parts.append(part)
    cols_out = [*by, row, *([col] if col else []), value, *extra, "suppressed"]
    if not parts:
        return pd.DataFrame(columns=cols_out)
    return pd.concat(parts, ignore_index=True)[cols_out]


def controlled_rate(numerator: pd.Series, denominator: pd.Series, scale: float = 100.0,
                    cfg: dict | None = None) -> pd.Series:
    """numerator / denominator x scale to one decimal, from the *published* (rounded) counts, so a
    rate tells nothing the counts beside it do not; missing when either count is suppressed or the
    denominator is below ``rate_min_denominator``."""
    c = cfg or record_level_settings()
    num, den = numerator.astype(float), denominator.astype(float)
    rate = (num / den.where(den > 0) * scale).round(1)
    return rate.mask(den.isna() | (den < c["rate_min_denominator"]) | num.isna())


__all__ = ["suppress_small_counts", "pseudonymise", "pseudonymiser", "require_key", "make_key_file",
           "settings", "record_level_settings", "record_level_rule", "folder_rule", "control_grid",
           "control_long", "controlled_rate", "MissingKeyError"]
