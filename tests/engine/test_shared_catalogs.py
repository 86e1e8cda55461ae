"""A home's queries share one catalog: the quarantine is copied into it once and again only
after it changed (a change counter bumped with every add and replay mark), the output tables
are listed for each query (a new table is seen at once), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_engine.catalog import QueryRefused
from casparian_engine.workspace import Workspace
from tests.engine.test_query_windows import quarantine_file, write_lines


@pytest.fixture
def workspace(workspace_on_each_store: Workspace) -> Workspace:
    return workspace_on_each_store


def quarantined_readings(workspace: Workspace) -> list[int]:
    with workspace.outputs.catalog() as catalog:
        rows = catalog.query("SELECT source_row FROM quarantine ORDER BY source_row").rows
    return [row["source_row"] for row in rows]


def test_the_quarantine_is_copied_again_only_after_it_changed(
    workspace: Workspace, tmp_path: Path
) -> None:
    write_lines(workspace.config.output_dir, rows=10)
    changes = workspace.store.quarantine.changes()
    quarantine_file(workspace, tmp_path / "a.csv", 4)  # bad rows on lines 2 and 4
    assert workspace.store.quarantine.changes() == changes + 1
    first = workspace.outputs.catalog()
    assert quarantined_readings(workspace) == [2, 4]
    assert workspace.outputs.catalog() is first  # nothing changed: the same copy
    assert first.query("SELECT count(*) AS n FROM lines").rows == [{"n": 10}]  # still open

    quarantine_file(workspace, tmp_path / "b.csv", 6)  # lines 2, 4, 6 of another file
    assert quarantined_readings(workspace) == [2, 2, 4, 4, 6]
    second = workspace.outputs.catalog()
    assert second is not first
    # A result opened on the replaced catalog still reads (closed once nothing refers to it).
    assert first.query("SELECT count(*) AS n FROM quarantine").rows == [{"n": 2}]

    replayed = [row.id for row in workspace.store.quarantine.list(limit=2)]
    workspace.store.quarantine.mark_replayed(replayed)
    assert workspace.store.quarantine.changes() == changes + 3
    assert quarantined_readings(workspace) == [2, 4, 6]
    assert workspace.outputs.catalog() is not second


def test_the_catalogs_follow_the_output_tables_and_close_with_the_home(
    workspace: Workspace, tmp_path: Path
) -> None:
    without = workspace.outputs.catalog(with_quarantine=False)
    with pytest.raises(QueryRefused, match="unknown table 'lines'"):
        without.query("SELECT * FROM lines")
    write_lines(workspace.config.output_dir, rows=10)
    with workspace.outputs.catalog(with_quarantine=False) as catalog:
        assert catalog is not without
        assert catalog.query("SELECT count(*) AS n FROM lines").rows == [{"n": 10}]
        with pytest.raises(QueryRefused, match="unknown table 'quarantine'"):
            catalog.query("SELECT * FROM quarantine")
    extra = workspace.config.output_dir / "invoices" / "lines" / "part-2.parquet"
    pq.write_table(pa.table({"id": [99]}), extra)  # a new part of a known table: same catalog
    same = workspace.outputs.catalog(with_quarantine=False)
    assert same is catalog
    assert same.query("SELECT count(*) AS n FROM lines").rows == [{"n": 11}]
    with_quarantine = workspace.outputs.catalog()
    folders = [Path(same._tmp.name), Path(with_quarantine._tmp.name)]
    assert all(folder.exists() for folder in folders)
    workspace.close()
    assert not any(folder.exists() for folder in folders)
