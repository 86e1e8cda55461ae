"""Helpers for queue tests through real bundles and real guests: invoice files, the invoices
parser (``registration_support.make_parser``) registered with its contract approved, and parser
bodies that fail on chosen files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from casparian_engine.contracts import SchemaContract
from casparian_engine.store.jobs import Job
from casparian_engine.workspace import Workspace

from .registration_support import CONTRACT, make_parser

TRANSIENT = """\
from casparian_parser import TransientError
if str(path).endswith("flaky.csv"):
    raise TransientError(f"share offline: {path}")"""


def failing_on(prefix: str) -> str:
    """A parser body failing for good (``ValueError``) on files whose name starts with
    ``prefix``."""
    return (
        f'if str(path).rsplit("/", 1)[-1].startswith("{prefix}"):\n'
        '    raise ValueError(f"bad header in {path}")'
    )


def invoices(folder: Path, *names: str, rows: int = 1) -> Path:
    """``folder/invoices/<name>`` files of ``rows`` invoices each (content distinct per name:
    the queue skips content a version already processed); returns ``folder``."""
    data = folder / "invoices"
    data.mkdir(parents=True, exist_ok=True)
    for name in names:
        first = int(hashlib.sha256(name.encode()).hexdigest()[:12], 16) * 1000
        lines = [f"{first + row},{row}.5" for row in range(rows)]
        (data / name).write_text("id,amount\n" + "\n".join(lines) + "\n")
    return folder


def register(workspace: Workspace, folder: Path, body: str = "", version: str = "1.0.0") -> Path:
    """Register the invoices parser (a real bundle) in ``folder`` and approve its contract."""
    parser = make_parser(folder, version=version, body=body)
    workspace.parsers.register(parser)
    if not workspace.store.contracts.list():
        workspace.contracts.approve(SchemaContract.from_yaml(CONTRACT))
    return parser


def job_of(workspace: Workspace, name: str) -> Job:
    (job,) = [j for j in workspace.jobs.list(limit=1000) if j.input_path.endswith(f"/{name}")]
    return job
