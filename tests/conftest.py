from __future__ import annotations

import pytest

from iwt_helpers import paths

REAL = paths.REAL_DATA


@pytest.fixture
def real_data():
    """The shared real public files; tests that need them skip with a reason when absent."""
    if not REAL.is_dir():
        pytest.skip(f"real public data not found at {REAL} (it sits beside the checkout as ../shared)")
    return REAL
