"""A parser folder's ``pyproject.toml`` and ``uv.lock``: what registration needs beside the code.

The demo's sample parsers and the Parser Lab's drafts get theirs here, the same way: a small
pyproject that lists no third-party dependency (pyarrow and pyzmq come with the guest runtime),
locked offline with the ``uv`` installed beside Casparian, so the lock holds no index URL.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..errors import CasparianError


class LockError(CasparianError, RuntimeError):
    """``uv lock`` failed in a parser folder; the message names the folder and uv's error."""


def parser_pyproject(project_name: str, version: str = "1.0.0") -> str:
    """The pyproject text of a parser folder with no dependencies of its own."""
    return (
        "[project]\n"
        f'name = "{project_name}"\n'
        f'version = "{version}"\n'
        'requires-python = ">=3.11"\n'
        "# pyarrow and pyzmq come with the Casparian guest runtime; list only what else you need.\n"
        "dependencies = []\n"
    )


def lock_parser(parser_dir: Path) -> None:
    """Write the folder's ``uv.lock`` offline (it pins no third-party package: no index URL)."""
    from uv import find_uv_bin

    completed = subprocess.run(
        [find_uv_bin(), "lock", "--offline", "--quiet"],
        cwd=parser_dir,
        capture_output=True,
        text=True,
        env={**os.environ, "UV_NO_PROGRESS": "1"},
    )
    if completed.returncode != 0:
        raise LockError(f"{parser_dir}: `uv lock` failed: {completed.stderr.strip()}")
