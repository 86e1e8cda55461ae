"""``ws.parsers``: registered parsers — register, read, export, environments, health, dev runs
and backtests."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._group import Group

if TYPE_CHECKING:
    import threading

    from ..envs import EnvManager, VendorResult
    from ..events import EventSink
    from ..parser_details import ParserDetails
    from ..parser_overview import MatchedFilesPage, ParserOverview
    from ..parsers.registration import Registration, RegistrationPreview
    from ..parsers.runtime import ParserRuntime
    from ..runner.backtest import BacktestReport
    from ..runner.dev import RunSummary
    from ..sinks import Sink
    from ..store.health import ParserHealth
    from ..store.parsers import ParserRecord


class Parsers(Group):
    """Registered parser versions, their bundles, environments and circuit breakers."""

    # --- Registration ---
    def register(
        self, path: str | os.PathLike[str], allow: tuple[str, ...] = (), policy: str | None = None
    ) -> Registration:
        """Bundle, lint, hash and store a parser folder (or an exported bundle .zip)."""
        from ..parsers.registration import register

        chosen_policy = policy or self._config.settings.gatekeeper_policy
        return register(self._store, Path(path), chosen_policy, tuple(allow))

    def preview_registration(
        self, path: str | os.PathLike[str], allow: tuple[str, ...] = (), policy: str | None = None
    ) -> RegistrationPreview:
        """What ``register`` would do with a folder (name, version, files, gatekeeper verdict,
        new or same or conflicting), read without storing or auditing anything."""
        from ..parsers.registration import preview_registration

        chosen_policy = policy or self._config.settings.gatekeeper_policy
        return preview_registration(self._store, Path(path), chosen_policy, tuple(allow))

    def gatekeeper_rules(self) -> dict[str, str]:
        """Each gatekeeper rule ``register``'s ``allow`` takes, with what it guards against
        ('network': 'network access')."""
        from ..parsers.gatekeeper import RULES

        return dict(RULES)

    def get(self, name: str, version: str | None = None) -> ParserRecord | None:
        """One registered version (the highest when ``version`` is None)."""
        return self._store.parsers.get(name, version)

    def export(self, name: str, dest: str | os.PathLike[str], version: str | None = None) -> Path:
        """Write a registered bundle (verified) as a ZIP that ``register`` accepts."""
        from ..parsers.registration import export_bundle

        return export_bundle(self._store, name, Path(dest), version)

    # --- Bundles and environments ---
    @property
    def runtime(self) -> ParserRuntime:
        """Registered parsers ready to run (bundles, environments): shared with the runner."""
        from ..parsers.runtime import ParserRuntime

        return ParserRuntime(self._store, self._config)

    def load_bundle(self, name: str, version: str | None = None) -> Path:
        """Verify a registered bundle's SHA-256 and extract it; returns its source folder."""
        return self.runtime.load_bundle(name, version)

    @property
    def envs(self) -> EnvManager:
        """The manager of parser environments under this home."""
        return self.runtime.envs

    def environment(self, parser: str | ParserRecord, offline: bool = False) -> Path:
        """The Python interpreter of a registered parser's environment, built if needed."""
        record = self.get(parser) if isinstance(parser, str) else parser
        if record is None:
            raise KeyError(f"no parser '{parser}' is registered")
        return self.runtime.environment_for(record, offline)

    def vendor(self, name: str, version: str | None = None) -> VendorResult:
        """Copy a registered parser's locked wheels into the wheelhouse for offline builds."""
        return self.envs.vendor(self.load_bundle(name, version))

    # --- What each parser matches and how it runs ---
    def overview(self) -> list[ParserOverview]:
        """Each registered parser's current version: matched file count and last run status."""
        from ..parser_overview import parser_overviews

        return parser_overviews(self._store)

    def details(self, name: str) -> ParserDetails:
        """A registered parser's current version and each output's contract as a prod run
        resolves it (the approved version, or why the bundle's file is not it)."""
        from ..parser_details import parser_details

        return parser_details(self._store, self.runtime, name)

    def matched_count(self, parser: str) -> int:
        """How many scanned files the parser's tags or patterns select."""
        from ..parser_overview import matched_file_count

        return matched_file_count(self._store, parser)

    def matched_files(self, parser: str, offset: int = 0, limit: int = 100) -> MatchedFilesPage:
        """One page of the files the parser matches, with the total."""
        from ..parser_overview import matched_files

        return matched_files(self._store, parser, offset, limit)

    def dev_entry(self, name: str) -> tuple[Path, str]:
        """The parser file a dev run of the registered ``name`` uses, and where it comes from:
        the folder it was registered from while it exists (so edits since are tried), else the
        verified registered bundle."""
        from ..parser_details import ParserDetailsError, dev_entry

        record = self.get(name)
        if record is None:
            raise ParserDetailsError(f"no parser '{name}' is registered")
        return dev_entry(self.runtime, record)

    # --- Circuit breaker ---
    def health(self, name: str) -> ParserHealth | None:
        """A parser's circuit breaker (None when it never recorded a run)."""
        return self._store.health.get(name)

    def paused(self) -> list[ParserHealth]:
        """The parsers whose circuit breaker holds their queued jobs, with why and since when."""
        return self._store.health.paused_parsers()

    def resume(self, name: str) -> bool:
        """Clear a parser's circuit breaker so its queued jobs run again."""
        resumed = self._store.health.resume(name)
        if resumed:
            self._store.audit.record("parser.resume", name)
        return resumed

    # --- Runs that write nothing to the store's outputs ---
    def run(
        self,
        parser_path: str | os.PathLike[str],
        inputs: str | os.PathLike[str] | list[Path],
        *,
        sink: str | None = None,
        venv: str | os.PathLike[str] | None = None,
        force: bool = False,
        whatif: bool = False,
        interactive: bool = False,
        on_log: Callable[[int, str], None] | None = None,
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
        from ..events import ignore_events
        from ..runner.dev import DevRunHooks, DevRunOptions, run_parser

        subject = str(Path(parser_path).expanduser().resolve())
        if allow_network:  # a person's choice for this run: on the record before it starts
            self._store.audit.record("guest.network_allowed", subject, mode="dev")

        def audit_notice(notice: dict[str, Any]) -> None:
            if notice.get("event") == "network":
                self._store.audit.record(
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
            approved_contracts=self._store.contracts.latest,
            approved_by_hash=self._store.contracts.by_hash,  # names an older matching version
            sink=sink_object,
        )
        return run_parser(self._config, parser_path, inputs, options, hooks)

    def backtest(
        self, parser: str, paths: Sequence[str], cancel: threading.Event | None = None
    ) -> BacktestReport:
        """Run a registered parser's current version over ``paths`` through the real validator,
        writing nothing; files that failed before go first."""
        from ..runner.backtest import backtest

        return backtest(self._store, self._config, parser, paths, cancel)

    def list(self) -> list[ParserRecord]:
        """Every registered parser version."""
        return self._store.parsers.all()
