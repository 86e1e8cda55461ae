"""Catalog folders left in the temporary folder by killed processes are removed at the next
catalog's start: only catalog folders, only this user's, only when their process is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_engine import process_temp
from casparian_engine.catalog import STALE_LEGACY_AGE_S, ReadOnlyCatalog, remove_stale_catalogs

HOLDER = """
import sys
from pathlib import Path
from casparian_engine.catalog import ReadOnlyCatalog
catalog = ReadOnlyCatalog(Path(sys.argv[1]))
print(catalog._tmp.name, flush=True)
sys.stdin.read()  # holds the catalog until its stdin closes (or it is killed)
catalog.close()
"""

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc for start times")


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary folder of the test's own, for this process and its children."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr("tempfile.tempdir", str(folder))
    return folder


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    (out / "p" / "t").mkdir(parents=True)
    pq.write_table(pa.table({"x": [1, 2]}), out / "p" / "t" / "a.parquet")
    return out


@pytest.fixture
def holders() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for child in started:
        if child.poll() is None:
            child.kill()
        child.wait()


def hold_catalog(outputs: Path, holders: list[subprocess.Popen[str]]) -> tuple[Any, Path]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(outputs)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    holders.append(child)
    assert child.stdout is not None
    folder = Path(child.stdout.readline().strip())
    assert (folder / "catalog.duckdb").exists()
    return child, folder


def test_a_killed_processs_catalog_is_removed_and_live_ones_stay(
    scratch: Path, outputs: Path, holders: list[subprocess.Popen[str]]
) -> None:
    mine = ReadOnlyCatalog(outputs)  # this process's own, open throughout
    killed, killed_folder = hold_catalog(outputs, holders)
    live, live_folder = hold_catalog(outputs, holders)
    zombie, zombie_folder = hold_catalog(outputs, holders)
    assert killed_folder.name.startswith(f"casparian-catalog-{killed.pid}-")
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    zombie.send_signal(signal.SIGKILL)
    os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)  # dead, not reaped: a zombie
    try:
        not_ours = scratch / "casparian-catalog-notes"  # a name that is no catalog's
        not_ours.mkdir()
        other_file = scratch / f"casparian-catalog-{killed.pid}-1-abcdefgh"
        other_file.write_text("a file, not a catalog folder")
        removed = remove_stale_catalogs(scratch)
        assert sorted(removed) == sorted([killed_folder, zombie_folder])
        assert not killed_folder.exists() and not zombie_folder.exists()
        assert live_folder.exists() and Path(mine._tmp.name).exists()
        assert not_ours.exists() and other_file.exists()
        assert mine.query("SELECT count(*) AS n FROM t").rows == [{"n": 2}]
    finally:
        mine.close()
    assert live.stdin is not None
    live.stdin.close()  # the live holder closes its catalog itself
    assert live.wait() == 0
    assert not live_folder.exists()


def test_a_reused_pid_does_not_keep_a_folder(scratch: Path) -> None:
    """A folder naming a live pid with another start time belonged to an earlier process."""
    own = os.getpid()
    started = process_temp.started(own)
    reused = scratch / f"casparian-catalog-{own}-{started + 1}-abcdefgh"
    reused.mkdir()
    current = scratch / f"casparian-catalog-{own}-{started}-ijklmnop"
    current.mkdir()
    assert remove_stale_catalogs(scratch) == [reused]
    assert current.exists()


def test_the_first_catalog_of_a_process_cleans_its_temporary_folder(
    scratch: Path, outputs: Path, holders: list[subprocess.Popen[str]]
) -> None:
    killed, folder = hold_catalog(outputs, holders)
    killed.kill()
    killed.wait()
    process_temp._checked.discard(("casparian-catalog-", str(scratch)))
    with ReadOnlyCatalog(outputs):
        assert not folder.exists()


def test_an_old_unnamed_catalog_is_removed_only_when_unheld(scratch: Path, outputs: Path) -> None:
    """Folders made before catalogs named their process: removed when old and no process holds
    their database (DuckDB locks an open database file)."""
    held = ReadOnlyCatalog(outputs)
    try:
        old_held = scratch / "casparian-catalog-aaaaaaaa"
        os.rename(held._tmp.name, old_held)
        old_free = scratch / "casparian-catalog-bbbbbbbb"
        old_free.mkdir()
        (old_free / "catalog.duckdb").write_bytes(b"")
        recent = scratch / "casparian-catalog-cccccccc"
        recent.mkdir()
        (recent / "catalog.duckdb").write_bytes(b"")
        past = time.time() - STALE_LEGACY_AGE_S - 60
        for folder in (old_held, old_free):
            os.utime(folder / "catalog.duckdb", (past, past))
        # Held by another process: this process's own lock would not conflict with itself.
        child = subprocess.Popen(
            [sys.executable, "-c", "import duckdb,sys; c=duckdb.connect(sys.argv[1], "
             "read_only=True); print(1, flush=True); sys.stdin.read()",
             str(old_held / "catalog.duckdb")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "1"
            assert remove_stale_catalogs(scratch) == [old_free]
            assert old_held.exists() and recent.exists()
        finally:
            assert child.stdin is not None
            child.stdin.close()
            child.wait()
        os.rename(old_held, held._tmp.name)
    finally:
        held.close()
