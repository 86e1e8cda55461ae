"""`casparian mcp` driven by the official MCP SDK client over stdio, on a demo workspace."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest
from mcp import ClientSession

from casparian_engine.store import Store
from casparian_engine.workspace import Workspace
from tests.engine.cli_support import CASPARIAN, mcp_session
from tests.engine.test_catalog import HOSTILE

TOOLS = {
    "quick_scan",
    "apply_scope",
    "discover_schemas",
    "approve_schemas",
    "run_backtest",
    "execute_pipeline",
    "query_output",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo workspace: scanned, tagged, sample parsers registered, no outputs yet."""
    root = tmp_path_factory.mktemp("mcp") / "demo"
    subprocess.run([CASPARIAN, "demo", str(root), "--files", "60"], check=True, capture_output=True)
    return root


@asynccontextmanager
async def session(demo: Path, *flags: str) -> AsyncIterator[ClientSession]:
    async with mcp_session(demo / "home", demo, *flags, cwd=demo) as client:
        yield client


async def call(client: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def refused(client: ClientSession, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error
    return "".join(getattr(c, "text", "") for c in result.content)


async def test_lists_the_seven_tools_with_input_schemas(demo: Path) -> None:
    async with session(demo) as client:
        listed = (await client.list_tools()).tools
    by_name = {t.name: t for t in listed}
    assert set(by_name) == TOOLS
    assert by_name["query_output"].input_schema["required"] == ["sql"]
    assert set(by_name["apply_scope"].input_schema["properties"]) == {
        "name",
        "tags",
        "patterns",
        "paths",
        "tag",
    }
    assert by_name["approve_schemas"].input_schema["properties"]["contract_ids"]["type"] == "array"


async def test_full_flow_from_scan_to_query(demo: Path) -> None:
    files = demo / "files"
    async with session(demo) as client:
        scan = await call(client, "quick_scan", path=str(files))
        assert scan["root"] == str(files.resolve())
        assert scan["summary"]["files_seen"] == 60
        assert {"tag": "invoices", "files": scan_tag_count(scan, "invoices")} in scan["tags"]
        assert len(scan["sample"]) == 10

        scope = await call(client, "apply_scope", name="inv", tags=["invoices"])
        invoice_count = scope["file_count"]
        assert invoice_count == scan_tag_count(scan, "invoices") > 0

        proposals = (await call(client, "discover_schemas", scope="inv"))["proposals"]
        assert len(proposals) == 1
        assert proposals[0]["status"] == "proposed"
        assert proposals[0]["file_count"] == invoice_count
        message = await refused(
            client, "approve_schemas", contract_ids=[proposals[0]["contract_id"]]
        )
        assert "locks schema contracts, which is a human decision" in message

        backtest = await call(client, "run_backtest", parser="invoices", scope="inv")
        assert backtest["parser"] == "invoices"
        assert sum(backtest["counts"].values()) == invoice_count
        assert len(backtest["files"]) == invoice_count
        assert not (demo / "home" / "output" / "invoices").exists()  # a backtest writes nothing

        message = await refused(client, "execute_pipeline", parser="invoices", scope="inv")
        assert message.endswith(
            "execute_pipeline changes tags or outputs, and this server was started without "
            "--read-write: start it with --read-write to allow it"
        )
        message = await refused(client, "apply_scope", name="tagged", tags=["invoices"], tag="x")
        assert message.endswith(
            "tagging files changes their tags, and this server was started without "
            "--read-write: start it with --read-write, or call apply_scope without `tag`"
        )

    with Workspace.open(demo / "home") as workspace:
        assert workspace.scopes.get("tagged") is None  # the refused call saved nothing

    async with session(demo, "--read-write", "--allow-approve") as client:
        approved = await call(client, "approve_schemas", contract_ids=[proposals[0]["contract_id"]])
        assert approved["approved"][0]["new_version"] is True

        executed = await call(client, "execute_pipeline", parser="invoices", scope="inv")
        assert len(executed["jobs"]) == invoice_count
        statuses = {job["status"] for job in executed["jobs"]}
        assert statuses <= {"completed", "completed_with_warnings"}
        written = sum(job["rows_written"] for job in executed["jobs"])

        result = await call(client, "query_output", sql="SELECT count(*) AS n FROM invoices")
        assert result["rows"] == [{"n": written}]
        assert "invoices" in result["tables"]

    parquet = str(demo / "home" / "output" / "invoices" / "invoices" / "*.parquet")
    with duckdb.connect() as con:  # its own connection: the module's default one is shared
        assert con.execute(f"SELECT count(*) FROM read_parquet('{parquet}')").fetchone() == (
            written,
        )
    store = Store(f"sqlite:///{demo / 'home' / 'state.db'}")
    calls = [e for e in store.audit.list(action="tool.call")]
    store.close()
    outcomes = {(e.subject, e.details["outcome"]) for e in calls}
    assert ("approve_schemas", "refused") in outcomes
    assert ("approve_schemas", "ok") in outcomes
    assert ("execute_pipeline", "ok") in outcomes


def scan_tag_count(scan: dict[str, Any], tag: str) -> int:
    return next(t["files"] for t in scan["tags"] if t["tag"] == tag)


async def test_paths_outside_the_allow_list_are_refused(demo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    async with session(demo) as client:
        message = await refused(client, "quick_scan", path=str(outside))
        assert f"path '{outside}' is outside the allowed paths ({demo})" in message
        message = await refused(client, "quick_scan", path=str(demo / ".." / "escape"))
        assert "is outside the allowed paths" in message
        message = await refused(client, "discover_schemas", files=["/etc/passwd"])
        assert "path '/etc/passwd' is outside the allowed paths" in message


async def test_bad_arguments_become_errors_not_crashes(demo: Path) -> None:
    async with session(demo) as client:
        message = await refused(client, "run_backtest", parser="invoices", scope="nope")
        assert "unknown scope 'nope'" in message
        message = await refused(client, "apply_scope", name="empty")
        assert "give at least one of tags, patterns or paths" in message
        message = await refused(client, "query_output", sql=42)
        assert "sql" in message
        # The server is still answering.
        assert (await call(client, "query_output", sql="SELECT 1 AS one"))["rows"] == [{"one": 1}]


async def test_hostile_queries_are_refused_over_mcp(demo: Path) -> None:
    output = demo / "home" / "output"
    output.mkdir(parents=True, exist_ok=True)
    before = sorted((p.name, p.stat().st_size) for p in output.rglob("*"))
    assert len(HOSTILE) >= 30
    async with session(demo, "--read-write") as client:
        for sql in HOSTILE:
            result = await client.call_tool(
                "query_output", {"sql": sql.replace("{out}", str(output))}
            )
            assert result.is_error, f"not refused: {sql}"
        assert (await call(client, "query_output", sql="SELECT 2 AS two"))["rows"] == [{"two": 2}]
    assert sorted((p.name, p.stat().st_size) for p in output.rglob("*")) == before
    assert not (demo / "pwned.csv").exists()


def test_stdout_carries_only_protocol(demo: Path) -> None:
    request = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"},
        },
    }
    completed = subprocess.run(
        [CASPARIAN, "--home", str(demo / "home"), "mcp"],
        input=json.dumps(request) + "\n",
        capture_output=True,
        text=True,
        cwd=demo,
        timeout=60,
    )
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    assert lines, completed.stderr
    for line in lines:
        assert json.loads(line)["jsonrpc"] == "2.0"


async def test_argument_limits_bounded_audit_and_bounded_errors(demo: Path) -> None:
    huge_name = "s" * 5_000_000
    async with session(demo) as client:
        message = await refused(client, "apply_scope", name=huge_name, tags=["invoices"])
        assert message == (
            "Error executing tool apply_scope: "
            "argument 'name' is 5,000,000 characters long; the limit is 200"
        )
        message = await refused(client, "query_output", sql="SELECT 1 -- " + "x" * 100_000)
        assert message == (
            "Error executing tool query_output: "
            "argument 'sql' is 100,012 characters long; the limit is 100,000"
        )
        message = await refused(client, "discover_schemas", files=["f"] * 1_001)
        assert message == (
            "Error executing tool discover_schemas: "
            "argument 'files' has 1,001 items; the limit is 1,000"
        )
        message = await refused(client, "quick_scan", path="/" + "p" * 5_000)
        assert message == (
            "Error executing tool quick_scan: "
            "argument 'path' is 5,001 characters long; the limit is 4,096"
        )
        for index in range(25):
            await call(client, "apply_scope", name=f"limits-{index:02d}", tags=["invoices"])
        message = await refused(client, "run_backtest", parser="invoices", scope="nope")
        known = message.split("known scopes: ", 1)[1]
        assert known.count(",") == 19  # twenty names, then how many more
        assert " more); create it with apply_scope" in known
        blob = await call(client, "query_output", sql="SELECT from_hex('ff00fe') AS b")
        assert blob["rows"] == [{"b": "FF00FE"}]
        assert blob["notes"] == ["BLOB values shown as hex text: b"]
    store = Store(f"sqlite:///{demo / 'home' / 'state.db'}")
    entries = [
        e
        for e in store.audit.list(action="tool.call", limit=200)
        if e.subject == "apply_scope" and e.details["outcome"] == "refused"
    ]
    store.close()
    digest = entries[0].details["arguments"]["name"]
    assert digest["chars"] == 5_000_002  # the JSON text, quotes included
    assert digest["head"] == '"' + "s" * 255
    assert len(digest["sha256"]) == 64
    assert len(json.dumps(entries[0].details)) < 2_000
    assert (demo / "home" / "state.db").stat().st_size < 5_000_000
