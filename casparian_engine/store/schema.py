"""The versioned schema of the state store and its migrations.

Each migration is written once with a few dialect tokens (``{pk}``, ``{blob}``, ``{real}``,
``{bigint}``) and applied in order inside one transaction. ``cf_meta.schema_version`` records how
far a store has come; a store newer than this code is refused rather than silently misread.
"""

from __future__ import annotations

from dataclasses import dataclass

from .db import Database, StoreError


@dataclass(frozen=True)
class Migration:
    """One step of the store's schema, applied once and recorded in ``cf_meta``."""

    version: int
    description: str
    ddl: str
    unless_column: tuple[str, str] | None = None
    """(table, column): skip the DDL where the column exists (a store made by a build whose
    version-1 tables already had it)."""


_TOKENS = {
    "sqlite": {
        "pk": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "blob": "BLOB",
        "real": "REAL",
        "bigint": "INTEGER",
    },
    "postgresql": {
        "pk": "BIGSERIAL PRIMARY KEY",
        "blob": "BYTEA",
        "real": "DOUBLE PRECISION",
        "bigint": "BIGINT",
    },
}

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "inventory, parsers, contracts, jobs, quarantine, reliability and audit tables",
        """
        CREATE TABLE IF NOT EXISTS cf_sources (
            id {pk},
            root TEXT NOT NULL UNIQUE,
            first_scanned_at {real} NOT NULL,
            last_scanned_at {real} NOT NULL,
            file_count {bigint} NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS cf_files (
            id {pk},
            source_id {bigint} REFERENCES cf_sources(id),
            path TEXT NOT NULL UNIQUE,
            raw_path {blob},
            parent TEXT NOT NULL,
            name TEXT NOT NULL,
            ext TEXT NOT NULL DEFAULT '',
            depth INTEGER NOT NULL DEFAULT 0,
            size {bigint} NOT NULL,
            mtime_ns {bigint} NOT NULL,
            device {bigint} NOT NULL,
            inode {bigint} NOT NULL,
            sha256 TEXT,
            kind TEXT,
            first_seen {real} NOT NULL,
            last_seen {real} NOT NULL,
            deleted_at {real}
        );
        CREATE INDEX IF NOT EXISTS ix_files_identity ON cf_files(device, inode);
        CREATE INDEX IF NOT EXISTS ix_files_sha256 ON cf_files(sha256);
        CREATE INDEX IF NOT EXISTS ix_files_parent ON cf_files(parent);
        CREATE INDEX IF NOT EXISTS ix_files_source ON cf_files(source_id, deleted_at);

        CREATE TABLE IF NOT EXISTS cf_tag_rules (
            id {pk},
            pattern TEXT NOT NULL,
            tag TEXT NOT NULL,
            priority INTEGER NOT NULL DEFAULT 0,
            created_at {real} NOT NULL,
            UNIQUE (pattern, tag)
        );
        CREATE TABLE IF NOT EXISTS cf_tags (
            file_id {bigint} NOT NULL REFERENCES cf_files(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            origin TEXT NOT NULL,
            rule_id {bigint},
            created_at {real} NOT NULL,
            PRIMARY KEY (file_id, tag)
        );
        CREATE INDEX IF NOT EXISTS ix_tags_tag ON cf_tags(tag);

        CREATE TABLE IF NOT EXISTS cf_contracts (
            id {pk},
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            content_hash TEXT NOT NULL,
            body TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at {real} NOT NULL,
            approved_at {real},
            approved_by TEXT,
            UNIQUE (name, version)
        );
        CREATE TABLE IF NOT EXISTS cf_parsers (
            id {pk},
            name TEXT NOT NULL,
            version TEXT NOT NULL,
            identity_hash TEXT NOT NULL,
            bundle {blob} NOT NULL,
            bundle_sha256 TEXT NOT NULL,
            lockfile_hash TEXT NOT NULL,
            source_path TEXT,
            match_tags TEXT NOT NULL DEFAULT '[]',
            match_patterns TEXT NOT NULL DEFAULT '[]',
            outputs TEXT NOT NULL DEFAULT '{}',
            contract_ids TEXT NOT NULL DEFAULT '[]',
            gatekeeper_report TEXT NOT NULL DEFAULT '[]',
            registered_at {real} NOT NULL,
            registered_by TEXT NOT NULL,
            UNIQUE (name, version)
        );

        CREATE TABLE IF NOT EXISTS cf_jobs (
            id {pk},
            parser_name TEXT NOT NULL,
            parser_version TEXT NOT NULL,
            file_id {bigint},
            input_path TEXT NOT NULL,
            input_hash TEXT,
            status TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'process',
            batch_id TEXT,
            priority INTEGER NOT NULL DEFAULT 0,
            retry_count INTEGER NOT NULL DEFAULT 0,
            not_before {real} NOT NULL DEFAULT 0,
            lease_token TEXT,
            worker_id TEXT,
            heartbeat_at {real},
            created_at {real} NOT NULL,
            started_at {real},
            finished_at {real},
            error_kind TEXT,
            error_message TEXT,
            error_trace TEXT,
            rows_emitted {bigint} NOT NULL DEFAULT 0,
            rows_written {bigint} NOT NULL DEFAULT 0,
            rows_quarantined {bigint} NOT NULL DEFAULT 0,
            output_paths TEXT NOT NULL DEFAULT '[]',
            log_path TEXT
        );
        CREATE INDEX IF NOT EXISTS ix_jobs_claim ON cf_jobs(status, priority DESC, id);
        CREATE INDEX IF NOT EXISTS ix_jobs_input
            ON cf_jobs(parser_name, parser_version, input_hash);
        CREATE INDEX IF NOT EXISTS ix_jobs_batch ON cf_jobs(batch_id);
        CREATE INDEX IF NOT EXISTS ix_jobs_parser ON cf_jobs(parser_name, status);
        CREATE INDEX IF NOT EXISTS ix_jobs_file ON cf_jobs(file_id);

        CREATE TABLE IF NOT EXISTS cf_quarantine (
            id {pk},
            job_id {bigint},
            parser_name TEXT NOT NULL,
            parser_version TEXT NOT NULL,
            output_name TEXT NOT NULL,
            contract_hash TEXT,
            source_path TEXT,
            source_hash TEXT,
            source_row {bigint},
            rules TEXT NOT NULL,
            violations TEXT NOT NULL,
            row_values TEXT NOT NULL,
            created_at {real} NOT NULL,
            replayed_at {real},
            replay_job_id {bigint}
        );
        CREATE INDEX IF NOT EXISTS ix_quarantine_job ON cf_quarantine(job_id, id);
        CREATE INDEX IF NOT EXISTS ix_quarantine_parser_id ON cf_quarantine(parser_name, id);
        CREATE INDEX IF NOT EXISTS ix_quarantine_parser
            ON cf_quarantine(parser_name, output_name, id);
        CREATE TABLE IF NOT EXISTS cf_quarantine_rules (
            quarantine_id {bigint} NOT NULL REFERENCES cf_quarantine(id) ON DELETE CASCADE,
            rule TEXT NOT NULL,
            PRIMARY KEY (rule, quarantine_id)
        );

        CREATE TABLE IF NOT EXISTS cf_dead_letter (
            job_id {bigint} PRIMARY KEY,
            parser_name TEXT NOT NULL,
            input_path TEXT NOT NULL,
            error TEXT NOT NULL,
            retry_count INTEGER NOT NULL,
            failed_at {real} NOT NULL,
            replayed_at {real}
        );
        CREATE TABLE IF NOT EXISTS cf_parser_health (
            parser_name TEXT PRIMARY KEY,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            paused_at {real},
            last_failure_reason TEXT,
            updated_at {real} NOT NULL
        );
        CREATE TABLE IF NOT EXISTS cf_processing_history (
            input_hash TEXT NOT NULL,
            parser_name TEXT NOT NULL,
            parser_version TEXT NOT NULL,
            processed_at {real} NOT NULL,
            job_id {bigint},
            PRIMARY KEY (input_hash, parser_name, parser_version)
        );
        CREATE TABLE IF NOT EXISTS cf_scopes (
            name TEXT PRIMARY KEY,
            definition TEXT NOT NULL,
            created_at {real} NOT NULL
        );
        CREATE TABLE IF NOT EXISTS cf_audit (
            id {pk},
            at {real} NOT NULL,
            os_user TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL DEFAULT '',
            details TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX IF NOT EXISTS ix_audit_action ON cf_audit(action, at);
        """,
    ),
    Migration(
        2,
        "quarantine pointers say whether they count lines of the source or rows",
        "ALTER TABLE cf_quarantine ADD COLUMN source_row_unit TEXT NOT NULL DEFAULT 'row'",
        unless_column=("cf_quarantine", "source_row_unit"),
    ),
    Migration(
        3,
        "worker registry: each worker process's host, pid, output folder and heartbeat",
        """
        CREATE TABLE IF NOT EXISTS cf_workers (
            worker_id TEXT PRIMARY KEY,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            output_root TEXT NOT NULL DEFAULT '',
            started_at {real} NOT NULL,
            heartbeat_at {real} NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_workers_heartbeat ON cf_workers(heartbeat_at);
        """,
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


def current_version(db: Database) -> int:
    """The schema version the store is at (0 for a new store)."""
    db.execute("CREATE TABLE IF NOT EXISTS cf_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    row = db.query_one("SELECT value FROM cf_meta WHERE key = 'schema_version'")
    return int(row[0]) if row else 0


def _has_column(db: Database, table: str, column: str) -> bool:
    if db.dialect == "sqlite":
        return any(row[1] == column for row in db.query(f"PRAGMA table_info({table})"))
    return bool(
        db.query(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? AND column_name = ?",
            (table, column),
        )
    )


def migrate(db: Database) -> int:
    """Bring the store up to ``LATEST_VERSION``; returns the version it started at."""
    with db.transaction():
        start = current_version(db)
        if start > LATEST_VERSION:
            raise StoreError(
                f"the store is at schema version {start}, newer than this Casparian "
                f"(which knows up to {LATEST_VERSION}); upgrade Casparian to open it"
            )
        tokens = _TOKENS[db.dialect]
        for migration in MIGRATIONS:
            if migration.version <= start:
                continue
            if migration.unless_column and _has_column(db, *migration.unless_column):
                ddl = ""
            else:
                ddl = migration.ddl
            for token, replacement in tokens.items():
                ddl = ddl.replace("{" + token + "}", replacement)
            for statement in ddl.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(
                "INSERT INTO cf_meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(migration.version),),
            )
        return start
