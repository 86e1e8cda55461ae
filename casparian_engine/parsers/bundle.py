"""Parser bundles: source-only deterministic ZIPs, static metadata, identity and safe extraction.

Registration never runs the parser's code in the host: metadata is read from the AST (class
attributes that are literals). The ZIP is byte-for-byte reproducible (sorted names, fixed
timestamps and permissions), so the same source always gives the same SHA-256.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import CasparianError

LOCKFILE_NAME = "uv.lock"
SOURCE_SUFFIXES = frozenset({".py", ".json", ".yaml", ".yml", ".toml"})
SOURCE_NAMES = frozenset({"pyproject.toml", LOCKFILE_NAME})
EXCLUDED_DIRS = frozenset(
    {".venv", "venv", "__pycache__", ".git", ".hg", ".svn", ".bzr", ".mypy_cache", ".ruff_cache"}
)
NATIVE_SUFFIXES = frozenset({".so", ".dll", ".dylib", ".pyd"})
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
IDENTITY_PREFIX = b"casparian-parser-identity-v1\n"
METADATA_FIELDS = ("name", "version", "tags", "patterns", "outputs")


class BundleError(CasparianError, ValueError):
    """A parser folder or a stored bundle is unusable; the message names the file and the fix."""


@dataclass(frozen=True)
class ExtractionLimits:
    """Caps that stop a hostile ZIP from filling the disk (zip bombs, huge members)."""

    max_members: int = 2_000
    max_member_bytes: int = 16 * 1024 * 1024
    max_total_bytes: int = 64 * 1024 * 1024
    max_compression_ratio: float = 100.0


@dataclass(frozen=True)
class ParserMetadata:
    """What a Level-2 parser class declares, read statically from its source."""

    name: str
    version: str
    tags: tuple[str, ...]
    patterns: tuple[str, ...]
    outputs: dict[str, str | None]
    entry_file: str
    class_name: str


@dataclass(frozen=True)
class ContractRef:
    """A contract file attached to one output of a parser, identified by its content hash."""

    output: str
    file: str
    sha256: str


@dataclass(frozen=True)
class BuiltBundle:
    """A bundle ready to store: the ZIP bytes, its hash and the parts of the identity."""

    zip_bytes: bytes
    bundle_sha256: str
    lockfile_hash: str
    source_digest: str
    members: tuple[str, ...]
    excluded: tuple[str, ...] = field(default=())
    files: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)


def sha256_hex(data: bytes) -> str:
    """The hex SHA-256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def parser_dir_of(path: Path) -> Path:
    """A parser is a folder; a path to a ``.py`` file means the folder that holds it."""
    path = path.expanduser().resolve()
    if not path.exists():
        raise BundleError(f"{path}: no such file or folder")
    return path.parent if path.is_file() else path


def collect_source(parser_dir: Path) -> tuple[dict[str, bytes], list[str]]:
    """Source files to bundle (relative POSIX name -> bytes) and the names left out."""
    included: dict[str, bytes] = {}
    excluded: list[str] = []
    for item in sorted(parser_dir.rglob("*")):
        relative = item.relative_to(parser_dir)
        if any(part in EXCLUDED_DIRS for part in relative.parts):
            continue
        name = relative.as_posix()
        if item.is_symlink():
            raise BundleError(
                f"{item}: symbolic links are not bundled; replace it with the file itself"
            )
        if not item.is_file():
            continue
        if item.suffix.lower() in NATIVE_SUFFIXES:
            excluded.append(name)
            continue
        if item.name in SOURCE_NAMES or item.suffix.lower() in SOURCE_SUFFIXES:
            included[name] = item.read_bytes()
        else:
            excluded.append(name)
    return included, excluded


