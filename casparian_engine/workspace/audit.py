"""``ws.audit``: the audit trail — read, record, export as evidence, verify an export."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._group import Group

if TYPE_CHECKING:
    from ..audit_export import EvidenceCheck
    from ..store.audit import AuditEntry


class Audit(Group):
    """Who did what, when: every change a person or a face made."""

    def entries(
        self,
        action: str | None = None,
        since: float | None = None,
        limit: int = 1000,
        containing: str | None = None,
        *,
        until: float | None = None,
        before_id: int | None = None,
    ) -> list[AuditEntry]:
        """The audit trail, newest first; ``containing`` keeps entries whose action, OS user or
        subject contains that text (any case); ``since``/``until`` bound the time (until
        excluded); ``before_id`` (the previous page's last id) reads the next page."""
        return self._store.audit.list(
            action=action,
            since=since,
            limit=limit,
            containing=containing,
            until=until,
            before_id=before_id,
        )

    def user(self) -> str:
        """The OS user the audit trail records this process's actions under."""
        from ..store.audit import os_user

        return os_user()

    def count(
        self,
        action: str | None = None,
        since: float | None = None,
        containing: str | None = None,
        *,
        until: float | None = None,
    ) -> int:
        """How many audit entries match the filters ``entries`` takes."""
        return self._store.audit.count(
            action=action, since=since, containing=containing, until=until
        )

    def record(self, action: str, subject: str = "", **details: Any) -> int:
        """Append one audit entry (``details`` JSON-serialisable); returns its id."""
        return self._store.audit.record(action, subject, **details)

    def export(self, dest: str | os.PathLike[str]) -> dict[str, Any]:
        """Write the evidence manifest (JSON + readable summary) into ``dest``; returns it."""
        from ..audit_export import export_evidence

        return export_evidence(self._store, Path(dest))

    def verify(self, dest: str | os.PathLike[str]) -> EvidenceCheck:
        """Recompute every hash an evidence manifest lists and report what no longer matches."""
        from ..audit_export import verify_evidence

        return verify_evidence(Path(dest))
