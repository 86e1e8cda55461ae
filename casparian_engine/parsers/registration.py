"""Registering a parser: bundle, lint, hash, store, audit — and loading a stored bundle back safely.

Registration reads everything statically; no parser code runs in the host. A stored bundle is
verified against its SHA-256 every time it is loaded, then extracted with path and size checks.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CasparianError
from ..store import Store
from .bundle import (
    BuiltBundle,
    BundleError,
    ContractRef,
    ParserMetadata,
    attach_contracts,
    build_bundle,
    extract_bundle,
    parser_dir_of,
    parser_identity,
    read_members,
    read_metadata,
    verify_bundle,
)
from .gatekeeper import GatekeeperError, Verdict, judge, refusal_message, scan_files

__all__ = [
    "RegistrationError",
    "Registration",
    "RegistrationPreview",
    "load_bundle",
    "preview_registration",
    "register",
]


class RegistrationError(CasparianError, ValueError):
    """A registration was refused (bad bundle, gatekeeper, version conflict)."""


@dataclass(frozen=True)
class Registration:
    """The outcome of ``register``: the stored record and whether this call created it."""

    name: str
    version: str
    identity: str
    bundle_sha256: str
    created: bool
    verdict: Verdict
    excluded: tuple[str, ...]

    @property
    def message(self) -> str:
        if self.created:
            return f"registered parser '{self.name}' {self.version} (identity {self.identity})"
        return (
            f"parser '{self.name}' {self.version} is already registered with the same content "
            f"(identity {self.identity}); nothing changed"
        )


def _contract_entries(refs: list[ContractRef], files: dict[str, bytes]) -> list[dict[str, Any]]:
    """Contract references for the record; a contract that does not parse is refused."""
    entries: list[dict[str, Any]] = []
    for ref in refs:
        entry: dict[str, Any] = {"output": ref.output, "file": ref.file, "sha256": ref.sha256}
        try:
            from ..contracts.model import ContractError, SchemaContract
        except ImportError:  # the contracts package is optional for registration
            entries.append(entry)
            continue
        text = files[ref.file].decode("utf-8", errors="replace")
        try:
            if ref.file.endswith(".json"):
                contract = SchemaContract.from_json(text, source=ref.file)
            else:
                contract = SchemaContract.from_yaml(text, source=ref.file)
        except ContractError as exc:
            raise RegistrationError(f"contract of output '{ref.output}': {exc}") from exc
        entry["content_hash"] = contract.content_hash
        entries.append(entry)
    return entries


def _source_dir(path: Path, scratch: Path) -> Path:
    """A parser folder, a ``.py`` file in one, or an exported bundle ``.zip`` (extracted safely)."""
    if path.suffix.lower() == ".zip" and path.is_file():
        try:
            extract_bundle(path.read_bytes(), scratch, label=str(path))
        except BundleError as exc:
            raise RegistrationError(str(exc)) from exc
        return scratch
    return parser_dir_of(path)


@dataclass(frozen=True)
class _Prepared:
    """A parser folder read for registration: bundle, metadata, contracts, verdict, identity."""

    bundle: BuiltBundle
    metadata: ParserMetadata
    contracts: list[dict[str, Any]]
    verdict: Verdict
    identity: str
    source_path: str


def _prepare(path: Path, policy: str, allow: tuple[str, ...]) -> _Prepared:
    """Bundle, read, lint and hash the parser at ``path`` (nothing stored; no code runs)."""
    with tempfile.TemporaryDirectory(prefix="casparian-register-") as scratch:
        try:
            parser_dir = _source_dir(Path(path), Path(scratch))
            bundle = build_bundle(parser_dir)
            metadata = read_metadata(bundle.files)
            refs = attach_contracts(metadata, bundle.files)
        except BundleError as exc:
            raise RegistrationError(str(exc)) from exc
        contracts = _contract_entries(refs, bundle.files)
        try:
            verdict = judge(scan_files(bundle.files), policy, allow)
        except GatekeeperError as exc:
            raise RegistrationError(str(exc)) from exc
        source_path = str(Path(path).expanduser().resolve())
    identity = parser_identity(bundle.source_digest, bundle.lockfile_hash, refs)
    return _Prepared(bundle, metadata, contracts, verdict, identity, source_path)


@dataclass(frozen=True)
class RegistrationPreview:
    """What registering a folder would do, read without storing anything: the name and
    version, the bundled and left-out files, the gatekeeper's verdict, and how it relates to
    what is registered (a new parser, a new version, the same content again, or a conflict)."""

    name: str
    version: str
    identity: str
    members: tuple[str, ...]
    excluded: tuple[str, ...]
    verdict: Verdict
    tags: tuple[str, ...]
    patterns: tuple[str, ...]
    current_version: str | None
    """The newest registered version of the name, if any."""
    change: str
    """'new parser', 'new version', 'already registered' or 'conflict'."""
    problem: str = ""
    """Why registering would be refused ('' when it would not be)."""


def preview_registration(
    store: Store, path: Path, policy: str, allow: tuple[str, ...] = ()
) -> RegistrationPreview:
    """What ``register`` would do with ``path``, without storing or auditing anything."""
    prepared = _prepare(path, policy, allow)
    metadata, verdict = prepared.metadata, prepared.verdict
    current = store.parsers.get(metadata.name)
    existing = store.parsers.get(metadata.name, metadata.version)
    problem = refusal_message(metadata.name, verdict) if verdict.refused else ""
    if existing is None:
        change = "new version" if current is not None else "new parser"
    elif existing.identity_hash == prepared.identity:
        change = "already registered"
    else:
        change = "conflict"
        problem = problem or (
            f"parser '{metadata.name}' {metadata.version} is already registered with other "
            f"content: raise `version` in {metadata.entry_file}"
        )
    return RegistrationPreview(
        metadata.name, metadata.version, prepared.identity, prepared.bundle.members,
        prepared.bundle.excluded, verdict, tuple(metadata.tags), tuple(metadata.patterns),
        current.version if current is not None else None, change, problem,
    )  # fmt: skip


def register(store: Store, path: Path, policy: str, allow: tuple[str, ...] = ()) -> Registration:
    """Register the parser at ``path``; idempotent for identical content, refused otherwise."""
    prepared = _prepare(path, policy, allow)
    bundle, metadata, contracts = prepared.bundle, prepared.metadata, prepared.contracts
    verdict, identity, source_path = prepared.verdict, prepared.identity, prepared.source_path
    subject = f"{metadata.name}@{metadata.version}"
    if verdict.refused:
        store.audit.record(
            "parser.refused", subject, identity=identity, reason="gatekeeper",
            findings=[f.message for f in verdict.blocking], policy=verdict.policy,
        )  # fmt: skip
        raise RegistrationError(refusal_message(metadata.name, verdict))
    with store.db.transaction():
        existing = store.parsers.get(metadata.name, metadata.version)
        if existing is not None:
            if existing.identity_hash == identity:
                return _result(metadata.name, metadata.version, identity, bundle, False, verdict)
            raise RegistrationError(
                f"parser '{metadata.name}' {metadata.version} is already registered with "
                f"identity {existing.identity_hash}, and this source has identity {identity}. "
                f"A registered version is immutable: raise `version` in {metadata.entry_file} "
                "and register again"
            )
        store.parsers.insert(
            name=metadata.name,
            version=metadata.version,
            identity_hash=identity,
            bundle=bundle.zip_bytes,
            bundle_sha256=bundle.bundle_sha256,
            lockfile_hash=bundle.lockfile_hash,
            source_path=source_path,
            tags=metadata.tags,
            patterns=metadata.patterns,
            outputs=metadata.outputs,
            contracts=contracts,
            gatekeeper={**verdict.as_dict(), "entry": metadata.entry_file},
        )
        store.audit.record(
            "parser.registered", subject, identity=identity,
            bundle_sha256=bundle.bundle_sha256, lockfile_hash=bundle.lockfile_hash,
            source_digest=bundle.source_digest, contracts=contracts, source_path=source_path,
            gatekeeper_policy=verdict.policy,
            gatekeeper_warnings=[f.message for f in verdict.warned],
        )  # fmt: skip
        if verdict.allowed_rules:
            store.audit.record(
                "gatekeeper.allowed", subject, identity=identity,
                rules=list(verdict.allowed_rules),
                findings=[f.message for f in verdict.allowed],
            )  # fmt: skip
    return _result(metadata.name, metadata.version, identity, bundle, True, verdict)


def _result(
    name: str, version: str, identity: str, bundle: BuiltBundle, created: bool, verdict: Verdict
) -> Registration:
    return Registration(
        name, version, identity, bundle.bundle_sha256, created, verdict, bundle.excluded
    )


def verified_bundle(store: Store, name: str, version: str | None = None) -> tuple[Any, bytes]:
    """A parser's record and its bundle bytes, checked against the registered SHA-256."""
    record = store.parsers.get(name, version)
    if record is None:
        which = f"version {version} of " if version else ""
        raise RegistrationError(f"no {which}parser '{name}' is registered")
    blob = store.parsers.bundle(record.name, record.version)
    assert blob is not None
    verify_bundle(blob, record.bundle_sha256, f"parser '{record.name}' {record.version}")
    return record, blob


