"""Production validates only against approved contracts; dev runs never touch production outputs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.engine.cli_support import CASPARIAN


def casparian(home: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CASPARIAN, "--home", str(home), *args], capture_output=True, text=True, cwd=cwd
    )


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    subprocess.run([CASPARIAN, "demo", str(root), "--files", "30"], check=True, capture_output=True)
    return root


def test_a_changed_unapproved_contract_fails_prod_jobs_permanently(demo: Path) -> None:
    home = demo / "home"
    changed = demo / "parsers" / "invoices_v2"
    shutil.copytree(demo / "parsers" / "invoices", changed)
    source = (changed / "invoices.py").read_text()
    (changed / "invoices.py").write_text(source.replace('version = "1.0.0"', 'version = "1.1.0"'))
    contract = changed / "invoices.contract.yaml"
    contract.write_text(contract.read_text().replace("invoice_id", "invoice_no", 1))
    assert casparian(home, "parser", "register", str(changed)).returncode == 0

    processed = casparian(home, "process", "--parser", "invoices", "--json")
    jobs = json.loads(casparian(home, "jobs", "--parser", "invoices", "--json").stdout)
    assert jobs, processed.stderr
    failed = [job for job in jobs if job["status"] == "failed"]
    # Five permanent failures in a row trip the circuit breaker (two workers may each finish the
    # batch they hold); the rest wait, queued. Nothing is written.
    assert len(failed) >= 5
    assert {job["status"] for job in jobs} <= {"failed", "queued"}
    assert any(job["status"] == "queued" for job in jobs)
    assert {job["error_kind"] for job in failed} == {"ContractNotApproved"}
    breaker = "[CIRCUIT_BREAKER] Parser 'invoices' paused after 5 consecutive failures"
    assert breaker in processed.stdout + processed.stderr
    message = failed[0]["error_message"]
    assert "differs from approved contract 'invoices' version 1" in message
    assert "approve it with `casparian schema approve" in message
    assert not (home / "output" / "invoices").exists() or not any(
        (home / "output" / "invoices").rglob("*.parquet")
    )


def test_dev_runs_write_apart_from_production_outputs(demo: Path) -> None:
    home = demo / "home"
    assert casparian(home, "process", "--parser", "invoices").returncode == 0
    production = sorted((home / "output" / "invoices" / "invoices").glob("*.parquet"))
    assert production
    before = {p: p.read_bytes() for p in production}

    sample = next((demo / "files" / "invoices").rglob("*.csv"))
    parser = demo / "parsers" / "invoices" / "invoices.py"
    for extra in ((), ("--force",)):
        run = casparian(home, "run", str(parser), str(sample), *extra)
        assert run.returncode == 0, run.stderr
    assert sorted((home / "output" / "invoices" / "invoices").glob("*.parquet")) == production
    assert {p: p.read_bytes() for p in production} == before
    assert any((home / "dev-output" / "invoices" / "invoices").glob("*.parquet"))
