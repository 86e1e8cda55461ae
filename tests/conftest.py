"""Fixtures shared by every tier, and the CI rule: under ``CI=true`` a skipped test fails."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from casparian_engine.workspace import Workspace

IN_CI = os.environ.get("CI", "").lower() == "true"

# pytest-xdist workers inherit COLUMNS=80 from their start-up; the CLI's consoles would fix their
# width from it at import. Tests that care about width pass COLUMNS to CliRunner themselves.
for _variable in ("COLUMNS", "LINES"):
    os.environ.pop(_variable, None)
REPO_ROOT = Path(__file__).resolve().parent.parent
# Real messy files written outside this project (csv-spectrum, BSD-2-Clause; DuckDB test CSVs,
# MIT), vendored unchanged with their SOURCES.md so the suite runs on any checkout.
CORPUS_DIR = REPO_ROOT / "tests" / "corpora" / "dev"


def nested_folders(root: Path, sizes: list[int]) -> Path:
    """One folder inside the other, holding ``sizes`` files in turn: a depth-first walk lists
    them in this order, one batch each (when each size is at least the batch size)."""
    folder = root
    for depth, size in enumerate(sizes):
        folder = folder / f"level{depth}"
        folder.mkdir(parents=True)
        for index in range(size):
            (folder / f"f{index}.txt").write_text(str(index))
    return root


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which is not allowed: {reason}"


@pytest.fixture(autouse=True)
def _own_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test has its own cache directory: the local model's saved prompt readings neither
    come from the developer's ~/.cache nor from another test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh Casparian home; no settings leak in from the developer's machine."""
    home_dir = tmp_path / "home"
    home_dir.mkdir()
    monkeypatch.setenv("CASPARIAN_HOME", str(home_dir))
    for name in list(os.environ):
        if name.startswith("CASPARIAN_") and name not in (
            "CASPARIAN_HOME",
            "CASPARIAN_TEST_PG_URL",
        ):
            monkeypatch.delenv(name)
    return home_dir


@pytest.fixture
def workspace(home: Path) -> Iterator[Workspace]:
    ws = Workspace.open(home)
    try:
        yield ws
    finally:
        ws.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def workspace_on_each_store(
    request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:
    """The workspace on each store in turn: SQLite in the home, then a fresh PostgreSQL database.

    A test module opts in by overriding ``workspace`` with a fixture that returns this one.
    """
    if request.param == "postgresql":
        monkeypatch.setenv("CASPARIAN_STORE_URL", request.getfixturevalue("pg_url"))
    opened = Workspace.open(home)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the server that ``.ci/run`` started."""
    base = os.environ.get("CASPARIAN_TEST_PG_URL")
    if not base:
        pytest.skip("no PostgreSQL server: run `source .ci/postgres.sh && start_postgres` first")
    import psycopg

    name = f"casparian_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def corpus_dir() -> Path:
    if not CORPUS_DIR.is_dir():
        pytest.fail(f"the test corpus is missing from {CORPUS_DIR}")
    return CORPUS_DIR
