"""Evidence for chain of custody: a manifest of inputs, parsers, contracts, jobs and outputs.

``export_evidence`` writes ``manifest.json`` (machine-readable), ``SUMMARY.md`` (for a reader),
the registered parser bundles under ``bundles/`` and ``manifest.sha256``. ``verify_evidence``
recomputes every hash — the manifest's own, each bundle's and each parser identity from the bundle
bytes, each input's and each output's — so a third party can check that the outputs came from
those inputs through those parsers, and see exactly what no longer matches.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .digests import file_sha256
from .job_states import ERROR_STATES, SUCCEEDED_STATES
from .parsers.bundle import (
    LOCKFILE_NAME,
    BundleError,
    ContractRef,
    parser_identity,
    read_members,
    sha256_hex,
    source_digest,
)
from .store import Store
from .store.audit import os_user
from .store.jobs import Job
from .wording import plural

MANIFEST_NAME = "manifest.json"
MANIFEST_HASH_NAME = "manifest.sha256"
SUMMARY_NAME = "SUMMARY.md"
FORMAT = "casparian-evidence-v1"
EVIDENCE_STATES = SUCCEEDED_STATES
FAILED_STATES = ERROR_STATES
JOB_PAGE = 1000


@dataclass(frozen=True)
class EvidenceCheck:
    """The result of ``verify_evidence``: how much was checked and every mismatch found."""

    checked: int
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


def _iso(at: float | None) -> str | None:
    if at is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def _output_files(path_text: str) -> list[Path]:
    path = Path(path_text)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    return [path]


def _describe_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {"path": str(path), "sha256": None, "size": None, "missing": True}
    return {"path": str(path), "sha256": file_sha256(path), "size": path.stat().st_size}


def _superseding_jobs(jobs: list[Any]) -> dict[int, Any]:
    """For each job whose input a later backfill of its parser reprocessed, the newest such job."""
    from .backfill import BACKFILL_KIND

    backfills: dict[tuple[str, str | None], list[Any]] = {}
    for job in jobs:
        if job.kind == BACKFILL_KIND and job.batch_id:
            backfills.setdefault((job.parser_name, job.input_hash), []).append(job)
    superseded: dict[int, Any] = {}
    for job in jobs:
        later = [b for b in backfills.get((job.parser_name, job.input_hash), ()) if b.id > job.id]
        if later:
            superseded[job.id] = max(later, key=lambda b: b.id)
    return superseded


def _contracts(store: Store) -> list[dict[str, Any]]:
    """Every approved contract version: name, version, hash, who approved it and when."""
    approved = []
    for latest in store.contracts.list():
        for stored in store.contracts.versions(latest.name):
            if stored.status == "approved":
                approved.append(
                    {
                        "name": stored.name,
                        "version": stored.version,
                        "content_hash": stored.content_hash,
                        "approved_by": stored.approved_by,
                        "approved_at": _iso(stored.approved_at),
                    }
                )
    return approved


def _failed_job(job: Any) -> dict[str, Any]:
    return {
        "id": job.id,
        "parser": job.parser_name,
        "parser_version": job.parser_version,
        "status": job.status,
        "input_path": job.input_path,
        "input_sha256": job.input_hash,
        "finished_at": _iso(job.finished_at),
        "error_kind": job.error_kind,
        "error_message": job.error_message,
    }


def _evidence_jobs(store: Store, states: tuple[str, ...] = EVIDENCE_STATES) -> list[Any]:
    jobs: list[Any] = []
    for status in states:
        offset = 0
        while True:
            page = store.jobs.find(status=status, limit=JOB_PAGE, offset=offset)
            jobs.extend(page)
            if len(page) < JOB_PAGE:
                break
            offset += JOB_PAGE
    return sorted(jobs, key=lambda job: job.id)


def build_manifest(store: Store, bundles_dir: Path) -> dict[str, Any]:
    """Collect the evidence from the store; parser bundles are written into ``bundles_dir``."""
    parsers = _parser_entries(store, bundles_dir)
    evidence = _JobEvidence()
    evidence_jobs = _evidence_jobs(store)
    superseded = _superseding_jobs(evidence_jobs)
    for job in evidence_jobs:
        evidence.add(job, superseded.get(job.id))
    audit = [
        {"id": e.id, "at": _iso(e.at), "os_user": e.os_user, "action": e.action,
         "subject": e.subject, "details": e.details}
        for e in reversed(store.audit.list(limit=1_000_000))
    ]  # fmt: skip
    return {
        "format": FORMAT,
        "generated_at": _iso(time.time()),
        "generated_by": os_user(),
        "host": platform.node(),
        "casparian_version": __version__,
        "parsers": parsers,
        "inputs": sorted(evidence.inputs.values(), key=lambda i: i["path"]),
        "outputs": sorted(evidence.outputs.values(), key=lambda o: o["path"]),
        "jobs": evidence.jobs,
        "failed_jobs": [_failed_job(j) for j in _evidence_jobs(store, FAILED_STATES)],
        "contracts": _contracts(store),
        "audit": audit,
    }


def _parser_entries(store: Store, bundles_dir: Path) -> list[dict[str, Any]]:
    """Every registered parser version, its verified bundle written into ``bundles_dir``."""
    from .parsers.registration import verified_bundle

    bundles_dir.mkdir(parents=True, exist_ok=True)
    parsers: list[dict[str, Any]] = []
    for record in store.parsers.all():
        _, blob = verified_bundle(store, record.name, record.version)
        bundle_name = f"{record.name}-{record.version}.zip"
        (bundles_dir / bundle_name).write_bytes(blob)
        parsers.append(
            {
                **record.as_dict(),
                "registered_at": _iso(record.registered_at),
                "bundle_file": f"bundles/{bundle_name}",
            }
        )
    return parsers


class _JobEvidence:
    """The manifest's jobs, with each input and output file they name described once."""

    def __init__(self) -> None:
        self.inputs: dict[str, dict[str, Any]] = {}
        self.outputs: dict[str, dict[str, Any]] = {}
        self.jobs: list[dict[str, Any]] = []

    def add(self, job: Job, newer: Job | None) -> None:
        """One job; ``newer``: the backfill job that superseded it, if any (the outputs it
        replaced are listed as superseded, not as missing)."""
        if job.input_path not in self.inputs:
            recorded = job.input_hash
            described = _describe_file(Path(job.input_path)) if not recorded else None
            self.inputs[job.input_path] = {
                "path": job.input_path,
                "sha256": recorded or (described or {}).get("sha256"),
                "hash_source": "recorded at processing" if recorded else "computed at export",
            }
        output_files: list[str] = []
        replaced_files: list[str] = []
        newer_files = (
            {str(p) for t in newer.output_paths for p in _output_files(t)} if newer else set()
        )
        for path_text in job.output_paths:
            for path in _output_files(path_text):
                if newer is not None and (not path.is_file() or str(path) in newer_files):
                    replaced_files.append(str(path))  # the backfill replaced it: not missing
                    continue
                if str(path) not in self.outputs:
                    self.outputs[str(path)] = _describe_file(path)
                output_files.append(str(path))
        replaced = (
            {
                "superseded_by_batch": newer.batch_id,
                "superseded_by_job": newer.id,
                "superseded_outputs": replaced_files,
            }
            if newer is not None
            else {}
        )
        self.jobs.append(
            {
                **replaced,
                "id": job.id,
                "parser": job.parser_name,
                "parser_version": job.parser_version,
                "status": job.status,
                "input_path": job.input_path,
                "input_sha256": self.inputs[job.input_path]["sha256"],
                "created_at": _iso(job.created_at),
                "started_at": _iso(job.started_at),
                "finished_at": _iso(job.finished_at),
                "rows_emitted": job.rows_emitted,
                "rows_written": job.rows_written,
                "rows_quarantined": job.rows_quarantined,
                "outputs": output_files,
            }
        )


