"""Replay after a fix, from Inspect's quarantine (R): every row of the highlighted row's parser
and output, or that row only, re-checked against the newest approved contract. Before anything
moves, a dry run counts the rows that would pass and those that would still fail, and the
replay runs only once a person has seen those counts and said yes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import work
from textual.message import Message
from textual.widgets import DataTable

from casparian_engine.wording import counted

from ..widgets.quarantine_pane import row_pointer
from .dialogs import ChoiceDialog, ReviewDialog

EVERY_ROW, ONE_ROW = "a", "o"


@dataclass
class ReplayScopeRead(Message):
    """How many unreplayed rows share the highlighted row's parser and output."""

    row: Any
    rows_of_output: int


@dataclass
class ReplayPreviewed(Message):
    """A dry run of a replay: what it would move and leave, per parser and output."""

    where: Any
    scope: str
    previews: list[Any]


@dataclass
class QuarantineReplayed(Message):
    """A replay ended: one result per (parser, output) re-checked."""

    scope: str
    results: list[Any]


def preview_body(previews: list[Any]) -> str:
    """A replay's dry run in words: per parser and output, the contract the rows are checked
    against, how many would pass (and move into the output) and how many would still fail."""
    if not previews:
        return "No unreplayed row is left to re-check: nothing would change."
    lines = []
    for p in previews:
        where = f"{p.parser_name} → {p.output_name}"
        if p.error and not p.contract_name:
            lines.append(f"✗ {where}: {counted(p.rows_checked, 'row')} cannot replay: {p.error}")
            continue
        lines.append(
            f"{where}: {counted(p.rows_checked, 'row')} re-checked against {p.contract_name} "
            f"v{p.contract_version}: {p.rows_passing:,} would pass and move into the output, "
            f"{p.rows_failing:,} would still fail and stay quarantined"
        )
        if p.error:
            lines.append(f"✗ the replay would stop and move nothing: {p.error}")
    lines += [
        "",
        "Counted by a dry run: nothing was written. The replay checks the rows again as it "
        "moves them (a row quarantined since is checked too) and is audited.",
    ]
    return "\n".join(lines)


def would_move(previews: list[Any]) -> int:
    """Rows a replay would move, by its dry run."""
    return sum(p.rows_passing for p in previews if not p.error)


def replay_summary(scope: str, results: list[Any]) -> tuple[str, str]:
    """(what happened, what failed) in words: 'replayed row 12: 1 row re-checked, 1 moved into
    invoices/invoices, 0 still quarantined'; the second part names groups that could not."""
    done = [r for r in results if not r.error]
    failed = [f"{r.parser_name}/{r.output_name}: {r.error}" for r in results if r.error]
    parts = [
        f"{counted(r.rows_checked, 'row')} re-checked against {r.contract_name} "
        f"v{r.contract_version}, {r.rows_moved:,} moved into {r.parser_name}/{r.output_name}, "
        f"{r.rows_still_quarantined:,} still quarantined"
        for r in done
    ]
    text = f"replayed {scope}: " + "; ".join(parts) if parts else ""
    if not results:
        text = f"replayed {scope}: no unreplayed row left to re-check"
    return text, "; ".join(failed)


class QuarantineReplay:
    """Mixed into Inspect: R asks what to replay, then replays it in a worker."""

    quarantine_mode: bool
    quarantine_rows: list[Any]

    def action_replay_quarantine(self) -> None:
        screen: Any = self
        if not self.quarantine_mode:
            screen.show_error("R replays quarantined rows after a fix: Q shows the quarantine")
            return
        table = screen.query_one("#quarantine-list", DataTable)
        if not self.quarantine_rows or table.cursor_row >= len(self.quarantine_rows):
            screen.show_error("no quarantined row to replay")
            return
        screen.clear_error()
        self.read_replay_scope(self.quarantine_rows[table.cursor_row])

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-replay")
    def read_replay_scope(self, row: Any) -> None:
        from casparian_engine.workspace import QuarantineFilter

        screen: Any = self
        where = QuarantineFilter(parser_name=row.parser_name, output_name=row.output_name)
        screen.post_message(ReplayScopeRead(row, screen.service.workspace.quarantine.count(where)))

    def on_replay_scope_read(self, message: ReplayScopeRead) -> None:
        from casparian_engine.workspace import QuarantineFilter

        screen: Any = self
        row = message.row
        output = f"{row.parser_name} → {row.output_name}"
        rows = counted(message.rows_of_output, "row")
        choices = {
            EVERY_ROW: f"every quarantined row of {output} ({rows})",
            ONE_ROW: f"only row {row.id} ({row_pointer(row)})",
        }
        note = (
            "Rows re-checked against the newest approved contract of the output; rows that now "
            "pass move into the output (a new Parquet file) and leave the quarantine, the others "
            "stay. A dry run counts them first; nothing moves before your y. The replay is audited."
        )

        def answered(choice: str | None) -> None:
            if choice == EVERY_ROW:
                where = QuarantineFilter(parser_name=row.parser_name, output_name=row.output_name)
                self.preview_rows(where, f"{output}")
            elif choice == ONE_ROW:
                self.preview_rows(QuarantineFilter(quarantine_id=row.id), f"row {row.id}")

        screen.app.push_screen(
            ChoiceDialog(f"Replay quarantined rows of {output} after a fix:", choices, note),
            answered,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-replay")
    def preview_rows(self, where: Any, scope: str) -> None:
        screen: Any = self
        previews = screen.service.workspace.quarantine.preview_replay(where)
        screen.post_message(ReplayPreviewed(where, scope, previews))

    def on_replay_previewed(self, message: ReplayPreviewed) -> None:
        screen: Any = self
        moving = would_move(message.previews)

        def answered(yes: bool | None) -> None:
            if yes:
                self.replay_rows(message.where, message.scope)
            else:
                screen.report_done(f"replay of {message.scope} not started: nothing moved")

        title = f"Replay {message.scope}: move {counted(moving, 'row')} into the output?"
        hint = "y replays · n or Esc goes back"
        screen.app.push_screen(ReviewDialog(title, preview_body(message.previews), hint), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-replay")
    def replay_rows(self, where: Any, scope: str) -> None:
        screen: Any = self
        results = screen.service.workspace.quarantine.replay(where)
        screen.post_message(QuarantineReplayed(scope, results))

    def on_quarantine_replayed(self, message: QuarantineReplayed) -> None:
        screen: Any = self
        text, failed = replay_summary(message.scope, message.results)
        if text:
            screen.report_done(text)
        if failed:
            screen.show_error(f"could not replay {failed}")
        screen.reload_quarantine()
