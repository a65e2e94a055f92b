"""Python files parsed once per test process: the static checks of the package (layers and cycles, other
libraries' private APIs, error classes) read the same trees instead of parsing the package each."""

from __future__ import annotations

import ast
import functools
from pathlib import Path


def tree(path: Path) -> ast.Module:
    """The syntax tree of ``path``; parsed again only when the file changed. Callers read it, never change it."""
    st = Path(path).stat()
    return _parse(Path(path), st.st_mtime_ns, st.st_size)


@functools.cache
def _parse(path: Path, mtime_ns: int, size: int) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))
