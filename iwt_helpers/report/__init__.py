"""The report runner: warm kernels, HTML and Excel export, index pages and manifest."""

__all__ = ["RunSummary", "print_summary", "run_reports"]


def __getattr__(name: str):
    # Imported on first use, so that the kernels can import kernel_setup without the runner.
    if name in __all__:
        from . import runner
        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
