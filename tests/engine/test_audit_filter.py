"""The audit trail filtered by text: action, OS user or subject containing it, literally."""

from __future__ import annotations

import pytest

from casparian_engine.workspace import Workspace


@pytest.fixture
def workspace(workspace_on_each_store: Workspace) -> Workspace:
    return workspace_on_each_store


def test_entries_containing_a_text_match_action_user_or_subject_in_any_case(
    workspace: Workspace,
) -> None:
    workspace.record_audit("quarantine.replay", "invoices/invoices", rows_moved=3)
    workspace.record_audit("files.tagged", "50%_off.csv")
    workspace.record_audit("files.tagged", "50xoff.csv")
    assert [e.subject for e in workspace.audit_entries(containing="REPLAY")] == [
        "invoices/invoices"
    ]
    assert [e.subject for e in workspace.audit_entries(containing="50%_")] == ["50%_off.csv"]
    user = workspace.audit_entries(limit=1)[0].os_user
    assert len(workspace.audit_entries(containing=user)) == 3
    assert workspace.audit_entries(containing="nothing like it") == []


def test_pages_by_keyset_reach_every_entry_once_newest_first(workspace: Workspace) -> None:
    workspace.store.audit.record_many(
        [("files.tagged", f"f{number:03d}.csv", {"number": number}) for number in range(250)]
    )
    pages: list[list[str]] = []
    before: int | None = None
    while page := workspace.audit_entries(limit=100, containing="tagged", before_id=before):
        pages.append([e.subject for e in page])
        before = page[-1].id
    assert [len(p) for p in pages] == [100, 100, 50]
    subjects = [s for p in pages for s in p]
    assert subjects == [f"f{number:03d}.csv" for number in reversed(range(250))]
    assert workspace.audit_count(containing="tagged") == 250
    assert workspace.audit_count(containing="no such text") == 0


def test_a_date_range_keeps_entries_at_or_after_since_and_before_until(
    workspace: Workspace,
) -> None:
    for at, subject in ((1000.0, "early"), (2000.0, "middle"), (3000.0, "late")):
        workspace.store.db.execute(
            "INSERT INTO cf_audit (at, os_user, action, subject, details) "
            "VALUES (?, 'ann', 'parser.registered', ?, '{}')",
            (at, subject),
        )
    between = workspace.audit_entries(since=2000.0, until=3000.0)
    assert [e.subject for e in between] == ["middle"]
    assert [e.subject for e in workspace.audit_entries(until=2000.0)] == ["early"]
    assert workspace.audit_count(since=2000.0) == 2
    assert workspace.audit_count(since=1000.0, until=3000.0, containing="ANN") == 2
    assert workspace.audit_entries(since=3001.0) == []
