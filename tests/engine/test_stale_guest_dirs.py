"""Guest folders left in the temporary folder by killed hosts are removed when the next process
starts its first guest: only guest folders, only when their host is gone (or, for folders named
before they carried their host, when empty and over an hour old)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from casparian_engine import process_temp
from casparian_engine.bridge.host import GUEST_DIR_PREFIX, GuestError, start_guest
from casparian_engine.config import Settings

from .bridge_support import ZOO

HOST = """
import sys, time
from casparian_engine.bridge.host import start_guest
from casparian_engine.config import Settings
guest = start_guest(sys.argv[1], Settings())
print(guest._work_dir.name, flush=True)
time.sleep(600)
"""

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc for start times")


@pytest.fixture
def scratch(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary folder of the test's own (short: a guest's socket path must fit 107
    bytes), for this process and its children, not yet swept by this process."""
    folder = Path(tempfile.mkdtemp(prefix="cfsg", dir="/tmp"))
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr("tempfile.tempdir", str(folder))
    yield folder
    process_temp._checked.discard((GUEST_DIR_PREFIX, str(folder)))
    shutil.rmtree(folder, ignore_errors=True)


def test_the_first_guest_of_a_process_removes_folders_of_killed_hosts(scratch: Path) -> None:
    host = subprocess.Popen(
        [sys.executable, "-c", HOST, str(ZOO / "plain_csv.py")], stdout=subprocess.PIPE, text=True
    )
    assert host.stdout is not None
    killed_folder = Path(host.stdout.readline().strip())
    assert killed_folder.parent == scratch and killed_folder.name.startswith(
        f"{GUEST_DIR_PREFIX}{host.pid}-"
    )
    host.kill()  # SIGKILL: the host cannot remove its guest's folder
    host.wait()
    assert killed_folder.exists()
    old = time.time() - 2 * 3600
    unnamed_empty_old = scratch / f"{GUEST_DIR_PREFIX}abcdefgh"
    unnamed_full_old = scratch / f"{GUEST_DIR_PREFIX}ijklmnop"
    unnamed_empty_new = scratch / f"{GUEST_DIR_PREFIX}qrstuvwx"
    for folder in (unnamed_empty_old, unnamed_full_old, unnamed_empty_new):
        folder.mkdir()
    (unnamed_full_old / "guest.sock").write_text("")
    for folder in (unnamed_empty_old, unnamed_full_old):
        os.utime(folder, (old, old))
    someone_else = scratch / "casparian-catalogue-notes"
    someone_else.mkdir()

    guest = start_guest(ZOO / "plain_csv.py", Settings())
    try:
        own = Path(guest._work_dir.name if guest._work_dir else "")
        assert sorted(p.name for p in scratch.iterdir()) == sorted(
            [own.name, unnamed_full_old.name, unnamed_empty_new.name, someone_else.name]
        )
    finally:
        guest.close()
    assert not own.exists()


def test_a_folder_of_a_live_host_or_a_reused_pid_is_told_apart(scratch: Path) -> None:
    """A folder naming a live pid with another start time belonged to an earlier process."""
    pid = os.getpid()
    started = process_temp.started(pid)
    reused = scratch / f"{GUEST_DIR_PREFIX}{pid}-{started + 1}-abcdefgh"
    live = scratch / f"{GUEST_DIR_PREFIX}{pid}-{started}-ijklmnop"
    reused.mkdir()
    live.mkdir()
    assert process_temp.remove_stale(GUEST_DIR_PREFIX, scratch) == [reused]
    assert live.exists()


def test_a_temporary_folder_too_long_for_a_socket_is_named_in_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / ("t" * 80)
    folder.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(folder))
    with pytest.raises(GuestError) as caught:
        start_guest(ZOO / "plain_csv.py", Settings())
    assert caught.value.kind == "SocketPathTooLong"
    assert list(folder.iterdir()) == []  # the failed guest's folder is removed
    prefix = f"the guest's socket {folder}/{GUEST_DIR_PREFIX}{os.getpid()}-"
    message = str(caught.value)
    assert message.startswith(prefix)
    assert message.endswith(
        "/bridge.sock is longer than the 107 bytes a Unix socket path may have: set TMPDIR "
        f"to a shorter folder (it is {folder})"
    )
