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

RESET_CODE = r"""
get_ipython().reset(new_session=True, aggressive=False)
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
del _os, _sys, _warnings, _mpl, _plt
get_ipython().reset(new_session=True, aggressive=False)
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

    async def _start(self, cwd: Path) -> None:
        self.km = AsyncKernelManager(kernel_name=KERNEL_NAME)   # loopback TCP
        # Use this interpreter, whatever kernelspec 'python3' resolves to elsewhere.
        env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", **self.env}
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
            if self.fresh or self.km is None or not await self.km.is_alive():
                await self.stop()
                await self._start(cwd)
            else:
                reused = True
            await self._reset(cwd)
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


async def run_all(jobs: list, worker_count: int, run_one, fresh: bool = False) -> list:
    """Run ``run_one(worker, job)`` for every job on ``worker_count`` kernels; results in job order."""
    queue: asyncio.Queue = asyncio.Queue()
    for i, job in enumerate(jobs):
        queue.put_nowait((i, job))
    results: list = [None] * len(jobs)
    workers = [Worker(fresh=fresh) for _ in range(max(1, min(worker_count, len(jobs) or 1)))]

    async def loop(worker: Worker) -> None:
        try:
            while True:
                try:
                    i, job = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                results[i] = await run_one(worker, job)
        finally:
            await worker.stop()

    await asyncio.gather(*(loop(w) for w in workers))
    return results

