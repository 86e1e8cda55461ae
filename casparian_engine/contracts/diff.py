"""The diff a person reads before approving a contract: YAML lines, older version first."""

from __future__ import annotations

import difflib

from .model import SchemaContract


def contract_diff(
    before: SchemaContract | None, after: SchemaContract, before_label: str, after_label: str
) -> str:
    """Unified diff of two contracts' YAML ('' when they are the same); ``before`` None diffs
    against nothing (every line of ``after`` is new)."""
    old = before.to_yaml().splitlines(keepends=True) if before is not None else []
    new = after.to_yaml().splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, before_label, after_label))
