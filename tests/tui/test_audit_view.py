"""Pilot tests of the audit view (A in Jobs) over a real store: every entry reachable by
scrolling (pages read on demand, by key and by wheel), a date range and a text filter, and a
wrong date said under the filters with the shown entries kept."""

from __future__ import annotations

import time

import pytest
from textual.widgets import DataTable, Input

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.audit import AUDIT_PAGE_ROWS, AuditScreen

from .conftest import scroll_wheel, settle

SIZES = ((80, 24), (120, 36))


def local(date: str) -> float:
    return time.mktime(time.strptime(date, "%Y-%m-%d %H:%M"))


async def open_audit(app: CasparianApp, pilot) -> AuditScreen:  # type: ignore[no-untyped-def]
    await pilot.press("alt+j")
    await settle(app, pilot)
    await pilot.press("A")
    await settle(app, pilot)
    assert isinstance(app.screen, AuditScreen)
    return app.screen


def status(audit: AuditScreen) -> str:
    return str(audit.query_one("#audit-status").render())


@pytest.mark.parametrize("size", SIZES)
async def test_scrolling_reads_page_after_page_until_every_entry_shows(
    workspace: Workspace, size: tuple[int, int]
) -> None:
    workspace.store.audit.record_many(
        [("files.tagged", f"f{number:03d}.csv", {}) for number in range(450)]
    )
    everything = [e.id for e in workspace.audit.entries(limit=10_000)]
    total = len(everything)
    app = CasparianApp(workspace)
    async with app.run_test(size=size) as pilot:
        audit = await open_audit(app, pilot)
        assert [e.id for e in audit.entries] == everything[:AUDIT_PAGE_ROWS]
        assert status(audit) == (
            f"200 of {total} entries (scroll for more) · Enter shows one · / filters · Esc closes"
        )
        await pilot.press("ctrl+end")  # the cursor at the last read entry reads the next page
        await settle(app, pilot)
        assert [e.id for e in audit.entries] == everything[: 2 * AUDIT_PAGE_ROWS]
        await pilot.press("ctrl+end")
        await settle(app, pilot)
        assert [e.id for e in audit.entries] == everything
        assert audit.query_one(DataTable).row_count == total
        assert status(audit) == f"{total} entries · Enter shows one · / filters · Esc closes"


async def test_the_mouse_wheel_reads_the_next_page_too(workspace: Workspace) -> None:
    workspace.store.audit.record_many(
        [("files.tagged", f"f{number:03d}.csv", {}) for number in range(250)]
    )
    everything = [e.id for e in workspace.audit.entries(limit=10_000)]
    app = CasparianApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        audit = await open_audit(app, pilot)
        assert len(audit.entries) == AUDIT_PAGE_ROWS
        table = audit.query_one(DataTable)
        for _ in range(10):  # each turn scrolls past 20 rows; 10 turns reach row 200
            if len(audit.entries) == len(everything):
                break
            await scroll_wheel(pilot, "#audit-table", notches=20)
            await settle(app, pilot)
            assert table.cursor_row == 0  # the view scrolled; the cursor did not move
        assert [e.id for e in audit.entries] == everything


async def test_a_date_range_and_a_user_filter_narrow_the_entries(workspace: Workspace) -> None:
    for at, user, subject in (
        ("2026-03-01 09:00", "ann", "march"),
        ("2026-03-31 23:59", "bob", "end of march"),
        ("2026-04-01 00:00", "ann", "april"),
    ):
        workspace.store.db.execute(
            "INSERT INTO cf_audit (at, os_user, action, subject, details) "
            "VALUES (?, ?, 'parser.registered', ?, '{}')",
            (local(at), user, subject),
        )
    app = CasparianApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        audit = await open_audit(app, pilot)
        assert [e.subject for e in audit.entries] == ["april", "end of march", "march"]
        audit.query_one("#audit-since", Input).focus()
        await pilot.press(*"2026-03-01", "tab", *"2026-03-31")
        await settle(app, pilot)
        assert [e.subject for e in audit.entries] == ["end of march", "march"]
        assert status(audit) == (
            "2 entries from 2026-03-01 to 2026-03-31 · Enter shows one · / filters · Esc closes"
        )
        audit.query_one("#audit-filter", Input).focus()
        await pilot.press(*"ANN")
        await settle(app, pilot)
        assert [e.subject for e in audit.entries] == ["march"]
        assert status(audit).startswith("1 entry containing 'ANN' from 2026-03-01 to 2026-03-31 ·")


async def test_a_wrong_date_is_named_and_the_shown_entries_stay(workspace: Workspace) -> None:
    workspace.audit.record("parser.registered", "invoices@1.0.0")
    app = CasparianApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        audit = await open_audit(app, pilot)
        shown = [e.id for e in audit.entries]
        assert shown and audit.problem_text == ""
        audit.query_one("#audit-since", Input).focus()
        await pilot.press(*"2026-13-01")
        await settle(app, pilot)
        assert audit.problem_text == (
            "✗ from: '2026-13-01' is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM)"
        )
        assert [e.id for e in audit.entries] == shown
        assert audit.query_one("#audit-since", Input).value == "2026-13-01"
        await pilot.press("backspace", "backspace", "backspace", "backspace", "backspace")
        await pilot.press(*"12-01")
        audit.query_one("#audit-until", Input).focus()
        await pilot.press(*"2026-11-30")
        await settle(app, pilot)
        assert audit.problem_text == (
            "✗ from 2026-12-01 is not before to 2026-11-30: nothing between"
        )
        assert [e.id for e in audit.entries] == shown
