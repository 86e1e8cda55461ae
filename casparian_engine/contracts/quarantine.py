"""Quarantine rules of the contracts layer: the job policy, the status a quarantine gives a job,
and the contract name an output is approved under.

Keeping quarantined rows in the store is the runner's (``runner/quarantine.py``:
``StoreQuarantineWriter``); replaying them after a fix is a use case of its own
(``quarantine_replay.py``). This module imports neither the store nor the parsers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..job_states import JobState

if TYPE_CHECKING:
    from ..config import Settings


def policy_breach(settings: Settings, rows_emitted: int, rows_quarantined: int) -> str | None:
    """Why a job's quarantine breaks the policy (max rows / max percent), or None if it does not."""
    if settings.quarantine_max_rows and rows_quarantined > settings.quarantine_max_rows:
        return (
            f"{rows_quarantined} rows quarantined, more than quarantine_max_rows = "
            f"{settings.quarantine_max_rows} (the rows are kept in quarantine)"
        )
    if settings.quarantine_max_percent and rows_emitted:
        percent = 100.0 * rows_quarantined / rows_emitted
        if percent > settings.quarantine_max_percent:
            return (
                f"{percent:.1f}% of rows quarantined, more than quarantine_max_percent = "
                f"{settings.quarantine_max_percent} (the rows are kept in quarantine)"
            )
    return None


def job_status(rows_quarantined: int) -> JobState:
    """The final status of a job that succeeded: with quarantine it is a warning."""
    return JobState.COMPLETED_WITH_WARNINGS if rows_quarantined else JobState.COMPLETED


def contract_name_for(parser_name: str, output_name: str) -> str:
    """The contract name an output is approved under: ``parser`` or ``parser.output``."""
    return parser_name if output_name in ("", parser_name) else f"{parser_name}.{output_name}"
