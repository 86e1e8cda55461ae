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
