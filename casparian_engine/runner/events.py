"""Facts a parser run reports: frozen dataclasses deriving from ``events.Event``."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..events import Event


@dataclass(frozen=True)
class RunStarted(Event):
    """A run began: which parser, how many input files, where rows go."""

    parser_name: str
    parser_version: str
    file_count: int
    sink_uri: str


@dataclass(frozen=True)
class BatchWritten(Event):
    """Rows of one output were staged in the sink (throttled)."""

    output: str
    rows: int
    total_rows: int


@dataclass(frozen=True)
class RowsQuarantined(Event):
    """Rows of one output went to quarantine instead of the output."""

    output: str
    rows: int
    source_path: str


@dataclass(frozen=True)
class FileParsed(Event):
    """One input file went through the parser: rows per output, rows quarantined."""

    path: str
    rows_by_output: dict[str, int] = field(default_factory=dict)
    quarantined_rows: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class FileFailed(Event):
    """One input file failed; ``retryable`` marks a transient failure."""

    path: str
    kind: str
    message: str
    retryable: bool


@dataclass(frozen=True)
class RunFinished(Event):
    """A run ended (committed, failed or cancelled); ``summary`` is the ``RunSummary``."""

    summary: object
