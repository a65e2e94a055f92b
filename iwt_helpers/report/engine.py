"""Notebook execution in a small pool of warm kernels.

Each worker owns one IPython kernel, started once. Before every notebook the worker resets
the kernel: the user namespace and execution count (``InteractiveShell.reset``), matplotlib
figures and rcParams, warnings filters and the working directory, so a report sees the same
state as in a fresh kernel (tests/test_report_runner.py checks fresh and warm outputs match).
Imported modules stay loaded, which is where the time goes in a fresh kernel.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

KERNEL_NAME = "python3"
CELL_TIMEOUT_S = 600
# Imported into each kernel as soon as it starts, while the runner plans its work, so the first
# report does not pay for them. They are what every theme notebook imports anyway.
WARM_IMPORTS = ("import pandas, matplotlib.pyplot, iwt_helpers.notebook, iwt_helpers.charts, "
                "iwt_helpers.datastore, iwt_helpers.params, iwt_helpers.workforce, iwt_helpers.kpis\n"
                "del pandas, matplotlib, iwt_helpers")   # leaves the namespace as a new kernel's

RESET_CODE = r"""
import os as _os, sys as _sys, warnings as _warnings
_os.chdir({cwd!r})
_warnings.resetwarnings()
import matplotlib as _mpl
import matplotlib.pyplot as _plt
_plt.close("all")
_mpl.rcdefaults()
get_ipython().run_line_magic("matplotlib", "inline")
if "pandas" in _sys.modules:
    import pandas as _pd
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        _pd.reset_option("all")
# Last: clear the user namespace (these helper names too) and restart the execution count.
# IPython's reset ends with a full gc.collect() (~0.1 s with pandas and matplotlib loaded);
# the automatic collector frees the same objects later, off the report's critical path.
def _iwt_reset(ip=get_ipython()):
    import gc
    collect, gc.collect = gc.collect, (lambda *a, **k: 0)
    try:
        ip.reset(new_session=True, aggressive=False)   # also removes the name _iwt_reset
    finally:
        gc.collect = collect
_iwt_reset()
"""


@dataclass
class ExecResult:
    nb: nbformat.NotebookNode
    ok: bool
    error: str | None
    seconds: float
    kernel_reused: bool = False


@dataclass
class Worker:
    """One kernel. ``fresh=True`` starts a new kernel for every notebook (for comparison)."""

    fresh: bool = False
    km: AsyncKernelManager | None = None
    kc: object | None = None
    runs: int = 0
    env: dict = field(default_factory=dict)
    starting: asyncio.Task | None = None
    clean: bool = False

    async def abort(self) -> None:
        """Stop a worker that is not needed. Its start is allowed to finish first: cancelling a
        kernel client half-way through starting its channel threads can leave a thread creating
        a socket on a context that is being destroyed."""
        if self.starting is not None:
            try:
                await asyncio.wait_for(self.starting, timeout=60)
            except BaseException:  # noqa: BLE001 - failed or timed out: it is not needed either way
                pass
            self.starting = None
        await self.stop()

    def start_soon(self, cwd: Path) -> None:
        """Begin starting (and warming) the kernel in the background."""
        self.starting = asyncio.create_task(self.start(cwd))

    async def start(self, cwd: Path) -> None:
        """Start the kernel and import the notebooks' modules (for a warm pool, ahead of use)."""
        await self._start(cwd)
        reply = await self.kc.execute_interactive(WARM_IMPORTS, store_history=False, timeout=120,
                                                  output_hook=lambda msg: None)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"kernel warm-up failed: {reply['content'].get('evalue')}")
        self.clean = True         # nothing has run in the user namespace yet: no reset needed

    async def _start(self, cwd: Path) -> None:
        self.km = AsyncKernelManager(kernel_name=KERNEL_NAME)   # loopback TCP
        # Use this interpreter, whatever kernelspec 'python3' resolves to elsewhere.
        # IWT_BATCH: notebooks render statically (no widgets) under the runner.
        env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "IWT_BATCH": "1", **self.env}
        await self.km.start_kernel(cwd=str(cwd), extra_arguments=["--HistoryManager.enabled=False"], env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        await self.kc.wait_for_ready(timeout=60)
        self.runs = 0

    async def stop(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        if self.km is not None:
            try:
                await self.km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001 - a kernel that never started has nothing to stop
                pass
            finally:
                self.km = None

    async def _reset(self, cwd: Path) -> None:
        reply = await self.kc.execute_interactive(RESET_CODE.format(cwd=str(cwd)), store_history=False,
                                                  timeout=60, output_hook=lambda msg: None)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"kernel reset failed: {reply['content'].get('evalue')}")

    async def run(self, nb: nbformat.NotebookNode, cwd: Path) -> ExecResult:
        t0 = time.perf_counter()
        reused = False
        try:
            if self.starting is not None:              # a warm-up started ahead of the first job
                starting, self.starting = self.starting, None
                await starting
            if self.km is None or not await self.km.is_alive():   # fresh mode stops after every run
                await self.stop()
                await self.start(cwd)
            else:
                reused = self.runs > 0
            if not self.clean:
                await self._reset(cwd)
            self.clean = False
        except Exception as exc:  # noqa: BLE001 - reported as this report's failure, others go on
            await self.stop()
            return ExecResult(nb, False, f"kernel could not be started or reset: {exc}", time.perf_counter() - t0)
        client = NotebookClient(nb, km=self.km, kernel_name=KERNEL_NAME, timeout=CELL_TIMEOUT_S,
                                allow_errors=False, record_timing=True, store_widget_state=False,
                                resources={"metadata": {"path": str(cwd)}})
        client.kc = self.kc
        ok, error = True, None
        try:
            await client.async_execute()
        except CellExecutionError as exc:
            ok, error = False, _first_lines(str(exc))
        except (CellTimeoutError, DeadKernelError) as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"
            await self.stop()
        self.runs += 1
        if self.fresh:
            await self.stop()
        return ExecResult(nb, ok, error, time.perf_counter() - t0, reused)


def _first_lines(text: str, n: int = 12) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    tail = [ln for ln in lines if "Error" in ln or "error" in ln]
    return (tail[-1] if tail else "\n".join(lines[-n:]))[:2000]


async def run_all(jobs: list, workers: list[Worker], run_one) -> list:
    """Run ``run_one(worker, job)`` for every job on the given workers; results in job order.

    Workers beyond the number of jobs are stopped unused; every worker is stopped at the end.
    """
    queue: asyncio.Queue = asyncio.Queue()
    for i, job in enumerate(jobs):
        queue.put_nowait((i, job))
    results: list = [None] * len(jobs)

    async def loop(worker: Worker) -> None:
        try:
            while True:
                try:
                    i, job = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                results[i] = await run_one(worker, job)
        finally:
            if worker.starting is not None:
                try:
                    await worker.starting
                except Exception:  # noqa: BLE001 - an unused worker that failed to start
                    pass
                worker.starting = None
            await worker.stop()

    await asyncio.gather(*(loop(w) for w in workers))
    return results
