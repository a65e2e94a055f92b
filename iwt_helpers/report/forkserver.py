"""Kernels forked from one process that has already imported what the notebooks use.

A new IPython kernel spends about a second of CPU importing ipykernel, IPython, pandas,
matplotlib and iwt before it can run a report. With a pool of N kernels that is paid N times,
on the same cores that run the reports. The fork server pays it once: it starts, imports the
modules, and then forks one child per kernel; each child becomes an ordinary ipykernel
(``IPKernelApp``) on the connection file jupyter_client wrote, exactly as
``python -m ipykernel_launcher -f <file>`` would.

jupyter_client still manages every kernel: ``engine.ForkProvisioner`` is a kernel provisioner
(jupyter_client's extension point for how a kernel process is started) that asks the server
to fork instead of calling ``Popen``. Signals, interrupts and shutdown go to the child's
process group as they do for a local kernel.

Rules that keep the children sound:
- the server imports modules but never creates a zmq context, an event loop or a thread
  before it forks (``serve`` checks there is only one thread);
- each child starts a new session (its own process group), closes the server's socket,
  takes the environment and working directory jupyter_client asked for, and reads its
  standard input from an empty pipe, as a ``Popen``-launched kernel does;
- the server ignores SIGCHLD, so finished kernels are reaped at once; the child restores the
  default so that code in the kernel can wait for its own subprocesses;
- the child is told its parent is the server (``--IPKernelApp.parent_handle``, as
  ``JPY_PARENT_PID`` would for a launched kernel), so it exits if the server (and so the run) dies.

Linux only (``os.pidfd_open`` tells the runner when a kernel it did not start has exited);
elsewhere, or with ``IWT_FORKSERVER=0``, the runner starts kernels the usual way.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys

LAUNCHER = ["-m", "ipykernel_launcher"]
SERVER_MODULE = "iwt_helpers.report._forkserver_main"   # the server process (imports nothing heavy itself)


def available() -> bool:
    """Whether kernels can be forked here (Linux with pidfd, and not switched off)."""
    return (sys.platform.startswith("linux") and hasattr(os, "pidfd_open") and hasattr(os, "fork")
            and os.environ.get("IWT_FORKSERVER", "1") != "0")


def interpreter_of(kernel_name: str) -> list[str] | None:
    """The Python command (with its options) of an ipykernel kernelspec, or None if the
    kernelspec does not run ``python ... -m ipykernel_launcher``.

    Read from the first ``<name>/kernel.json`` on Jupyter's kernel path, as jupyter_client finds
    it, without importing jupyter_client (so the server starts 0.1 s sooner); jupyter_client
    itself is asked only when there is no such file. Either way the provisioner forks a kernel
    only if jupyter_client's actual command starts with exactly this, so a wrong answer here
    can only mean kernels started the usual way.
    """
    from jupyter_core.paths import jupyter_path

    for folder in jupyter_path("kernels"):
        spec = os.path.join(folder, kernel_name, "kernel.json")
        if os.path.isfile(spec):
            try:
                with open(spec, encoding="utf-8") as fh:
                    argv = json.load(fh)["argv"]
            except (OSError, ValueError, KeyError):
                return None
            break
    else:
        from jupyter_client.kernelspec import KernelSpecManager
        argv = KernelSpecManager().get_kernel_spec(kernel_name).argv
    for i in range(1, len(argv) - 1):
        if argv[i:i + 2] == LAUNCHER:
            return list(argv[:i])
    return None


class ForkServer:
    """The runner's side: start the server process, ask it for kernels, stop it."""

    def __init__(self, preload: str, cwd: str, env: dict[str, str], interpreter: list[str]):
        """``interpreter``: the kernelspec's command before ``-m ipykernel_launcher`` (the Python
        and its options); the server runs with the same, and only such kernels are forked."""
        self.preload, self.cwd, self.env, self.interpreter = preload, cwd, env, list(interpreter)
        self.proc: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()

    def launch(self) -> None:
        """Start the server process and send it the preload (does not wait for it)."""
        ours, theirs = socket.socketpair()
        # The same environment as the kernels, with the matplotlib backend ipykernel would set,
        # so that modules imported here see what they would see inside a kernel.
        env = {**self.env, "MPLBACKEND": self.env.get("MPLBACKEND") or "module://matplotlib_inline.backend_inline"}
        try:
            self.proc = subprocess.Popen(
                [*self.interpreter, "-m", SERVER_MODULE, str(theirs.fileno())],
                cwd=self.cwd, env=env, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.sendall(json.dumps({"preload": self.preload}).encode() + b"\n")
        self._sock = ours

    async def start(self) -> None:
        """Launch (unless :meth:`launch` was called) and wait until the preload is done."""
        if self.proc is None:
            self.launch()
        self._reader, self._writer = await asyncio.open_unix_connection(sock=self._sock)
        await self._call(None)                             # the preload's answer

    async def _call(self, request: dict | None) -> dict:
        async with self._lock:
            if self._writer is None:
                raise RuntimeError("the kernel fork server is not running")
            if request is not None:
                self._writer.write(json.dumps(request).encode() + b"\n")
                await self._writer.drain()
            line = await self._reader.readline()
        if not line:
            code = self.proc.poll() if self.proc else None
            raise RuntimeError(f"the kernel fork server stopped (exit status {code})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"kernel fork server: {reply['error']}")
        return reply

    async def fork(self, argv: list[str], cwd: str, env: dict[str, str]) -> int:
        """Fork a kernel running ``ipykernel_launcher`` with ``argv``; return its pid."""
        return int((await self._call({"argv": argv, "cwd": cwd, "env": env}))["pid"])

    async def stop(self) -> None:
        if self._writer is None and self._sock is not None:
            self._sock.close()            # launched but never started
        self._sock = None
        if self._writer is not None:
            self._writer.close()          # end of input: the server exits (its kernels do not)
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
            self._writer = None
        if self.proc is not None:
            try:
                await asyncio.to_thread(self.proc.wait, 10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                await asyncio.to_thread(self.proc.wait)
            self.proc = None
