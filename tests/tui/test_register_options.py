"""Pilot tests of Process's register dialog (n) with the CLI's --allow and --policy: a parser
the gatekeeper refuses under strict is shown refused (y says why and stores nothing); allowing
its rule or choosing warn reads the folder again and lets it in, audited as the person."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Checkbox, RadioSet, Static

from casparian_engine.store.audit import os_user
from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.register_dialog import RegisterDialog
from tests.engine.registration_support import make_parser

from .test_process import open_process, settle

NETWORK_BODY = "import urllib.request"


def text_of(widget: Static) -> str:
    return str(widget.render())


async def open_register(app: CasparianApp, pilot, folder: Path) -> RegisterDialog:  # type: ignore[no-untyped-def]
    await open_process(app, pilot)
    await pilot.press("n", *str(folder), "enter")
    await settle(app, pilot)
    assert isinstance(app.screen, RegisterDialog)
    return app.screen


def finding_line(folder: Path) -> str:
    source = (folder / "invoice_parser.py").read_text().splitlines()
    line = next(n for n, text in enumerate(source, 1) if NETWORK_BODY in text)
    return f"invoice_parser.py:{line}: [network] imports 'urllib.request' (network access)"


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_a_refused_parser_registers_once_its_rule_is_allowed_and_that_is_audited(
    workspace: Workspace, tmp_path: Path, size: tuple[int, int]
) -> None:
    folder = make_parser(tmp_path / "parser", body=NETWORK_BODY)
    app = CasparianApp(workspace)
    async with app.run_test(size=size) as pilot:
        dialog = await open_register(app, pilot, folder)
        assert text_of(dialog.query_one("#review-title", Static)) == (
            "Refused invoices 1.0.0 (new parser) under policy strict"
        )
        body = text_of(dialog.query_one("#review-body", Static)).splitlines()
        assert body[-1] == f"✗ gatekeeper refuses: {finding_line(folder)}"
        allow = dialog.query_one("#allow-network", Checkbox)
        assert str(allow.label) == "allow network (network access): 1 finding; audited as you"
        assert not allow.value  # never ticked for the person
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen is dialog
        assert dialog.problem_text == (
            "✗ the gatekeeper refuses it under policy strict: allow network (space on each) "
            "or choose warn, if that is intended"
        )
        assert workspace.parsers.list() == []
        allow.focus()
        await pilot.press("space")
        await settle(app, pilot)
        assert text_of(dialog.query_one("#review-title", Static)) == (
            "Register invoices 1.0.0 (new parser)?"
        )
        body = text_of(dialog.query_one("#review-body", Static)).splitlines()
        assert body[-1] == f"allowed: {finding_line(folder)}"
        assert (
            allow.region.bottom <= size[1]
            and dialog.query_one("#review-hint").region.bottom <= size[1]
        )
        await pilot.press("y")
        await settle(app, pilot)
        assert [(p.name, p.version) for p in workspace.parsers.list()] == [("invoices", "1.0.0")]
        (entry,) = workspace.audit.entries(action="gatekeeper.allowed")
        assert (entry.subject, entry.os_user, entry.details["rules"]) == (
            "invoices@1.0.0",
            os_user(),
            ["network"],
        )


async def test_policy_warn_registers_and_records_the_findings(
    workspace: Workspace, tmp_path: Path
) -> None:
    folder = make_parser(tmp_path / "parser", body=NETWORK_BODY)
    app = CasparianApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await open_register(app, pilot, folder)
        dialog.query_one(RadioSet).focus()
        await pilot.press("down", "enter")  # strict → warn
        await settle(app, pilot)
        assert text_of(dialog.query_one("#review-title", Static)) == (
            "Register invoices 1.0.0 (new parser)?"
        )
        body = text_of(dialog.query_one("#review-body", Static)).splitlines()
        assert body[-1] == f"⚠ gatekeeper: {finding_line(folder)}"
        await pilot.press("y")
        await settle(app, pilot)
        (record,) = workspace.parsers.list()
        assert record.gatekeeper["policy"] == "warn"
        (entry,) = workspace.audit.entries(action="parser.registered")
        assert entry.details["gatekeeper_policy"] == "warn"
        assert entry.details["gatekeeper_warnings"] == [finding_line(folder)]
        assert workspace.audit.entries(action="gatekeeper.allowed") == []


async def test_no_at_a_refused_parser_stores_and_audits_nothing(
    workspace: Workspace, tmp_path: Path
) -> None:
    folder = make_parser(tmp_path / "parser", body=NETWORK_BODY)
    app = CasparianApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_register(app, pilot, folder)
        await pilot.press("n")
        await settle(app, pilot)
        assert not isinstance(app.screen, RegisterDialog)
        assert workspace.parsers.list() == []
        assert workspace.audit.entries() == []
        assert [n.message for n in app._notifications] == ["invoices 1.0.0 not registered"]
