"""The gatekeeper: an AST lint that flags dangerous imports and calls in parser source.

It is a lint, not a sandbox: a determined author can hide a call from any static check. The
bridge's runtime isolation (scrubbed environment, own process group, resource limits) is what
contains a parser; the gatekeeper makes the obvious cases visible at registration and on record.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import CasparianError

# rule -> what it protects against, shown in every finding of that rule.
RULES: dict[str, str] = {
    "socket": "raw network access",
    "subprocess": "starts other programs",
    "ctypes": "calls native code directly",
    "os-exec": "starts other programs through os",
    "dynamic-import": "imports modules chosen at run time",
    "eval-exec": "runs code built from strings",
    "network": "network access",
}
MODULE_RULES: dict[str, str] = {
    "socket": "socket",
    "ssl": "socket",
    "subprocess": "subprocess",
    "pty": "subprocess",
    "ctypes": "ctypes",
    "cffi": "ctypes",
    "importlib": "dynamic-import",
    "urllib": "network",
    "urllib3": "network",
    "http": "network",
    "requests": "network",
    "httpx": "network",
    "aiohttp": "network",
    "ftplib": "network",
    "smtplib": "network",
    "poplib": "network",
    "imaplib": "network",
    "telnetlib": "network",
    "xmlrpc": "network",
    "socketserver": "network",
    "paramiko": "network",
    "websocket": "network",
    "websockets": "network",
}
OS_EXEC_PREFIXES = ("system", "popen", "exec", "spawn", "posix_spawn", "fork")
BUILTIN_CALL_RULES = {
    "eval": "eval-exec",
    "exec": "eval-exec",
    "compile": "eval-exec",
    "__import__": "dynamic-import",
}
POLICIES = ("strict", "warn")


class GatekeeperError(CasparianError, ValueError):
    """A parser was refused by the gatekeeper, or a policy/allowance is unknown."""


@dataclass(frozen=True)
class Finding:
    """One flagged construct: which rule, where, and what it is."""

    rule: str
    file: str
    line: int
    detail: str

    @property
    def message(self) -> str:
        return f"{self.file}:{self.line}: [{self.rule}] {self.detail} ({RULES[self.rule]})"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "message": self.message}


def _module_rule(module: str) -> str | None:
    return MODULE_RULES.get(module.split(".")[0])


def _is_os_exec(attribute: str) -> bool:
    return attribute.startswith(OS_EXEC_PREFIXES)


class _Scanner(ast.NodeVisitor):
    """Walks one module, tracking which local names are the ``os`` module."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.findings: list[Finding] = []
        self.os_aliases: set[str] = set()

    def flag(self, rule: str, node: ast.AST, detail: str) -> None:
        line = getattr(node, "lineno", 0)
        self.findings.append(Finding(rule, self.filename, line, detail))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            rule = _module_rule(alias.name)
            if rule:
                self.flag(rule, node, f"imports '{alias.name}'")
            if alias.name == "os":
                self.os_aliases.add(alias.asname or "os")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        rule = _module_rule(module) if node.level == 0 else None
        if rule:
            self.flag(rule, node, f"imports from '{module}'")
        elif module == "os":
            for alias in node.names:
                if _is_os_exec(alias.name):
                    self.flag("os-exec", node, f"imports 'os.{alias.name}'")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if (
            isinstance(node.value, ast.Name)
            and node.value.id in self.os_aliases
            and _is_os_exec(node.attr)
        ):
            self.flag("os-exec", node, f"uses 'os.{node.attr}'")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in BUILTIN_CALL_RULES:
            self.flag(BUILTIN_CALL_RULES[func.id], node, f"calls '{func.id}()'")
            for argument in (*node.args, *node.keywords):
                self.visit(argument)
            return
        if isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2:
            target, attribute = node.args[0], node.args[1]
            if (
                isinstance(target, ast.Name)
                and target.id in self.os_aliases
                and isinstance(attribute, ast.Constant)
                and isinstance(attribute.value, str)
                and _is_os_exec(attribute.value)
            ):
                self.flag("os-exec", node, f"uses 'os.{attribute.value}' through getattr")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in BUILTIN_CALL_RULES:
            rule = BUILTIN_CALL_RULES[node.id]
            self.flag(rule, node, f"refers to '{node.id}'")
        self.generic_visit(node)


def scan_source(source: str | bytes, filename: str) -> list[Finding]:
    """Findings of one Python file; a file that does not parse is reported, never skipped."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise GatekeeperError(f"{filename} line {exc.lineno}: syntax error: {exc.msg}") from exc
    scanner = _Scanner(filename)
    scanner.visit(tree)
    return sorted(scanner.findings, key=lambda f: (f.file, f.line, f.rule, f.detail))


def scan_files(files: dict[str, bytes]) -> list[Finding]:
    """Findings across every ``.py`` file of a bundle, in file and line order."""
    findings: list[Finding] = []
    for name in sorted(files):
        if name.endswith(".py"):
            findings.extend(scan_source(files[name], name))
    return findings


@dataclass(frozen=True)
class Verdict:
    """The outcome under a policy: what blocks, what an allowance covers, what is only recorded."""

    policy: str
    allowed_rules: tuple[str, ...]
    blocking: tuple[Finding, ...]
    allowed: tuple[Finding, ...]
    warned: tuple[Finding, ...]

    @property
    def refused(self) -> bool:
        return bool(self.blocking)

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "allowed_rules": list(self.allowed_rules),
            "blocking": [f.as_dict() for f in self.blocking],
            "allowed": [f.as_dict() for f in self.allowed],
            "warned": [f.as_dict() for f in self.warned],
        }


def judge(findings: Iterable[Finding], policy: str, allow: Iterable[str] = ()) -> Verdict:
    """Apply a policy (``strict`` refuses, ``warn`` records) and per-parser allowances."""
    if policy not in POLICIES:
        raise GatekeeperError(f"unknown gatekeeper policy {policy!r}: use 'strict' or 'warn'")
    allowed_rules = tuple(sorted(set(allow)))
    unknown = [rule for rule in allowed_rules if rule not in RULES]
    if unknown:
        raise GatekeeperError(
            f"unknown gatekeeper rule {unknown[0]!r} in --allow: known rules are "
            + ", ".join(sorted(RULES))
        )
    blocking: list[Finding] = []
    allowed: list[Finding] = []
    warned: list[Finding] = []
    for finding in findings:
        if finding.rule in allowed_rules:
            allowed.append(finding)
        elif policy == "strict":
            blocking.append(finding)
        else:
            warned.append(finding)
    return Verdict(policy, allowed_rules, tuple(blocking), tuple(allowed), tuple(warned))


def refusal_message(parser_name: str, verdict: Verdict) -> str:
    """The error a refused registration prints: every blocking finding and the two ways out."""
    lines = [
        f"gatekeeper refused parser '{parser_name}' under policy '{verdict.policy}': "
        f"{len(verdict.blocking)} finding(s)"
    ]
    lines += [f"  {finding.message}" for finding in verdict.blocking]
    rules = " ".join(f"--allow {r}" for r in sorted({f.rule for f in verdict.blocking}))
    lines.append(
        f"If this is intended, register with {rules} (recorded in the audit trail), "
        "or use --policy warn."
    )
    return "\n".join(lines)
