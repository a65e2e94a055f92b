"""Notebook execution in a small pool of warm kernels.

Each worker owns one IPython kernel, started once. Before every notebook the worker resets
the kernel: the user namespace and execution count (``InteractiveShell.reset``), matplotlib
figures and rcParams, warnings filters and the working directory, so a report sees the same
state as in a fresh kernel (tests/test_report_runner.py checks fresh and warm outputs match).
Imported modules stay loaded, which is where the time goes in a fresh kernel.

Where the kernel fork server is available (see forkserver.py), a worker's kernel is forked from
it through :class:`ForkProvisioner` instead of being started as a new process; such a kernel
is reset before its first report too.
"""

from __future__ import annotations

import asyncio
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import zmq
from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning.local_provisioner import LocalProvisioner
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from . import forkserver
from .kernel_setup import KERNEL_NAME, WARM_IMPORTS, kernel_env  # noqa: F401 - also used as engine.*

CELL_TIMEOUT_S = 600

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


class _ForkedProcess:
    """What LocalProvisioner needs of a ``Popen`` for a kernel that is not our child."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        self._fd = os.pidfd_open(pid)

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._fd], [], [], 0)[0]:
            self.returncode = -1          # exited; the status went to the server, which reaped it
            os.close(self._fd)
        return self.returncode

    async def exited(self) -> int:
        """Wait (without polling) until the process has exited."""
        if self.returncode is None:
            loop = asyncio.get_running_loop()
            done = loop.create_future()
            loop.add_reader(self._fd, lambda: done.done() or done.set_result(None))
            try:
                await done
            finally:
                loop.remove_reader(self._fd)
            self.poll()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            ready = select.select([self._fd], [], [], timeout)[0]
            if not ready:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            self.poll()
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):
    """A local provisioner whose kernels come from a :class:`forkserver.ForkServer`."""

    server: forkserver.ForkServer | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        n = len(self.server.interpreter) if self.server is not None else 0
        if self.server is None or cmd[:n] != self.server.interpreter or cmd[n:n + 2] != forkserver.LAUNCHER:
            # Not ipykernel on the server's interpreter (a kernelspec changed since): start it normally.
            return await super().launch_kernel(cmd, **kwargs)
        cwd = str(kwargs.get("cwd") or os.getcwd())
        env = dict(kwargs.get("env") or os.environ)
        pid = await self.server.fork(cmd[n + 2:], cwd, env)
        self.process = _ForkedProcess(pid)
        self.pid = self.pgid = pid                  # the child leads its own process group
        self.cwd = cwd
        return self.connection_info

    async def wait(self) -> int | None:
        if isinstance(self.process, _ForkedProcess):
            code = await self.process.exited()   # LocalProvisioner would poll every 0.1 s
            self.process = None
            return code
        return await super().wait()


class _KernelManager(AsyncKernelManager):
    """jupyter_client's manager, checking every 10 ms (not 100 ms) whether a kernel it has
    stopped is gone, so the end of a run does not wait on a timer."""

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        await super()._async_wait(pollinterval=min(pollinterval, 0.01))


@dataclass
class ExecResult:
    nb: nbformat.NotebookNode
    ok: bool
    error: str | None
    seconds: float
    kernel_reused: bool = False
    kernel_forked: bool = False


@dataclass
class Worker:
    """One kernel. ``fresh=True`` starts a new kernel for every notebook (for comparison)."""

    fresh: bool = False
    km: AsyncKernelManager | None = None
    kc: object | None = None
    runs: int = 0
    starting: asyncio.Task | None = None
    clean: bool = False
    ipc_dir: str | None = None
    forked: bool = False                 # the current kernel came from the fork server
    server: asyncio.Task | None = None   # a task giving a started forkserver.ForkServer (or failing)

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
        forked = self.forked = await self._start(cwd)
        reply = await self.kc.execute_interactive(WARM_IMPORTS, store_history=False, timeout=120,
                                                  output_hook=lambda msg: None)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"kernel warm-up failed: {reply['content'].get('evalue')}")
        # A kernel started the usual way has run nothing in its user namespace yet, so needs no
        # reset. A forked one imported its modules before the kernel existed (for instance,
        # pyplot found no IPython shell to hook into), so it gets the same reset as a reused
        # kernel, which puts that state right.
        self.clean = not forked

    async def _start(self, cwd: Path) -> bool:
        """Start the kernel; True if it was forked from the fork server."""
        # Unix-domain sockets in a private (0700) temporary folder: nothing listens on a network
        # port, so ipykernel has no reason to warn about unencrypted TCP. The path is absolute
        # because the kernel runs in another working directory.
        self.ipc_dir = tempfile.mkdtemp(prefix="iwt-kernel-")
        self.km = _KernelManager(kernel_name=KERNEL_NAME, transport="ipc",
                                     ip=os.path.join(self.ipc_dir, "k"))
        server = None
        if self.server is not None and not self.fresh:
            try:
                server = await self.server
            except Exception:  # noqa: BLE001 - the runner has said why; start this kernel the usual way
                server = None
        if server is not None:
            self.km.kernel_id = str(uuid.uuid4())
            self.km.provisioner = ForkProvisioner(kernel_id=self.km.kernel_id, kernel_spec=self.km.kernel_spec,
                                                  parent=self.km)
            self.km.provisioner.server = server
        await self.km.start_kernel(cwd=str(cwd), extra_arguments=["--HistoryManager.enabled=False"],
                                   env=kernel_env())
        self.kc = self.km.client()
        # Our sockets connect before the new kernel has bound its own, and zmq then retries
        # only every 100 ms by default: the first request would wait that long for nothing.
        self.kc.context.setsockopt(zmq.RECONNECT_IVL, 5)
        self.kc.start_channels()
        await wait_for_ready(self.km, self.kc, timeout=60)
        self.runs = 0
        return server is not None

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
        if self.ipc_dir is not None:
            shutil.rmtree(self.ipc_dir, ignore_errors=True)
            self.ipc_dir = None

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
        return ExecResult(nb, ok, error, time.perf_counter() - t0, reused, self.forked)


async def wait_for_ready(km: AsyncKernelManager, kc, timeout: float) -> None:
    """Return once the kernel answers on the shell channel and its IOPub messages reach us.

    jupyter_client's ``wait_for_ready`` proves the same but then drains IOPub until it has been
    quiet for 0.2 s, which every kernel start pays. Here the proof is direct: a kernel_info
    request's reply on shell, and the kernel's "idle" status for that request on IOPub (so the
    subscription is live and no output of the first cell can be lost). Stray messages are
    harmless: every later reader matches replies and outputs to its own request.
    """
    from queue import Empty

    deadline = time.monotonic() + timeout
    ids: set[str] = set()
    while time.monotonic() < deadline:
        msg_id = kc.kernel_info()
        ids.add(msg_id)
        try:
            while True:                       # the reply to this request (older ones are skipped)
                reply = await kc.shell_channel.get_msg(timeout=1)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            # Its idle status on IOPub (or an earlier request's). If the subscription was not
            # yet in place when the kernel published, ask again rather than wait long.
            while True:
                msg = await kc.iopub_channel.get_msg(timeout=0.1)
                if (msg["parent_header"].get("msg_id") in ids and msg["msg_type"] == "status"
                        and msg["content"].get("execution_state") == "idle"):
                    return
        except Empty:
            if not await km.is_alive():
                raise RuntimeError("kernel died before it was ready") from None
    raise RuntimeError(f"kernel did not answer within {timeout:.0f} seconds")


def _first_lines(text: str, n: int = 12) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    tail = [ln for ln in lines if "Error" in ln or "error" in ln]
    return (tail[-1] if tail else "\n".join(lines[-n:]))[:2000]


async def run_all(jobs: list, workers: list[Worker], run_one, stopping: list | None = None) -> list:
    """Run ``run_one(worker, job)`` for every job on the given workers; results in job order.

    Every worker is stopped when there is no job left for it. With ``stopping``, the stops are
    left running as tasks added to that list (the caller awaits them later, so shutting a
    kernel down overlaps with writing the last outputs); without it they are awaited here.
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
            if stopping is None:
                await worker.stop()
            else:
                stopping.append(asyncio.create_task(worker.stop()))

    await asyncio.gather(*(loop(w) for w in workers))
    return results
