"""The records the facade's groups return, named here so a face can annotate with them.

Faces import this module under ``TYPE_CHECKING`` only (``if TYPE_CHECKING: from
..workspace.results import Job``): at run time it imports the use cases and store modules that
define the records, which a face never imports itself.
"""

from __future__ import annotations

from ..backfill import BackfillPlan
from ..catalog import ResultSet, ResultWindow
from ..inspect import OutputInspector
from ..output_tables import TableSummary
from ..parser_details import ParserDetails
from ..parser_overview import ParserOverview
from ..parsers.preview import FilePreview
from ..parsers.registration import Registration, RegistrationPreview
from ..runner.contracts_seam import ContractChoice
from ..runner.dev import RunFailure, RunSummary
from ..runner.matching import EnqueueReport
from ..runner.pool import PoolSummary
from ..scout.tagging import TagSuggestion
from ..store.contracts import Approval
from ..store.file_reads import FileRecord
from ..store.health import ParserHealth
from ..store.job_models import DeadLetter, Job, QueueCounts
from ..store.quarantine import QuarantinedRow
from ..store.workers import LiveWorker

__all__ = [
    "Approval",
    "BackfillPlan",
    "ContractChoice",
    "DeadLetter",
    "EnqueueReport",
    "FilePreview",
    "FileRecord",
    "Job",
    "LiveWorker",
    "OutputInspector",
    "ParserDetails",
    "ParserHealth",
    "ParserOverview",
    "PoolSummary",
    "QuarantinedRow",
    "QueueCounts",
    "Registration",
    "RegistrationPreview",
    "ResultSet",
    "ResultWindow",
    "RunFailure",
    "RunSummary",
    "TableSummary",
    "TagSuggestion",
]
