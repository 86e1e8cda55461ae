"""Typed, past-tense facts that thread workers post to the UI (dataclass ``Message`` subclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    import pyarrow as pa

    from casparian_engine.events import PoolStopping
    from casparian_engine.workspace.results import (
        FilePreview,
        FileRecord,
        Job,
        QuarantinedRow,
        ResultSet,
        ResultWindow,
        TableSummary,
        TagSuggestion,
    )


@dataclass
class HomeStatsLoaded(Message):
    """The four Home cards' live figures were computed."""

    stats: dict[str, str]


@dataclass
class EngineFailed(Message):
    """A worker's engine call raised; the text is shown as a red inline error."""

    where: str
    error_text: str


@dataclass
class FilesListed(Message):
    """A page of the file inventory was read from the store: each file with its depth."""

    rows: list[tuple[FileRecord, int]]
    total: int
    offset: int
    pattern: str


@dataclass
class FilePreviewed(Message):
    """A file's format, dialect and first rows were read for the preview pane."""

    path: str
    preview: FilePreview


@dataclass
class FileDetailsRead(Message):
    """A file's facts were gathered (its kind checked against the preview's detection)."""

    title: str
    facts: dict[str, str]


@dataclass
class FilesTagged(Message):
    """Files were tagged in the store."""

    tag: str
    file_count: int


@dataclass
class SuggestionsComputed(Message):
    """The engine proposed tags for untagged groups of files."""

    suggestions: list[TagSuggestion]


@dataclass
class ScanProgressed(Message):
    """A running scan reported progress (coalesced: only the newest matters)."""

    root: str
    files_seen: int
    detail: str = ""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ScanProgressed)


@dataclass
class ScanFinished(Message):
    """A scan ended: completed, cancelled or failed (``error`` says which)."""

    root: str
    files_seen: int
    cancelled: bool = False
    error: str = ""


@dataclass
class ParserFilesListed(Message):
    """The files a parser matches were read."""

    parser_name: str
    paths: list[str]
    total: int
    offset: int = 0


@dataclass
class RunProgressed(Message):
    """A processing run of one parser moved on (coalesced per parser)."""

    parser_name: str
    done: int
    total: int
    failed: int
    quarantined_rows: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunProgressed) and message.parser_name == self.parser_name


@dataclass
class RunStopping(Message):
    """A stopping run waits for its running jobs (the pool's ``PoolStopping`` event)."""

    parser_name: str
    event: PoolStopping


@dataclass
class RunFinished(Message):
    """A processing run ended (completed, stopped or failed)."""

    parser_name: str
    summary: str
    error: str = ""


@dataclass
class JobDetailLoaded(Message):
    """One job's logs, trace and outputs were read."""

    job_id: int
    detail: tuple[Job | None, str, str]
    """The job (None once it is gone), its log's path ('' for none) and the log's tail."""


@dataclass
class JobActed(Message):
    """A job was retried, replayed or cancelled."""

    job_id: int
    action: str
    result_text: str
    run_parser: str = ""
    """The parser whose queue now runs (a retry of a job of a parser that is not paused)."""


@dataclass
class TablesListed(Message):
    """The output tables were listed with row counts."""

    tables: list[TableSummary]


@dataclass
class ColumnStatsComputed(Message):
    """Column stats of a table (or, ``query`` given, of that query's result) were computed
    (``exact`` False means from a sample)."""

    table: str
    stats: pa.Table  # one row per column (OutputInspector.column_stats)
    exact: bool
    query: str = ""


@dataclass
class StatsFailed(Message):
    """The stats (``column`` "") or a column's histogram of ``query``'s result could not be
    read; ``error`` says why."""

    query: str
    column: str
    error: str


@dataclass
class HistogramComputed(Message):
    """The value histogram of one column of a table (or of ``query``'s result) was computed."""

    table: str
    column: str
    buckets: pa.Table  # bucket, count, filter (histogram_of)
    query: str = ""


@dataclass
class ViewOpened(Message):
    """The engine opened a view for the grid: a table (``sql`` empty) with its filter, or a
    query; its first window of rows, its row count, and the catalog's names for completion."""

    generation: int
    table: str
    predicate: str
    sql: str
    order: list[tuple[int, bool]]
    result: ResultSet
    first: ResultWindow
    total: int
    names: dict[str, list[str]] = field(default_factory=dict)
    history: tuple[str, ...] = ()


@dataclass
class ViewFailed(Message):
    """The engine refused a view (a query it will not run, a filter that fails): ``error``."""

    generation: int
    sql: str
    error: str


@dataclass
class QueryNamesRead(Message):
    """Every table a query may read (the quarantine's copy included), with its columns."""

    names: dict[str, list[str]]


@dataclass
class HistoryLoaded(Message):
    """The SQL queries run before in this home were read (``error``: why they could not be)."""

    queries: tuple[str, ...]
    error: str = ""


@dataclass
class FilterChecked(Message):
    """A typed row filter was tried on its table: ``error`` is empty when the engine took it."""

    table: str
    predicate: str
    error: str = ""


@dataclass
class ViewExported(Message):
    """The current view was written to a file (or ``error`` says why it was not)."""

    path: str
    row_count: int
    error: str = ""


@dataclass
class QuarantineListed(Message):
    """A keyset page of quarantined rows (ids after ``after_id``) with their reasons was read."""

    rows: list[QuarantinedRow] = field(default_factory=list)
    total: int = 0
    after_id: int = 0


@dataclass
class SourceLineRead(Message):
    """The source line a quarantined row points at was read (or ``error`` says why not)."""

    quarantine_id: int
    line_number: int
    text: str
    error: str = ""
