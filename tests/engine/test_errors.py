"""One error hierarchy: every error a user can meet derives from ``CasparianError`` (message and
hint), and ``describe`` is the one rendering the faces use."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import casparian_engine
from casparian_engine.errors import CasparianError, describe

# Exceptions used for control flow inside the engine; none reaches a user as such.
INTERNAL = {
    "casparian_engine.runner.batch.AlreadyProcessed",
    "casparian_engine.runner.batch.LeaseLost",
    "casparian_engine.contracts.model._DuplicateKeyError",
    "casparian_engine.contracts.validate.StructuralMismatch",
    "casparian_engine.bridge.frames.FrameError",
    "casparian_engine.events.Cancelled",
    "casparian_engine.events.ScanCancelled",
}


def engine_exceptions() -> set[type[BaseException]]:
    """Every exception class defined in the engine (the guest side, which runs in the parser's
    own interpreter and cannot import the engine, aside)."""
    found: set[type[BaseException]] = set()
    for module_info in pkgutil.walk_packages(casparian_engine.__path__, "casparian_engine."):
        name = module_info.name
        if ".guest" in name or ".demo.parsers" in name:
            continue
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == name:
                found.add(value)
    return found


def test_every_user_facing_error_derives_from_the_one_base() -> None:
    found = engine_exceptions()
    names = {f"{cls.__module__}.{cls.__qualname__}" for cls in found}
    assert INTERNAL <= names  # the list above names real classes
    outside = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in found
        if not issubclass(cls, CasparianError)
        and f"{cls.__module__}.{cls.__qualname__}" not in INTERNAL
    )
    assert outside == []
    assert len([cls for cls in found if issubclass(cls, CasparianError)]) >= 25


def test_describe_shows_the_message_then_the_hint() -> None:
    assert describe(CasparianError("no parser 'x'", hint="register it first")) == (
        "no parser 'x' (register it first)"
    )
    assert describe(CasparianError("no parser 'x'")) == "no parser 'x'"
    assert describe(ValueError("plain")) == "plain"
    assert describe(KeyError()) == "KeyError"
