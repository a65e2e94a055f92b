"""Theme notebooks: ``notebooks/NN_<theme>.ipynb``; the theme's name is the part after NN_."""

from __future__ import annotations

import re
from pathlib import Path

from iwt_helpers import paths
from iwt_helpers.errors import UsageError

PATTERN = re.compile(r"^(\d{2})_([a-z0-9_]+)\.ipynb$")


def discover(folder: Path | None = None) -> dict[str, Path]:
    folder = Path(folder or paths.NOTEBOOKS)
    found = {}
    for p in sorted(folder.glob("*.ipynb")):
        m = PATTERN.match(p.name)
        if m:
            found[m.group(2)] = p
    return found


def title(theme: str) -> str:
    return theme.replace("_", " ").capitalize()


def select(spec: str, folder: Path | None = None) -> dict[str, Path]:
    """Themes named in ``spec`` ('all' or a comma list); unknown names raise a clear error."""
    available = discover(folder)
    if spec.strip().lower() == "all":
        return available
    names = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in available]
    if unknown or not names:
        raise UsageError(f"--themes {spec!r}: unknown theme(s) {', '.join(unknown) or '(none given)'}; "
                         f"available: {', '.join(available)} or 'all'")
    return {n: available[n] for n in names}
