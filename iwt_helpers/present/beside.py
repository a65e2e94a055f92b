"""Charts built and drawn beside the kernel while an interactive notebook redraws.

Building a chart and saving it as SVG is most of a redraw (the data notebook's ICB picker: about 0.7 s
of its 1.1 s in the kernel). While the explorer redraws (:meth:`explorer.Explorer._redraw`), each chart
function whose inputs can be keyed (``charts.reusable``) hands its inputs to a worker process here and
returns at once (``charts.PendingChart``); the kernel goes on with the next section while the worker, on
the machine's other core, builds and draws; with nothing left to work out, the kernel draws the charts
no worker has started (:meth:`Drawer.help`), and the explorer shows each section as soon as its charts
are back. A worker runs the same chart function on the same inputs under the kernel's matplotlib
settings (sent with each chart and checked by ``charts.style_digest``), so a chart comes back the same
SVG, byte for byte, as drawn in the kernel (``tests/test_beside.py``). A chart whose worker fails,
refuses or has stopped is built and drawn in the kernel instead, where any error shows.

Only an interactive explorer in a live kernel starts workers (:func:`drawer`), never the report runner
(its kernels already fill the cores) or a static render. ``IWT_DRAW_WORKERS`` sets how many (default:
up to 2, one fewer than the cores, at least 1; ``0``: none, every chart drawn in the kernel). The workers
are started with ``spawn`` (a new interpreter: nothing of the kernel's state or threads is copied), and
stop with the kernel or, should it be killed, within a second of it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor

WORKERS_ENV = "IWT_DRAW_WORKERS"
MAX_WORKERS = 2


def workers_wanted() -> int:
    """How many drawing workers an interactive explorer starts (``IWT_DRAW_WORKERS``, else up to
    MAX_WORKERS, one fewer than the cores, at least 1)."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if raw:
        try:
            return max(0, int(raw))
        except ValueError:
            raise ValueError(f"{WORKERS_ENV}={raw!r}: expected a whole number of workers (0: none)") from None
    from iwt_helpers.atomic import usable_cores  # here: a worker importing this module need not load it
    return max(1, min(MAX_WORKERS, usable_cores() - 1))


