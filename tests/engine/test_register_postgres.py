"""Registration on the PostgreSQL store: the same repository, BYTEA bundles, tamper detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from casparian_engine.parsers.bundle import BundleError
from casparian_engine.parsers.registration import register, verified_bundle
from casparian_engine.store import Store

from .registration_support import make_parser

pytestmark = pytest.mark.postgres


def test_register_load_and_tamper_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    store = Store(pg_url)
    try:
        folder = make_parser(tmp_path / "p")
        created = register(store, folder, "strict")
        again = register(store, folder, "strict")
        assert created.created and not again.created and again.identity == created.identity
        record, blob = verified_bundle(store, "invoices")
        assert record.identity_hash == created.identity and len(blob) > 0
        store.db.execute(
            "UPDATE cf_parsers SET bundle = ? WHERE name = ?", (b"PX" + blob[2:], "invoices")
        )
        with pytest.raises(BundleError, match="failed its integrity check"):
            verified_bundle(store, "invoices", "1.0.0")
        (entry,) = store.audit.list(action="parser.registered")
        assert entry.details["identity"] == created.identity
    finally:
        store.close()
