"""The executor shared by the dev loop and the queued worker, and the dev loop itself."""

from .executor import (
    ConservationError,
    ExecutionError,
    Executor,
    FileResult,
    FileTask,
    OutputCounts,
)
from .quarantine import QuarantineWriter, RowLineage, SinkQuarantineWriter, Split, Validator

__all__ = [
    "ConservationError",
    "ExecutionError",
    "Executor",
    "FileResult",
    "FileTask",
    "OutputCounts",
    "QuarantineWriter",
    "RowLineage",
    "SinkQuarantineWriter",
    "Split",
    "Validator",
]
