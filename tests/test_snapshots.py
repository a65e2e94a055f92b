"""Key tables of the demo data set against stored snapshots, so that numbers cannot drift silently.

After a change meant to move them: `make snapshots` (tools/update_snapshots.py), and say why in the
commit. Numbers are compared with a relative tolerance of 1e-6; text exactly."""

import pandas as pd
import pytest

from tests.snapshot_tables import SNAPSHOT_DIR, SNAPSHOT_ICBS, key_tables

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=SNAPSHOT_ICBS)
def tables(request):
    return request.param, key_tables(request.param)


def test_every_stored_snapshot_is_still_produced(tables):
    icb, got = tables
    stored = sorted(p.stem for p in (SNAPSHOT_DIR / icb).glob("*.csv"))
    assert stored, f"no snapshots for {icb}: run make snapshots"
    assert sorted(got) == stored


def test_key_tables_match_their_snapshots(tables):
    icb, got = tables
    for name, df in got.items():
        want = pd.read_csv(SNAPSHOT_DIR / icb / f"{name}.csv")
        now = pd.read_csv(pd.io.common.StringIO(df.to_csv(index=False, float_format="%.6g")))
        assert list(now.columns) == list(want.columns), name
        assert len(now) == len(want), name
        for col in want.columns:
            if pd.api.types.is_numeric_dtype(want[col]) and pd.api.types.is_numeric_dtype(now[col]):
                pd.testing.assert_series_equal(now[col], want[col], check_dtype=False, rtol=1e-6, obj=f"{name}.{col}")
            else:
                assert now[col].astype(str).tolist() == want[col].astype(str).tolist(), f"{name}.{col}"
