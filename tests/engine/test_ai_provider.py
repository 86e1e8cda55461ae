"""Which provider answers: the default never reaches the cloud, and without the local runtime the
sidebar and `casparian ask` name the one command that installs it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casparian_engine.ai import INSTALL_LOCAL_COMMAND, NoneProvider, select_provider
from casparian_engine.ai.provider import INSTALL_LOCAL_HINT, ProviderUnavailable
from casparian_engine.cli.main import app
from casparian_engine.config import ConfigError, load_config


def test_without_the_runtime_auto_says_the_one_install_command(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # as if llama-cpp-python were absent
    provider = select_provider(load_config(home))
    assert isinstance(provider, NoneProvider)
    assert provider.reason == (
        f"The local AI runtime (llama-cpp-python) is not installed: {INSTALL_LOCAL_HINT}."
    )
    assert f"`{INSTALL_LOCAL_COMMAND}`" in provider.reason
    with pytest.raises(ProviderUnavailable, match="make local-ai"):
        select_provider(load_config(home), "local")
    result = CliRunner().invoke(app, ["--home", str(home), "ask", "hello"])
    assert result.exit_code == 2
    assert "run `make local-ai` in the Casparian checkout" in result.output


def test_none_is_an_honest_answer_and_ask_exits_2(home: Path) -> None:
    (home / "config.toml").write_text('ai_provider = "none"\n')
    provider = select_provider(load_config(home))
    assert isinstance(provider, NoneProvider)
    assert str(home / "config.toml") in provider.reason and "allow_cloud_ai" in provider.reason
    result = CliRunner().invoke(app, ["--home", str(home), "ask", "hello"])
    assert result.exit_code == 2 and "No AI model is available" in result.output


def test_bad_ai_settings_name_the_key(home: Path) -> None:
    (home / "config.toml").write_text('ai_provider = "gpt"\n')
    with pytest.raises(ConfigError, match="key 'ai_provider' must be 'auto', 'none', 'local'"):
        load_config(home)
    (home / "config.toml").write_text("ai_context_tokens = 100\n")
    with pytest.raises(ConfigError, match="key 'ai_context_tokens' must be 512..131072"):
        load_config(home)


def test_ask_clears_the_history_and_wants_a_question(home: Path) -> None:
    (home / "config.toml").write_text('ai_provider = "none"\n')
    result = CliRunner().invoke(app, ["--home", str(home), "ask", "--clear-history"])
    assert result.exit_code == 0  # clearing alone is fine
    assert "Conversation cleared." in result.output
    result = CliRunner().invoke(app, ["--home", str(home), "ask"])
    assert result.exit_code == 2 and "give a question" in result.output
