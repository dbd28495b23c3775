"""The analyst's deliverable: one self-contained, offline HTML report of a pipeline run.

Fill a :class:`ReportData` from the small summary tables the pipeline computes in the
warehouse, then call :func:`render_report` (HTML text) or :func:`write_report` (a file).
"""

from segmint.report.data import ReportData, ReportDataError
from segmint.report.render import render_report, write_report

__all__ = ["ReportData", "ReportDataError", "render_report", "write_report"]
