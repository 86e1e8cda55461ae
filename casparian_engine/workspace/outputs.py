"""``ws.outputs``: the Parquet outputs — tables, inspector, SQL catalog, anomalies, backfill."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._group import Group

if TYPE_CHECKING:
    import threading

    from ..anomalies import Anomaly
    from ..backfill import BackfillPlan, BackfillResult
    from ..catalog import ReadOnlyCatalog, SharedCatalogs
    from ..config import Config
    from ..events import EventSink
    from ..inspect import OutputInspector
    from ..output_tables import TableSummary
    from ..query_history import QueryHistory
    from ..store import Store


class Outputs(Group):
    """What production runs wrote, read-only, and the backfill that rewrites it."""

    def __init__(self, config: Config, store: Store) -> None:
        super().__init__(config, store)
        self._catalogs: SharedCatalogs | None = None

    def inspector(self) -> OutputInspector:
        """Read-only views over the Parquet outputs (stats, histograms, pages, exports)."""
        from ..inspect import OutputInspector

        return OutputInspector(self._config.output_dir)

    def tables(self, with_sources: bool = True) -> list[TableSummary]:
        """Every output table with its row count (from Parquet footers) and, ``with_sources``,
        how many sources fed it (a DuckDB count; without it no query engine is loaded)."""
        if not with_sources:
            from ..output_tables import table_rows

            return [summary for summary, _ in table_rows(self._config.output_dir)]
        return self.inspector().tables()

    def anomalies(self, table: str) -> list[Anomaly]:
        """ "What anomalies do you see?": the engine's facts about a table, each with its count
        (null spikes, IQR outliers, rare categories, duplicate keys, future dates, mixed units)."""
        return self.inspector().anomalies(table)

    def catalog(self, with_quarantine: bool = True) -> ReadOnlyCatalog:
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
            from ..catalog import SharedCatalogs

            quarantine = self._store.quarantine
            self._catalogs = SharedCatalogs(
                self._config.output_dir,
                self._config.settings.query_timeout_s,
                quarantine.changes,
                quarantine.arrow_reader,
            )
        return self._catalogs

    def close(self) -> None:
        """Close the shared catalogs (``Workspace.close`` calls it)."""
        if self._catalogs is not None:
            self._catalogs.close()
            self._catalogs = None

    def query_history(self) -> QueryHistory:
        """The SQL queries run in Inspect in this home (``<home>/query_history.json``)."""
        from ..query_history import QueryHistory

        return QueryHistory(self._config.home)

    # --- Backfill ---
    def backfill_plan(
        self, parser: str, limit: int | None = None, force: bool = False
    ) -> BackfillPlan:
        """Files whose outputs come from an older version of ``parser`` (all with ``force``)."""
        from ..backfill import plan_backfill

        return plan_backfill(self._store, parser, limit, force)

    def backfill(
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
        from ..backfill import BackfillPlanChanged, execute_backfill, plan_backfill, plan_changes
        from ..events import ignore_events

        if confirmed is not None:
            parser, limit, force = confirmed.parser_name, confirmed.limit, confirmed.force
        plan = plan_backfill(self._store, parser, limit, force)
        if confirmed is not None and (changes := plan_changes(confirmed, plan)):
            raise BackfillPlanChanged(plan, changes)
        return execute_backfill(
            self._store, self._config, plan, workers, force, on_event or ignore_events, cancel
        )

    def backfill_changes(self, seen: BackfillPlan) -> tuple[BackfillPlan, list[str]]:
        """The plan as it stands now (same parser, limit and force as ``seen``) and how it
        differs from ``seen`` in words ([] when a backfill would redo exactly what was seen)."""
        from ..backfill import plan_backfill, plan_changes

        now = plan_backfill(self._store, seen.parser_name, seen.limit, seen.force)
        return now, plan_changes(seen, now)
