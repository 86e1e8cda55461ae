"""The state store: every table, WAL, migrations, atomic transactions — on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from casparian_engine.store import LATEST_VERSION, Store, StoreError
from casparian_engine.store.schema import current_version

SPEC_TABLES = {
    "cf_files",
    "cf_tags",
    "cf_tag_rules",
    "cf_parsers",
    "cf_contracts",
    "cf_jobs",
    "cf_quarantine",
    "cf_dead_letter",
    "cf_parser_health",
    "cf_processing_history",
    "cf_audit",
}


def test_sqlite_store_has_every_table_and_runs_in_wal(tmp_path: Path) -> None:
    db_path = tmp_path / "state.db"
    store = Store(f"sqlite:///{db_path}")
    store.close()
    conn = sqlite3.connect(db_path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert SPEC_TABLES <= tables
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    columns = {r[1] for r in conn.execute("PRAGMA table_info(cf_dead_letter)")}
    assert {"job_id", "parser_name", "input_path", "error", "retry_count", "failed_at"} <= columns
    columns = {r[1] for r in conn.execute("PRAGMA table_info(cf_parser_health)")}
    assert {"parser_name", "consecutive_failures", "paused_at", "last_failure_reason"} <= columns
    columns = {r[1] for r in conn.execute("PRAGMA table_info(cf_processing_history)")}
    assert {"input_hash", "parser_name", "parser_version", "processed_at", "job_id"} <= columns


def test_migration_is_idempotent_and_versioned(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    Store(url).close()
    store = Store(url)
    assert current_version(store.db) == LATEST_VERSION
    store.close()


def test_a_store_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    Store(url).close()
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.execute("UPDATE cf_meta SET value = '999' WHERE key = 'schema_version'")
    conn.commit()
    with pytest.raises(StoreError, match="schema version 999, newer than this Casparian"):
        Store(url)


def test_unsupported_url_is_refused() -> None:
    with pytest.raises(StoreError, match="unsupported store URL 'mysql://x'"):
        Store("mysql://x")


def test_transaction_rolls_back_every_row_on_error(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    with pytest.raises(RuntimeError), store.db.transaction():
        store.audit.record("test.one")
        store.audit.record("test.two")
        raise RuntimeError("boom")
    assert store.audit.list() == []
    store.close()


def test_audit_records_user_action_and_details(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    store.audit.record("parser.register", "invoices", sha256="ab" * 32)
    (entry,) = store.audit.list()
    assert entry.action == "parser.register"
    assert entry.subject == "invoices"
    assert entry.details == {"sha256": "ab" * 32}
    assert entry.os_user
    store.close()


@pytest.mark.postgres
def test_postgresql_store_migrates_and_audits(pg_url: str) -> None:
    store = Store(pg_url)
    assert store.dialect == "postgresql"
    assert current_version(store.db) == LATEST_VERSION
    tables = {
        r[0]
        for r in store.db.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
    }
    assert SPEC_TABLES <= tables
    store.audit.record("test.pg", "x", n=1)
    assert [e.action for e in store.audit.list()] == ["test.pg"]
    store.close()
    Store(pg_url).close()  # second open: nothing to migrate


def test_only_known_bulk_indexes_can_be_dropped(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        with pytest.raises(ValueError) as refused:
            store.files.drop_bulk_indexes(["ix_files_sha256", "sqlite_master"])
        assert str(refused.value) == (
            "'sqlite_master': not a bulk index; use one of ['ix_files_sha256', "
            "'ix_files_source', 'ix_files_identity', 'ix_files_parent']"
        )
        indexes = {r[0] for r in store.db.query("SELECT name FROM sqlite_master")}
        assert "ix_files_sha256" in indexes  # nothing was dropped
        assert store.files.drop_bulk_indexes(["ix_files_sha256"]) == ["ix_files_sha256"]
        indexes = {r[0] for r in store.db.query("SELECT name FROM sqlite_master")}
        assert "ix_files_sha256" not in indexes
    finally:
        store.close()


def test_a_version_1_store_gains_the_quarantine_pointer_unit(tmp_path: Path) -> None:
    """A store made before migration 2 (e.g. an earlier `make demo`) is upgraded in place: its
    quarantine rows read as row pointers, and new ones record their unit."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    Store(url).close()
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.execute("ALTER TABLE cf_quarantine DROP COLUMN source_row_unit")  # as version 1 made it
    conn.execute("UPDATE cf_meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    store = Store(url)
    assert current_version(store.db) == LATEST_VERSION
    columns = {r[1]: r for r in sqlite3.connect(tmp_path / "state.db").execute(
        "PRAGMA table_info(cf_quarantine)")}  # fmt: skip
    assert columns["source_row_unit"][4] == "'row'"  # the default a version-1 row reads as
    store.close()


def test_a_version_1_store_that_already_has_the_unit_column_migrates(tmp_path: Path) -> None:
    """Version-1 stores made by an earlier build of this session had the column already."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    Store(url).close()
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.execute("UPDATE cf_meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    store = Store(url)
    assert current_version(store.db) == LATEST_VERSION
    store.close()


@pytest.mark.postgres
def test_postgresql_version_1_stores_migrate_with_or_without_the_unit_column(pg_url: str) -> None:
    Store(pg_url).close()
    for drop_first in (False, True):
        store = Store(pg_url)
        if drop_first:
            store.db.execute("ALTER TABLE cf_quarantine DROP COLUMN source_row_unit")
        store.db.execute("UPDATE cf_meta SET value = '1' WHERE key = 'schema_version'")
        store.close()
        store = Store(pg_url)
        assert current_version(store.db) == LATEST_VERSION
        unit = store.db.query_one(
            "SELECT column_default FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = 'cf_quarantine' AND column_name = 'source_row_unit'"
        )
        assert unit is not None and unit[0].startswith("'row'")
        store.close()
