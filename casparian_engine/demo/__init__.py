"""The demo workspace: deterministic messy files in several formats plus sample parsers."""

from __future__ import annotations

from .generator import (
    DEFAULT_FILES,
    MANIFEST_NAME,
    DemoError,
    DemoProgress,
    DemoResult,
    generate_demo,
    plan_counts,
)

__all__ = [
    "DEFAULT_FILES",
    "MANIFEST_NAME",
    "DemoError",
    "DemoProgress",
    "DemoResult",
    "generate_demo",
    "plan_counts",
]
