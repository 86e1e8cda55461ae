"""Settings: TOML + environment overrides, typed, with errors that name the file and key."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest

from casparian_engine.config import ConfigError, Settings, load_config

from .cli_support import CASPARIAN


def test_defaults_without_a_file(home: Path) -> None:
    config = load_config(home)
    assert config.home == home.resolve()
    assert config.settings.max_concurrent_workers == 2
    assert config.settings.heartbeat_interval_s == 60.0
    assert config.state_db == home.resolve() / "state.db"
    assert config.store_url == f"sqlite:///{home.resolve() / 'state.db'}"
    assert config.config_path is None


def test_file_values_and_environment_overrides(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "config.toml").write_text(
        'max_concurrent_workers = 6\nwatch_folders = ["/data/in", "/data/more"]\n'
    )
    monkeypatch.setenv("CASPARIAN_HEARTBEAT_INTERVAL_S", "5")
    config = load_config(home)
    assert config.settings.max_concurrent_workers == 6
    assert config.settings.watch_folders == ("/data/in", "/data/more")
    assert config.settings.heartbeat_interval_s == 5.0


def test_wrong_type_names_file_and_key(home: Path) -> None:
    path = home / "config.toml"
    path.write_text('max_concurrent_workers = "lots"\n')
    with pytest.raises(ConfigError) as info:
        load_config(home)
    assert str(info.value) == (f"{path}: key 'max_concurrent_workers' must be int, got 'lots'")


def test_unknown_key_is_refused_with_the_known_ones(home: Path) -> None:
    path = home / "config.toml"
    path.write_text("max_workers = 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(home)
    assert str(info.value).startswith(f"{path}: unknown key 'max_workers' (known keys: ")


def test_bad_environment_value_names_the_variable(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASPARIAN_MAX_CONCURRENT_WORKERS", "two")
    with pytest.raises(ConfigError) as info:
        load_config(home)
    assert str(info.value) == (
        "environment CASPARIAN_MAX_CONCURRENT_WORKERS: key 'max_concurrent_workers' "
        "must be int, got 'two'"
    )


def test_invalid_toml_names_the_file(home: Path) -> None:
    path = home / "config.toml"
    path.write_text("max_concurrent_workers = \n")
    with pytest.raises(ConfigError, match=f"^{path}: not valid TOML"):
        load_config(home)


def test_value_out_of_range_names_the_key(home: Path) -> None:
    path = home / "config.toml"
    path.write_text('gatekeeper_policy = "lenient"\n')
    with pytest.raises(ConfigError) as info:
        load_config(home)
    assert str(info.value) == (
        f"{path}: key 'gatekeeper_policy' must be 'strict' or 'warn', not 'lenient'"
    )


def test_an_unknown_casparian_variable_is_refused(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: unknown variables are refused (a misspelt override is not silently ignored)."""
    monkeypatch.setenv("CASPARIAN_MAX_WORKERS", "4")
    with pytest.raises(ConfigError) as info:
        load_config(home)
    assert info.value.message == "environment CASPARIAN_MAX_WORKERS: unknown variable"
    assert info.value.hint is not None
    keys = ", ".join(sorted(f.name for f in dataclasses.fields(Settings)))
    assert (
        info.value.hint == f"use CASPARIAN_HOME or CASPARIAN_ and an upper-case setting key: {keys}"
    )


def test_casparian_home_and_the_test_suites_variables_are_not_settings_but_allowed(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASPARIAN_HOME", str(home))
    monkeypatch.setenv("CASPARIAN_TEST_ANYTHING", "1")
    assert load_config(home).home == home.resolve()


def test_the_cli_refuses_an_unknown_variable_with_its_hint(home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASPARIAN_")}
    done = subprocess.run(
        [CASPARIAN, "--home", str(home), "files"],
        capture_output=True, text=True, env={**env, "CASPARIAN_STORE_ULR": "x", "COLUMNS": "300"},
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith(
        "error: environment CASPARIAN_STORE_ULR: unknown variable (use CASPARIAN_HOME or "
        "CASPARIAN_ and an upper-case setting key: "
    )
