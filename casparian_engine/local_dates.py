"""Dates a person types for a time filter ('2026-12-06', '2026-12-06 14:30'), read in local time
as the audit trail shows them."""

from __future__ import annotations

import time

DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M")


def parse_local_date(text: str, label: str, end_of_day: bool = False) -> float | None:
    """A typed local date as epoch seconds; None when blank. ``end_of_day`` makes a bare date
    mean the end of that day (a range 'to' it includes it). Raises ValueError naming ``label``
    and the text when it is not a date."""
    text = text.strip()
    if not text:
        return None
    for layout in DATE_FORMATS:
        try:
            parsed = time.strptime(text, layout)
        except ValueError:
            continue
        if end_of_day and layout == "%Y-%m-%d":
            return time.mktime((*parsed[:2], parsed[2] + 1, 0, 0, 0, 0, 0, -1))
        return time.mktime(parsed)
    raise ValueError(f"{label}: {text!r} is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM)")
