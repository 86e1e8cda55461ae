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
    workspace.audit.record("quarantine.replay", "invoices/invoices", rows_moved=3)
    workspace.audit.record("files.tagged", "50%_off.csv")
    workspace.audit.record("files.tagged", "50xoff.csv")
    assert [e.subject for e in workspace.audit.entries(containing="REPLAY")] == [
        "invoices/invoices"
    ]
    assert [e.subject for e in workspace.audit.entries(containing="50%_")] == ["50%_off.csv"]
    user = workspace.audit.entries(limit=1)[0].os_user
    assert len(workspace.audit.entries(containing=user)) == 3
    assert workspace.audit.entries(containing="nothing like it") == []


def test_pages_by_keyset_reach_every_entry_once_newest_first(workspace: Workspace) -> None:
    workspace.store.audit.record_many(
        [("files.tagged", f"f{number:03d}.csv", {"number": number}) for number in range(250)]
    )
    pages: list[list[str]] = []
    before: int | None = None
    while page := workspace.audit.entries(limit=100, containing="tagged", before_id=before):
        pages.append([e.subject for e in page])
        before = page[-1].id
    assert [len(p) for p in pages] == [100, 100, 50]
    subjects = [s for p in pages for s in p]
    assert subjects == [f"f{number:03d}.csv" for number in reversed(range(250))]
    assert workspace.audit.count(containing="tagged") == 250
    assert workspace.audit.count(containing="no such text") == 0


def test_a_date_range_keeps_entries_at_or_after_since_and_before_until(
    workspace: Workspace,
) -> None:
    for at, subject in ((1000.0, "early"), (2000.0, "middle"), (3000.0, "late")):
        workspace.store.db.execute(
            "INSERT INTO cf_audit (at, os_user, action, subject, details) "
            "VALUES (?, 'ann', 'parser.registered', ?, '{}')",
            (at, subject),
        )
    between = workspace.audit.entries(since=2000.0, until=3000.0)
    assert [e.subject for e in between] == ["middle"]
    assert [e.subject for e in workspace.audit.entries(until=2000.0)] == ["early"]
    assert workspace.audit.count(since=2000.0) == 2
    assert workspace.audit.count(since=1000.0, until=3000.0, containing="ANN") == 2
    assert workspace.audit.entries(since=3001.0) == []


def test_the_cli_lists_entries_by_text_and_local_dates_and_names_a_wrong_date(
    workspace: Workspace,
) -> None:
    import json
    import os
    import time

    from typer.testing import CliRunner

    from casparian_engine.cli.main import app

    machine_tz = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"  # the dates below are read in local time
    time.tzset()
    try:
        for at, subject in ((1_780_000_000.0, "may"), (1_782_000_000.0, "june")):
            workspace.store.db.execute(
                "INSERT INTO cf_audit (at, os_user, action, subject, details) "
                "VALUES (?, 'ann', 'parser.registered', ?, '{}')",
                (at, subject),
            )
        home = str(workspace.config.home)
        runner = CliRunner()

        def listed(*args: str) -> list[str]:
            result = runner.invoke(app, ["--home", home, "audit", "--json", *args])
            assert result.exit_code == 0, result.output
            return [e["subject"] for e in json.loads(result.output)]

        assert listed() == ["june", "may"]
        assert listed("--since", "2026-06-01") == ["june"]
        assert listed("--until", "2026-05-28") == ["may"]  # 1_780_000_000 is 2026-05-28 20:26
        assert listed("--until", "2026-05-27") == []
        assert listed("--containing", "JUN") == ["june"]
        wrong = runner.invoke(app, ["--home", home, "audit", "--since", "28/05/2026"])
        assert wrong.exit_code == 2
        assert "--since: '28/05/2026' is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM)" in (
            wrong.output
        )
    finally:
        if machine_tz is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = machine_tz
        time.tzset()
