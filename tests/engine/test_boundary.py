"""The engine works without a screen: it never imports Textual or the TUI package."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import casparian_engine


def test_no_engine_module_pulls_in_textual_in_a_fresh_interpreter() -> None:
    modules = sorted(
        info.name
        for info in pkgutil.walk_packages(casparian_engine.__path__, "casparian_engine.")
        if ".demo.parsers" not in info.name
    )
    assert "casparian_engine.workspace" in modules
    program = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'casparian_tui'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_import_linter_contract_holds() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " kept, 0 broken" in result.stdout
    assert "The engine never imports the TUI or Textual KEPT" in result.stdout
