"""EnvManager: uv-built environments from the lockfile, reuse, LRU cleanup, vendor and offline."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import subprocess
import zipfile
from pathlib import Path

import pytest

from casparian_engine.envs import LAST_USED_NAME, EnvError, EnvManager, wheel_fits
from casparian_engine.workspace import Workspace

from .registration_support import make_parser


@pytest.fixture(autouse=True)
def private_uv_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No wheel may come from the developer's uv cache: every build starts cold."""
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))


def closed_port_url() -> str:
    """An index URL on a localhost port nobody listens on (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/simple"


def build_wheel(folder: Path, name: str = "cf_helper", version: str = "1.0") -> Path:
    """A real, minimal pure-Python wheel (what a package index would serve)."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": "VALUE = 42\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\n"
        f"Version: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text)}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def register_parser_on_local_index(tmp_path: Path, workspace: Workspace) -> Path:
    """Register a parser needing ``cf-helper``, served only by a local find-links folder."""
    index = tmp_path / "index"
    build_wheel(index)
    folder = make_parser(
        tmp_path / "p",
        dependencies='"cf-helper"',
        pyproject_extra=f'[tool.uv]\nfind-links = ["{index}"]\nno-index = true\n',
    )
    workspace.parsers.register(folder)
    return index


def run_python(python: Path, code: str) -> str:
    completed = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def test_environment_is_built_from_the_lockfile_and_reused(
    tmp_path: Path, workspace: Workspace
) -> None:
    folder = make_parser(tmp_path / "p")
    workspace.parsers.register(folder)
    record = workspace.parsers.get("invoices")
    assert record is not None
    python = workspace.parsers.environment(record)
    env_dir = workspace.config.venvs_dir / record.lockfile_hash
    assert python == env_dir / "bin" / "python"
    prefix = run_python(python, "import sys, pyarrow, zmq; print(sys.prefix)")
    assert Path(prefix) == env_dir
    again = workspace.parsers.envs.ensure(workspace.parsers.load_bundle("invoices"))
    assert not again.built and again.path == env_dir


def test_offline_build_uses_only_the_wheelhouse_with_the_index_unreachable(
    tmp_path: Path, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = register_parser_on_local_index(tmp_path, workspace)
    vendored = workspace.parsers.vendor("invoices")
    assert vendored.copied == ("cf_helper-1.0-py3-none-any.whl",)
    assert (workspace.config.wheelhouse_dir / "cf_helper-1.0-py3-none-any.whl").is_file()
    assert workspace.parsers.vendor("invoices").already_present == vendored.copied
    # The network goes away: the "index" is gone and every index URL points at a closed port.
    index.rename(tmp_path / "index-gone")
    for variable in ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "PIP_INDEX_URL"):
        monkeypatch.setenv(variable, closed_port_url())
    python = workspace.parsers.environment("invoices", offline=True)
    assert run_python(python, "import cf_helper, pyarrow; print(cf_helper.VALUE)") == "42"


def test_offline_without_a_wheelhouse_says_to_vendor_first(
    tmp_path: Path, workspace: Workspace
) -> None:
    folder = make_parser(tmp_path / "p")
    workspace.parsers.register(folder)
    with pytest.raises(EnvError) as caught:
        workspace.parsers.environment("invoices", offline=True)
    assert str(caught.value) == (
        f"no wheelhouse at {workspace.config.wheelhouse_dir}: run `casparian vendor <parser>` "
        "on a machine with network access first, then build with --offline"
    )
    assert workspace.parsers.envs.environments() == []
    assert [p.name for p in workspace.config.venvs_dir.iterdir() if p.name.startswith(".b")] == []


def test_a_failed_build_leaves_no_half_built_environment(
    tmp_path: Path, workspace: Workspace
) -> None:
    index = register_parser_on_local_index(tmp_path, workspace)
    index.rename(tmp_path / "index-gone")
    with pytest.raises(EnvError) as caught:
        workspace.parsers.environment("invoices")
    assert str(caught.value).startswith("`uv sync --frozen` failed for ")
    assert "index" in str(caught.value)
    assert workspace.parsers.envs.environments() == []
    leftovers = [p.name for p in workspace.config.venvs_dir.iterdir() if p.name.startswith(".b")]
    assert leftovers == []


def test_vendor_refuses_a_wheel_whose_hash_differs_from_the_lock(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "index")
    folder = tmp_path / "p"
    folder.mkdir()
    wrong = "0" * 64
    (folder / "uv.lock").write_text(
        'version = 1\nrevision = 3\nrequires-python = ">=3.11"\n\n[[package]]\n'
        f'name = "cf-helper"\nversion = "1.0"\nsource = {{ registry = "{wheel.parent}" }}\n'
        f'wheels = [{{ path = "{wheel}", hash = "sha256:{wrong}" }}]\n'
    )
    manager = EnvManager(tmp_path / "venvs", tmp_path / "wheelhouse")
    actual = hashlib.sha256(wheel.read_bytes()).hexdigest()
    with pytest.raises(EnvError) as caught:
        manager.vendor(folder)
    assert str(caught.value) == (
        f"{wheel}: SHA-256 {actual} does not match the lockfile's {wrong}; refusing to vendor it"
    )
    assert list((tmp_path / "wheelhouse").iterdir()) == []


def test_cleanup_removes_least_recently_used_first(tmp_path: Path) -> None:
    manager = EnvManager(tmp_path / "venvs", tmp_path / "wheelhouse")
    built = []
    for number in range(3):
        folder = make_parser(tmp_path / f"p{number}", version=f"1.0.{number}")
        built.append(manager.ensure(folder))
    for age, environment in zip((300, 100, 200), built, strict=True):
        stamp = environment.path / LAST_USED_NAME
        os.utime(stamp, (stamp.stat().st_mtime - age, stamp.stat().st_mtime - age))
    order = [e.lockfile_hash for e in manager.environments()]
    assert order == [built[0].lockfile_hash, built[2].lockfile_hash, built[1].lockfile_hash]
    removed = manager.cleanup(keep=1, protect=(built[0].lockfile_hash,))
    assert removed == [built[2].lockfile_hash]
    assert {e.lockfile_hash for e in manager.environments()} == {
        built[0].lockfile_hash,
        built[1].lockfile_hash,
    }
    assert not built[2].path.exists()


@pytest.mark.parametrize(
    ("filename", "fits"),
    [
        ("a-1.0-py3-none-any.whl", True),
        ("a-1.0-py2.py3-none-any.whl", True),
        ("a-1.0-py2-none-any.whl", False),
        ("a-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", True),
        ("a-1.0-cp310-cp310-manylinux_2_17_x86_64.whl", False),
        ("a-1.0-cp38-abi3-manylinux_2_17_x86_64.whl", True),
        ("a-1.0-cp311-cp311-win_amd64.whl", False),
        ("a-1.0-cp311-cp311-macosx_11_0_arm64.whl", False),
    ],
)
def test_wheel_tags_are_matched_to_this_interpreter(filename: str, fits: bool) -> None:
    if not (os.uname().sysname == "Linux" and os.uname().machine == "x86_64"):
        pytest.skip("the table is written for Linux x86_64")
    import sys

    if sys.version_info[:2] != (3, 11):
        pytest.skip("the table is written for CPython 3.11")
    assert wheel_fits(filename) is fits
