"""Disclosure control of tables built from record-level data: primary and secondary suppression,
rounding, rates, and the pseudonymisation key. The recovery check is linear algebra on the
published table's own equations, independent of the graph method the module uses."""

import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from iwt_helpers.data import disclosure

CFG = {"min_count": 5, "marker": "*", "round_to": 5, "fte_round_to": 5.0, "rate_min_denominator": 20}

# Grids rich in small counts: most cells 0-6, some large.
small_or_large = st.one_of(st.integers(0, 6), st.integers(0, 6), st.integers(0, 400))
grids = st.tuples(st.integers(1, 6), st.integers(1, 6)).flatmap(
    lambda shape: arrays(np.int64, shape, elements=small_or_large))


def equations(shape: tuple[int, int]) -> np.ndarray:
    """Rows of A with A @ x = 0 for the published grid with its totals (last row, last column)."""
    rows, cols = shape
    idx = np.arange(rows * cols).reshape(shape)
    eqs = []
    if cols == 1 or rows == 1:                      # a single column (or row) and its total
        line = idx[:, 0] if cols == 1 else idx[0, :]
        e = np.zeros(rows * cols)
        e[line[:-1]] = 1
        e[line[-1]] = -1
        return np.array([e])
    for i in range(rows):                           # each row adds up to its total
        e = np.zeros(rows * cols)
        e[idx[i, :-1]] = 1
        e[idx[i, -1]] = -1
        eqs.append(e)
    for j in range(cols):                           # each column adds up to its total
        e = np.zeros(rows * cols)
        e[idx[:-1, j]] = 1
        e[idx[-1, j]] = -1
        eqs.append(e)
    return np.array(eqs)


def with_totals(grid: np.ndarray) -> np.ndarray:
    """The grid as published: a totals row, and a totals column when there is more than one
    column (a single row gets only its totals column)."""
    if grid.shape[0] == 1 and grid.shape[1] > 1:
        return np.hstack([grid, grid.sum(axis=1, keepdims=True)])
    full = np.vstack([grid, grid.sum(axis=0, keepdims=True)])
    return full if grid.shape[1] == 1 else np.hstack([full, full.sum(axis=1, keepdims=True)])


def recoverable(mask: np.ndarray) -> list[tuple[int, int]]:
    """Suppressed cells whose value follows exactly from the published cells and totals."""
    a = equations(mask.shape)[:, mask.ravel()]
    rank = np.linalg.matrix_rank(a)
    cells = list(zip(*np.nonzero(mask)))
    found = []
    for k, cell in enumerate(cells):
        unit = np.zeros((1, a.shape[1]))
        unit[0, k] = 1
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            found.append(tuple(int(x) for x in cell))
    return found


@pytest.mark.unit
@settings(max_examples=300, deadline=None)
@given(grids)
def test_no_published_cell_holds_a_count_from_1_to_4(grid):
    out = disclosure.control_grid(grid, cfg=CFG)
    shown = out["counts"][~np.isnan(out["counts"])]
    assert not ((shown >= 1) & (shown <= 4)).any()
    assert (shown % 5 == 0).all()


@pytest.mark.unit
@settings(max_examples=300, deadline=None)
@given(grids)
def test_no_suppressed_cell_can_be_recomputed_from_its_row_and_column_totals(grid):
    out = disclosure.control_grid(grid, cfg=CFG)
    mask = out["suppressed"]
    assert recoverable(mask) == []
    # and every true count from 1 to 4, cells and totals alike, is among the suppressed
    assert mask[(with_totals(grid) >= 1) & (with_totals(grid) <= 4)].all()


@pytest.mark.unit
@settings(max_examples=100, deadline=None)
@given(grids, st.integers(2, 12), st.integers(1, 20))
def test_the_thresholds_come_from_the_configuration(grid, min_count, base):
    cfg = dict(CFG, min_count=min_count, round_to=base)
    out = disclosure.control_grid(grid, cfg=cfg)
    shown = out["counts"][~np.isnan(out["counts"])]
    assert not ((shown >= 1) & (shown < min_count) & (shown % base != 0)).any()
    assert (shown % base == 0).all()
    # a value that rounds to below min_count can only come from a count of min_count or more
    assert recoverable(out["suppressed"]) == []


@pytest.mark.unit
def test_a_single_small_cell_gets_a_partner_and_totals_are_rounded_separately():
    grid = np.array([[3, 40], [50, 60]])
    out = disclosure.control_grid(grid, cfg=CFG)
    mask = out["suppressed"]
    assert mask[0, 0]
    assert mask.sum() >= 4                          # the 3 and a rectangle round it
    assert out["counts"][2, 2] == 155               # the grand total 153 rounded to 5
    assert recoverable(mask) == []


