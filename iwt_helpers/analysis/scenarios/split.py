"""Scenario tables made in several processes at once, some of the ICBs in each (``iwt scenarios run``).

Every figure of an ICB's rows is worked out from that ICB's own cells (:func:`inputs.part`), so the ICBs
can be shared out: this process keeps the first part and forks one process for each other part; each
makes its tables in turn and sends them back as it goes (a thread here takes them off the pipe at once,
so no process waits for another to read); each scenario's parts are then put together. Forking shares
what this process has already loaded and built (the tables, the inputs) without reading it again.

A process that fails sends back its error, raised here; one that stops without a word (killed, out of
memory) is reported with its exit code; if this process stops first, the others are ended: by this one on
an error, an interruption or the tables no longer wanted, and by the system (a signal the kernel sends a
process whose parent dies) where this one is killed outright.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from .inputs import Inputs

T = TypeVar("T")
U = TypeVar("U")

END = "end"


def tables(parts: list[Inputs], make: Callable[[Inputs], Iterator[T]], put_together: Callable[[list[T]], U]) -> Iterator[U]:
    """``put_together`` of what ``make`` gives for each part (its tables, in turn), one at a time:
    ``make(parts[0])`` here, the others each in a process forked from this one."""
    ctx = multiprocessing.get_context("fork")
    sys.stdout.flush()                          # nothing waiting in a buffer that a child would write again
    sys.stderr.flush()
    workers = []
    receivers = []
    try:
        for part in parts[1:]:
            receive, send = ctx.Pipe(duplex=False)
            receivers.append(receive)
            proc = ctx.Process(target=_child, args=(make, part, send, list(receivers), os.getpid()), daemon=True,
                               name=f"iwt-scenarios-{part.icbs[0]}-{part.icbs[-1]}")
            proc.start()
            send.close()                        # this process's copy: the pipe ends when the child's does
            got: queue.Queue = queue.Queue()
            threading.Thread(target=_drain, args=(receive, got), daemon=True).start()
            workers.append((proc, got, part))
        for mine in make(parts[0]):
            yield put_together([mine] + [_next(proc, got, part) for proc, got, part in workers])
        for proc, got, part in workers:
            extra = _next(proc, got, part, end=True)
            if extra is not None:
                raise RuntimeError(f"the process projecting {_icbs(part)} made more tables than this one")
            proc.join()
    finally:
        for proc, _, _ in workers:
            if proc.is_alive():
                proc.terminate()
            proc.join()


def _icbs(part: Inputs) -> str:
    return f"ICBs {part.icbs[0]} to {part.icbs[-1]}" if len(part.icbs) > 1 else f"ICB {part.icbs[0]}"


def _child(make: Callable[[Inputs], Iterator[T]], part: Inputs, send, inherited: list, parent: int) -> None:
    _end_with(parent)
    for receive in inherited:                   # this process only sends: a pipe whose reader is gone errs at once
        receive.close()
    try:
        for t in make(part):
            send.send(("table", t))
        send.send((END, None))
    except BaseException as e:                  # noqa: BLE001 (sent to the parent, which raises it)
        send.send(("error", _portable(e)))
    finally:
        send.close()


def _end_with(parent: int) -> None:
    """Have the system end this process when ``parent`` ends (Linux: the parent-death signal), and end it
    now if ``parent`` has already gone."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)    # PR_SET_PDEATHSIG
    except (OSError, AttributeError):           # no prctl: the parent ends its children itself when it can
        pass
    if os.getppid() != parent:
        os._exit(1)


def _portable(e: BaseException) -> BaseException:
    """``e`` if it comes back whole through a pipe, else a RuntimeError with its type and words."""
    try:
        back = pickle.loads(pickle.dumps(e))
        return e if type(back) is type(e) else RuntimeError(f"{type(e).__name__}: {e}")
    except Exception:                           # noqa: BLE001 (any error pickling it: send its words)
        return RuntimeError(f"{type(e).__name__}: {e}")


def _drain(receive, got: queue.Queue) -> None:
    """Everything a child sends, in order, put in ``got``; then None once its pipe is closed (or cannot be
    read: the error is put first)."""
    try:
        while True:
            got.put(receive.recv())
    except (EOFError, OSError):
        pass
    except BaseException as e:                  # noqa: BLE001 (e.g. a message that cannot be unpickled)
        got.put(("error", RuntimeError(f"could not read what it sent: {type(e).__name__}: {e}")))
    finally:
        got.put(None)
        receive.close()


def _next(proc, got: queue.Queue, part: Inputs, end: bool = False):
    """A child's next table (None: it has finished, when ``end``), or its error raised here."""
    msg = got.get()
    if msg is None:
        proc.join()
        raise RuntimeError(f"the process projecting {_icbs(part)} stopped without its tables (exit code {proc.exitcode})")
    kind, value = msg
    if kind == "error":
        value.add_note(f"(in the process projecting {_icbs(part)} of `iwt scenarios run`)")
        raise value
    if kind == END:
        if not end:
            raise RuntimeError(f"the process projecting {_icbs(part)} made fewer tables than this one")
        return None
    return value
