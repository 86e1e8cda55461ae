"""The gatekeeper: each rule flags its construct; strict refuses, warn records, allowances audited."""

# ruff: noqa: E501  (the table of cases reads best one case per line)

from __future__ import annotations

from pathlib import Path

import pytest

from casparian_engine.parsers.gatekeeper import GatekeeperError, judge, scan_source
from casparian_engine.parsers.registration import RegistrationError
from casparian_engine.workspace import Workspace

from .registration_support import make_parser

CASES = [
    ("import socket", "socket", "imports 'socket' (raw network access)"),
    ("import ssl", "socket", "imports 'ssl' (raw network access)"),
    ("import subprocess", "subprocess", "imports 'subprocess' (starts other programs)"),
    ("from subprocess import run", "subprocess", "imports from 'subprocess' (starts other programs)"),
    ("import ctypes", "ctypes", "imports 'ctypes' (calls native code directly)"),
    ("import os\nos.system('ls')", "os-exec", "uses 'os.system' (starts other programs through os)"),
    ("import os as o\no.execv('/bin/sh', [])", "os-exec", "uses 'os.execv' (starts other programs through os)"),
    ("import os\nos.spawnl(0, 'x')", "os-exec", "uses 'os.spawnl' (starts other programs through os)"),
    ("import os\nos.popen('ls')", "os-exec", "uses 'os.popen' (starts other programs through os)"),
    ("from os import posix_spawn", "os-exec", "imports 'os.posix_spawn' (starts other programs through os)"),
    ("import os\ngetattr(os, 'system')('ls')", "os-exec", "uses 'os.system' through getattr (starts other programs through os)"),
    ("m = __import__('json')", "dynamic-import", "calls '__import__()' (imports modules chosen at run time)"),
    ("import importlib", "dynamic-import", "imports 'importlib' (imports modules chosen at run time)"),
    ("from importlib import import_module", "dynamic-import", "imports from 'importlib' (imports modules chosen at run time)"),
    ("eval('1 + 1')", "eval-exec", "calls 'eval()' (runs code built from strings)"),
    ("exec('x = 1')", "eval-exec", "calls 'exec()' (runs code built from strings)"),
    ("run = eval", "eval-exec", "refers to 'eval' (runs code built from strings)"),
    ("import urllib.request", "network", "imports 'urllib.request' (network access)"),
    ("import http.client", "network", "imports 'http.client' (network access)"),
    ("import requests", "network", "imports 'requests' (network access)"),
    ("import httpx", "network", "imports 'httpx' (network access)"),
    ("import ftplib", "network", "imports 'ftplib' (network access)"),
    ("from smtplib import SMTP", "network", "imports from 'smtplib' (network access)"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "rule", "detail"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_flags_its_construct(source: str, rule: str, detail: str) -> None:
    (finding,) = scan_source(source + "\n", "p.py")
    assert finding.rule == rule
    assert finding.message == f"p.py:{finding.line}: [{rule}] {detail}"


def test_ordinary_parser_code_is_clean() -> None:
    source = (
        "import os, re, csv, json, pathlib\nimport pyarrow.csv as pv\n"
        "PATTERN = re.compile('x')\nos.path.join('a', 'b')\nos.environ.get('X')\n"
        "from .helpers import compile_rules\ncompile_rules()\n"
    )
    assert scan_source(source, "p.py") == []


@pytest.mark.parametrize(("source", "rule", "detail"), CASES, ids=[c[0] for c in CASES])
def test_strict_policy_refuses_registration_with_the_exact_message(
    tmp_path: Path, workspace: Workspace, source: str, rule: str, detail: str
) -> None:
    folder = make_parser(tmp_path / "p")
    (folder / "helpers.py").write_text(source + "\n")
    (finding,) = scan_source(source + "\n", "helpers.py")
    with pytest.raises(RegistrationError) as caught:
        workspace.parsers.register(folder, policy="strict")
    assert str(caught.value) == (
        "gatekeeper refused parser 'invoices' under policy 'strict': 1 finding(s)\n"
        f"  helpers.py:{finding.line}: [{rule}] {detail}\n"
        f"If this is intended, register with --allow {rule} (recorded in the audit trail), "
        "or use --policy warn."
    )
    assert workspace.parsers.list() == []
    (refusal,) = workspace.audit.entries(action="parser.refused")
    assert refusal.subject == "invoices@1.0.0"
    assert refusal.details["findings"] == [finding.message]


def test_strict_is_the_default_from_settings(tmp_path: Path, workspace: Workspace) -> None:
    folder = make_parser(tmp_path / "p", body="import socket")
    with pytest.raises(RegistrationError) as caught:
        workspace.parsers.register(folder)
    assert "under policy 'strict'" in str(caught.value)
    assert "invoice_parser.py:13: [socket] imports 'socket'" in str(caught.value)


def test_warn_policy_registers_and_records_the_findings(
    tmp_path: Path, workspace: Workspace
) -> None:
    folder = make_parser(tmp_path / "p", body="import subprocess")
    result = workspace.parsers.register(folder, policy="warn")
    assert result.created
    expected = "invoice_parser.py:13: [subprocess] imports 'subprocess' (starts other programs)"
    assert [f.message for f in result.verdict.warned] == [expected]
    record = workspace.parsers.get("invoices")
    assert record is not None
    assert [f["message"] for f in record.gatekeeper["warned"]] == [expected]
    (entry,) = workspace.audit.entries(action="parser.registered")
    assert entry.details["gatekeeper_warnings"] == [expected]


def test_warn_policy_from_settings_file(tmp_path: Path, home: Path) -> None:
    (home / "config.toml").write_text('gatekeeper_policy = "warn"\n')
    folder = make_parser(tmp_path / "p", body="import ctypes")
    with Workspace.open(home) as workspace:
        assert workspace.parsers.register(folder).created


def test_allowance_passes_strict_and_is_recorded_in_the_audit_trail(
    tmp_path: Path, workspace: Workspace
) -> None:
    folder = make_parser(tmp_path / "p", body="import requests")
    result = workspace.parsers.register(folder, allow=("network",), policy="strict")
    assert result.created and result.verdict.blocking == ()
    message = "invoice_parser.py:13: [network] imports 'requests' (network access)"
    (entry,) = workspace.audit.entries(action="gatekeeper.allowed")
    assert entry.subject == "invoices@1.0.0"
    assert entry.details == {
        "identity": result.identity,
        "rules": ["network"],
        "findings": [message],
    }
    record = workspace.parsers.get("invoices")
    assert record is not None and record.gatekeeper["allowed_rules"] == ["network"]


def test_an_allowance_covers_only_its_own_rule(tmp_path: Path, workspace: Workspace) -> None:
    folder = make_parser(tmp_path / "p", body="import requests\nimport socket")
    with pytest.raises(RegistrationError) as caught:
        workspace.parsers.register(folder, allow=("network",))
    assert str(caught.value) == (
        "gatekeeper refused parser 'invoices' under policy 'strict': 1 finding(s)\n"
        "  invoice_parser.py:14: [socket] imports 'socket' (raw network access)\n"
        "If this is intended, register with --allow socket (recorded in the audit trail), "
        "or use --policy warn."
    )


def test_unknown_rule_and_policy_are_refused() -> None:
    with pytest.raises(GatekeeperError) as rule:
        judge([], "strict", allow=("sockets",))
    assert str(rule.value) == (
        "unknown gatekeeper rule 'sockets' in --allow: known rules are ctypes, dynamic-import, "
        "eval-exec, network, os-exec, socket, subprocess"
    )
    with pytest.raises(GatekeeperError) as policy:
        judge([], "lenient")
    assert str(policy.value) == "unknown gatekeeper policy 'lenient': use 'strict' or 'warn'"
