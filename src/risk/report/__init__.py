"""The report stage: portfolio measures (vintages, roll rates, FPD, collection funnel), model validation and
the day's queues, in one self-contained HTML page (``reports/risk_report.html``).

Notebooks import :mod:`risk.report.portfolio` and :mod:`risk.report.queues` for the measures;
:func:`render_report` is the pure core of the page and :func:`run` the stage's edge.
"""

from risk.report.html import render_report
from risk.report.stage import run, write_readme_figure

__all__ = ["render_report", "run", "write_readme_figure"]
