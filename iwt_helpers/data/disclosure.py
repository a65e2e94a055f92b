"""Disclosure control: suppression of small counts and pseudonymisation of identifiers.

Every table a report shows or exports passes through :func:`suppress_small_counts`; record-level
identifiers (staff or person numbers in local extracts) are replaced at load by
:func:`pseudonymise`, a keyed hash, so the original identifier never leaves the loader.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import numpy as np
import pandas as pd

from iwt_helpers import atomic, paths, vocab

KEY_ENV = "IWT_PSEUDONYM_KEY"
KEY_FILE = paths.DATA / ".pseudonym_key"


def settings() -> dict:
    return vocab.load_yaml("disclosure.yaml")


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


def _key() -> bytes:
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode()
    if not KEY_FILE.exists():
        atomic.write_text(KEY_FILE, secrets.token_hex(32))
        KEY_FILE.chmod(0o600)
    return KEY_FILE.read_text().strip().encode()


def pseudonymise(values: pd.Series, key: bytes | None = None, length: int = 16) -> pd.Series:
    """Keyed SHA-256 pseudonyms: stable for one key, not reversible without it."""
    k = key or _key()

    def one(v: object) -> object:
        if pd.isna(v):
            return v
        return "P" + hmac.new(k, str(v).strip().encode(), hashlib.sha256).hexdigest()[:length]

    return values.map(one)


__all__ = ["suppress_small_counts", "pseudonymise", "settings"]
