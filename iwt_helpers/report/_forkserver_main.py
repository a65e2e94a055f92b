"""The fork server process (see :mod:`iwt_helpers.report.forkserver`).

Run as ``python -m iwt_helpers.report._forkserver_main FD``: it reads JSON requests, one per
line, on the socket FD. ``{"preload": code}`` imports the kernels' modules; every other request
``{"argv", "cwd", "env"}`` forks a child that becomes ``python -m ipykernel_launcher <argv>``
and answers ``{"pid": ...}``. End of input ends the server; its kernels carry on until the
runner shuts them down (or notice the server has gone, through ``JPY_PARENT_PID``, and exit).
This module imports only the standard library, so the server pays only for what it preloads.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import sys
import threading

_START_CWD = os.getcwd()
# What a kernel imports to start, before the notebooks' own modules (kernel_setup.WARM_IMPORTS).
# (Found by listing the modules a kernel had loaded after starting and running a report that the
# server had not: the debugger support, IPython's magics and pandas' matplotlib glue.)
KERNEL_IMPORTS = ("import ipykernel.kernelapp, ipykernel.ipkernel, ipykernel.zmqshell, ipykernel.debugger, "
                  "IPython.core.magics.execution, IPython.core.completerlib, IPython.extensions.storemagic, "
                  "IPython.core.debugger, IPython.core.oinspect, IPython.core.magics.pylab, "
                  "tornado.queues, tornado.platform.asyncio, matplotlib_inline.backend_inline, "
                  "pandas.plotting._matplotlib")


def _become_kernel(request: dict, sock: socket.socket) -> None:
    """In the forked child: turn into ``python -m ipykernel_launcher <argv>``."""
    os.close(sock.detach())                     # the server's channel is not the kernel's business
    gc.enable()
    os.setsid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    read_end, write_end = os.pipe()             # standard input: an empty pipe, closed
    os.close(write_end)
    os.dup2(read_end, 0)
    os.close(read_end)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    # Exit if the server (and so the run) goes. ipykernel reads JPY_PARENT_PID when it is
    # imported, which was before this kernel existed, so the option is given on the command line.
    os.environ["JPY_PARENT_PID"] = str(os.getppid())
    # As ipykernel_launcher does: drop the working directory `python -m` put first on the path.
    if sys.path and sys.path[0] in ("", _START_CWD):
        del sys.path[0]
    import ipykernel_launcher
    sys.argv = [ipykernel_launcher.__file__, *request["argv"], f"--IPKernelApp.parent_handle={os.getppid()}"]
    from ipykernel import kernelapp
    kernelapp.launch_new_instance()


def serve(fd: int) -> None:
    sock = socket.socket(fileno=fd)
    stream = sock.makefile("rwb", buffering=0)

    def reply(obj: dict) -> None:
        stream.write(json.dumps(obj).encode() + b"\n")

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    # As the gc module's documentation advises for a process that forks without exec: no
    # collections while importing (nothing to free, and freed holes would spoil the pages the
    # children share), and gc.freeze() before forking (in the preload), so the children's
    # collectors never touch, and so never copy, the objects they inherit.
    gc.disable()
    for line in stream:
        request = json.loads(line)
        if "preload" in request:
            try:
                exec(KERNEL_IMPORTS + "\n" + request["preload"], {})    # noqa: S102 - our own import list
                if threading.active_count() != 1:
                    raise RuntimeError("an import started a thread; forking would not be safe")
                reply({"ok": True})
            except Exception as exc:  # noqa: BLE001 - the runner reports it and starts kernels normally
                reply({"error": f"preload failed: {type(exc).__name__}: {exc}"})
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                _become_kernel(request, sock)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # noqa: BLE001 - print it; the runner sees the kernel never answer
                import traceback
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        reply({"pid": pid})
    # End of input: the runner is done with us. Leave at once, without tearing down the modules
    # (about 0.2 s for pandas and matplotlib); the kernels are separate processes.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
