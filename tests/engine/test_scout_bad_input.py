"""Bad input for the scan: every case is a real filesystem condition with an exact outcome."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.events import Event
from casparian_engine.scout.scan import ScanProgress
from casparian_engine.scout.walk import ScanRootError, walk_files
from casparian_engine.workspace import Workspace


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "good.csv").write_text("a,b\n1,2\n")
    return folder


def test_missing_root_fails_with_its_path(workspace: Workspace, tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ScanRootError, match=f"^scan root does not exist: {missing}$"):
        workspace.files.scan(missing)
    assert workspace.files.stats().source_count == 0


def test_root_that_is_a_file_fails(workspace: Workspace, root: Path) -> None:
    with pytest.raises(ScanRootError, match="^scan root is not a folder: .*good.csv$"):
        workspace.files.scan(root / "good.csv")


def test_cli_exits_non_zero_only_when_the_root_fails(home: Path, root: Path) -> None:
    runner = CliRunner()
    failed = runner.invoke(app, ["scan", str(root / "missing")])
    assert failed.exit_code == 1
    assert " ".join(failed.output.split()) == f"error: scan root does not exist: {root}/missing"
    os.symlink(root / "nowhere", root / "dangling")
    ok = runner.invoke(app, ["scan", str(root), "--json"])
    assert ok.exit_code == 0, ok.output
    result = json.loads(ok.stdout)
    assert (result["new"], result["skipped"]) == (1, 1)
    assert result["skipped_by_reason"] == {"broken_symlink": 1}


def test_broken_symlink_is_skipped(workspace: Workspace, root: Path) -> None:
    os.symlink(root / "nowhere.csv", root / "dangling.csv")
    summary = workspace.files.scan(root)
    assert (summary.new, summary.skipped) == (1, {"broken_symlink": 1})
    assert summary.skipped_examples[0].path == str(root / "dangling.csv")


def test_symlink_loop_is_skipped(workspace: Workspace, root: Path) -> None:
    os.symlink(root / "loop_b", root / "loop_a")
    os.symlink(root / "loop_a", root / "loop_b")
    summary = workspace.files.scan(root)
    assert (summary.new, summary.skipped) == (1, {"symlink_loop": 2})


def test_symlinked_folder_is_not_followed_but_symlinked_file_is_recorded(
    workspace: Workspace, root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("x\n")
    os.symlink(outside, root / "linked_dir")
    os.symlink(root / "good.csv", root / "alias.csv")
    summary = workspace.files.scan(root)
    assert (summary.new, summary.skipped) == (2, {"symlink_to_directory": 1})
    paths = sorted(Path(r.path).name for r in workspace.files.list())
    assert paths == ["alias.csv", "good.csv"]


def test_fifo_is_skipped_without_blocking(workspace: Workspace, root: Path) -> None:
    os.mkfifo(root / "pipe.csv")
    summary = workspace.files.scan(root)
    assert (summary.new, summary.skipped) == (1, {"not_regular_file": 1})
    assert summary.skipped_examples[0].detail == "a FIFO (named pipe)"


def test_non_utf8_name_is_recorded_with_its_raw_bytes(workspace: Workspace, root: Path) -> None:
    raw_name = b"caf\xe9-latin1.csv"
    raw_path = os.fsencode(root) + b"/" + raw_name
    with open(raw_path, "wb") as handle:
        handle.write(b"a;b\n1;2\n3;4\n")
    summary = workspace.files.scan(root)
    assert (summary.new, summary.skipped) == (2, {})
    record = workspace.files.list(pattern="*latin1*")[0]
    assert record.path == f"{root}/caf\\xe9-latin1.csv"
    assert record.raw_path == raw_path
    with open(record.os_path, "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == record.sha256
    assert workspace.files.tag([os.fsdecode(raw_path)], "latin") == 1
    assert workspace.files.scan(root).unchanged == 2


def test_file_vanishing_between_walk_and_hash_is_skipped(workspace: Workspace, root: Path) -> None:
    doomed = root / "doomed.csv"
    doomed.write_text("gone soon\n")

    def delete_on_first_progress(event: Event) -> None:
        if isinstance(event, ScanProgress) and doomed.exists():
            doomed.unlink()  # the walk has stat'ed it; the hash has not opened it yet

    summary = workspace.files.scan(root, on_event=delete_on_first_progress)
    assert (summary.new, summary.skipped) == (1, {"vanished": 1})
    assert [Path(r.path).name for r in workspace.files.list()] == ["good.csv"]


def test_folder_vanishing_mid_walk_is_skipped(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        (root / name / "f.csv").write_text("x\n")
    walked: list[str] = []
    skipped = []
    removed = ""
    for batch in walk_files(str(root), batch_size=1):
        walked.extend(f.rel_path for f in batch.files)
        skipped.extend(batch.skipped)
        if walked and not removed:
            removed = "b" if walked[0].startswith("a/") else "a"
            shutil.rmtree(root / removed)  # still on the walk's stack of folders to list
    assert len(walked) == 1
    assert [(s.path, s.reason) for s in skipped] == [(str(root / removed), "vanished")]


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temp dir an unprivileged user can traverse (pytest's tmp_path is root-only)."""
    path = Path(tempfile.mkdtemp(prefix="casparian-perm-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for folder, _, _ in os.walk(path):
            os.chmod(folder, 0o755)
        shutil.rmtree(path)


def test_unreadable_file_and_folder_are_skipped(shared_tmp: Path) -> None:
    data = shared_tmp / "data"
    (data / "locked").mkdir(parents=True)
    (data / "locked" / "inside.csv").write_text("x\n")
    (data / "open.csv").write_text("a\n1\n")
    (data / "secret.csv").write_text("b\n2\n")
    (data / "secret.csv").chmod(0)
    (data / "locked").chmod(0)
    data.chmod(0o755)
    home = shared_tmp / "home"
    home.mkdir(mode=0o777)
    home.chmod(0o777)
    # Permission bits do not stop root: as root, the scan drops to the 'nobody' user once its
    # modules are loaded (the interpreter itself lives where 'nobody' cannot read).
    script = (
        "import json, os, sys\n"
        "from casparian_engine.workspace import Workspace\n"
        "import casparian_engine.events, casparian_engine.scout.scan, "
        "casparian_engine.scout.tagging\n"
        "if os.geteuid() == 0:\n"
        "    os.setgid(65534); os.setuid(65534)\n"
        "with Workspace.open(sys.argv[1]) as ws:\n"
        "    print(json.dumps(ws.files.scan(sys.argv[2]).to_dict()))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASPARIAN_")}
    result = subprocess.run(
        [sys.executable, "-c", script, str(home), str(data)],
        capture_output=True, text=True, env=env, cwd=shared_tmp, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["new"], summary["skipped"]) == (1, 2)
    assert summary["skipped_by_reason"] == {"permission_denied": 2}
    reasons = {(Path(e["path"]).name, e["reason"]) for e in summary["skipped_examples"]}
    assert reasons == {("locked", "permission_denied"), ("secret.csv", "permission_denied")}
    assert stat.S_IMODE((data / "secret.csv").stat().st_mode) == 0
