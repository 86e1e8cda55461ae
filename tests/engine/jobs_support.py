"""Helpers for the job-queue tests: a store on either backend and quick job factories."""

from __future__ import annotations

import hashlib
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


def write_csv_inputs(folder: Path, count: int, rows_per_file: int = 5) -> list[Path]:
    """``count`` small CSV files with globally unique ``id`` values."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"input_{index:05d}.csv"
        lines = ["id,value"] + [
            f"{index * rows_per_file + row},{index}.{row}" for row in range(rows_per_file)
        ]
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def enqueue_files(store: Store, paths: list[Path], parser: str = "csv") -> list[int]:
    """Queue one job per file, keyed by its content hash."""
    jobs = [NewJob(parser, "1", str(p), hashlib.sha256(p.read_bytes()).hexdigest()) for p in paths]
    return store.jobs.enqueue(jobs)