def build_bundle(parser_dir: Path) -> BuiltBundle:
    """Collect the source of a parser folder into a deterministic ZIP; refuse without uv.lock."""
    files, excluded = collect_source(parser_dir)
    if LOCKFILE_NAME not in files:
        raise BundleError(
            f"{parser_dir}: no {LOCKFILE_NAME}. A registered parser needs a lockfile so its "
            f"environment can be rebuilt exactly: run `uv lock` in {parser_dir} (add a "
            "pyproject.toml listing the parser's dependencies first, if it has none)"
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.create_system = 3
            archive.writestr(info, files[name], compresslevel=9)
    zip_bytes = buffer.getvalue()
    return BuiltBundle(
        zip_bytes=zip_bytes,
        bundle_sha256=sha256_hex(zip_bytes),
        lockfile_hash=sha256_hex(files[LOCKFILE_NAME]),
        source_digest=source_digest(files),
        members=tuple(sorted(files)),
        excluded=tuple(excluded),
        files=files,
    )


def source_digest(files: dict[str, bytes]) -> str:
    """A hash over every bundled file but the lockfile: names and contents, in sorted order."""
    listing = "".join(
        f"{name}\0{sha256_hex(files[name])}\n" for name in sorted(files) if name != LOCKFILE_NAME
    )
    return sha256_hex(listing.encode("utf-8"))


def parser_identity(
    source_digest_hex: str, lockfile_hash: str, contracts: list[ContractRef]
) -> str:
    """Content address of a parser: hash(source + lockfile + contracts)."""
    contract_part = json.dumps(
        sorted([c.output, c.sha256] for c in contracts), separators=(",", ":")
    )
    payload = (
        IDENTITY_PREFIX
        + f"source={source_digest_hex}\nlock={lockfile_hash}\ncontracts={contract_part}\n".encode()
    )
    return sha256_hex(payload)


def _base_name(base: ast.expr) -> str:
    if isinstance(base, ast.Name):
        return base.id
    if isinstance(base, ast.Attribute):
        return base.attr
    return ""


def _class_literals(node: ast.ClassDef, filename: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for statement in node.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        for target in targets:
            if isinstance(target, ast.Name) and target.id in METADATA_FIELDS and value:
                try:
                    values[target.id] = ast.literal_eval(value)
                except ValueError as exc:
                    raise BundleError(
                        f"{filename} line {statement.lineno}: {node.name}.{target.id} must be "
                        "a literal (registration reads it without running the parser)"
                    ) from exc
    return values


def _find_parser_classes(files: dict[str, bytes]) -> list[tuple[str, ast.ClassDef]]:
    found: list[tuple[str, ast.ClassDef]] = []
    for name in sorted(files):
        if not name.endswith(".py"):
            continue
        try:
            tree = ast.parse(files[name], filename=name)
            # The parser accepts what only the compiler refuses (a misplaced
            # `from __future__`, `return` outside a function): compile too, so such a file is
            # refused here rather than failing every job at run time.
            compile(tree, name, "exec", dont_inherit=True)
        except SyntaxError as exc:
            raise BundleError(f"{name} line {exc.lineno}: syntax error: {exc.msg}") from exc
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and any(
                _base_name(b) == "Parser" for b in node.bases
            ):
                found.append((name, node))
    return found


def _string_list(values: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    raw = values.get(key, [])
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple) or not all(isinstance(v, str) for v in raw):
        raise BundleError(f"{where}: '{key}' must be a list of strings, got {raw!r}")
    return tuple(raw)


def read_metadata(files: dict[str, bytes]) -> ParserMetadata:
    """Find the one ``class X(Parser)`` in the bundled source and read its literal attributes."""
    classes = _find_parser_classes(files)
    if not classes:
        raise BundleError(
            "no parser class found: registration needs a Level-2 parser, "
            "`class MyParser(Parser)` with name, version and outputs"
        )
    if len(classes) > 1:
        listed = ", ".join(f"{f}:{c.name}" for f, c in classes)
        raise BundleError(f"more than one parser class found ({listed}); keep one per folder")
    filename, node = classes[0]
    where = f"{filename} class {node.name}"
    values = _class_literals(node, filename)
    for required in ("name", "version"):
        if not isinstance(values.get(required), str) or not values[required].strip():
            raise BundleError(f"{where}: '{required}' must be a non-empty string literal")
    outputs = values.get("outputs", {})
    if not isinstance(outputs, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in outputs.items()
    ):
        raise BundleError(
            f"{where}: 'outputs' must map output names to a contract file name or None"
        )
    return ParserMetadata(
        name=values["name"].strip(),
        version=values["version"].strip(),
        tags=_string_list(values, "tags", where),
        patterns=_string_list(values, "patterns", where),
        outputs=dict(outputs),
        entry_file=filename,
        class_name=node.name,
    )


def attach_contracts(metadata: ParserMetadata, files: dict[str, bytes]) -> list[ContractRef]:
    """The contract file of each output, hashed; a named file missing from the bundle is refused."""
    refs: list[ContractRef] = []
    entry_dir = PurePosixPath(metadata.entry_file).parent
    for output, contract_file in sorted(metadata.outputs.items()):
        if contract_file is None:
            continue
        name = (entry_dir / contract_file).as_posix()
        if name not in files:
            raise BundleError(
                f"parser '{metadata.name}': output '{output}' names contract file "
                f"'{contract_file}', which is not in the parser folder"
            )
        refs.append(ContractRef(output=output, file=name, sha256=sha256_hex(files[name])))
    return refs


def verify_bundle(blob: bytes, expected_sha256: str, label: str) -> None:
    """Refuse a stored bundle whose bytes no longer match the SHA-256 recorded at registration."""
    actual = sha256_hex(blob)
    if actual != expected_sha256:
        raise BundleError(
            f"bundle of {label} failed its integrity check: recorded SHA-256 "
            f"{expected_sha256}, stored bytes hash to {actual}; the bundle was altered after "
            "registration — re-register the parser from its source"
        )


def _member_problem(info: zipfile.ZipInfo, limits: ExtractionLimits) -> str | None:
    name = info.filename
    path = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if ".." in path.parts:
        return "path escapes the bundle ('..')"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link"
    if info.file_size > limits.max_member_bytes:
        return f"member of {info.file_size} bytes exceeds the {limits.max_member_bytes}-byte cap"
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > 1024 and ratio > limits.max_compression_ratio:
        return f"compression ratio {ratio:.0f}:1 exceeds {limits.max_compression_ratio:.0f}:1"
    return None


def read_members(
    blob: bytes, label: str, limits: ExtractionLimits | None = None
) -> dict[str, bytes]:
    """Every member of a bundle, checked against path, link and size rules before it is read."""
    limits = limits or ExtractionLimits()
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
    except zipfile.BadZipFile as exc:
        raise BundleError(f"bundle of {label} is not a valid ZIP: {exc}") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise BundleError(
                f"bundle of {label} has {len(infos)} members, more than the cap of "
                f"{limits.max_members}"
            )
        declared_total = 0
        for info in infos:
            problem = _member_problem(info, limits)
            if problem:
                raise BundleError(f"bundle of {label}: refused member '{info.filename}': {problem}")
            declared_total += info.file_size
        if declared_total > limits.max_total_bytes:
            raise BundleError(
                f"bundle of {label} expands to {declared_total} bytes, more than the cap of "
                f"{limits.max_total_bytes} (zip bomb?)"
            )
        members: dict[str, bytes] = {}
        for info in infos:
            if info.is_dir():
                continue
            try:
                with archive.open(info) as stream:
                    data = stream.read(limits.max_member_bytes + 1)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise BundleError(
                    f"bundle of {label}: member '{info.filename}' is corrupt: {exc}"
                ) from exc
            if len(data) != info.file_size:
                raise BundleError(
                    f"bundle of {label}: member '{info.filename}' declares {info.file_size} "
                    f"bytes but holds {len(data)}"
                )
            members[info.filename] = data
        return members


def extract_bundle(
    blob: bytes, dest: Path, label: str, limits: ExtractionLimits | None = None
) -> list[Path]:
    """Write a checked bundle under ``dest``; nothing lands outside it."""
    members = read_members(blob, label, limits)
    root = dest.resolve()
    written: list[Path] = []
    for name, data in members.items():
        target = (root / name).resolve()
        if not target.is_relative_to(root):
            raise BundleError(
                f"bundle of {label}: refused member '{name}': path escapes the bundle"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return written