def _summary(manifest: dict[str, Any]) -> str:
    lines = [
        "# Casparian Flow — evidence manifest",
        "",
        f"Generated {manifest['generated_at']} by {manifest['generated_by']} on "
        f"{manifest['host']} (Casparian {manifest['casparian_version']}).",
        "",
        "Every hash below is SHA-256. `manifest.sha256` holds the hash of `manifest.json`; "
        "`casparian audit verify <this folder>` recomputes all of them.",
        "",
        f"## Parsers ({len(manifest['parsers'])})",
    ]
    for parser in manifest["parsers"]:
        lines.append(
            f"- **{parser['name']} {parser['version']}** — identity `{parser['identity']}`, "
            f"bundle `{parser['bundle_sha256']}` ({parser['bundle_file']}), registered "
            f"{parser['registered_at']} by {parser['registered_by']}"
        )
        for contract in parser["contracts"]:
            lines.append(f"  - contract of `{contract['output']}`: `{contract['sha256']}`")
    lines += ["", f"## Approved contracts ({len(manifest['contracts'])})"]
    for contract in manifest["contracts"]:
        lines.append(
            f"- **{contract['name']}** version {contract['version']} — "
            f"`{contract['content_hash']}`, approved {contract['approved_at']} by "
            f"{contract['approved_by']}"
        )
    lines += ["", f"## Jobs ({len(manifest['jobs'])})"]
    for job in manifest["jobs"]:
        replaced = (
            f"; superseded by backfill {job['superseded_by_batch']} (job "
            f"{job['superseded_by_job']})"
            if job.get("superseded_by_batch")
            else ""
        )
        lines.append(
            f"- job {job['id']}: {job['parser']} {job['parser_version']} on "
            f"`{job['input_path']}` (`{job['input_sha256']}`), {job['started_at']} → "
            f"{job['finished_at']}, {job['rows_written']} "
            f"{plural(job['rows_written'], 'row')} written, "
            f"{job['rows_quarantined']} quarantined, {job['status']}{replaced}"
        )
    lines += ["", f"## Failed jobs ({len(manifest['failed_jobs'])})"]
    for job in manifest["failed_jobs"]:
        lines.append(
            f"- job {job['id']}: {job['parser']} {job['parser_version']} on "
            f"`{job['input_path']}`, {job['status']} {job['finished_at']}: "
            f"{job['error_kind']}: {job['error_message']}"
        )
    lines += ["", f"## Outputs ({len(manifest['outputs'])})"]
    for output in manifest["outputs"]:
        state = "MISSING at export" if output.get("missing") else f"`{output['sha256']}`"
        lines.append(f"- `{output['path']}`: {state}")
    lines += ["", f"## Audit trail ({len(manifest['audit'])} entries)"]
    for entry in manifest["audit"]:
        lines.append(f"- {entry['at']} {entry['os_user']}: {entry['action']} {entry['subject']}")
    return "\n".join(lines) + "\n"


