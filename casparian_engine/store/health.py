"""Circuit-breaker state per parser (``cf_parser_health``, spec FS-8).

Every terminally failed file adds one to a parser's run of consecutive failures; a success resets
it. When the run reaches the threshold the parser is paused: the queue stops handing out its jobs
until ``resume`` clears the state.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from .db import Database

logger = logging.getLogger("casparian_engine.breaker")


def breaker_message(parser_name: str, threshold: int) -> str:
    """The exact alert the spec asks for when a parser is paused."""
    return f"[CIRCUIT_BREAKER] Parser '{parser_name}' paused after {threshold} consecutive failures"


@dataclass(frozen=True)
class ParserHealth:
    """A parser's circuit breaker: consecutive failures and whether it is paused."""

    parser_name: str
    consecutive_failures: int
    paused_at: float | None
    last_failure_reason: str | None
    updated_at: float

    @property
    def paused(self) -> bool:
        """Whether the breaker tripped and the parser is paused."""
        return self.paused_at is not None

    @property
    def pause_note(self) -> str | None:
        """``paused (circuit breaker, since …, last failure: …) — resume command``, or None."""
        if self.paused_at is None:
            return None
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.paused_at))
        return (
            f"paused (circuit breaker, since {since}, last failure: "
            f"{self.last_failure_reason or 'unknown'}) — "
            f"`casparian parser resume {self.parser_name}`"
        )


class HealthRepository:
    """Per-parser circuit breakers (``cf_parser_health``): pause after ``threshold`` failures."""

    def __init__(self, db: Database, threshold: int = 5) -> None:
        self.db = db
        self.threshold = threshold

    def record_success(self, parser_name: str) -> None:
        """A file succeeded: the run of consecutive failures is broken."""
        self.db.execute(
            "UPDATE cf_parser_health SET consecutive_failures = 0, updated_at = ? "
            "WHERE parser_name = ? AND consecutive_failures > 0 AND paused_at IS NULL",
            (time.time(), parser_name),
        )

    def record_failure(self, parser_name: str, reason: str) -> bool:
        """A file failed for good; returns True when this failure trips the breaker."""
        now = time.time()
        with self.db.transaction():
            row = self.db.query_one(
                "INSERT INTO cf_parser_health "
                "(parser_name, consecutive_failures, last_failure_reason, updated_at) "
                "VALUES (?, 1, ?, ?) ON CONFLICT (parser_name) DO UPDATE SET "
                "consecutive_failures = cf_parser_health.consecutive_failures + 1, "
                "last_failure_reason = excluded.last_failure_reason, "
                "updated_at = excluded.updated_at "
                "RETURNING consecutive_failures, paused_at",
                (parser_name, reason, now),
            )
            failures, paused_at = int(row[0]), row[1]
            if paused_at is not None or failures < self.threshold:
                return False
            self.db.execute(
                "UPDATE cf_parser_health SET paused_at = ? WHERE parser_name = ?",
                (now, parser_name),
            )
        logger.error(breaker_message(parser_name, self.threshold))
        return True

    def get(self, parser_name: str) -> ParserHealth | None:
        """The breaker state of one parser, if it ever ran."""
        row = self.db.query_one(
            "SELECT parser_name, consecutive_failures, paused_at, last_failure_reason, updated_at "
            "FROM cf_parser_health WHERE parser_name = ?",
            (parser_name,),
        )
        return ParserHealth(*row) if row else None

    def paused_parsers(self) -> list[ParserHealth]:
        """Every paused parser, by name."""
        rows = self.db.query(
            "SELECT parser_name, consecutive_failures, paused_at, last_failure_reason, updated_at "
            "FROM cf_parser_health WHERE paused_at IS NOT NULL ORDER BY parser_name"
        )
        return [ParserHealth(*r) for r in rows]

    def resume(self, parser_name: str) -> bool:
        """Clear the breaker; returns False when the parser was not paused."""
        cursor = self.db.execute(
            "UPDATE cf_parser_health SET paused_at = NULL, consecutive_failures = 0, "
            "updated_at = ? WHERE parser_name = ? AND paused_at IS NOT NULL",
            (time.time(), parser_name),
        )
        return int(cursor.rowcount) > 0
