"""The report parameters under the name the theme notebooks import; they live in
:mod:`iwt_helpers.analysis.params`, where the CLI, the report runner and the app import them."""

from iwt_helpers.analysis.params import ParameterError, ReportParams

__all__ = ["ParameterError", "ReportParams"]
