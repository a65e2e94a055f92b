"""Notebook execution in a small pool of warm kernels, through jupyter_client and nbclient.

Each worker starts one IPython kernel (``AsyncKernelManager``) and keeps it for the whole run.
The kernel imports the notebooks' modules once (``kernel_setup.warm_up``) and is reset before
each later notebook (``kernel_setup.reset``), so a report sees what it would in a new kernel
(tests/test_report_runner.py compares kernels, outputs and pages); modules stay loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager

from .kernel_setup import KERNEL_NAME

CELL_TIMEOUT_S = 600
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")     # terminal colour codes in IPython's error text
KERNEL_DIR_PREFIX = "iwt-kernel-"               # each kernel's private folder of sockets, in the temp folder
OWNER = "owner"         # in that folder: "PID STARTTIME" of the iwt process that made it


def _start_time(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from /proc), or None where unknown."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _running(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:              # another user's process: running
        pass
    now = _start_time(pid)
    return not (started and now and now != started)     # the same pid, reused by a later process: not it


def remove_dead_kernel_folders(tmp: Path | str | None = None) -> list[Path]:
    """Kernel folders left by runs that were killed (SIGKILL leaves no time to clean up), removed when
    their record proves the process that made them is gone: its pid no longer runs, or now belongs to a
    later process. A folder without that record, or of a process still running, is left alone."""
    removed = []
    for d in sorted(Path(tmp or tempfile.gettempdir()).glob(f"{KERNEL_DIR_PREFIX}*")):
        try:
            pid_text, _, started = (d / OWNER).read_text(encoding="utf-8").strip().partition(" ")
            pid = int(pid_text)
        except (OSError, ValueError):
            continue
        if pid != os.getpid() and not _running(pid, started or None):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


class ReportKernelSpecs(KernelSpecManager):
    """The kernelspec of report kernels: ipykernel on the interpreter iwt runs in (``sys.executable``,
    not the first ``python`` on the PATH), without IPython's history database; IWT_BATCH: notebooks
    render statically (no widgets); PYDEVD_...: no debugger warning about frozen modules."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(name=kernel_name, display_name="Python 3 (iwt)", language="python",
                          argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                                "--HistoryManager.enabled=False"],
                          env={"IWT_BATCH": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"})


@dataclass
class ExecResult:
    ok: bool
    error: str | None
    seconds: float
    kernel_reused: bool = False


@dataclass
class Worker:
    """One kernel. ``fresh=True``: a new kernel, as it comes, for every notebook (to compare with)."""

    fresh: bool = False
    km: AsyncKernelManager | None = None
    kc: object | None = None
    runs: int = 0
    starting: asyncio.Task | None = None     # start() begun ahead of the first notebook
    clean: bool = False
    ipc_dir: str | None = None

    async def start(self, cwd: Path) -> None:
        # Unix sockets in a private (0700) temporary folder rather than loopback TCP ports:
        # nothing listens on the network and no two kernels race for a free port.
        self.ipc_dir = tempfile.mkdtemp(prefix=KERNEL_DIR_PREFIX)
        Path(self.ipc_dir, OWNER).write_text(f"{os.getpid()} {_start_time(os.getpid()) or ''}\n", encoding="utf-8")
        self.km = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=ReportKernelSpecs(),
                                     transport="ipc", ip=os.path.join(self.ipc_dir, "k"))
        await self.km.start_kernel(cwd=str(cwd))
        self.kc = self.km.client()
        self.kc.allow_stdin = False
        self.kc.start_channels()
        await self.kc.wait_for_ready(timeout=60)
        self.runs = 0
        if not self.fresh:
            await self.call(f"import iwt_helpers.report.kernel_setup as k; k.warm_up({str(cwd)!r})")
        self.clean = True

    async def reset(self, cwd: Path) -> None:
        await self.call(f"import iwt_helpers.report.kernel_setup as k; k.reset({str(cwd)!r})")

    async def call(self, code: str) -> None:
        reply = await self.kc.execute_interactive(code, store_history=False, timeout=120,
                                                  output_hook=lambda msg: None)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}")

    async def stop(self) -> None:
        if self.starting is not None:      # let a start finish (or fail) before stopping what it made
            starting, self.starting = self.starting, None
            await asyncio.gather(starting, return_exceptions=True)
        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        if self.km is not None:
            with contextlib.suppress(Exception):   # a kernel that never started has nothing to stop
                await self.km.shutdown_kernel(now=True)
            self.km = None
        if self.ipc_dir is not None:
            shutil.rmtree(self.ipc_dir, ignore_errors=True)
            self.ipc_dir = None

    async def run(self, nb, cwd: Path) -> ExecResult:
        """Execute the notebook (in place) in this worker's kernel."""
        # nbclient imports nbformat, and so jsonschema: slow enough to keep off the kernels' start.
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

        t0 = time.perf_counter()
        try:
            if self.starting is not None:              # the start begun ahead of the first job
                starting, self.starting = self.starting, None
                await starting
            if self.km is None or not await self.km.is_alive():   # fresh mode stops after every run
                await self.stop()
                await self.start(cwd)
            if not self.clean:
                await self.reset(cwd)
            self.clean = False
        except Exception as exc:  # noqa: BLE001 - reported as this report's failure, others go on
            await self.stop()
            return ExecResult(False, f"kernel could not be started or reset: {exc}", time.perf_counter() - t0)
        client = pool_client()(nb, km=self.km, kernel_name=KERNEL_NAME, timeout=CELL_TIMEOUT_S,
                               allow_errors=False, record_timing=True, store_widget_state=False,
                               resources={"metadata": {"path": str(cwd)}})
        client.kc = self.kc                            # run in this kernel, through this client
        ok, error = True, None
        try:
            await client.async_execute()
        except CellExecutionError as exc:              # the failing cell's exception, in plain text
            ok, error = False, ANSI.sub("", f"{exc.ename}: {exc.evalue}")[:2000]
        except (CellTimeoutError, DeadKernelError) as exc:
            await self.stop()
            if asyncio.current_task().cancelling():   # nbclient reports a cancelled cell as a dead kernel
                raise asyncio.CancelledError from None
            ok, error = False, f"{type(exc).__name__}: {exc}"
        self.runs += 1
        reused = self.runs > 1
        if self.fresh:
            await self.stop()
        return ExecResult(ok, error, time.perf_counter() - t0, reused)


@functools.cache
def pool_client() -> type:
    """nbclient's ``NotebookClient`` without its kernel set-up (start a kernel, an exit hook, and SIGINT and
    SIGTERM handlers that shut it down): the pool starts, resets and stops kernels; the runner has the signals."""
    from nbclient import NotebookClient

    class PoolClient(NotebookClient):
        @contextlib.asynccontextmanager
        async def async_setup_kernel(self, **kwargs):
            yield
    return PoolClient


async def run_all(jobs: list, workers: list[Worker], run_one) -> None:
    """Run ``run_one(worker, job)`` for every job, each worker taking the next job when free;
    a worker's kernel is stopped as soon as no job is left for it."""
    queue = list(reversed(jobs))

    async def loop(worker: Worker) -> None:
        try:
            while queue:
                await run_one(worker, queue.pop())
        finally:
            await worker.stop()

    await asyncio.gather(*(loop(w) for w in workers))