def load_bundle(store: Store, bundles_dir: Path, name: str, version: str | None = None) -> Path:
    """Verify and extract a registered bundle; returns the folder holding its source."""
    record, blob = verified_bundle(store, name, version)
    label = f"parser '{record.name}' {record.version}"
    members = read_members(blob, label)
    target = bundles_dir / f"{record.name}-{record.version}-{record.bundle_sha256[:16]}"
    if target.is_dir() and _matches(target, members):
        return target
    bundles_dir.mkdir(parents=True, exist_ok=True)
    staging = bundles_dir / f".extract-{uuid.uuid4().hex}"
    try:
        extract_bundle(blob, staging, label)
        shutil.rmtree(target, ignore_errors=True)
        try:
            staging.rename(target)
        except OSError:
            if not (target.is_dir() and _matches(target, members)):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _matches(folder: Path, members: dict[str, bytes]) -> bool:
    """Whether an extracted folder still holds exactly the bundle's files, byte for byte."""
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    relevant = {n for n in on_disk if "__pycache__" not in n}
    if relevant != set(members):
        return False
    return all((folder / name).read_bytes() == data for name, data in members.items())


def export_bundle(store: Store, name: str, dest: Path, version: str | None = None) -> Path:
    """Write a registered (verified) bundle as a ``.zip``; ``dest`` may be a folder or a file."""
    record, blob = verified_bundle(store, name, version)
    target = dest / f"{record.name}-{record.version}.zip" if dest.is_dir() else dest
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(blob)
    return target
