"""Fixtures for Pilot tests: a workspace with a small scanned folder of real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from casparian_engine.workspace import Workspace


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "invoices").mkdir(parents=True)
    for number in range(5):
        (root / "invoices" / f"inv{number}.csv").write_text(f"id,amount\n{number},1.5\n")
    (root / "readme.txt").write_text("hello from the readme\n")
    return root


@pytest.fixture
def scanned(workspace: Workspace, data_dir: Path) -> Workspace:
    workspace.scan(data_dir)
    return workspace
