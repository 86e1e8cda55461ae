"""Dialogs of Process's workflow: a registered parser's version and contracts, a dev run's
summary. Both are read-only views over what the engine returned (files are the user's)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from casparian_engine.wording import counted

from .contract_approval import ApprovesContracts

if TYPE_CHECKING:
    from casparian_engine.lab import TryResult
    from casparian_engine.workspace.results import ContractChoice, ParserDetails

CONTRACT_COLUMNS = ("output", "column", "type", "nullable", "format")
DETAILS_KEYS = "A approves a contract a prod run would refuse (diff first) · Esc closes"
FIRST_ERRORS = 5


def contract_state(choice: ContractChoice) -> str:
    """What a prod run does with one output's contract, in a line."""
    file_contract, approved = choice.file_contract, choice.approved
    head = f"output {choice.output}: contract {file_contract.name!r}"
    if approved is None:
        return f"{head} has no approved version: a prod run refuses it until it is approved (A)"
    where = f"approved version {approved.version} ({approved.content_hash[:12]}) by " + (
        f"{approved.approved_by}"
    )
    if not choice.differs:
        return f"✓ {head} is {where}"
    return f"✗ {head}: the parser's file differs from {where}; a prod run refuses it (A):"


def parser_facts(details: ParserDetails) -> Content:
    """Version, identity, where it came from and what it selects, as lines."""
    record = details.record
    registered = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.registered_at))
    source = record.source_path or "-"
    if record.source_path and not details.source_exists:
        source += " (gone: a dev run uses the registered bundle)"
    lines = [
        ("version", record.version),
        ("identity", record.identity_hash),
        ("registered", f"{registered} by {record.registered_by}"),
        ("source", source),
        ("tags", ", ".join(record.tags) or "-"),
        ("patterns", ", ".join(record.patterns) or "-"),
    ]
    width = max(len(label) for label, _ in lines)
    return Content("\n").join(
        Content.assemble((label.ljust(width), "bold"), "  ", value) for label, value in lines
    )


@dataclass
class ParserDetailsReread(Message):
    details: ParserDetails


class ParserDetailsDialog(ApprovesContracts, ModalScreen[None]):
    """A parser's current version and its outputs' contracts: the columns a prod run validates
    against, and whether the bundle's contract file is the approved version; A approves a
    contract file that is not (after its diff and a y)."""

    BINDINGS = [
        Binding("A", "approve", "Approve"),
        Binding("escape,enter,q", "close", "Close"),
    ]

    def __init__(self, details: ParserDetails) -> None:
        super().__init__()
        self.details = details

    def compose(self) -> ComposeResult:
        record = self.details.record
        with Vertical(classes="dialog review", id="parser-details"):
            yield Static(
                Content.assemble((f"{record.name} {record.version}", "bold")),
                classes="panel-title",
            )
            with VerticalScroll(id="review-scroll"):
                yield Static(parser_facts(self.details), id="parser-facts")
                yield Static("", id="contract-states")
                table: DataTable[Any] = DataTable(id="contract-columns", cursor_type="row")
                yield table
            yield Static("", id="details-status")
            yield Static(Text(DETAILS_KEYS, style="dim"), id="review-hint")

    def _contract_lines(self) -> Content:
        if self.details.contract_problem:
            return Content(f"✗ contracts: {self.details.contract_problem}")
        if not self.details.contracts:
            return Content("no output declares a contract: rows are written unvalidated")
        lines = []
        for choice in self.details.contracts:
            lines.append(contract_state(choice))
            if choice.differs:
                lines.append(choice.diff().rstrip("\n"))
        return Content("\n".join(lines))

    def on_mount(self) -> None:
        table = self.query_one("#contract-columns", DataTable)
        for label in CONTRACT_COLUMNS:
            table.add_column(label, key=label)
        self.show_details()
        self.query_one("#review-scroll").focus()

    def show_details(self) -> None:
        self.query_one("#contract-states", Static).update(self._contract_lines())
        table = self.query_one("#contract-columns", DataTable)
        table.display = bool(self.details.contracts)
        table.clear()
        for choice in self.details.contracts:
            for column in choice.contract.columns:
                nullable = "yes" if column.nullable else "no"
                table.add_row(
                    Text(choice.output), Text(column.name), column.type, nullable,
                    Text(column.format or ""),
                )  # fmt: skip

    def status(self, text: str) -> None:
        self.query_one("#details-status", Static).update(Content(text))

    @property
    def status_text(self) -> str:
        return str(self.query_one("#details-status", Static).render())

    def action_approve(self) -> None:
        """Approve the first contract file a prod run would refuse (not approved, or not the
        approved version); A again takes the next."""
        waiting = [c for c in self.details.contracts if c.approved is None or c.differs]
        if not waiting:
            self.status("every contract of this parser is its approved version: nothing to approve")
            return
        self.start_approval(waiting[0].file_contract)

    def approval_done(self, approval: Any) -> None:
        self.reread_details(self.details.record.name)

    @work(thread=True, exclusive=True, exit_on_error=False, group="parser-details")
    def reread_details(self, name: str) -> None:
        self.post_message(ParserDetailsReread(self.workspace.parsers.details(name)))

    def on_parser_details_reread(self, message: ParserDetailsReread) -> None:
        self.details = message.details
        self.show_details()

    def action_close(self) -> None:
        self.dismiss(None)


