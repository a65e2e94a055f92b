"""The report runner: warm kernels, HTML and Excel export, index pages and manifest."""

from .runner import RunSummary, print_summary, run_reports

__all__ = ["RunSummary", "print_summary", "run_reports"]
