"""Write files so that a reader never sees a half-written one; and what goes with writing a set of
files safely: prove a folder writable first, hold it against a second writer (a lock the system
drops when its holder dies), write in order from one thread beside an asyncio loop, and let
SIGINT or SIGTERM end such a run through its cleanup rather than in the middle of a write.

Each writer writes to a temporary file in the destination folder and renames it into place
(``os.replace`` is atomic on one file system). If anything fails, the old file stays as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from iwt_helpers.errors import IwtError, WriteError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(dest: Path | str, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; rename it onto ``dest`` if the block succeeds. A write the
    system refuses (a missing or read-only folder, a full disk) raises :class:`WriteError`, an ``OSError``
    that names ``dest`` and the system's reason, never the temporary name."""
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix or ".tmp", dir=dest.parent)
    except OSError as exc:
        raise write_error(exc, dest) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:                                      # mkstemp makes 0600: keep the mode of the file replaced,
        mode = stat.S_IMODE(os.stat(dest).st_mode)    # else give the usual file mode
    except OSError:
        mode = 0o666 & ~_umask()
    try:
        os.chmod(tmp_path, mode)
        yield tmp_path
        os.replace(tmp_path, dest)
    except OSError as exc:
        raise write_error(exc, dest) from None
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_error(exc: OSError, dest: Path | str) -> OSError:
    """The system's ``exc`` as a :class:`WriteError` naming ``dest`` (one that is an iwt error already is kept)."""
    return exc if isinstance(exc, IwtError) else WriteError(exc.errno, exc.strerror or str(exc), str(dest))


def temporary_folder(dest: Path | str, tag: str) -> Path:
    """A new empty folder beside ``dest`` (``.<dest>.<tag>-XXXX``) to build in before :func:`swap_directory`;
    a parent folder the system refuses raises :class:`WriteError` naming ``dest``."""
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{dest.name}.{tag}-", dir=dest.parent))
    except OSError as exc:
        raise write_error(exc, dest) from None


def write_text(dest: Path | str, text: str) -> Path:
    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
    return Path(dest)


def write_bytes(dest: Path | str, data: bytes) -> Path:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)
    return Path(dest)


def write_with(dest: Path | str, writer: Callable[[Path], None], suffix: str = "") -> Path:
    """Call ``writer(tmp_path)`` and rename the result onto ``dest``."""
    with atomic_path(dest, suffix=suffix) as tmp:
        writer(tmp)
    return Path(dest)


class InTheWayError(IwtError, FileExistsError):
    """A file or folder iwt did not make where a command must write (it is never deleted)."""


def swap_directory(new_dir: Path, dest: Path, ours: Callable[[Path], bool] | None = None) -> None:
    """Replace folder ``dest`` with the fully built ``new_dir`` (the old one is removed last); the
    new folder takes the mode of the one it replaces (a new one the usual mode, not mkdtemp's 0700).

    Between the two renames ``dest`` is briefly absent and the previous folder sits at
    ``.<dest>.old``; :func:`recover_swap` puts it back if the process was killed there. A folder
    already at ``.<dest>.old`` is removed only when ``ours(folder)`` proves the command made it
    (else :class:`InTheWayError`, a ``FileExistsError``): a user's folder of that name is never deleted."""
    dest = Path(dest)
    old = dest.with_name(f".{dest.name}.old")
    recover_swap(dest, ours)
    if old.exists() or old.is_symlink():
        if old.is_symlink() or not old.is_dir() or ours is None or not ours(old):
            raise InTheWayError(f"{old}: is in the way of replacing {dest} and was not made by iwt; "
                                "move or rename it, then run the command again")
        shutil.rmtree(old)
    try:
        mode = stat.S_IMODE(os.stat(dest).st_mode)
    except OSError:
        mode = 0o777 & ~_umask()
    os.chmod(new_dir, mode)
    if dest.exists():
        os.replace(dest, old)
    os.replace(new_dir, dest)
    if old.exists():
        shutil.rmtree(old)


