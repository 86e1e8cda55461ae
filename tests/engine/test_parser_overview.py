"""The Process view's engine side: matched counts, paged matched files, last run status."""

from __future__ import annotations

from pathlib import Path

import pytest

from casparian_engine.workspace import Workspace
from tests.engine.registration_support import make_parser


@pytest.fixture
def invoices(workspace: Workspace, tmp_path: Path) -> Workspace:
    folder = tmp_path / "batch" / "invoices"
    folder.mkdir(parents=True)
    for number in range(7):
        (folder / f"inv{number}.csv").write_text(f"id,amount\n{number},1.5\n")
    (tmp_path / "batch" / "notes.txt").write_text("not an invoice\n")
    workspace.parsers.register(make_parser(tmp_path / "parser"))
    workspace.files.scan(tmp_path / "batch")
    return workspace


def test_counts_pages_and_last_run(invoices: Workspace, tmp_path: Path) -> None:
    (overview,) = invoices.parsers.overview()
    assert (overview.name, overview.version, overview.matched_file_count) == (
        "invoices",
        "1.0.0",
        7,
    )
    assert (overview.last_run_status, overview.job_counts) == ("never run", {})
    assert invoices.parsers.matched_count("invoices") == 7
    page = invoices.parsers.matched_files("invoices", offset=5, limit=5)
    assert (page.total, page.offset, len(page.paths)) == (7, 5, 2)
    everything = invoices.parsers.matched_files("invoices", limit=100).paths
    assert everything[5:] == page.paths
    assert [Path(p).name for p in everything] == [f"inv{n}.csv" for n in range(7)]  # path order
    invoices.jobs.enqueue("invoices")
    (queued,) = invoices.parsers.overview()
    assert (queued.last_run_status, queued.job_counts) == ("queued", {"queued": 7})


def test_unknown_parser_and_bad_window_are_clear_errors(invoices: Workspace) -> None:
    with pytest.raises(KeyError, match="no parser 'nope' is registered"):
        invoices.parsers.matched_files("nope")
    with pytest.raises(ValueError) as bad:
        invoices.parsers.matched_files("invoices", offset=-1)
    assert str(bad.value) == "matched files: offset must be >= 0 and limit >= 1 (got -1, 100)"
