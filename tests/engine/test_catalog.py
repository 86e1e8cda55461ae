"""The output catalog: views over Parquet outputs and the read-only query guard."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_engine.catalog import QueryRefused, ReadOnlyCatalog, list_output_tables


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    out = tmp_path / "output"
    (out / "invoices" / "invoices").mkdir(parents=True)
    (out / "sensors" / "readings").mkdir(parents=True)
    (out / "other" / "readings").mkdir(parents=True)
    pq.write_table(
        pa.table({"id": [1, 2, 3], "amount": [1.5, 2.5, None]}),
        out / "invoices" / "invoices" / "part-0001.parquet",
    )
    pq.write_table(pa.table({"v": [10, 20]}), out / "sensors" / "readings" / "a.parquet")
    pq.write_table(pa.table({"v": [30]}), out / "other" / "readings" / "b.parquet")
    (out / "invoices" / "invoices" / ".part-0002.parquet.tmp").write_bytes(b"partial")
    return out


def _fingerprint(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_tables_are_named_by_output_and_disambiguated(output_dir: Path) -> None:
    names = {t.name: (t.parser_name, t.output_name) for t in list_output_tables(output_dir)}
    assert names == {
        "invoices": ("invoices", "invoices"),
        "other__readings": ("other", "readings"),
        "sensors__readings": ("sensors", "readings"),
    }


def test_select_returns_rows_and_schema(output_dir: Path) -> None:
    with ReadOnlyCatalog(output_dir) as catalog:
        result = catalog.query("SELECT id, amount FROM invoices ORDER BY id")
    assert result.columns == [{"name": "id", "type": "int64"}, {"name": "amount", "type": "double"}]
    assert result.rows == [
        {"id": 1, "amount": 1.5},
        {"id": 2, "amount": 2.5},
        {"id": 3, "amount": None},
    ]
    assert not result.truncated


def test_with_query_and_row_limit(output_dir: Path) -> None:
    with ReadOnlyCatalog(output_dir) as catalog:
        result = catalog.query("WITH x AS (SELECT * FROM range(100) t(i)) SELECT i FROM x", limit=7)
    assert result.row_count == 7
    assert result.truncated and result.truncated_reason == "row limit 7"


def test_byte_budget_truncates(output_dir: Path) -> None:
    with ReadOnlyCatalog(output_dir) as catalog:
        result = catalog.query(
            "SELECT repeat('x', 1000) AS s FROM range(5000)", limit=5000, byte_budget=100_000
        )
    assert result.truncated and result.truncated_reason == "byte budget 100000"
    assert 0 < result.row_count < 5000


HOSTILE = [
    # DDL
    "CREATE TABLE evil AS SELECT 1",
    "CREATE VIEW evil AS SELECT 1",
    "DROP VIEW invoices",
    "ALTER VIEW invoices RENAME TO x",
    "CREATE MACRO m(a) AS a",
    "CREATE SEQUENCE s",
    # DML
    "INSERT INTO invoices VALUES (9, 9.9)",
    "UPDATE invoices SET amount = 0",
    "DELETE FROM invoices",
    # ATTACH / DETACH / USE
    "ATTACH '/tmp/evil.duckdb' AS evil",
    "ATTACH ':memory:' AS m",
    "DETACH invoices",
    "USE memory",
    # COPY / EXPORT
    "COPY invoices TO 'pwned.csv'",
    "COPY (SELECT 1) TO '/tmp/pwned.parquet' (FORMAT parquet)",
    "EXPORT DATABASE '/tmp/pwned'",
    # PRAGMA / SET / configuration
    "PRAGMA enable_external_access",
    "SET enable_external_access = true",
    "RESET lock_configuration",
    "SET allowed_directories = ['/']",
    "CALL pragma_version()",
    # extensions
    "INSTALL httpfs",
    "LOAD httpfs",
    # several statements
    "SELECT 1; DROP VIEW invoices",
    "SELECT 1; SELECT 2",
    # reading files outside the outputs
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM read_blob('/etc/shadow')",
    "SELECT * FROM read_json_auto('/proc/self/environ')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM glob('/root/*')",
    # path traversal out of the output directory
    "SELECT * FROM read_text('{out}/../../../../etc/passwd')",
    "SELECT * FROM read_parquet('{out}/invoices/../../elsewhere.parquet')",
    "SELECT * FROM read_csv('{out}/../state.db')",
    # transactions, checkpoints, vacuum
    "BEGIN TRANSACTION",
    "CHECKPOINT",
    "VACUUM",
    # empty / junk
    "",
    "   ;  ",
    "SELEC 1",
]


@pytest.mark.parametrize("sql", HOSTILE)
def test_hostile_queries_are_refused_and_outputs_unchanged(output_dir: Path, sql: str) -> None:
    (output_dir.parent / "elsewhere.parquet").write_bytes(
        (output_dir / "invoices" / "invoices" / "part-0001.parquet").read_bytes()
    )
    before = _fingerprint(output_dir)
    with ReadOnlyCatalog(output_dir) as catalog:
        with pytest.raises(QueryRefused):
            catalog.query(sql.replace("{out}", str(output_dir)))
        # The catalog still answers honestly afterwards.
        assert catalog.query("SELECT count(*) AS n FROM invoices").rows == [{"n": 3}]
    assert _fingerprint(output_dir) == before
    assert not Path("pwned.csv").exists()
    assert not Path("/tmp/pwned.parquet").exists()


def test_refusal_messages_say_why(output_dir: Path) -> None:
    with ReadOnlyCatalog(output_dir) as catalog:
        with pytest.raises(QueryRefused) as info:
            catalog.query("DELETE FROM invoices")
        assert str(info.value) == "only SELECT queries are allowed, got a DELETE statement"
        with pytest.raises(QueryRefused) as info:
            catalog.query("SELECT 1; SELECT 2")
        assert str(info.value) == (
            "exactly one statement is allowed, got 2: send one SELECT at a time"
        )
        with pytest.raises(QueryRefused) as info:
            catalog.query("SELECT * FROM read_csv('/etc/passwd')")
        assert str(info.value) == (
            "table function read_csv() is not allowed "
            "(allowed: generate_series, parquet_scan, range, read_parquet, unnest)"
        )
        # A path outside the outputs through an allowed function: DuckDB's confinement holds.
        with pytest.raises(QueryRefused, match="file system operations are disabled"):
            catalog.query("SELECT * FROM read_parquet('/etc/passwd')")


def test_an_unreadable_output_file_fails_the_catalog_and_leaves_no_temp_catalog(
    output_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    broken = output_dir / "sensors" / "readings" / "z.parquet"
    broken.write_bytes(b"PAR1 this is not a parquet file")
    leftovers: list[Path] | None = None
    try:
        ReadOnlyCatalog(output_dir)
    except duckdb.Error as failure:
        # Looked at while the failure is alive: cleanup must not wait for garbage collection.
        leftovers = list(scratch.iterdir())
        assert "z.parquet" in str(failure)
    assert leftovers == []
    assert broken.read_bytes() == b"PAR1 this is not a parquet file"


def test_an_unknown_table_lists_the_output_tables(output_dir: Path) -> None:
    with ReadOnlyCatalog(output_dir) as catalog:
        with pytest.raises(QueryRefused) as info:
            catalog.query("SELECT * FROM invoicez")
    assert str(info.value) == (
        "unknown table 'invoicez' (output tables: invoices, other__readings, sensors__readings)"
    )


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "SELECT * FROM duckdb_settings()",
            "table function duckdb_settings() is not allowed "
            "(allowed: generate_series, parquet_scan, range, read_parquet, unnest)",
        ),
        (
            "SELECT * FROM (SELECT * FROM invoices) i, pragma_database_list",
            "unknown table 'pragma_database_list' "
            "(output tables: invoices, other__readings, sensors__readings)",
        ),
        (
            "SELECT name FROM pg_catalog.pg_settings",
            "unknown table 'pg_catalog.pg_settings' "
            "(output tables: invoices, other__readings, sensors__readings)",
        ),
        (
            "SELECT id, current_setting('secret_directory') FROM invoices",
            "current_setting() is not allowed: it reads the engine's settings",
        ),
    ],
)
def test_only_outputs_and_allowed_table_functions_are_read(
    output_dir: Path, sql: str, message: str
) -> None:
    with ReadOnlyCatalog(output_dir) as catalog:
        with pytest.raises(QueryRefused) as info:
            catalog.query(sql)
        assert str(info.value) == message
        ctes = "WITH t AS (SELECT id FROM invoices) SELECT count(*) AS n FROM t, range(2)"
        assert catalog.query(ctes).rows == [{"n": 6}]


def test_a_query_over_its_time_limit_is_cancelled_with_a_clear_message(output_dir: Path) -> None:
    with ReadOnlyCatalog(output_dir, timeout_s=0.5) as catalog:
        with pytest.raises(QueryRefused) as info:
            catalog.query("SELECT sum(hash(i)) FROM range(1000000000000) t(i)")
        assert str(info.value) == (
            "the query ran for more than 0.5 s and was cancelled (setting query_timeout_s)"
        )
        assert catalog.query("SELECT count(*) AS n FROM invoices").rows == [{"n": 3}]


def test_the_byte_budget_holds_for_a_single_huge_value(output_dir: Path) -> None:
    with ReadOnlyCatalog(output_dir) as catalog:
        result = catalog.query("SELECT 7 AS id, repeat('x', 5000000) AS s")
        assert result.truncated
        assert result.truncated_reason == (
            "byte budget 1048576 (values of s cut to 131,072 characters)"
        )
        assert result.rows == [{"id": 7, "s": "x" * 131_072}]
        huge_list = "SELECT [repeat('y', 1000) FOR x IN range(5000)] AS l"
        result = catalog.query(huge_list)
        assert (result.row_count, result.rows) == (0, [])
        assert result.truncated_reason == (
            "byte budget 1048576: a single row is larger; select fewer or smaller columns"
        )


def test_blobs_come_back_as_hex_text_with_a_note(output_dir: Path) -> None:
    with ReadOnlyCatalog(output_dir) as catalog:
        result = catalog.query("SELECT from_hex('ff00fe') AS b, 1 AS n")
    assert result.rows == [{"b": "FF00FE", "n": 1}]
    assert result.columns == [{"name": "b", "type": "string"}, {"name": "n", "type": "int32"}]
    assert result.notes == ["BLOB values shown as hex text: b"]


def test_a_child_forked_after_the_kept_databases_opened_starts_its_program(
    tmp_path: Path,
) -> None:
    """The scratch and Inspect's confined DuckDB databases are forgotten in a forked child
    without being destroyed there: a subprocess with a preexec_fn (as guests are started) used
    to die of SIGSEGV before its exec."""
    import subprocess

    from casparian_engine.catalog import scratch_cursor
    from casparian_engine.inspect import _confined_cursor

    for con in (scratch_cursor(), _confined_cursor(tmp_path)):
        assert con.execute("SELECT 42").fetchall() == [(42,)]
        con.close()
    started = subprocess.run(["true"], preexec_fn=lambda: None, check=False)  # noqa: PLW1509
    assert started.returncode == 0