def export_evidence(store: Store, dest: Path) -> dict[str, Any]:
    """Write manifest, summary, bundles and the manifest's hash into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    manifest = build_manifest(store, dest / "bundles")
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8") + b"\n"
    (dest / MANIFEST_NAME).write_bytes(manifest_bytes)
    (dest / MANIFEST_HASH_NAME).write_text(
        f"{sha256_hex(manifest_bytes)}  {MANIFEST_NAME}\n", encoding="utf-8"
    )
    (dest / SUMMARY_NAME).write_text(_summary(manifest), encoding="utf-8")
    store.audit.record(
        "audit.exported", str(dest), manifest_sha256=sha256_hex(manifest_bytes),
        parsers=len(manifest["parsers"]), jobs=len(manifest["jobs"]),
        outputs=len(manifest["outputs"]),
    )  # fmt: skip
    return manifest


def _check_parser(parser: dict[str, Any], folder: Path) -> list[str]:
    label = f"parser {parser['name']} {parser['version']}"
    bundle_path = folder / parser["bundle_file"]
    if not bundle_path.is_file():
        return [f"{label}: bundle file {parser['bundle_file']} is missing"]
    blob = bundle_path.read_bytes()
    if sha256_hex(blob) != parser["bundle_sha256"]:
        return [f"{label}: bundle {parser['bundle_file']} does not match its SHA-256"]
    try:
        members = read_members(blob, label)
    except BundleError as exc:
        return [str(exc)]
    refs = [ContractRef(c["output"], c["file"], sha256_hex(members.get(c["file"], b"")))
            for c in parser["contracts"]]  # fmt: skip
    identity = parser_identity(
        source_digest(members), sha256_hex(members.get(LOCKFILE_NAME, b"")), refs
    )
    if identity != parser["identity"]:
        return [f"{label}: identity recomputed from the bundle is {identity}, not the recorded one"]
    return []


def _check_file(kind: str, path_text: str, expected: str | None) -> str | None:
    path = Path(path_text)
    if expected is None:
        return None
    if not path.is_file():
        return f"{kind} {path_text}: missing (recorded SHA-256 {expected})"
    actual = file_sha256(path)
    if actual != expected:
        return f"{kind} {path_text}: SHA-256 is {actual}, the manifest records {expected}"
    return None


def verify_evidence(folder: Path) -> EvidenceCheck:
    """Recompute every hash of an exported manifest; each mismatch is one readable problem."""
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.is_file():
        return EvidenceCheck(0, (f"{manifest_path}: no manifest here",))
    manifest_bytes = manifest_path.read_bytes()
    problems: list[str] = []
    hash_file = folder / MANIFEST_HASH_NAME
    recorded = hash_file.read_text(encoding="utf-8").split()[0] if hash_file.is_file() else ""
    if sha256_hex(manifest_bytes) != recorded:
        problems.append(f"{MANIFEST_NAME}: does not match the hash in {MANIFEST_HASH_NAME}")
    manifest = json.loads(manifest_bytes)
    checked = 1
    for parser in manifest["parsers"]:
        problems += _check_parser(parser, folder)
        checked += 1
    for kind, entries in (("input", manifest["inputs"]), ("output", manifest["outputs"])):
        for entry in entries:
            if entry.get("missing"):
                problems.append(f"{kind} {entry['path']}: was already missing at export")
            problem = _check_file(kind, entry["path"], entry["sha256"])
            if problem:
                problems.append(problem)
            checked += 1
    return EvidenceCheck(checked, tuple(problems))
