"""Quarantine in the store: bulk add, keyset pages, rule filter, CLI and replay after a fix."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.config import Settings
from casparian_engine.contracts import SchemaContract, validate
from casparian_engine.contracts.quarantine import policy_breach
from casparian_engine.runner.quarantine import RowLineage, StoreQuarantineWriter
from casparian_engine.store.quarantine import QuarantineFilter
from casparian_engine.workspace import Workspace

STRICT = SchemaContract.from_dict(
    {
        "name": "meters",
        "columns": [
            {"name": "id", "type": "int64", "nullable": False},
            {"name": "reading", "type": "float64", "max": 100},
        ],
    }
)
RELAXED = SchemaContract.from_dict(  # the fix: readings up to 1000 pass (150 does)
    {
        "name": "meters",
        "columns": [
            {"name": "id", "type": "int64", "nullable": False},
            {"name": "reading", "type": "float64", "max": 1000},
        ],
    }
)


@pytest.fixture
def workspace(workspace_on_each_store: Workspace) -> Workspace:
    """Every test here runs on SQLite and on PostgreSQL."""
    return workspace_on_each_store


def _quarantine(workspace: Workspace, rows: int = 6, job_id: int = 7) -> None:
    table = pa.table(
        {
            "id": [str(i) for i in range(rows)],
            "reading": ["150" if i % 2 else "x" for i in range(rows)],
            "_cf_row": list(range(1, rows + 1)),
        }
    )
    result = validate(table, STRICT)
    workspace.contracts.approve(STRICT)

    lineage = RowLineage(
        "/data/m.csv", "abc", job_id, "meters", "1.0", "meters", STRICT.content_hash
    )
    StoreQuarantineWriter(workspace.store).write(result.quarantined, lineage)


def test_rows_keep_lineage_reasons_and_values(workspace: Workspace) -> None:
    _quarantine(workspace)
    first = workspace.quarantine.list(QuarantineFilter(job_id=7), limit=1)[0]
    assert (first.source_path, first.source_row, first.job_id) == ("/data/m.csv", 1, 7)
    assert first.rules == "cast:reading"
    assert first.violations == [
        {"column": "reading", "rule": "cast", "reason": "not a valid float64"}
    ]
    assert first.row_values == {"id": "0", "reading": "x"}
    assert first.contract_hash == STRICT.content_hash


def test_keyset_pages_and_rule_filter(workspace: Workspace) -> None:
    _quarantine(workspace, rows=10)
    page_one = workspace.quarantine.list(QuarantineFilter(), limit=4)
    page_two = workspace.quarantine.list(QuarantineFilter(), after_id=page_one[-1].id, limit=4)
    page_three = workspace.quarantine.list(QuarantineFilter(), after_id=page_two[-1].id, limit=4)
    ids = [r.id for r in page_one + page_two + page_three]
    assert ids == sorted(ids) and len(set(ids)) == 10
    assert workspace.quarantine.count(QuarantineFilter(rule="range")) == 5
    assert workspace.quarantine.count(QuarantineFilter(rule="range:reading")) == 5
    assert workspace.quarantine.count(QuarantineFilter(rule="cast:id")) == 0
    assert workspace.quarantine.count(QuarantineFilter(parser_name="other")) == 0


def test_rule_pages_cover_every_column_once_in_id_order(workspace: Workspace) -> None:
    """'cast' covers cast:a and cast:b; a row breaking both appears once; pages never skip."""
    quarantined = pa.table(
        {
            "_cf_row": list(range(1, 8)),
            "rules": [
                "cast:a", "cast:b", "cast:a,cast:b", "range:a", "cast", "cast:b", "castle:a",
            ],
            "violations": ["[]"] * 7,
            "row_values": ["{}"] * 7,
        }
    )  # fmt: skip
    store = workspace.store.quarantine
    store.add(1, "p", "1", "o", None, "/f.csv", "h", quarantined)
    store.add(2, "q", "1", "o", None, "/g.csv", "h", quarantined)
    pages: list[list[int]] = []
    after = 0
    while page := workspace.quarantine.list(QuarantineFilter(rule="cast"), after, limit=3):
        pages.append([row.source_row or 0 for row in page])
        after = page[-1].id
    assert pages == [[1, 2, 3], [5, 6, 1], [2, 3, 5], [6]]
    only_p = workspace.quarantine.list(QuarantineFilter(rule="cast:b", parser_name="q"), limit=9)
    assert [(row.job_id, row.source_row) for row in only_p] == [(2, 2), (2, 3), (2, 6)]
    assert workspace.quarantine.list(QuarantineFilter(rule="cas"), limit=9) == []


def test_a_capped_count_stops_past_the_cap(workspace: Workspace, home: Path) -> None:
    _quarantine(workspace, rows=10)
    assert workspace.quarantine.count(QuarantineFilter(), cap=3) == 4
    assert workspace.quarantine.count(QuarantineFilter(), cap=20) == 10
    assert workspace.quarantine.count(QuarantineFilter(rule="range"), cap=2) == 3
    assert workspace.quarantine.count(QuarantineFilter(rule="cast"), cap=20) == 5
    assert workspace.quarantine.count(QuarantineFilter(rule="cast", job_id=8), cap=20) == 0
    result = CliRunner().invoke(app, ["quarantine", "list", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "10 quarantined rows; showing 2"
    many = pa.table(
        {
            "_cf_row": pa.array(range(10_000), pa.int64()),
            "rules": pa.repeat(pa.scalar("cast:x"), 10_000),
            "violations": pa.repeat(pa.scalar("[]"), 10_000),
            "row_values": pa.repeat(pa.scalar("{}"), 10_000),
        }
    )
    workspace.store.quarantine.add(9, "bulk", "1", "o", None, "/b.csv", "h", many)
    result = CliRunner().invoke(app, ["quarantine", "list", "--limit", "2"])
    assert result.output.splitlines()[0] == "more than 10,000 quarantined rows; showing 2"


def test_policy_fails_the_job_but_never_drops_rows() -> None:
    assert policy_breach(Settings(), 100, 90) is None
    assert policy_breach(Settings(quarantine_max_rows=5), 100, 6) == (
        "6 rows quarantined, more than quarantine_max_rows = 5 (the rows are kept in quarantine)"
    )
    assert policy_breach(Settings(quarantine_max_percent=10.0), 100, 11) == (
        "11.0% of rows quarantined, more than quarantine_max_percent = 10.0 "
        "(the rows are kept in quarantine)"
    )


def test_replay_moves_rows_that_pass_the_new_contract(workspace: Workspace) -> None:
    _quarantine(workspace, rows=6)
    workspace.contracts.approve(RELAXED)
    (result,) = workspace.quarantine.replay(QuarantineFilter(parser_name="meters"))
    assert (result.rows_checked, result.rows_moved, result.rows_still_quarantined) == (6, 3, 3)
    assert result.contract_version == 2
    assert result.output_file is not None
    written = pq.read_table(result.output_file)
    assert written.column("reading").to_pylist() == [150.0, 150.0, 150.0]
    assert written.column("_cf_row").to_pylist() == [2, 4, 6]
    assert set(written.column("_cf_job_id").to_pylist()) == {7}
    assert written.column("_cf_source_hash").to_pylist() == ["abc"] * 3
    assert workspace.quarantine.count(QuarantineFilter()) == 3
    assert workspace.quarantine.count(QuarantineFilter(include_replayed=True)) == 6
    (audit,) = workspace.store.audit.list(action="quarantine.replay")
    assert audit.details["rows_moved"] == 3
    again = workspace.quarantine.replay(QuarantineFilter(parser_name="meters"))
    assert again[0].rows_moved == 0 and again[0].output_file is None


def test_replay_over_many_pages_moves_each_row_once(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replay reads the quarantine in pages: with 7-row pages, 50 rows take 8 pages, and each
    passing row reaches the one output file once while each failing row stays, with its reason."""
    import casparian_engine.quarantine_replay as quarantine_replay

    monkeypatch.setattr(quarantine_replay, "REPLAY_PAGE_ROWS", 7)
    _quarantine(workspace, rows=50)
    workspace.contracts.approve(RELAXED)
    (result,) = workspace.quarantine.replay(QuarantineFilter(parser_name="meters"))
    assert (result.rows_checked, result.rows_moved, result.rows_still_quarantined) == (50, 25, 25)
    assert result.output_file is not None
    written = pq.read_table(result.output_file)
    assert written.column("_cf_row").to_pylist() == list(range(2, 51, 2))
    assert written.column("id").to_pylist() == list(range(1, 50, 2))
    assert written.column("reading").to_pylist() == [150.0] * 25
    assert [p.name for p in Path(result.output_file).parent.iterdir()] == [
        Path(result.output_file).name
    ]
    left = workspace.store.quarantine.list(QuarantineFilter(), limit=100)
    assert [row.source_row for row in left] == list(range(1, 51, 2))
    assert {row.rules for row in left} == {"cast:reading"}
    (audit,) = workspace.store.audit.list(action="quarantine.replay")
    assert (audit.details["rows_moved"], audit.details["rows_checked"]) == (25, 50)
    again = workspace.quarantine.replay(QuarantineFilter(parser_name="meters"))
    assert (again[0].rows_checked, again[0].rows_moved) == (25, 0)


