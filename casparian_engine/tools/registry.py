"""The one registry of AI-callable tools, shared by the MCP server and the TUI's AI sidebar.

A tool is a plain function ``fn(ctx: ToolContext, **arguments) -> dict`` with typed parameters
and a docstring. The registry records what each tool may touch (its ``Access``, see ``ACCESS``)
and which parameters are paths, so every interface applies the same guard-rails:

* paths must sit inside an allow-list (default: the working directory);
* ``read``, ``record`` and ``run`` tools work on a default server; ``write`` tools need read-write
  mode, ``approve`` tools need explicit approval rights (AI proposes, humans approve);
* every argument has a size limit (``limits``);
* every call — allowed or refused — is recorded in the audit trail, with a bounded digest of its
  arguments.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import pydantic

from ..errors import CasparianError
from ..workspace import Workspace
from .limits import ArgumentTooLarge, argument_digest, bounded_text, check_arguments

Access = Literal["read", "record", "run", "write", "approve"]
ACCESS: dict[str, str] = {
    "read": "reads the store and the outputs; changes nothing",
    "record": "adds to the store (scanned files, scopes, schema proposals); never touches "
    "outputs, tags or approved contracts",
    "run": "runs a registered parser's code in a guest over stored files; writes no output",
    "write": "changes tags or outputs (needs --read-write)",
    "approve": "locks schema contracts (needs --allow-approve)",
}
"""What each access label allows a tool to do, as the MCP server and README state it."""


class ToolRefused(CasparianError, PermissionError):
    """A guard-rail stopped the call; the message tells the caller what would allow it."""


@dataclass(frozen=True)
class ToolGuard:
    """What the current session allows: path allow-list, write access, approval rights."""

    allowed_paths: tuple[Path, ...] = field(default_factory=lambda: (Path.cwd().resolve(),))
    read_write: bool = False
    allow_approve: bool = False

    def check_access(self, tool_name: str, access: Access) -> None:
        """Refuse a tool whose access the server was not started with."""
        if access == "write" and not self.read_write:
            raise ToolRefused(
                f"{tool_name} changes tags or outputs, and this server was started without "
                "--read-write: start it with --read-write to allow it"
            )
        if access == "approve" and not self.allow_approve:
            raise ToolRefused(
                f"{tool_name} locks schema contracts, which is a human decision: "
                "review the proposal and run `casparian schema approve`, or start the server "
                "with --allow-approve"
            )

    def check_path(self, value: str | os.PathLike[str]) -> Path:
        """Resolve ``value`` (following symlinks); refuse it unless it is inside the allow-list."""
        resolved = Path(value).expanduser().resolve()
        for root in self.allowed_paths:
            if resolved == root or resolved.is_relative_to(root):
                return resolved
        allowed = ", ".join(str(p) for p in self.allowed_paths)
        raise ToolRefused(f"path {str(value)!r} is outside the allowed paths ({allowed})")


@dataclass
class ToolContext:
    """What a tool function receives: the open workspace and the session's guard."""

    workspace: Workspace
    guard: ToolGuard


ToolFunction = Callable[..., dict[str, Any]]
EffectFunction = Callable[[ToolContext, dict[str, Any]], str]


@dataclass(frozen=True)
class ToolSpec:
    """An agent tool: its function, the access it needs, and which arguments are paths.

    ``effect`` (write tools) says in a sentence what a call with given arguments will change;
    the AI assistant shows it to the person who confirms the call.
    """

    name: str
    function: ToolFunction
    access: Access
    path_params: tuple[str, ...] = ()
    effect: EffectFunction | None = None

    @property
    def description(self) -> str:
        return inspect.cleandoc(self.function.__doc__ or self.name)

    def public_signature(self) -> inspect.Signature:
        """The function's signature without the leading ``ctx`` parameter."""
        signature = inspect.signature(self.function, eval_str=True)
        params = list(signature.parameters.values())[1:]
        return signature.replace(parameters=params)

    @cached_property
    def arguments_model(self) -> type[pydantic.BaseModel]:
        """A pydantic model of the public signature: it makes the JSON schema and checks calls."""
        fields: dict[str, Any] = {}
        for name, param in self.public_signature().parameters.items():
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[name] = (param.annotation, default)
        config = pydantic.ConfigDict(extra="forbid")
        model: type[pydantic.BaseModel] = pydantic.create_model(
            f"{self.name}_arguments", __config__=config, **fields
        )
        return model

    @cached_property
    def input_schema(self) -> dict[str, Any]:
        """The one JSON schema of the tool's arguments, served by MCP and given to the assistant
        (and, for the local model, compiled into the grammar its calls are decoded under)."""
        schema = self.arguments_model.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        return schema

    def check_arguments(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """``arguments`` checked against the schema; a ValueError names each wrong argument."""
        try:
            parsed = self.arguments_model.model_validate(dict(arguments))
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or 'arguments'}: {error['msg']}"
                for error in exc.errors()
            )
            raise ValueError(f"{self.name}: invalid arguments ({problems})") from None
        return {name: getattr(parsed, name) for name in parsed.model_fields_set}


REGISTRY: dict[str, ToolSpec] = {}


def tool(
    access: Access, path_params: Sequence[str] = (), effect: EffectFunction | None = None
) -> Callable[[ToolFunction], ToolFunction]:
    """Register a tool function under its own name."""

    def decorator(function: ToolFunction) -> ToolFunction:
        REGISTRY[function.__name__] = ToolSpec(
            function.__name__, function, access, tuple(path_params), effect
        )
        return function

    return decorator


def _path_values(value: Any) -> Iterable[str]:
    if value is None:
        return []
    if isinstance(value, str | os.PathLike):
        return [str(value)]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def call_tool(
    spec: ToolSpec,
    ctx: ToolContext,
    arguments: dict[str, Any],
    caller: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Apply the guard-rails, run the tool, and audit the call whatever its outcome.

    ``caller`` goes into the audit entry as it is (the assistant names its provider and model).
    """
    started = time.perf_counter()
    record_audit = ctx.workspace.audit.record
    who = dict(caller or {})
    try:
        check_arguments(arguments, spec.path_params)
        ctx.guard.check_access(spec.name, spec.access)
        for name in spec.path_params:
            for value in _path_values(arguments.get(name)):
                ctx.guard.check_path(value)
        result = spec.function(ctx, **arguments)
    except Exception as exc:
        record_audit(
            "tool.call",
            spec.name,
            arguments=argument_digest(arguments),
            outcome="refused" if isinstance(exc, ToolRefused | ArgumentTooLarge) else "error",
            error=bounded_text(str(exc)),
            seconds=round(time.perf_counter() - started, 4),
            **who,
        )
        raise
    record_audit(
        "tool.call",
        spec.name,
        arguments=argument_digest(arguments),
        outcome="ok",
        seconds=round(time.perf_counter() - started, 4),
        **who,
    )
    return result
