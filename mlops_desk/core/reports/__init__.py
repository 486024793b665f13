"""Exported reports: run, comparison, model card and audit, built from what is stored.

Faces call ``export.export_report`` (and ``export.find_export`` to verify a file); each
``*_report`` / ``model_card`` module builds one kind's plain data, and the ``render_*``
modules turn it into HTML, Markdown, JSON, CSV and XLSX without Qt. The PDF renderer
lives in ``mlops_desk.ui.report_pdf``. The JSON schema is described in
docs/report-schema.md.
"""

from mlops_desk.core.reports.common import KINDS, SCHEMA_VERSION
from mlops_desk.core.reports.export import (
    FORMATS,
    ROW_FORMATS,
    Exported,
    ExportProgress,
    export_report,
    find_export,
)

__all__ = ["FORMATS", "KINDS", "ROW_FORMATS", "SCHEMA_VERSION", "ExportProgress", "Exported",
           "export_report", "find_export"]
