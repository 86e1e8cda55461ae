"""``Workspace``: the one facade that the CLI, the TUI, the MCP server and the AI tools call.

A workspace is a Casparian home directory: its settings (``config.toml``), its state store and its
outputs. Each capability is written once, in the engine, and exposed here as a method.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .config import Config, load_config
from .store import Store, open_store
from .store.contracts import Approval
from .store.quarantine import QuarantineFilter
from .store.scopes import ScopeDefinition, scope_from_arguments

__all__ = [
    "Approval",
    "ContractProposal",
    "DiscoveryReport",
    "LiveWorkers",
    "QuarantineFilter",
    "ScopeDefinition",
    "Workspace",
    "scope_from_arguments",
]
"""The facade's vocabulary: faces build these to call it (a quarantine filter, a scope) and take
them from this module, never from the store, runner or scout packages below it."""

CANCEL_WAIT_S = 10.0
"""How long ``cancel_job`` waits for a running job's worker to stop its work (a worker on
another host learns of the cancel at its next heartbeat, so the wait may end first)."""
CANCEL_POLL_S = 0.05

if TYPE_CHECKING:
    import threading

    from .anomalies import Anomaly
    from .attention import Attention
    from .audit_export import EvidenceCheck
    from .backfill import BackfillPlan, BackfillResult
    from .catalog import ReadOnlyCatalog, SharedCatalogs
    from .contracts.discover import Discovery, FileDialect
    from .contracts.model import SchemaContract
    from .envs import EnvManager, VendorResult
    from .events import EventSink
    from .inspect import OutputInspector
    from .output_tables import TableSummary
    from .parser_details import ParserDetails
    from .parser_overview import MatchedFilesPage, ParserOverview
    from .parsers.preview import FilePreview
    from .parsers.registration import Registration, RegistrationPreview
    from .parsers.runtime import ParserRuntime
    from .quarantine_replay import ReplayPreview, ReplayResult
    from .query_history import QueryHistory
    from .runner.backtest import BacktestReport
    from .runner.dev import RunSummary
    from .runner.matching import EnqueueReport
    from .runner.pool import PoolSummary
    from .scout.listing import FileListing, ListingFilter
    from .scout.scan import ScanSummary
    from .scout.tagging import TagSuggestion
    from .sinks import Sink
    from .source_lines import SourceLine
    from .store.audit import AuditEntry
    from .store.contracts import StoredContract
    from .store.files import FileRecord, FileStats
    from .store.health import ParserHealth
    from .store.jobs import DeadLetter, Job, QueueCounts
    from .store.parsers import ParserRecord
    from .store.quarantine import QuarantinedRow
    from .store.scopes import ScopedFile
    from .store.tags import TagRule
    from .store.workers import LiveWorker


class Workspace:
    """An open home: config + store. Use as a context manager or call ``close()``."""

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self._catalogs: SharedCatalogs | None = None

    @classmethod
    def open(cls, home: str | os.PathLike[str] | None = None) -> Workspace:
        """Open (creating if needed) the home directory and migrate its store."""
        config = load_config(home)
        config.home.mkdir(parents=True, exist_ok=True)
        return cls(config, open_store(config))

    @classmethod
    def for_config(cls, config: Config) -> Workspace:
        """Open the store a ready config names (a worker host's, with its command's overrides:
        ``--store``, ``--output``); ``StoreError`` when it cannot be reached."""
        return cls(config, open_store(config))

    @property
    def home(self) -> Path:
        return self.config.home

    def close(self) -> None:
        if self._catalogs is not None:
            self._catalogs.close()
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- Registration ---
    def register_parser(
        self, path: str | os.PathLike[str], allow: tuple[str, ...] = (), policy: str | None = None
    ) -> Registration:
        """Bundle, lint, hash and store a parser folder (or an exported bundle .zip)."""
        from .parsers.registration import register

        chosen_policy = policy or self.config.settings.gatekeeper_policy
        return register(self.store, Path(path), chosen_policy, tuple(allow))

    def preview_registration(
        self, path: str | os.PathLike[str], allow: tuple[str, ...] = (), policy: str | None = None
    ) -> RegistrationPreview:
        """What ``register_parser`` would do with a folder (name, version, files, gatekeeper
        verdict, new or same or conflicting), read without storing or auditing anything."""
        from .parsers.registration import preview_registration

        chosen_policy = policy or self.config.settings.gatekeeper_policy
        return preview_registration(self.store, Path(path), chosen_policy, tuple(allow))

    def gatekeeper_rules(self) -> dict[str, str]:
        """Each gatekeeper rule ``register_parser``'s ``allow`` takes, with what it guards
        against ('network': 'network access')."""
        from .parsers.gatekeeper import RULES

        return dict(RULES)

    def list_parsers(self) -> list[ParserRecord]:
        """Every registered parser version."""
        return self.store.parsers.all()

    def get_parser(self, name: str, version: str | None = None) -> ParserRecord | None:
        """One registered version (the highest when ``version`` is None)."""
        return self.store.parsers.get(name, version)

    def export_parser(
        self, name: str, dest: str | os.PathLike[str], version: str | None = None
    ) -> Path:
        """Write a registered bundle (verified) as a ZIP that ``register_parser`` accepts."""
        from .parsers.registration import export_bundle

        return export_bundle(self.store, name, Path(dest), version)

    @property
    def parser_runtime(self) -> ParserRuntime:
        """Registered parsers ready to run (bundles, environments): shared with the runner."""
        from .parsers.runtime import ParserRuntime

        return ParserRuntime(self.store, self.config)

    def load_bundle(self, name: str, version: str | None = None) -> Path:
        """Verify a registered bundle's SHA-256 and extract it; returns its source folder."""
        return self.parser_runtime.load_bundle(name, version)

    @property
    def envs(self) -> EnvManager:
        """The manager of parser environments under this home."""
        return self.parser_runtime.envs

    def environment_for(self, parser: str | ParserRecord, offline: bool = False) -> Path:
        """The Python interpreter of a registered parser's environment, built if needed."""
        record = self.get_parser(parser) if isinstance(parser, str) else parser
        if record is None:
            raise KeyError(f"no parser '{parser}' is registered")
        return self.parser_runtime.environment_for(record, offline)

    def vendor_parser(self, name: str, version: str | None = None) -> VendorResult:
        """Copy a registered parser's locked wheels into the wheelhouse for offline builds."""
        return self.envs.vendor(self.load_bundle(name, version))

    def audit_entries(
        self,
        action: str | None = None,
        since: float | None = None,
        limit: int = 1000,
        containing: str | None = None,
        *,
        until: float | None = None,
        before_id: int | None = None,
    ) -> list[AuditEntry]:
        """The audit trail, newest first; ``containing`` keeps entries whose action, OS user or
        subject contains that text (any case); ``since``/``until`` bound the time (until
        excluded); ``before_id`` (the previous page's last id) reads the next page."""
        return self.store.audit.list(
            action=action,
            since=since,
            limit=limit,
            containing=containing,
            until=until,
            before_id=before_id,
        )

    def audit_user(self) -> str:
        """The OS user the audit trail records this process's actions under."""
        from .store.audit import os_user

        return os_user()

    def audit_count(
        self,
        action: str | None = None,
        since: float | None = None,
        containing: str | None = None,
        *,
        until: float | None = None,
    ) -> int:
        """How many audit entries match the filters ``audit_entries`` takes."""
        return self.store.audit.count(
            action=action, since=since, containing=containing, until=until
        )

    def export_audit(self, dest: str | os.PathLike[str]) -> dict[str, Any]:
        """Write the evidence manifest (JSON + readable summary) into ``dest``; returns it."""
        from .audit_export import export_evidence

        return export_evidence(self.store, Path(dest))

    def verify_audit_export(self, dest: str | os.PathLike[str]) -> EvidenceCheck:
        """Recompute every hash an evidence manifest lists and report what no longer matches."""
        from .audit_export import verify_evidence

        return verify_evidence(Path(dest))

    # --- Scout ---
    def scan(
        self,
        root: str | os.PathLike[str],
        patterns: tuple[str, ...] | list[str] = (),
        tags: tuple[str, ...] | list[str] = (),
        on_event: EventSink | None = None,
        cancel: threading.Event | None = None,
    ) -> ScanSummary:
        """Scan a folder into the inventory (raises ``ScanRootError`` if the root is unusable)."""
        from .events import ignore_events
        from .scout.scan import Scanner
        from .scout.tagging import validate_tag

        for tag in tags:
            validate_tag(tag)
        scanner = Scanner(self.store, root, patterns, tags, on_event or ignore_events, cancel)
        return scanner.run()

    def list_files(
        self,
        tag: str | None = None,
        untagged: bool = False,
        pattern: str | None = None,
        limit: int = 100,
        offset: int = 0,
        order: str = "path",
        include_deleted: bool = False,
    ) -> list[FileRecord]:
        """One page of the inventory; ``untagged`` ignores automatic ``kind:`` tags."""
        from .store.files import FileFilter

        file_filter = FileFilter(tag, untagged, pattern, include_deleted)
        return self.store.files.page(file_filter, limit=limit, offset=offset, order=order)

    def list_files_page(
        self,
        filter_text: str,
        limit: int = 100,
        offset: int = 0,
        should_stop: Callable[[], bool] | None = None,
    ) -> FileListing:
        """Discover's page of live files a gitignore-style filter selects, in path order, with
        each file's depth and the total (see ``scout.listing``); ``should_stop`` cuts it short."""
        from .scout.listing import list_files_page

        return list_files_page(self.store, filter_text, limit, offset, should_stop)

    def count_files(
        self,
        tag: str | None = None,
        untagged: bool = False,
        pattern: str | None = None,
        include_deleted: bool = False,
    ) -> int:
        """How many files ``list_files`` would page through with the same filters."""
        from .store.files import FileFilter

        return self.store.files.count(FileFilter(tag, untagged, pattern, include_deleted))

    def check_tag(self, tag: str) -> str:
        """The tag if usable; ``TaggingError`` (a ``CasparianError``) naming it otherwise."""
        from .scout.tagging import validate_tag

        return validate_tag(tag)

    def read_file_filter(self, filter_text: str) -> ListingFilter:
        """A Discover filter read (its path patterns and ``tag:`` terms); ``FilterError`` (a
        ``CasparianError``) for one ``list_files_page`` cannot read (an unfinished ``\\``, a
        lone ``!``, ``tag:`` naming no tag)."""
        from .scout.listing import compile_filter

        return compile_filter(filter_text)

    def tag_files(self, paths_or_ids: list[str | int] | tuple[str | int, ...], tag: str) -> int:
        """Tag files (ids, file paths or folders) by hand; returns the number of files tagged."""
        from .scout.tagging import tag_files

        return tag_files(self.store, paths_or_ids, tag)

    def untag_files(self, paths_or_ids: list[str | int] | tuple[str | int, ...], tag: str) -> int:
        """Remove a tag from files; returns how many files lost it."""
        from .scout.tagging import untag_files

        return untag_files(self.store, paths_or_ids, tag)

    def add_tag_rule(self, glob: str, tag: str, priority: int = 0) -> TagRule:
        """Add a gitignore-style tag rule and re-apply the rules to the inventory."""
        from .scout.tagging import add_tag_rule

        return add_tag_rule(self.store, glob, tag, priority)

    def list_tag_rules(self) -> list[TagRule]:
        """Tag rules, highest priority first."""
        return self.store.tags.list_rules()

    def remove_tag_rule(self, rule_id: int) -> TagRule:
        """Delete a tag rule (and the tags it assigned); returns the removed rule."""
        from .scout.tagging import remove_tag_rule

        return remove_tag_rule(self.store, rule_id)

    def file_stats(self) -> FileStats:
        """Inventory totals for the Home card: files, sources, tagged/untagged."""
        return self.store.files.stats()

    def tag_counts(self) -> list[tuple[str, int]]:
        """Every tag on a live file with its file count."""
        return self.store.tags.counts()

    def suggest_tags(self, limit: int = 5) -> list[TagSuggestion]:
        """Groups of untagged files (same folder + extension) with a proposed tag, largest first."""
        from .scout.tagging import suggest_tags

        return suggest_tags(self.store, limit)

    def accept_tag_suggestion(self, suggestion: TagSuggestion, tag: str | None = None) -> int:
        """Tag the files of a suggestion; returns how many were tagged."""
        from .scout.tagging import accept_suggestion

        return accept_suggestion(self.store, suggestion, tag)

    # --- Inspect ---
    def output_inspector(self) -> OutputInspector:
        """Read-only views over the Parquet outputs (stats, histograms, pages, exports)."""
        from .inspect import OutputInspector

        return OutputInspector(self.config.output_dir)

    def query_catalog(self, with_quarantine: bool = True) -> ReadOnlyCatalog:
        """The guarded read-only SQL catalog over the outputs (and a copy of the quarantined
        rows, as table ``quarantine``): one SELECT, allow-listed sources, the query_timeout_s
        setting, byte budgets. Shared by this home's queries and made again only when the
        output tables or the quarantine changed; ``close()`` (or ``with``) leaves it open for the
        next one, ``Workspace.close`` closes it."""
        return self._shared_catalogs().get(with_quarantine)

    def _shared_catalogs(self) -> SharedCatalogs:
        """This home's catalogs, made once; the quarantine is copied again only after it
        changed (``SharedCatalogs``)."""
        if self._catalogs is None:
            from .catalog import SharedCatalogs

            quarantine = self.store.quarantine
            self._catalogs = SharedCatalogs(
                self.config.output_dir,
                self.config.settings.query_timeout_s,
                quarantine.changes,
                quarantine.arrow_reader,
            )
        return self._catalogs

    def query_history(self) -> QueryHistory:
        """The SQL queries run in Inspect in this home (``<home>/query_history.json``)."""
        from .query_history import QueryHistory

        return QueryHistory(self.home)

    def output_tables(self, with_sources: bool = True) -> list[TableSummary]:
        """Every output table with its row count (from Parquet footers) and, ``with_sources``,
        how many sources fed it (a DuckDB count; without it no query engine is loaded)."""
        if not with_sources:
            from .output_tables import table_rows

            return [summary for summary, _ in table_rows(self.config.output_dir)]
        return self.output_inspector().tables()

    def table_anomalies(self, table: str) -> list[Anomaly]:
        """ "What anomalies do you see?": the engine's facts about a table, each with its count
        (null spikes, IQR outliers, rare categories, duplicate keys, future dates, mixed units)."""
        return self.output_inspector().anomalies(table)

    # --- Runs ---
    def run_parser(
        self,
        parser_path: str | os.PathLike[str],
        inputs: str | os.PathLike[str] | list[Path],
        *,
        sink: str | None = None,
        venv: str | os.PathLike[str] | None = None,
        force: bool = False,
        whatif: bool = False,
        interactive: bool = False,
        on_log: Any = None,
        on_event: EventSink | None = None,
        cancel: threading.Event | None = None,
        sink_object: Sink | None = None,
        keep_going: bool = False,
        guests: int | None = None,
        allow_network: bool = False,
    ) -> RunSummary:
        """Dev loop: run a parser over a file, folder, glob or list of files through warm guests
        into a sink. The guest has no network unless ``allow_network`` (audited as
        ``guest.network_allowed``); a refused attempt is audited."""
        from .events import ignore_events
        from .runner.dev import DevRunHooks, DevRunOptions, run_parser

        subject = str(Path(parser_path).expanduser().resolve())
        if allow_network:  # a person's choice for this run: on the record before it starts
            self.store.audit.record("guest.network_allowed", subject, mode="dev")

        def audit_notice(notice: dict[str, Any]) -> None:
            if notice.get("event") == "network":
                self.store.audit.record(
                    "guest.network_refused",
                    subject,
                    mode="dev",
                    operation=str(notice.get("operation"))[:40],
                    address=str(notice.get("address"))[:200],
                )

        options = DevRunOptions(
            sink_uri=sink,
            venv=venv,
            force=force,
            whatif=whatif,
            interactive=interactive,
            keep_going=keep_going,
            guests=guests,
            allow_network=allow_network,
        )
        hooks = DevRunHooks(
            on_log=on_log,
            on_event=on_event or ignore_events,
            on_notice=audit_notice,
            cancel=cancel,
            approved_contracts=self.store.contracts.latest,
            approved_by_hash=self.store.contracts.by_hash,  # names an older matching version
            sink=sink_object,
        )
        return run_parser(self.config, parser_path, inputs, options, hooks)

    def preview_file(self, path: str | os.PathLike[str], rows: int = 10) -> FilePreview:
        """Detected format and dialect, a schema guess and the first rows (hex for binary)."""
        from .parsers.preview import preview_file

        return preview_file(Path(path), rows)

    # --- Jobs ---
    def _job_store(self) -> Store:
        return self.store  # built with the home's queue policy (``open_store``)

    def enqueue_matching(self, parser: str | None = None) -> list[EnqueueReport]:
        """Queue scanned files matched by registered parsers (tags or patterns), never twice."""
        from .runner.matching import enqueue_matching

        return enqueue_matching(self._job_store(), parser)

    def process(
        self,
        parser: str | None = None,
        workers: int | None = None,
        on_event: EventSink | None = None,
        cancel: threading.Event | None = None,
        claim_batch: int | None = None,
        queue_matching: bool = True,
        niceness: int = 0,
        stop_grace_s: float | None = None,
    ) -> PoolSummary:
        """Queue matching files (unless the caller did: ``queue_matching=False``), then drain
        the queue with the worker pool; returns a summary. ``niceness`` lowers the workers' CPU
        priority (an interactive caller keeps the CPU it needs to stay responsive).
        ``stop_grace_s``: how long a ``cancel`` waits for running jobs before it kills their
        workers and requeues the jobs (default ``runner.pool.STOP_GRACE_S``)."""
        from .events import ignore_events
        from .runner.pool import STOP_GRACE_S, PoolOptions, WorkerPool

        if queue_matching and self.store.parsers.all():
            self.enqueue_matching(parser)
        options = PoolOptions(
            workers=workers,
            parser_names=(parser,) if parser else None,
            kind="process",
            claim_batch=claim_batch,
            niceness=niceness,
            stop_grace_s=STOP_GRACE_S if stop_grace_s is None else stop_grace_s,
        )
        return WorkerPool(self.config, options).run(on_event or ignore_events, cancel)

    def serve(
        self,
        workers: int | None = None,
        on_event: EventSink | None = None,
        stop: threading.Event | None = None,
    ) -> PoolSummary:
        """The daemon (``casparian start``): watch ``watch_folders``, rescan them periodically,
        queue what registered parsers match and keep the worker pool serving the queue until
        ``stop`` is set (SIGTERM, Ctrl+C)."""
        from .events import ignore_events
        from .runner.daemon import run_daemon

        return run_daemon(self.store, self.config, workers, on_event or ignore_events, stop)

    def run_worker_host(
        self,
        workers: int | None = None,
        parsers: Sequence[str] = (),
        claim_batch: int | None = None,
        follow: bool = True,
        worker_env: dict[str, str] | None = None,
        cancel: threading.Event | None = None,
    ) -> PoolSummary:
        """A worker host (``casparian worker``): a pool of workers claiming from this store's
        queue into ``config.output_dir`` until ``cancel`` is set (or, unless ``follow``, the
        queue is empty); each worker says on stderr what happens to its leases. ``worker_env``:
        settings the workers must share with this host (its ``--store``, ``--output``)."""
        from .runner.pool import PoolOptions, WorkerPool

        options = PoolOptions(
            workers=workers,
            parser_names=tuple(parsers) or None,
            kind="process",
            claim_batch=claim_batch,
            follow=follow,
            output_root=self.config.output_dir,
            extra_env=dict(worker_env or {}),
            log=True,
        )
        return WorkerPool(self.config, options).run(cancel=cancel)

    def live_workers(self) -> LiveWorkers:
        """The workers whose heartbeat is younger than ``lease_timeout_s``, on any host, read
        on the store's clock (ages are right across hosts)."""
        registry = self.store.workers
        now = registry.clock()
        live = registry.live(self.config.settings.lease_timeout_s, now=now)
        return LiveWorkers(tuple(live), now)

    def backtest(
        self, parser: str, paths: Sequence[str], cancel: threading.Event | None = None
    ) -> BacktestReport:
        """Run a registered parser's current version over ``paths`` through the real validator,
        writing nothing; files that failed before go first."""
        from .runner.backtest import backtest

        return backtest(self.store, self.config, parser, paths, cancel)

    def list_jobs(
        self,
        status: str | None = None,
        parser: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[Job]:
        """Jobs newest first, optionally of one state or parser."""
        return self._job_store().jobs.find(status, parser, limit=limit, offset=offset)

    def job_detail(self, job_id: int) -> Job | None:
        return self._job_store().jobs.get(job_id)

    def dead_letters(self, include_replayed: bool = False) -> list[DeadLetter]:
        """Jobs that spent their retries; kept until a person looks at them."""
        return self._job_store().jobs.dead_letters(include_replayed)

    def replay_job(self, job_id: int) -> bool:
        """Requeue a dead-lettered, failed or cancelled job with a fresh retry budget."""
        replayed = self._job_store().jobs.replay(job_id)
        if replayed:
            self.store.audit.record("job.replay", str(job_id))
        return replayed

    def retry_job(self, job_id: int) -> bool:
        """The TUI's "retry failed": the same as a replay."""
        return self.replay_job(job_id)

    def cancel_job(self, job_id: int, wait_s: float = CANCEL_WAIT_S) -> bool:
        """Cancel a queued or running job; a running worker's result is then refused. A running
        job's worker is told at once (SIGUSR1, when it runs on this host) and this waits up to
        ``wait_s`` until the worker says the job's work stopped (its guest killed)."""
        from .runner.worker import poke_worker

        jobs = self._job_store().jobs
        holder = jobs.cancel_naming_worker(job_id)
        if holder is None:
            return False
        self.store.audit.record("job.cancel", str(job_id))
        if not holder:
            return True  # it was queued: no work to stop
        worker = poke_worker(holder)
        deadline = time.monotonic() + wait_s
        while not jobs.cancel_stopped(job_id) and time.monotonic() < deadline:
            if worker is not None and not worker.is_running():
                break  # the worker is gone (and its work with it)
            time.sleep(CANCEL_POLL_S)
        return True

    def job_log_path(self, job_id: int) -> Path | None:
        """Where a job's log is (or will be, once it starts); None for an unknown job."""
        from .logs import job_log_path

        job = self.job_detail(job_id)
        if job is None:
            return None
        if job.log_path:
            return Path(job.log_path)
        return job_log_path(self.config.logs_dir, job.id, job.started_at)

    def resume_parser(self, name: str) -> bool:
        """Clear a parser's circuit breaker so its queued jobs run again."""
        resumed = self._job_store().health.resume(name)
        if resumed:
            self.store.audit.record("parser.resume", name)
        return resumed

    def paused_parsers(self) -> list[ParserHealth]:
        """The parsers whose circuit breaker holds their queued jobs, with why and since when."""
        return self.store.health.paused_parsers()

    def parser_health(self, name: str) -> ParserHealth | None:
        """A parser's circuit breaker (None when it never recorded a run)."""
        return self.store.health.get(name)

    def replay_refusal(self, job_id: int) -> str | None:
        """Why replaying this job would process its file twice (None: nothing else holds it)."""
        return self.store.jobs.replay_refusal(job_id)

    def record_audit(self, action: str, subject: str = "", **details: Any) -> int:
        """Append one audit entry (``details`` JSON-serialisable); returns its id."""
        return self.store.audit.record(action, subject, **details)

    def source_roots(self) -> list[str]:
        """The root folder of every scanned source."""
        return list(self.store.files.source_roots().values())

    # --- Scopes ---
    def save_scope(self, scope: ScopeDefinition) -> ScopeDefinition:
        """Create or replace a named scope; ``PatternError`` for a pattern that cannot be read."""
        return self.store.scopes.save(scope)

    def get_scope(self, name: str) -> ScopeDefinition | None:
        return self.store.scopes.get(name)

    def list_scopes(self) -> list[ScopeDefinition]:
        return self.store.scopes.all()

    def resolve_scope(
        self, scope: ScopeDefinition, batch_size: int = 5_000
    ) -> Iterator[ScopedFile]:
        """The live files of a scope, in path order, streamed."""
        return self.store.scopes.resolve(scope, batch_size)

    def needs_attention(self) -> Attention:
        """What waits for a person: unprocessed matched files, failed jobs, quarantined rows,
        paused parsers (the TUI's Home)."""
        from .attention import needs_attention

        return needs_attention(self._job_store())

    def job_stats(self) -> QueueCounts:
        """Job counts by state ("2 running, 5 pending", "1 failed, 8 complete")."""
        return self._job_store().jobs.counts()

    # --- Process view and quarantine source lines (TUI engineer) ------------------------------
    def parser_overview(self) -> list[ParserOverview]:
        """Each registered parser's current version: matched file count and last run status."""
        from .parser_overview import parser_overviews

        return parser_overviews(self._job_store())

    def matched_file_count(self, parser: str) -> int:
        """How many scanned files the parser's tags or patterns select."""
        from .parser_overview import matched_file_count

        return matched_file_count(self.store, parser)

    def matched_files(self, parser: str, offset: int = 0, limit: int = 100) -> MatchedFilesPage:
        """One page of the files the parser matches, with the total."""
        from .parser_overview import matched_files

        return matched_files(self.store, parser, offset, limit)

    def parser_details(self, name: str) -> ParserDetails:
        """A registered parser's current version and each output's contract as a prod run
        resolves it (the approved version, or why the bundle's file is not it)."""
        from .parser_details import parser_details

        return parser_details(self.store, self.parser_runtime, name)

    def parser_dev_entry(self, name: str) -> tuple[Path, str]:
        """The parser file a dev run of the registered ``name`` uses, and where it comes from:
        the folder it was registered from while it exists (so edits since are tried), else the
        verified registered bundle."""
        from .parser_details import ParserDetailsError, dev_entry

        record = self.get_parser(name)
        if record is None:
            raise ParserDetailsError(f"no parser '{name}' is registered")
        return dev_entry(self.parser_runtime, record)

    def source_line(self, path: str | os.PathLike[str], line_number: int) -> SourceLine:
        """Line ``line_number`` of a source file (``SourceLineError`` if it moved or shrank)."""
        from .source_lines import read_source_line

        return read_source_line(path, line_number)

    def backfill_plan(
        self, parser: str, limit: int | None = None, force: bool = False
    ) -> BackfillPlan:
        """Files whose outputs come from an older version of ``parser`` (all with ``force``)."""
        from .backfill import plan_backfill

        return plan_backfill(self._job_store(), parser, limit, force)

    def backfill_execute(
        self,
        parser: str,
        limit: int | None = None,
        force: bool = False,
        workers: int | None = None,
        on_event: EventSink | None = None,
        cancel: threading.Event | None = None,
        *,
        confirmed: BackfillPlan | None = None,
    ) -> BackfillResult:
        """Reprocess the plan into staging; swap it in only if every file succeeded. With
        ``confirmed`` (the plan a person saw; its limit and force are used), the backfill runs
        exactly that plan, or raises ``BackfillPlanChanged`` with the new plan and runs nothing."""
        from .backfill import BackfillPlanChanged, execute_backfill, plan_backfill, plan_changes
        from .events import ignore_events

        store = self._job_store()
        if confirmed is not None:
            parser, limit, force = confirmed.parser_name, confirmed.limit, confirmed.force
        plan = plan_backfill(store, parser, limit, force)
        if confirmed is not None and (changes := plan_changes(confirmed, plan)):
            raise BackfillPlanChanged(plan, changes)
        return execute_backfill(
            store, self.config, plan, workers, force, on_event or ignore_events, cancel
        )

    def backfill_plan_changes(self, seen: BackfillPlan) -> tuple[BackfillPlan, list[str]]:
        """The plan as it stands now (same parser, limit and force as ``seen``) and how it
        differs from ``seen`` in words ([] when a backfill would redo exactly what was seen)."""
        from .backfill import plan_backfill, plan_changes

        now = plan_backfill(self._job_store(), seen.parser_name, seen.limit, seen.force)
        return now, plan_changes(seen, now)

    # --- Schema contracts and quarantine (contracts engineer) ---------------------------------
    def propose_contract(
        self, contract: SchemaContract, files: int | None = None
    ) -> StoredContract:
        """Keep a discovered contract as the open proposal for its name (a human approves it);
        the audit trail records it (with how many ``files`` it was discovered from)."""
        stored = self.store.contracts.propose(contract)
        details: dict[str, Any] = {"version": stored.version, "content_hash": stored.content_hash}
        if files is not None:
            details["files"] = files
        self.store.audit.record("contract.propose", stored.name, **details)
        return stored

    def approve_contract(self, contract: SchemaContract) -> Approval:
        """Lock a contract as the next approved version of its name (audited; no-op if same)."""
        return self.store.contracts.approve(contract)

    def get_contract(self, name: str, version: int) -> StoredContract | None:
        """One stored version of a contract."""
        return self.store.contracts.get(name, version)

    def latest_contract(self, name: str) -> StoredContract | None:
        """The newest approved version of a contract."""
        return self.store.contracts.latest(name)

    def contract_proposal(self, name: str) -> StoredContract | None:
        """The open proposal for a contract name, if any."""
        return self.store.contracts.proposal(name)

    def approval_diff(self, contract: SchemaContract) -> str:
        """What approving ``contract`` would change: the unified diff from the newest approved
        version of its name (from nothing when there is none); '' when it is that version."""
        from .contracts.diff import contract_diff

        latest = self.store.contracts.latest(contract.name)
        if latest is not None and latest.content_hash == contract.content_hash:
            return ""
        before = f"version {latest.version}" if latest is not None else "(no approved version)"
        after = f"version {latest.version + 1 if latest is not None else 1} (proposed)"
        return contract_diff(latest.contract if latest else None, contract, before, after)

    def list_contracts(self) -> list[StoredContract]:
        return self.store.contracts.list()

    def contract_versions(self, name: str) -> list[StoredContract]:
        return self.store.contracts.versions(name)

    def list_quarantine(
        self, where: QuarantineFilter, after_id: int = 0, limit: int = 50
    ) -> list[QuarantinedRow]:
        """One keyset page of quarantined rows (``after_id`` = last id of the previous page)."""
        return self.store.quarantine.list(where, after_id=after_id, limit=limit)

    def count_quarantine(self, where: QuarantineFilter, cap: int | None = None) -> int:
        """Matching rows; with ``cap``, stops counting past it (returns cap + 1: 'more than')."""
        return self.store.quarantine.count(where, cap=cap)

    def quarantined_row(self, quarantine_id: int) -> QuarantinedRow | None:
        return self.store.quarantine.get(quarantine_id)

    def preview_replay(self, where: QuarantineFilter) -> list[ReplayPreview]:
        """A dry run of ``replay_quarantine``: per parser and output, how many rows would pass
        the current contract and move, and how many would still fail; nothing is written."""
        from .quarantine_replay import preview_replay

        return preview_replay(self.store, where)

    def replay_quarantine(self, where: QuarantineFilter) -> list[ReplayResult]:
        """Re-validate quarantined rows against the current contract; move passing rows out."""
        from .quarantine_replay import replay_quarantine

        return replay_quarantine(self.store, self.config.output_dir, where)

    # --- Scopes and AI tools ---------------------------------------------------------------
    def approve_contract_id(self, contract_id: int) -> Approval:
        """Approve a stored proposal by its id (the MCP ``approve_schemas`` path)."""
        stored = next((c for c in self.store.contracts.list() if c.id == contract_id), None)
        if stored is None:
            raise ValueError(
                f"no pending proposal with id {contract_id}: it may have been approved already "
                "(approval stores a new version with its own id; see `casparian schema list`)"
            )
        return self.store.contracts.approve(stored.contract)

    def execute_scope(
        self,
        parser: str,
        scope: ScopeDefinition,
        on_event: EventSink | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Job]:
        """Queue a scope's files for a registered parser, drain its queue, return those jobs."""
        from .events import ignore_events
        from .runner.pool import PoolOptions, WorkerPool
        from .store.job_models import NewJob

        record = self.get_parser(parser)
        if record is None:
            raise ValueError(f"parser {parser!r} is not registered")
        store = self._job_store()
        new_jobs = [
            NewJob(record.name, record.version, f.path, f.sha256, f.file_id, batch_id=scope.name)
            for f in self.store.scopes.resolve(scope)
        ]
        job_ids = store.jobs.enqueue(new_jobs)
        options = PoolOptions(parser_names=(record.name,))
        WorkerPool(self.config, options).run(on_event or ignore_events, cancel)
        jobs = [store.jobs.get(job_id) for job_id in job_ids]
        return [job for job in jobs if job is not None]

    def discover_contracts(
        self,
        paths: Sequence[str | os.PathLike[str]],
        name: str | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> DiscoveryReport:
        """Propose contracts for files and folders (grouped by shape, ``contracts.grouping``) and
        keep them for a human to approve; each proposal is audited.

        ``name`` (a scope's, a parser output's) names the proposals; without it they are named
        after folders. ``on_progress(done, total)`` follows the sniff.
        """
        from .contracts.grouping import discover_groups

        found = discover_groups([Path(p) for p in paths], name, on_progress)
        proposals = []
        for group in found.groups:
            stored = self.propose_contract(group.discovery.contract, group.file_count)
            proposals.append(ContractProposal(stored, group.discovery, group.file_count))
        skipped = tuple((s.path, s.reason) for s in found.skipped)
        return DiscoveryReport(tuple(proposals), skipped, found.files, found.total, found.sniffed)


@dataclass(frozen=True)
class LiveWorkers:
    """Live workers (``LiveWorker``: its record and the jobs it runs) and the store's clock
    when they were read (``now - worker.record.heartbeat_at`` is a heartbeat's age)."""

    workers: tuple[LiveWorker, ...]
    now: float


@dataclass(frozen=True)
class ContractProposal:
    """A stored proposal, how it was discovered and how many files it covers."""

    stored: StoredContract
    discovery: Discovery
    file_count: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract_id": self.stored.id,
            "name": self.stored.name,
            "version": self.stored.version,
            "status": self.stored.status,
            "content_hash": self.stored.content_hash,
            "file_count": self.file_count,
            "rows_sampled": self.discovery.rows_sampled,
            "dialect": self.discovery.dialect.to_dict(),
            "dialect_text": self.discovery.dialect.describe(),
            "candidate_formats": self.discovery.candidate_formats,
            "contract": self.stored.contract.to_dict(),
            "proposal_yaml": self.discovery.proposal_text(),
            "warnings": list(self.discovery.warnings),
        }


@dataclass(frozen=True)
class DiscoveryReport:
    proposals: tuple[ContractProposal, ...]
    skipped: tuple[tuple[str, str], ...]
    files: tuple[FileDialect, ...] = ()
    """Each file sniffed: its dialect (with confidence) and column names."""
    total: int = 0
    """The files given (folders expanded)."""
    sniffed: int = 0
    """The files sniffed: ``total``, or an even spread of 500 of them."""
