"""The caveats the reports show, from ``data/reference/caveats.yaml``: one entry per caveat, keyed by
the assumption it states (``docs/assumptions.md``), each with its text, the themes that show it and,
where it is shown only sometimes, when.

Themes get a caveat's text through ``themes.wording.caveat``; ``present.notebook.caveats`` uses
:func:`text` for the caveats every report shows (synthetic data, small counts). :func:`doc_section` is
the section of ``docs/assumptions.md`` that ``tools/write_assumptions_doc.py`` writes from the file.
"""

from __future__ import annotations

import functools
import re
import string

from iwt_helpers import config
from iwt_helpers.config.caveats import FILE, THEMES, Caveat, CaveatFile  # noqa: F401 (THEMES: for callers)
from iwt_helpers.config.caveats import fields as _fields

DOC_START = "<!-- caveats: start (written by tools/write_assumptions_doc.py from data/reference/caveats.yaml; do not edit) -->"
DOC_END = "<!-- caveats: end -->"


@functools.cache
def entries() -> dict[str, Caveat]:
    """Every caveat of the file by id, in the file's order (read and validated once per process)."""
    return dict(config.load(FILE, CaveatFile).caveats)


def assumption_of(caveat_id: str) -> str:
    """The assumption a caveat states: 'A35' for 'A35.demo'."""
    return caveat_id.split(".", 1)[0]


def refs(caveat_id: str) -> list[str]:
    """The assumption ids a caveat names at its end: its own, then those it also rests on."""
    return [assumption_of(caveat_id), *entries()[caveat_id].also]


def _entry(caveat_id: str) -> Caveat:
    try:
        return entries()[caveat_id]
    except KeyError:
        raise KeyError(f"caveat {caveat_id!r} is not in data/reference/{FILE}") from None


def _with_refs(body: str, caveat_id: str) -> str:
    body = body.rstrip()
    return f"{body[:-1] if body.endswith('.') else body} ({', '.join(refs(caveat_id))})."


def text(caveat_id: str, **values) -> str:
    """The caveat's words as a report shows them, its names filled with ``values`` (every name of the
    text, and no other), ending with the assumptions it states, e.g. '... (A2, A3).'"""
    entry = _entry(caveat_id)
    names = _fields(entry.text)
    missing, extra = set(names) - set(values), set(values) - set(names)
    if missing or extra:
        raise TypeError(f"caveat {caveat_id}: fill {', '.join(names) or 'nothing'}"
                        + (f"; missing {', '.join(sorted(missing))}" if missing else "")
                        + (f"; not in the text: {', '.join(sorted(extra))}" if extra else ""))
    return _with_refs(entry.text.format(**values), caveat_id)


@functools.cache
def _pattern(caveat_id: str) -> re.Pattern:
    """The caveat's text as a pattern, each {name} matching any words."""
    parts = [re.escape(literal) + ("" if name is None else ".+?")
             for literal, name, _, _ in string.Formatter().parse(_entry(caveat_id).text.rstrip())]
    return re.compile("".join(parts), re.S)


def identify(note: str) -> str | None:
    """The id of the caveat a report's note is (its text with any names filled, ending with its
    assumptions), or None when the note is no entry of the file."""
    for cid in entries():
        end = f" ({', '.join(refs(cid))})."
        if note.endswith(end):
            body = note[: -len(end)]
            if _pattern(cid).fullmatch(body) or _pattern(cid).fullmatch(body + "."):
                return cid
    return None


def _cell(s: str) -> str:
    return " ".join(s.split()).replace("|", "\\|")


def _themes(themes: list[str]) -> str:
    return "every theme" if set(themes) == set(THEMES) else ", ".join(t.replace("_", " ") for t in themes)


def doc_section() -> str:
    """The caveats as docs/assumptions.md lists them, between its markers (markers included)."""
    lines = [DOC_START, "", "## Caveats the reports show", "",
             "Generated from `data/reference/caveats.yaml`. Each caveat names the assumptions it states at its end; a "
             "`{name}` is filled in when the report is made.", "",
             "| caveat | themes | shown when | text | filled in |", "|---|---|---|---|---|"]
    for cid, e in entries().items():
        shown = _cell(_with_refs(e.text, cid))
        fills = "; ".join(f"`{{{k}}}`: {_cell(v)}" for k, v in e.fills.items())
        lines.append(f"| {cid} | {_themes(e.themes)} | {_cell(e.when or 'always')} | "
                     f"{shown} | {fills} |")
    return "\n".join([*lines, "", DOC_END])


__all__ = ["FILE", "THEMES", "DOC_START", "DOC_END", "Caveat", "CaveatFile", "entries", "assumption_of", "refs", "text",
           "identify", "doc_section"]
