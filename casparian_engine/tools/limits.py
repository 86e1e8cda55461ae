"""Size limits on tool arguments, and bounded digests of them for the audit trail.

Every argument a client sends through a tool (MCP or the AI sidebar) is checked before the tool
runs: a name is at most ``NAME_MAX_CHARS``, a path ``PATH_MAX_CHARS``, SQL ``SQL_MAX_CHARS``,
any other text ``TEXT_MAX_CHARS``, a list ``LIST_MAX_ITEMS`` items. The audit trail keeps each
argument whole when it is small, else its SHA-256, its length and its first ``AUDIT_HEAD_CHARS``
characters, so one call can never write megabytes into the store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from ..errors import CasparianError

NAME_MAX_CHARS = 200
PATH_MAX_CHARS = 4_096
SQL_MAX_CHARS = 100_000
TEXT_MAX_CHARS = 1_000
LIST_MAX_ITEMS = 1_000
AUDIT_HEAD_CHARS = 256
ERROR_MAX_CHARS = 2_000
NAME_PARAMS = frozenset({"name", "scope", "parser", "tag", "tags"})
SQL_PARAMS = frozenset({"sql"})


class ArgumentTooLarge(CasparianError, ValueError):
    """An argument is over its size limit; the message names it, its size and the limit."""


def _limit_for(name: str, path_params: Sequence[str]) -> int:
    if name in SQL_PARAMS:
        return SQL_MAX_CHARS
    if name in path_params:
        return PATH_MAX_CHARS
    if name in NAME_PARAMS:
        return NAME_MAX_CHARS
    return TEXT_MAX_CHARS


def check_arguments(arguments: dict[str, Any], path_params: Sequence[str] = ()) -> None:
    """Refuse the first argument (or list item) over its limit, naming it and the limit."""
    for name, value in arguments.items():
        limit = _limit_for(name, path_params)
        items = value if isinstance(value, list | tuple) else [value]
        if len(items) > LIST_MAX_ITEMS:
            raise ArgumentTooLarge(
                f"argument {name!r} has {len(items):,} items; the limit is {LIST_MAX_ITEMS:,}"
            )
        for index, item in enumerate(items):
            if isinstance(item, str) and len(item) > limit:
                where = f"argument {name!r}" + (f" item {index}" if items is value else "")
                raise ArgumentTooLarge(
                    f"{where} is {len(item):,} characters long; the limit is {limit:,}"
                )


def argument_digest(arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments for the audit trail: small values whole, large ones as a bounded digest."""
    digest: dict[str, Any] = {}
    for name, value in arguments.items():
        text = json.dumps(value, sort_keys=True, default=str)
        if len(text) <= AUDIT_HEAD_CHARS:
            digest[name] = value
        else:
            digest[name] = {
                "sha256": hashlib.sha256(text.encode("utf-8", "replace")).hexdigest(),
                "chars": len(text),
                "head": text[:AUDIT_HEAD_CHARS],
            }
    return digest


def bounded_text(text: str, limit: int = ERROR_MAX_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"