def recover_swap(dest: Path, ours: Callable[[Path], bool] | None = None) -> bool:
    """Finish or undo a folder swap that was interrupted: if ``dest`` is missing but its previous
    version ``.<dest>.old`` is there and ``ours(folder)`` proves the command made it, put it back.
    Returns True when something was restored; a folder of that name it cannot prove its own is left alone."""
    dest = Path(dest)
    old = dest.with_name(f".{dest.name}.old")
    if not dest.exists() and not old.is_symlink() and old.is_dir() and ours is not None and ours(old):
        os.replace(old, dest)
        return True
    return False


MARKER = ".iwt-folder"      # in an output folder: which iwt command made it (JSON {"made_by": ...})


def mark_folder(folder: Path | str, made_by: str) -> None:
    """Record in ``folder`` that ``made_by`` (e.g. "iwt report") made it, unless it says so already."""
    if folder_maker(folder) != made_by:
        write_text(Path(folder) / MARKER, json.dumps({"made_by": made_by}) + "\n")


def folder_maker(folder: Path | str) -> str | None:
    """The command a folder's marker names, or None without a readable marker."""
    try:
        return str(json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))["made_by"])
    except (OSError, ValueError, TypeError, KeyError):
        return None


def probe_folder(folder: Path | str) -> Path:
    """Make ``folder`` if need be and prove it writable by writing and removing a probe file (or raise
    OSError): a read-only, missing or unreachable target fails here, before any work is done."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-") as probe:
        probe.write(b"probe")
        probe.flush()
    return Path(folder)


class LockedError(IwtError, RuntimeError):
    """Another process holds the lock."""


@contextlib.contextmanager
def exclusive_lock(path: Path | str, busy: str = "{path}: locked by another process (pid {pid})") -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created holding this process id, removed on release),
    or raise :class:`LockedError` with ``busy`` naming the holder's pid. The system drops the lock
    when its holder ends, however it ends, so a file left by a killed process never blocks."""
    path = Path(path)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 20, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise LockedError(busy.format(path=path, pid=pid)) from None
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(fd).st_ino:   # else its last holder removed it meanwhile
                break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


class Writer:
    """Run functions (file writes) one at a time, in the order given, in one thread beside an asyncio
    loop. A function that fails is kept in ``errors`` and, unless ``closing``, cancels ``task``: a
    target that cannot be written stops the work that feeds it. Use as a context manager."""

    def __init__(self, task: asyncio.Task):
        self.task, self.errors, self.pending, self.closing = task, [], [], False
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iwt-write")

    def __call__(self, fn: Callable, *args) -> None:
        self.pending.append(asyncio.get_running_loop().run_in_executor(self.pool, fn, *args))
        self.pending[-1].add_done_callback(self.done)

    def done(self, future: asyncio.Future) -> None:
        if not future.cancelled() and future.exception() is not None:
            self.errors.append(future.exception())
            if not self.closing:
                self.task.cancel()

    async def drain(self) -> None:
        """Wait for every function given so far (their errors are in ``errors``)."""
        await asyncio.gather(*self.pending, return_exceptions=True)

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc) -> None:
        self.pool.shutdown(wait=True)


class Interrupted(Exception):
    """Stopped by a signal; ``exit_code`` is 128 + its number, as a shell reports it."""

    def __init__(self, signum: int, detail: str | None = None):
        self.signum, self.exit_code = signum, 128 + signum
        super().__init__(f"stopped by {signal.Signals(signum).name}{detail or ''}")


@contextlib.contextmanager
def cancel_on_signals(task: asyncio.Task, signums=(signal.SIGINT, signal.SIGTERM)) -> Iterator[list[int]]:
    """In a running event loop: the first SIGINT or SIGTERM cancels ``task``, so that its cleanup runs,
    and is added to the list yielded; a second one ends the process at once, as if unhandled."""
    loop, got = asyncio.get_running_loop(), []

    def on_signal(signum: int) -> None:
        if got:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        got.append(signum)
        task.cancel()

    for s in signums:
        loop.add_signal_handler(s, on_signal, s)
    try:
        yield got
    finally:
        for s in signums:
            loop.remove_signal_handler(s)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container or ``taskset`` may set below
    the machine's count), at least 1: how many kernels, drawing workers and scenario processes to start."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):            # no affinity on this system: the machine's cores
        return max(1, os.cpu_count() or 1)
