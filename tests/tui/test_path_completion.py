"""The path completion of Process's register prompt, over a real folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from casparian_tui.widgets.path_suggester import complete_path


def test_a_typed_path_completes_to_the_first_entry_folders_with_a_slash(tmp_path: Path) -> None:
    (tmp_path / "parsers" / "invoices").mkdir(parents=True)
    (tmp_path / "parsers" / "inventory.py").write_text("")
    (tmp_path / "parsers" / ".hidden").mkdir()
    base = f"{tmp_path}/parsers"
    assert complete_path(f"{base}/inv") == f"{base}/inventory.py"  # sorted: the file first
    assert complete_path(f"{base}/invo") == f"{base}/invoices/"
    assert complete_path(f"{base}/invo", folders_only=True) == f"{base}/invoices/"
    assert complete_path(f"{base}/inv", folders_only=True) == f"{base}/invoices/"
    assert complete_path(f"{base}/") is None  # a whole folder typed: nothing guessed yet
    assert complete_path(f"{base}/.h") == f"{base}/.hidden/"  # hidden only when asked for
    assert complete_path(f"{base}/x") is None
    assert complete_path(f"{tmp_path}/nowhere/a") is None  # an unreadable folder: no guess


def test_the_home_folder_is_completed_as_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "parsers").mkdir()
    assert complete_path("~") == "~/"
    assert complete_path("~someone") is None
    assert complete_path("~/pa") == "~/parsers/"  # the '~' the person typed stays
