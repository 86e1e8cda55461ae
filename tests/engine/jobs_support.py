"""Helpers for the job-queue tests: a store on either backend and quick job factories."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from casparian_engine.store import Store
from casparian_engine.store.jobs import NewJob


@pytest.fixture(name="store", params=["sqlite", "postgresql"])
def store_on_each_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    opened = Store(url)
    try:
        yield opened
    finally:
        opened.close()


def new_jobs(count: int, parser: str = "p", version: str = "1", start: int = 0) -> list[NewJob]:
    """``count`` jobs on distinct inputs with distinct content hashes."""
    return [
        NewJob(parser, version, f"/data/f{i}.csv", input_hash=f"h{i}")
        for i in range(start, start + count)
    ]
