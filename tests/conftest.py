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


@pytest.fixture(scope="session")
def built_real(tmp_path_factory):
    """A processed folder built once per test session from the shared real files:
    (folder, build report, raw folder)."""
    from iwt_helpers.data import build
    if not REAL.is_dir():
        pytest.skip(f"real public data not found at {REAL} (it sits beside the checkout as ../shared)")
    out = tmp_path_factory.mktemp("processed") / "real"
    return out, build.build(REAL, out), REAL


LEVELS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(config, items):
    """Every test carries exactly one of the markers unit, integration, e2e; notebooks run by
    nbval are e2e."""
    wrong = []
    for item in items:
        if item.__class__.__name__ in ("IPyNbCell", "IPyNbFile") or str(item.fspath).endswith(".ipynb"):
            item.add_marker(pytest.mark.e2e)
        levels = [m.name for m in item.iter_markers() if m.name in LEVELS]
        if len(levels) != 1:
            wrong.append(f"{item.nodeid}: {levels or 'no level marker'}")
    if wrong:
        raise pytest.UsageError("each test needs exactly one of the markers unit, integration, e2e:\n  "
                                + "\n  ".join(wrong[:20]))


@pytest.fixture
def kernel_starts(monkeypatch):
    """Kernels the report runner tries to start (none does start): for tests of what it refuses
    before any kernel runs."""
    from iwt_helpers.report import engine
    started = []

    async def start(self, cwd):
        started.append(cwd)
        raise RuntimeError("no kernel in this test")
    monkeypatch.setattr(engine.Worker, "start", start)
    return started


@pytest.fixture
def mark_data_folder():
    """Makes a folder a data folder as `iwt data build` marks one (``datasets.json``, no tables):
    what the app, readiness commands and reports accept as ``--data``."""
    import json

    from iwt_helpers.data import datastore

    def mark(folder):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / datastore.MANIFEST).write_text(json.dumps({"dataset": datastore.PROCESSED_MARK, "tables": {}}))
        return folder
    return mark