class _Job:
    """A chart to draw: kept here until a worker is free (so that the kernel may take it back and draw
    it itself, :meth:`Drawer.help`), then sent; :meth:`result` waits for (svg, title, suptitle), or None
    when it is to be drawn in the kernel."""

    def __init__(self, drawer: Drawer, name: str, args: tuple, kwargs: dict, style: tuple[bytes, dict]):
        self.drawer, self.name, self.args, self.kwargs, self.style = drawer, name, args, kwargs, style
        self.sent = False
        self._event = threading.Event()
        self._value: tuple[str, str, str] | None = None

    def set(self, value: tuple[str, str, str] | None) -> None:
        self._value = value
        self._event.set()

    def done(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> bool:
        """Take the job back if no worker has it (it is then done, with no drawing)."""
        return self.drawer._take_back(self)

    def result(self) -> tuple[str, str, str] | None:
        self._event.wait()
        return self._value


class Drawer:
    """Worker processes that build and draw charts (:meth:`submit`), started at once (each imports
    matplotlib and the chart module, a second or two, off the kernel's core). Each worker has one chart
    at a time; the others wait here, in order, so that a kernel with nothing else to do draws the last
    of them itself (:meth:`help`) while the workers draw the first."""

    def __init__(self, workers: int):
        import multiprocessing

        self.workers = workers
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start, initargs=(os.getpid(),))
        self._warm = [self._pool.submit(_ready) for _ in range(workers)]
        self._lock = threading.RLock()
        self._queue: deque[_Job] = deque()
        self._busy = 0
        self._broken = False

    def submit(self, fn, args: tuple, kwargs: dict) -> _Job | None:
        """The job of drawing ``fn(*args, **kwargs)`` (``notebook.svg_of``'s (svg, title, suptitle));
        None when ``fn`` is not one of the chart module's chart functions or the workers have stopped."""
        from . import charts

        public = getattr(charts, fn.__name__, None)
        if getattr(public, "__wrapped__", None) is not fn or self._broken:
            return None
        job = _Job(self, fn.__name__, args, kwargs, (charts.style_digest(), charts.style_settings()))
        with self._lock:
            self._queue.append(job)
            self._send()
            return None if self._broken else job

    def _send(self) -> None:
        while self._busy < self.workers and self._queue:
            job = self._queue.popleft()
            try:
                future = self._pool.submit(_draw, job.name, job.args, job.kwargs, job.style)
            except Exception:              # shut down, a worker died (BrokenProcessPool) or none could start
                self._broken = True
                for j in (job, *self._queue):
                    j.set(None)
                self._queue.clear()
                return
            job.sent = True
            self._busy += 1
            future.add_done_callback(lambda f, job=job: self._back(job, f))

    def _back(self, job: _Job, future) -> None:
        try:
            value = future.result()
        except Exception:                  # failed there (or could not be sent): drawn in the kernel
            value = None
        with self._lock:
            self._busy -= 1
            job.set(value)
            self._send()

    def _take_back(self, job: _Job) -> bool:
        with self._lock:
            if job.sent or job.done():
                return False
            self._queue.remove(job)
        job.set(None)
        return True

    def help(self) -> int:
        """Draw here, last first, the charts no worker has yet; how many."""
        n = 0
        while True:
            with self._lock:
                if not self._queue:
                    return n
                job = self._queue.pop()
            try:
                job.set(_draw(job.name, job.args, job.kwargs, job.style))
            except Exception:
                job.set(None)              # drawn again in the kernel, where its error shows
            n += 1

    def ready(self, timeout: float | None = None) -> bool:
        """True once every worker has started (for benchmarks and tests)."""
        try:
            return all(f.result(timeout=timeout) for f in self._warm)
        except Exception:
            return False

    def close(self) -> None:
        """Stop the workers (charts submitted after are drawn in the kernel)."""
        with self._lock:
            self._broken = True
        self._pool.shutdown(wait=True, cancel_futures=True)


_DRAWER: list[Drawer | None] = [None]
_LOCK = threading.Lock()


def drawer() -> Drawer | None:
    """The kernel's drawer, started on first use (None when ``IWT_DRAW_WORKERS`` is 0)."""
    with _LOCK:
        if _DRAWER[0] is None:
            n = workers_wanted()
            if n == 0:
                return None
            _DRAWER[0] = Drawer(n)
        return _DRAWER[0]


# ------------------------------------------------------------------------------ in the worker


def _start(parent: int) -> None:
    """A worker's set-up: the notebooks' chart style, and an exit should the kernel go away."""
    import gc

    import matplotlib

    matplotlib.use("Agg")
    from . import charts, notebook

    notebook.setup()
    charts.style_digest()
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # an interrupt of the kernel is not for its workers
    gc.freeze()                        # what the imports made is not walked again at each collection

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _ready() -> bool:
    return True


def _draw(name: str, args: tuple, kwargs: dict, style: tuple[bytes, dict]) -> tuple[str, str, str] | None:
    """``notebook.svg_of`` of chart function ``name`` on these inputs under the kernel's matplotlib
    settings (``style``: their digest and the settings, taken on where this process's differ); None
    when they cannot be."""
    import gc

    import matplotlib as mpl

    from . import charts, notebook

    digest, settings = style
    if charts.style_digest() != digest:
        mpl.rcParams.update(settings)
        if charts.style_digest() != digest:
            return None
    collecting = gc.isenabled()
    gc.disable()                       # a chart's many small objects would set off full collections
    try:
        return notebook.svg_of(getattr(charts, name).__wrapped__(*args, **kwargs))
    finally:
        if collecting:
            gc.enable()
