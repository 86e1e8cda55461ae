"""Faces and assistants reach the store only through ``Workspace`` methods, never through its
``store`` attribute (import-linter sees imports, not ``workspace.store.jobs`` attribute chains)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FACES = (
    "casparian_tui",
    "casparian_engine/cli",
    "casparian_engine/tools",
    "casparian_engine/ai",
    "casparian_engine/lab",
    "casparian_engine/mcp_server.py",
)


def _holder_name(node: ast.expr) -> str:
    """``workspace`` for ``self.service.workspace`` or ``workspace``; '' for anything else."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def store_reads(source: str, name: str) -> list[str]:
    """Each ``<…workspace>.store`` in a module's source, as ``name:line``."""
    tree = ast.parse(source)
    return sorted(
        f"{name}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "store"
        and _holder_name(node.value) in ("workspace", "ws")
    )


def test_no_face_reads_the_workspaces_store() -> None:
    modules = [
        path
        for face in FACES
        for path in ((ROOT / face).rglob("*.py") if (ROOT / face).is_dir() else [ROOT / face])
    ]
    assert len(modules) > 40  # the faces were found
    reads = [
        read
        for path in modules
        for read in store_reads(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert reads == []


def test_the_check_sees_a_store_read() -> None:
    source = "def f(self, ws):\n    self.service.workspace.store.jobs\n    return ws.store\n"
    assert store_reads(source, "probe.py") == ["probe.py:2", "probe.py:3"]
    assert store_reads("def f(self):\n    return self.store\n", "repo.py") == []
