import pandas as pd
import pytest

from iwt_helpers.data import disclosure

pytestmark = pytest.mark.unit


def test_counts_below_the_threshold_are_suppressed_and_flagged_not_zeroed():
    df = pd.DataFrame({"staff_group": ["a", "b", "c"], "headcount": [3.0, 0.0, 250.0]})
    out = disclosure.suppress_small_counts(df, min_count=5)
    assert pd.isna(out.loc[0, "headcount"])
    assert out.loc[1, "headcount"] == 0 and out.loc[2, "headcount"] == 250
    assert out.loc[0, "suppressed"] == "headcount" and pd.isna(out.loc[2, "suppressed"])


def test_rates_are_not_treated_as_counts():
    df = pd.DataFrame({"vacancy_rate_pct": [2.0], "headcount": [100.0]})
    out = disclosure.suppress_small_counts(df)
    assert out.loc[0, "vacancy_rate_pct"] == 2.0


def test_pseudonyms_are_stable_keyed_and_hide_the_identifier():
    ids = pd.Series(["12345678", "12345678", "87654321", None])
    a = disclosure.pseudonymise(ids, key=b"k1")
    b = disclosure.pseudonymise(ids, key=b"k2")
    assert a[0] == a[1] and a[0] != a[2]
    assert a[0] != b[0]
    assert "12345678" not in a[0]
    assert pd.isna(a[3])
