"""Write files so that a reader never sees a half-written one.

Each writer writes to a temporary file in the destination folder and renames it into place
(``os.replace`` is atomic on one file system). If anything fails, the old file stays as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(dest: Path | str, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; rename it onto ``dest`` if the block succeeds."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix or ".tmp", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())     # mkstemp makes 0600; give the usual file mode
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


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


def swap_directory(new_dir: Path, dest: Path) -> None:
    """Replace folder ``dest`` with the fully built ``new_dir`` (the old one is removed last).

    Between the two renames ``dest`` is briefly absent and the previous folder sits at
    ``.<dest>.old``; :func:`recover_swap` puts it back if the process was killed there."""
    dest = Path(dest)
    old = dest.with_name(f".{dest.name}.old")
    recover_swap(dest)
    if old.exists():
        shutil.rmtree(old)
    if dest.exists():
        os.replace(dest, old)
    os.replace(new_dir, dest)
    if old.exists():
        shutil.rmtree(old)


def recover_swap(dest: Path) -> bool:
    """Finish or undo a folder swap that was interrupted: if ``dest`` is missing but its previous
    version ``.<dest>.old`` is there, put it back. Returns True when something was restored."""
    dest = Path(dest)
    old = dest.with_name(f".{dest.name}.old")
    if not dest.exists() and old.is_dir():
        os.replace(old, dest)
        return True
    return False
