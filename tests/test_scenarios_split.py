"""`iwt scenarios run` shares the ICBs out between processes (issue #29): the same tables, row for row;
the totals' sums made a row at a time are numpy's, bit for bit; a process that fails or dies is
reported, and none is left behind."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from iwt_helpers.analysis import scenarios as sa
from iwt_helpers.analysis.scenarios import config, inputs, split, summary


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@pytest.mark.unit
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_group_sums_are_numpys_reduceat_bit_for_bit(dtype):
    rng = np.random.default_rng(7)
    sizes_seen = set()
    for trial in range(150):
        cells, runs = int(rng.integers(1, 420)), int(rng.integers(1, 30))
        v = (rng.standard_normal((cells, runs)) * 10 ** rng.uniform(-3, 6, (cells, 1))).astype(dtype)
        v[rng.random((cells, runs)) < 0.03] = -0.0
        if trial % 5 == 0:
            v[rng.random((cells, runs)) < 0.01] = np.nan
        if trial % 7 == 0:
            v[rng.random((cells, runs)) < 0.01] = np.inf
        k = int(rng.integers(1, min(cells, 40) + 1))
        starts = np.r_[0, np.sort(rng.choice(np.arange(1, cells), k - 1, replace=False))] if cells > 1 else np.array([0])
        sizes_seen |= set(np.diff(np.r_[starts, cells]).tolist())
        expected = np.add.reduceat(v, starts, axis=0)
        got = summary.group_sums(v, starts)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        same = (_bits(got) == _bits(expected)) | (np.isnan(got) & np.isnan(expected))
        assert same.all(), (trial, cells, runs, np.diff(np.r_[starts, cells]).max())
    # groups under 8, from 8 to 128 (8 accumulators) and over 128 (split in two) were all met
    assert min(sizes_seen) < 8 and any(8 < s <= 129 for s in sizes_seen) and max(sizes_seen) > 129


@pytest.fixture(scope="module")
def demo():
    from iwt_helpers.analysis.params import ReportParams
    from iwt_helpers.analysis.system_data import SystemData
    from iwt_helpers.data.datastore import open_dataset
    data = SystemData.load(open_dataset(None), ReportParams.parse(icb_code="QOP"))
    f = config.load()
    inp = inputs.build(data.t, data.snapshot, f.horizon_years, ensure=f.receiving_cells())
    return data.snapshot, f, inp


@pytest.mark.integration
def test_icbs_shared_out_between_processes_give_one_processs_tables_row_for_row(demo):
    snapshot, f, inp = demo
    scenarios = [f.get(n) for n in ("retention", "baseline", "hospital_to_home")]    # the baseline is still run first
    one = list(sa.percentile_tables(inp, scenarios, 40, 3, snapshot=snapshot, processes=1))
    assert [t["scenario"].iloc[0] for t in one] == ["retention", "baseline", "hospital_to_home"]
    for n in (2, 3):
        parts = sa._shares(inp, snapshot, n)
        assert len(parts) == n and [c for p in parts for c in p.icbs] == sorted(inp.icbs)
        shared = list(sa.percentile_tables(inp, scenarios, 40, 3, snapshot=snapshot, processes=n))
        assert len(shared) == len(one)
        for a, b in zip(one, shared):
            pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert not multiprocessing.active_children()
    # and as the CSV the CLI writes: the same bytes
    assert sa.csv_text(sa._rounded(pd.concat(shared, ignore_index=True))) == sa.csv_text(sa._rounded(pd.concat(one, ignore_index=True)))


@pytest.mark.unit
def test_one_icb_or_one_process_is_projected_here():
    one_icb = SimpleNamespace(icbs=["QOP"], cells=pd.DataFrame({"icb_code": ["QOP"] * 3}))
    assert sa._shares(one_icb, pd.DataFrame(), None) is None
    assert sa._shares(SimpleNamespace(icbs=["QOP", "QHG"]), pd.DataFrame(), 1) is None


def _parts(*icbs: str) -> list:
    return [SimpleNamespace(icbs=[c]) for c in icbs]


@pytest.mark.unit
def test_each_parts_tables_are_put_together_in_turn_and_no_process_is_left():
    got = list(split.tables(_parts("A", "B", "C"), lambda p: iter([p.icbs[0] + "1", p.icbs[0] + "2"]), "".join))
    assert got == ["A1B1C1", "A2B2C2"]
    assert not multiprocessing.active_children()

    def slow(p):                                   # stopped after its first table: the others are ended
        yield p.icbs[0]
        import time
        time.sleep(60)
        yield p.icbs[0]
    tables = split.tables(_parts("A", "B"), slow, "".join)
    assert next(tables) == "AB"
    tables.close()
    assert not multiprocessing.active_children()


def _fails_in_qhg(fail) -> Callable:
    """A ``make`` for :func:`split.tables`: a table, then ``fail()`` in the process of ICB QHG, then another."""
    def make(p):
        yield 1
        if p.icbs == ["QHG"]:
            fail()
        yield 2
    return make


def _raise(error: BaseException) -> None:
    raise error


@pytest.mark.unit
def test_an_error_in_another_process_is_raised_here_naming_its_icbs():
    make = _fails_in_qhg(lambda: _raise(ValueError("no posts in QHG")))
    with pytest.raises(ValueError, match="no posts in QHG") as e:
        list(split.tables(_parts("QOP", "QHG"), make, sum))
    assert any("ICB QHG" in note for note in e.value.__notes__)
    assert not multiprocessing.active_children()


@pytest.mark.unit
def test_a_process_that_dies_or_makes_fewer_tables_is_reported():
    with pytest.raises(RuntimeError, match=r"ICB QHG stopped without its tables \(exit code 3\)"):
        list(split.tables(_parts("QOP", "QHG"), _fails_in_qhg(lambda: os._exit(3)), sum))

    def fewer(p):
        yield from ([1] if p.icbs == ["QHG"] else [1, 2])
    with pytest.raises(RuntimeError, match="ICB QHG made fewer tables"):
        list(split.tables(_parts("QOP", "QHG"), fewer, sum))

    def more(p):
        yield from ([1, 2, 3] if p.icbs == ["QHG"] else [1, 2])
    with pytest.raises(RuntimeError, match="ICB QHG made more tables"):
        list(split.tables(_parts("QOP", "QHG"), more, sum))
    assert not multiprocessing.active_children()


@pytest.mark.unit
def test_percentiles_of_different_scenarios_do_not_join():
    q = {("icb", "gap"): np.zeros((3, 1, 2))}
    lab = {"icb": pd.DataFrame({"icb_code": ["QOP"], "sector": ["all"], "staff_group": ["all"]})}
    a = summary.PercentileArrays(lab, q, [2024, 2025], "baseline")
    b = summary.PercentileArrays(lab, q, [2024, 2025], "retention")
    with pytest.raises(ValueError, match="'retention'.*cannot join.*'baseline'"):
        summary.PercentileArrays.joined([a, b])
    both = summary.PercentileArrays.joined([a, a])
    assert both.q[("icb", "gap")].shape == (3, 2, 2) and len(both.labels["icb"]) == 2


class _Unreadable(Exception):
    """An error that pickles but cannot be unpickled (as an exception with required arguments beyond its message)."""

    def __init__(self, table: str, rows: int) -> None:
        super().__init__(f"{table}: {rows} bad rows")


@pytest.mark.unit
def test_an_error_that_cannot_cross_a_pipe_whole_is_raised_by_its_words_not_waited_for():
    make = _fails_in_qhg(lambda: _raise(_Unreadable("flows", 3)))
    with pytest.raises(RuntimeError, match="_Unreadable: flows: 3 bad rows") as e:
        list(split.tables(_parts("QOP", "QHG"), make, sum))
    assert any("ICB QHG" in note for note in e.value.__notes__)
    assert not multiprocessing.active_children()


@pytest.mark.unit
@pytest.mark.parametrize("busy", ["sending", "working"])
def test_the_other_processes_end_when_this_one_is_killed_outright(tmp_path, busy):
    import signal
    import subprocess
    import sys
    import time
    script = tmp_path / "killed.py"
    script.write_text(
        "import os, sys, time\n"
        "from types import SimpleNamespace\n"
        "from iwt_helpers.analysis.scenarios import split\n"
        "def make(p):\n"
        "    os.write(1, f'{p.icbs[0]} {os.getpid()}\\n'.encode())   # one write: the two processes' lines never mix\n"
        f"    if {busy == 'working'} and p.icbs[0] == 'B':\n"
        "        time.sleep(60)                  # working: sends nothing for a minute\n"
        "    for _ in range(100):\n"
        "        yield b'x' * 200_000\n"
        "        time.sleep(0.05)\n"
        "for t in split.tables([SimpleNamespace(icbs=['A']), SimpleNamespace(icbs=['B'])], make, len):\n"
        "    time.sleep(60)\n"
        "time.sleep(60)\n")
    def alive(pid: int) -> bool:
        try:
            return not open(f"/proc/{pid}/status").read().split("State:")[1].strip().startswith("Z")
        except (OSError, IndexError):
            return False
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    pids: dict[str, int] = {}
    try:
        for _ in range(2):
            name, pid = proc.stdout.readline().split()
            pids[name] = int(pid)
        assert pids["A"] == proc.pid and pids["B"] != proc.pid
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while alive(pids["B"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(pids["B"])
    finally:                                               # nothing left running, whatever failed
        for pid in (proc.pid, *pids.values()):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.unit
def test_the_processes_follow_the_cores_this_process_may_use():
    import shutil
    import subprocess
    import sys

    from iwt_helpers import atomic
    assert atomic.usable_cores() == len(os.sched_getaffinity(0))
    if shutil.which("taskset") is None:
        pytest.skip("taskset (util-linux) is not on this machine")
    one = subprocess.run(["taskset", "-c", "0", sys.executable, "-c",
                          "from types import SimpleNamespace; from iwt_helpers import atomic; "
                          "from iwt_helpers.analysis import scenarios as sa; "
                          "print(atomic.usable_cores(), sa._shares(SimpleNamespace(icbs=['QOP', 'QHG']), None, None))"],
                         capture_output=True, text=True, check=True)
    assert one.stdout.split() == ["1", "None"]              # one core it may use: one process, whatever the machine has