@pytest.mark.unit
def test_fte_follows_the_headcount_suppression_and_is_rounded():
    grid = np.array([[2], [30], [31]])
    fte = np.array([[1.6], [27.2], [24.9]])
    out = disclosure.control_grid(grid, {"fte": fte}, cfg=CFG)
    assert np.isnan(out["fte"][0, 0]) and np.isnan(out["counts"][0, 0])
    assert np.isnan(out["counts"][1, 0]) != np.isnan(out["counts"][2, 0]) or out["suppressed"].sum() == 2
    assert out["suppressed"].sum() == 2             # the 2 and the smallest other line entry (30)
    assert out["fte"][2, 0] == 25 and out["counts"][3, 0] == 65


@pytest.mark.unit
def test_control_long_returns_cells_and_totals_labelled_all():
    df = pd.DataFrame({"icb_code": ["QOP"] * 4, "staff_group": ["a", "a", "b", "b"],
                       "age_band": ["x", "y", "x", "y"], "headcount": [12, 3, 20, 31]})
    out = disclosure.control_long(df, ["icb_code"], "staff_group", "age_band", "headcount", cfg=CFG)
    assert len(out) == 9                            # 2 x 2 cells, 2 row totals, 2 column totals, 1 grand
    cell = out.set_index(["staff_group", "age_band"])
    assert cell.loc[("a", "y"), "suppressed"] and np.isnan(cell.loc[("a", "y"), "headcount"])
    assert cell.loc[("all", "all"), "headcount"] == 65
    shown = out["headcount"].dropna()
    assert not ((shown >= 1) & (shown <= 4)).any()


@pytest.mark.unit
def test_rates_are_suppressed_for_small_denominators_and_suppressed_counts():
    num = pd.Series([5.0, np.nan, 10.0, 30.0])
    den = pd.Series([15.0, 100.0, 100.0, np.nan])
    rate = disclosure.controlled_rate(num, den, cfg=CFG)
    assert rate.isna().tolist() == [True, True, False, True]
    assert rate[2] == 10.0


# --------------------------------------------------------------------------- pseudonyms and keys

ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20).filter(
    lambda s: s.strip() != "")
keys = st.binary(min_size=16, max_size=64)


@pytest.mark.unit
@settings(max_examples=200, deadline=None)
@given(ids, keys, keys)
def test_the_same_key_gives_the_same_pseudonym_and_another_key_a_different_one(value, k1, k2):
    a = disclosure.pseudonymise(pd.Series([value, value]), key=k1)
    assert a[0] == a[1] == disclosure.pseudonymise(pd.Series([value]), key=k1)[0]
    if k1 != k2:
        assert disclosure.pseudonymise(pd.Series([value]), key=k2)[0] != a[0]


@pytest.mark.unit
def test_pseudonyms_are_hmac_sha256_of_the_identifier():
    key = b"0123456789abcdef0123"
    expected = "P" + hmac.new(key, b"12345678", hashlib.sha256).hexdigest()[:16]
    assert disclosure.pseudonymise(pd.Series(["12345678", " 12345678 "]), key=key).tolist() == [expected] * 2


@pytest.mark.unit
def test_a_missing_key_stops_with_how_to_provide_one(monkeypatch, tmp_path):
    monkeypatch.delenv(disclosure.KEY_ENV, raising=False)
    monkeypatch.setattr(disclosure, "KEY_FILE", tmp_path / ".pseudonym_key")
    with pytest.raises(disclosure.MissingKeyError, match=disclosure.KEY_ENV) as err:
        disclosure.require_key()
    assert "iwt extract key" in str(err.value)
    assert not (tmp_path / ".pseudonym_key").exists()      # no key is made behind the user's back
    with pytest.raises(disclosure.MissingKeyError):
        disclosure.pseudonymise(pd.Series(["1"]))


@pytest.mark.unit
def test_a_short_key_is_refused(monkeypatch):
    monkeypatch.setenv(disclosure.KEY_ENV, "short")
    with pytest.raises(disclosure.MissingKeyError, match="shorter than 16"):
        disclosure.require_key()


@pytest.mark.unit
def test_the_key_file_is_made_on_request_private_and_never_replaced(monkeypatch, tmp_path):
    monkeypatch.delenv(disclosure.KEY_ENV, raising=False)
    path = tmp_path / ".pseudonym_key"
    monkeypatch.setattr(disclosure, "KEY_FILE", path)
    disclosure.make_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert disclosure.require_key() == path.read_text().strip().encode()
    with pytest.raises(FileExistsError):
        disclosure.make_key_file(path)


@pytest.mark.unit
def test_the_key_file_is_ignored_by_git():
    from iwt_helpers import paths
    ignored = (paths.ROOT / ".gitignore").read_text().splitlines()
    assert str(disclosure.KEY_FILE.relative_to(paths.ROOT)) in ignored