def test_replay_by_rule_over_many_pages_moves_only_those_rows(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rule filter pages through only the rows that broke that rule (ids interleaved with
    others): 25 'range' rows in 4-row pages all move, the 25 'cast' rows stay."""
    import casparian_engine.quarantine_replay as quarantine_replay

    monkeypatch.setattr(quarantine_replay, "REPLAY_PAGE_ROWS", 4)
    _quarantine(workspace, rows=50)
    workspace.contracts.approve(RELAXED)
    (result,) = workspace.quarantine.replay(QuarantineFilter(rule="range"))
    assert (result.rows_checked, result.rows_moved, result.rows_still_quarantined) == (25, 25, 0)
    assert result.output_file is not None
    assert pq.read_table(result.output_file).column("_cf_row").to_pylist() == list(range(2, 51, 2))
    assert workspace.quarantine.count(QuarantineFilter(rule="range")) == 0
    assert workspace.quarantine.count(QuarantineFilter(rule="cast")) == 25


def test_replay_of_rows_with_a_column_the_contract_lacks_moves_nothing(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows whose columns no longer fit the contract stop the replay and nothing moves, although
    each page's rows pass the contract's own columns (the group is one transaction)."""
    import casparian_engine.quarantine_replay as quarantine_replay
    from casparian_engine.contracts.validate import StructuralMismatch

    monkeypatch.setattr(quarantine_replay, "REPLAY_PAGE_ROWS", 4)
    _quarantine(workspace, rows=6)
    narrow = SchemaContract.from_dict(
        {"name": "meters", "columns": [{"name": "id", "type": "int64", "nullable": False}]}
    )
    workspace.contracts.approve(narrow)
    with pytest.raises(StructuralMismatch, match="reading"):
        workspace.quarantine.replay(QuarantineFilter(parser_name="meters"))
    assert workspace.quarantine.count(QuarantineFilter()) == 6
    assert workspace.store.audit.list(action="quarantine.replay") == []
    output_dir = workspace.config.output_dir
    assert [path for path in output_dir.rglob("*") if path.is_file()] == []


def test_quarantine_cli_list_show_replay(home: Path) -> None:
    with Workspace.open(home) as workspace:
        _quarantine(workspace, rows=4)
    runner = CliRunner()
    result = runner.invoke(app, ["quarantine", "list", "--rule", "cast", "--json"])
    rows = json.loads(result.output)
    assert [r["source_row"] for r in rows] == [1, 3]
    result = runner.invoke(app, ["quarantine", "show", str(rows[0]["id"])])
    assert "cast:reading  not a valid float64" in result.output
    assert "reading = 'x'" in result.output
    result = runner.invoke(app, ["quarantine", "show", "999"])
    assert result.exit_code == 1 and "no quarantined row with id 999" in result.output
    result = runner.invoke(app, ["quarantine", "replay"])
    assert result.exit_code == 1 and "--job J or --parser P" in result.output
    result = runner.invoke(app, ["quarantine", "replay", "--job", "7"])
    assert "meters/meters: 0 of 4 rows now pass meters v1; 4 stay quarantined" in result.output


def test_a_replay_preview_counts_what_would_pass_and_writes_nothing(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dry run pages through the rows as the replay does and gives the same counts; the
    quarantine, the outputs and the audit trail are as they were."""
    import casparian_engine.quarantine_replay as quarantine_replay

    monkeypatch.setattr(quarantine_replay, "REPLAY_PAGE_ROWS", 7)
    _quarantine(workspace, rows=50)
    where = QuarantineFilter(parser_name="meters")
    (strict,) = workspace.quarantine.preview_replay(
        where
    )  # nothing passes the contract that refused them
    assert (strict.contract_name, strict.contract_version) == ("meters", 1)
    assert (strict.rows_checked, strict.rows_passing, strict.rows_failing) == (50, 0, 50)
    workspace.contracts.approve(RELAXED)
    audit_before = workspace.store.audit.list()
    (preview,) = workspace.quarantine.preview_replay(where)
    assert (preview.contract_version, preview.error) == (2, None)
    assert (preview.rows_checked, preview.rows_passing, preview.rows_failing) == (50, 25, 25)
    assert workspace.quarantine.count(QuarantineFilter()) == 50
    assert workspace.store.audit.list() == audit_before
    assert [p for p in workspace.config.output_dir.rglob("*") if p.is_file()] == []
    (result,) = workspace.quarantine.replay(where)  # the replay does what the preview said
    assert (result.rows_checked, result.rows_moved) == (preview.rows_checked, preview.rows_passing)
    (one,) = workspace.quarantine.preview_replay(QuarantineFilter(quarantine_id=left_id(workspace)))
    assert (one.rows_checked, one.rows_passing, one.rows_failing) == (1, 0, 1)


def left_id(workspace: Workspace) -> int:
    return workspace.store.quarantine.list(QuarantineFilter(), limit=1)[0].id


def test_a_replay_preview_says_when_the_rows_no_longer_fit_the_contract(
    workspace: Workspace,
) -> None:
    _quarantine(workspace, rows=6)
    narrow = SchemaContract.from_dict(
        {"name": "meters", "columns": [{"name": "id", "type": "int64", "nullable": False}]}
    )
    workspace.contracts.approve(narrow)
    (preview,) = workspace.quarantine.preview_replay(QuarantineFilter(parser_name="meters"))
    assert (preview.rows_checked, preview.rows_passing, preview.rows_failing) == (6, 0, 6)
    assert preview.error == (
        "output does not match contract 'meters':\n"
        "  - column 'reading': extra column, not in the contract"
    )
    assert workspace.quarantine.count(QuarantineFilter()) == 6


def test_quarantine_cli_replay_dry_run_counts_and_moves_nothing(home: Path) -> None:
    with Workspace.open(home) as workspace:
        _quarantine(workspace, rows=4)
        workspace.contracts.approve(RELAXED)
    runner = CliRunner()
    result = runner.invoke(app, ["quarantine", "replay", "--parser", "meters", "--dry-run"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "meters/meters: 2 of 4 rows would pass meters v2 and move; 2 would stay quarantined "
        "(dry run: nothing written)"
    ]
    with Workspace.open(home) as workspace:
        assert workspace.quarantine.count(QuarantineFilter()) == 4
        assert workspace.store.audit.list(action="quarantine.replay") == []
