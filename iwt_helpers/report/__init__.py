"""The report runner: warm kernels, HTML and Excel export, index pages and manifest."""

import sys

# jsonschema imports rfc3987_syntax when it is installed (it is, through jupyter-events), and that
# compiles 38 lark grammars on import: about 0.8 s of CPU, a quarter of a small run. Notebook
# validation (nbformat, Draft 4 schemas) never checks the "iri" formats it serves, so the runner
# tells Python the module is absent; jsonschema then leaves those two format checks out.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)

__all__ = ["RunSummary", "print_summary", "run_reports"]


def __getattr__(name: str):
    # Imported on first use, so that a light submodule (the kernel fork server) does not pull
    # in the runner, nbformat and jupyter_client.
    if name in __all__:
        from . import runner
        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