def dev_run_text(parser_name: str, result: TryResult) -> Content:
    """A dev run's summary: which copy ran on how many files, rows written and quarantined per
    output (with what-if: what a run would write, where, with which columns), the first
    quarantine reasons with their lines, and every failure."""
    whatif = result.whatif
    would = "would be written" if whatif else "written"
    lines = [
        f"{parser_name} ({result.origin or 'parser'}) on {counted(len(result.files), 'file')}"
        f" in {result.seconds:.1f} s",
        f"{counted(result.written, 'row')} {would}, {counted(result.quarantined, 'row')}"
        f" {'would be ' if whatif else ''}quarantined",
    ]
    if whatif:
        lines.append("what-if: nothing was written")
    elif not result.to_scratch:
        lines.append(f"rows went to {result.sink}")
    if result.network:
        lines.append("⚠ the parser had this machine's network (recorded in the audit trail)")
    if result.cancelled:
        lines.append("■ stopped: the guest was stopped and nothing it parsed was kept")
    if result.failure:
        lines.append(f"✗ {result.failure}")
        if result.failure.startswith("OutputExistsError"):
            lines.append("  (tick force in d's options to replace it)")
    lines += [f"✗ file failed: {failed}" for failed in result.failed_files]
    targets = dict(result.targets)
    for output in result.outputs:
        lines.append(
            f"· {output.name}: {counted(output.written, 'row')} {would}, "
            f"{output.quarantined:,} quarantined"
        )
        if whatif and output.name in targets:
            lines.append(f"    → {targets[output.name]}")
        if whatif and output.columns:
            columns = ", ".join(f"{name} {kind}" for name, kind in output.columns)
            lines.append(f"    columns: {columns}")
        if whatif and output.name in result.existing_outputs:
            lines.append("    ⚠ exists already: a run needs force to replace it")
        for reason in output.reasons[:FIRST_ERRORS]:
            where = f"row {reason.row}" if reason.row is not None else "row ?"
            lines.append(f"    {where}: {reason.reason or reason.rules}")
    if result.ok and not result.quarantined:
        lines.append("✓ ran clean")
    return Content("\n".join(lines))


def dev_run_headline(result: TryResult) -> str:
    """The summary for the status line."""
    text = (
        f"dev run: {counted(len(result.files), 'file')}, "
        f"{counted(result.written, 'row')} written, {result.quarantined:,} quarantined"
    )
    failures = len(result.failed_files) + (1 if result.failure else 0)
    if failures:
        text += f", {counted(failures, 'failure')}"
    return text + (", stopped" if result.cancelled else "")


def dev_run_hint(result: TryResult) -> str:
    """Where a dev run's rows are, never the production outputs."""
    if result.whatif:
        where = "nothing was written"
    elif result.to_scratch:
        where = "rows went to a scratch folder, not the outputs"
    else:
        where = "rows went to the sink you chose, not the outputs"
    return f"{where} · Esc closes"


class DevRunDialog(ModalScreen[None]):
    """A dev run's summary (nothing in it writes: the rows went to a scratch folder or the
    sink the person chose, never the production outputs)."""

    BINDINGS = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, parser_name: str, result: TryResult) -> None:
        super().__init__()
        self.parser_name = parser_name
        self.result = result

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog review", id="dev-run"):
            yield Static(
                Content(f"Dev run of {self.parser_name}"), classes="panel-title", id="dev-title"
            )
            with VerticalScroll(id="review-scroll"):
                yield Static(dev_run_text(self.parser_name, self.result), id="dev-run-body")
            yield Static(Text(dev_run_hint(self.result), style="dim"), id="review-hint")

    def on_mount(self) -> None:
        self.query_one("#review-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)
