"""Helpers for registration tests: a real Level-2 parser folder locked with `uv lock`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from casparian_engine.envs import find_uv

PYPROJECT = """\
[project]
name = "invoice-parser"
version = "{version}"
requires-python = ">=3.11"
dependencies = [{dependencies}]
{extra}"""

PARSER = """\
from casparian_parser import Parser


class InvoiceParser(Parser):
    name = "invoices"
    version = "{version}"
    tags = ["invoices"]
    patterns = ["invoices/**/*.csv"]
    outputs = {{"invoices": "invoices.contract.yaml"}}

    def parse(self, path):
        import pyarrow.csv as pv
{body}
        return pv.read_csv(path)
"""

CONTRACT = """\
name: invoices
columns:
  - name: id
    type: int64
    nullable: false
  - name: amount
    type: float64
"""


def uv_lock(folder: Path, offline: bool = True) -> None:
    """Make ``uv.lock`` the way a user would (`uv lock`), with no package index involved."""
    args = [find_uv(), "lock", "--quiet", "--python", sys.executable]
    if offline:
        args.append("--offline")
    subprocess.run(args, cwd=folder, check=True, capture_output=True, text=True)


def make_parser(
    folder: Path,
    version: str = "1.0.0",
    body: str = "",
    lock: bool = True,
    dependencies: str = "",
    pyproject_extra: str = "",
) -> Path:
    """Write a parser folder (parser, contract, pyproject, lockfile) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    indented = "".join(f"        {line}\n" for line in body.splitlines())
    (folder / "invoice_parser.py").write_text(PARSER.format(version=version, body=indented))
    (folder / "invoices.contract.yaml").write_text(CONTRACT)
    (folder / "pyproject.toml").write_text(
        PYPROJECT.format(version=version, dependencies=dependencies, extra=pyproject_extra)
    )
    if lock:
        uv_lock(folder)
    return folder
