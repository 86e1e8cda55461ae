"""Issue 14's pattern example through a real MCP client session: apply_scope selects exactly what
Discover's filter and ``files --pattern`` select for the same patterns."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.engine.cli_support import CASPARIAN, mcp_session

FILES = ("x.csv", "invoices/b.csv", "invoices/2024/a.csv", "invoices/2024/b.csv", "notes.txt")
PATTERNS = ["*.csv", "!invoices/", "invoices/2024/a.csv"]


async def test_apply_scope_selects_what_files_pattern_selects(tmp_path: Path) -> None:
    root = tmp_path / "data"
    for name in FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("a,b\n1,2\n")
    home = tmp_path / "home"
    subprocess.run([CASPARIAN, "--home", str(home), "scan", str(root)], check=True)
    listed = subprocess.run(
        [CASPARIAN, "--home", str(home), "files", "--json", "--pattern", ", ".join(PATTERNS)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    by_files = [row["path"] for row in json.loads(listed.stdout)["files"]]
    async with mcp_session(home, root) as client:
        result = await client.call_tool(
            "apply_scope", {"name": "csv-but-invoices", "patterns": PATTERNS}
        )
    assert not result.is_error, result.content
    assert result.structured_content is not None
    expected = [str(root / "invoices/2024/a.csv"), str(root / "x.csv")]
    assert result.structured_content["sample"] == expected == by_files
    assert result.structured_content["file_count"] == 2


async def test_cli_and_mcp_show_an_error_the_same_way(tmp_path: Path) -> None:
    """A bad pattern: its message and hint, rendered by ``errors.describe``, read the same on
    the CLI's error line and in the MCP tool error (the TUI's Discover filter shows the same
    text: tests/tui/test_discover_names_and_keys.py)."""
    root = tmp_path / "data"
    root.mkdir()
    (root / "a.csv").write_text("a\n1\n")
    home = tmp_path / "home"
    subprocess.run([CASPARIAN, "--home", str(home), "scan", str(root)], check=True)
    expected = "cannot read pattern 'a\\\\': it ends in a lone '\\' (write '\\\\' for a backslash)"
    cli = subprocess.run(
        [CASPARIAN, "--home", str(home), "files", "--pattern", "a\\"],
        capture_output=True, text=True, env={"COLUMNS": "200", "PATH": ""},
    )  # fmt: skip
    assert (cli.returncode, cli.stderr) == (1, f"error: {expected}\n")
    async with mcp_session(home, root) as client:
        result = await client.call_tool("apply_scope", {"name": "s", "patterns": ["a\\"]})
    assert result.is_error
    text = "".join(getattr(c, "text", "") for c in result.content)
    assert text == f"Error executing tool apply_scope: {expected}"  # the SDK's frame, our text
