"""The executor shared by the dev loop and the queued worker, and the dev loop itself."""

from .executor import (
    ConservationError,
    ExecutionError,
    Executor,
    FileResult,
    FileTask,
    OutputCounts,
    sha256_of_file,
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
    "sha256_of_file",
]
