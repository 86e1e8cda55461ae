"""Registration: source-only deterministic bundles, identity, idempotence, refusals, round trip."""

from __future__ import annotations

import hashlib
import io
import sqlite3
import zipfile
from pathlib import Path

import pytest

from casparian_engine.parsers.bundle import BundleError, build_bundle
from casparian_engine.parsers.registration import RegistrationError
from casparian_engine.workspace import Workspace

from .registration_support import make_parser


def test_bundle_holds_source_only_and_is_byte_for_byte_reproducible(tmp_path: Path) -> None:
    folder = make_parser(tmp_path / "p")
    (folder / "helpers").mkdir()
    (folder / "helpers" / "lookup.json").write_text("{}")
    (folder / "settings.yml").write_text("a: 1\n")
    (folder / "sample.csv").write_text("id,amount\n1,2.5\n")
    (folder / "fast.so").write_bytes(b"\x7fELF")
    for ignored in (".venv/lib", "__pycache__", ".git", "helpers/__pycache__"):
        (folder / ignored).mkdir(parents=True, exist_ok=True)
        (folder / ignored / "x.py").write_text("print(1)\n")
    first = build_bundle(folder)
    assert first.members == (
        "helpers/lookup.json",
        "invoice_parser.py",
        "invoices.contract.yaml",
        "pyproject.toml",
        "settings.yml",
        "uv.lock",
    )
    assert first.excluded == ("fast.so", "sample.csv")
    (folder / "invoice_parser.py").touch()  # a new mtime must not change the bundle
    second = build_bundle(folder)
    assert second.zip_bytes == first.zip_bytes
    assert second.bundle_sha256 == first.bundle_sha256
    with zipfile.ZipFile(io.BytesIO(first.zip_bytes)) as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_refuses_a_folder_without_uv_lock_and_says_how_to_make_one(
    tmp_path: Path, workspace: Workspace
) -> None:
    folder = make_parser(tmp_path / "p", lock=False)
    with pytest.raises(RegistrationError) as caught:
        workspace.parsers.register(folder)
    assert str(caught.value) == (
        f"{folder}: no uv.lock. A registered parser needs a lockfile so its environment can be "
        f"rebuilt exactly: run `uv lock` in {folder} (add a pyproject.toml listing the parser's "
        "dependencies first, if it has none)"
    )
    assert workspace.parsers.list() == []


def test_register_stores_blob_hashes_contract_and_audits(
    tmp_path: Path, workspace: Workspace
) -> None:
    folder = make_parser(tmp_path / "p")
    result = workspace.parsers.register(folder / "invoice_parser.py")
    assert result.created and result.message == (
        f"registered parser 'invoices' 1.0.0 (identity {result.identity})"
    )
    record = workspace.parsers.get("invoices")
    assert record is not None
    assert (record.name, record.version, record.identity_hash) == (
        "invoices",
        "1.0.0",
        result.identity,
    )
    assert record.tags == ("invoices",) and record.patterns == ("invoices/**/*.csv",)
    assert record.outputs == {"invoices": "invoices.contract.yaml"}
    (contract,) = record.contracts
    assert contract["output"] == "invoices" and contract["file"] == "invoices.contract.yaml"
    expected = hashlib.sha256((folder / "invoices.contract.yaml").read_bytes()).hexdigest()
    assert contract["sha256"] == expected
    blob = workspace.store.parsers.bundle("invoices", "1.0.0")
    assert blob is not None and hashlib.sha256(blob).hexdigest() == record.bundle_sha256
    lock_hash = hashlib.sha256((folder / "uv.lock").read_bytes()).hexdigest()
    assert record.lockfile_hash == lock_hash
    (entry,) = workspace.audit.entries(action="parser.registered")
    assert entry.subject == "invoices@1.0.0"
    assert entry.details["identity"] == result.identity
    assert entry.details["bundle_sha256"] == record.bundle_sha256
    assert entry.details["lockfile_hash"] == lock_hash
    assert entry.os_user


def test_same_content_again_is_idempotent_and_says_so(tmp_path: Path, workspace: Workspace) -> None:
    folder = make_parser(tmp_path / "p")
    first = workspace.parsers.register(folder)
    again = workspace.parsers.register(folder)
    assert not again.created and again.identity == first.identity
    assert again.message == (
        f"parser 'invoices' 1.0.0 is already registered with the same content "
        f"(identity {first.identity}); nothing changed"
    )
    assert len(workspace.parsers.list()) == 1
    assert len(workspace.audit.entries(action="parser.registered")) == 1


def test_same_version_with_different_content_is_refused(
    tmp_path: Path, workspace: Workspace
) -> None:
    folder = make_parser(tmp_path / "p")
    first = workspace.parsers.register(folder)
    (folder / "invoice_parser.py").write_text(
        (folder / "invoice_parser.py").read_text() + "\n# changed\n"
    )
    changed = build_bundle(folder)
    with pytest.raises(RegistrationError) as caught:
        workspace.parsers.register(folder)
    message = str(caught.value)
    assert message.startswith(
        f"parser 'invoices' 1.0.0 is already registered with identity {first.identity}, "
        "and this source has identity "
    )
    assert message.endswith(
        "A registered version is immutable: raise `version` in invoice_parser.py and register again"
    )
    record = workspace.parsers.get("invoices", "1.0.0")
    assert record is not None and record.bundle_sha256 == first.bundle_sha256
    assert changed.bundle_sha256 != first.bundle_sha256


def test_a_changed_contract_changes_the_identity(tmp_path: Path, workspace: Workspace) -> None:
    folder = make_parser(tmp_path / "p")
    first = build_bundle(folder)
    from casparian_engine.parsers.bundle import attach_contracts, parser_identity, read_metadata

    def identity() -> str:
        bundle = build_bundle(folder)
        refs = attach_contracts(read_metadata(bundle.files), bundle.files)
        return parser_identity(bundle.source_digest, bundle.lockfile_hash, refs)

    before = identity()
    (folder / "invoices.contract.yaml").write_text(
        (folder / "invoices.contract.yaml").read_text().replace("float64", "float32")
    )
    assert identity() != before
    assert build_bundle(folder).bundle_sha256 != first.bundle_sha256


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda f: (f / "invoices.contract.yaml").unlink(),
            "parser 'invoices': output 'invoices' names contract file "
            "'invoices.contract.yaml', which is not in the parser folder",
        ),
        (
            lambda f: (f / "invoice_parser.py").write_text(
                (f / "invoice_parser.py").read_text().replace('"1.0.0"', "VERSION")
            ),
            "invoice_parser.py line 6: InvoiceParser.version must be a literal "
            "(registration reads it without running the parser)",
        ),
        (
            lambda f: (f / "invoice_parser.py").write_text("def parse(path):\n    return None\n"),
            "no parser class found: registration needs a Level-2 parser, "
            "`class MyParser(Parser)` with name, version and outputs",
        ),
        (
            lambda f: (f / "second.py").write_text(
                "from casparian_parser import Parser\nclass Other(Parser):\n    name = 'o'\n"
            ),
            "more than one parser class found (invoice_parser.py:InvoiceParser, "
            "second.py:Other); keep one per folder",
        ),
        (
            lambda f: (f / "broken.py").write_text("def oops(:\n"),
            "broken.py line 1: syntax error: invalid syntax",
        ),
        (
            lambda f: (f / "late_future.py").write_text(
                "import os\nfrom __future__ import annotations\n"
            ),
            "late_future.py line 2: syntax error: "
            "from __future__ imports must occur at the beginning of the file",
        ),
        (
            lambda f: (f / "invoices.contract.yaml").write_text("name: invoices\ncolumns: []\n"),
            "contract of output 'invoices': invoices.contract.yaml: key 'columns' must be a "
            "non-empty list",
        ),
    ],
    ids=[
        "missing-contract",
        "non-literal",
        "no-class",
        "two-classes",
        "syntax",
        "compile-error",
        "bad-contract",
    ],
)
def test_bad_parser_folders_are_refused_with_a_clear_message(
    tmp_path: Path, workspace: Workspace, edit: object, expected: str
) -> None:
    folder = make_parser(tmp_path / "p")
    edit(folder)  # type: ignore[operator]
    with pytest.raises(RegistrationError) as caught:
        workspace.parsers.register(folder)
    assert str(caught.value) == expected
    assert workspace.parsers.list() == []


def test_symlinks_in_the_source_are_refused(tmp_path: Path, workspace: Workspace) -> None:
    folder = make_parser(tmp_path / "p")
    (tmp_path / "elsewhere.py").write_text("X = 1\n")
    (folder / "linked.py").symlink_to(tmp_path / "elsewhere.py")
    with pytest.raises(RegistrationError) as caught:
        workspace.parsers.register(folder)
    assert str(caught.value) == (
        f"{folder / 'linked.py'}: symbolic links are not bundled; replace it with the file itself"
    )


def test_round_trip_export_and_register_elsewhere_gives_the_same_identity(
    tmp_path: Path, workspace: Workspace
) -> None:
    folder = make_parser(tmp_path / "p")
    original = workspace.parsers.register(folder)
    exported = workspace.parsers.export("invoices", tmp_path)
    assert exported == tmp_path / "invoices-1.0.0.zip"
    with Workspace.open(tmp_path / "other-home") as other:
        again = other.parsers.register(exported)
        assert again.created
        assert again.identity == original.identity
        assert again.bundle_sha256 == original.bundle_sha256
        record = other.parsers.get("invoices")
        assert record is not None and record.identity_hash == original.identity


def test_a_tampered_blob_is_refused_on_load_and_export(
    tmp_path: Path, workspace: Workspace
) -> None:
    folder = make_parser(tmp_path / "p")
    registered = workspace.parsers.register(folder)
    extracted = workspace.parsers.load_bundle("invoices")
    assert (extracted / "invoice_parser.py").read_bytes() == (
        folder / "invoice_parser.py"
    ).read_bytes()
    blob = workspace.store.parsers.bundle("invoices", "1.0.0")
    assert blob is not None
    tampered = blob.replace(b"invoice_parser.py", b"invoice_parsex.py", 1)
    with sqlite3.connect(workspace.config.state_db) as raw:
        raw.execute("UPDATE cf_parsers SET bundle = ? WHERE name = 'invoices'", (tampered,))
    expected = (
        f"bundle of parser 'invoices' 1.0.0 failed its integrity check: recorded SHA-256 "
        f"{registered.bundle_sha256}, stored bytes hash to {hashlib.sha256(tampered).hexdigest()}; "
        "the bundle was altered after registration — re-register the parser from its source"
    )
    with pytest.raises(BundleError) as on_load:
        workspace.parsers.load_bundle("invoices")
    assert str(on_load.value) == expected
    with pytest.raises(BundleError) as on_export:
        workspace.parsers.export("invoices", tmp_path / "out")
    assert str(on_export.value) == expected


def test_load_bundle_restores_an_extracted_copy_that_was_edited(
    tmp_path: Path, workspace: Workspace
) -> None:
    folder = make_parser(tmp_path / "p")
    workspace.parsers.register(folder)
    extracted = workspace.parsers.load_bundle("invoices", "1.0.0")
    (extracted / "invoice_parser.py").write_text("import socket\n")
    (extracted / "extra.py").write_text("X = 1\n")
    again = workspace.parsers.load_bundle("invoices", "1.0.0")
    assert again == extracted
    assert (again / "invoice_parser.py").read_bytes() == (folder / "invoice_parser.py").read_bytes()
    assert not (again / "extra.py").exists()


def test_unknown_parser_is_a_clear_error(workspace: Workspace) -> None:
    with pytest.raises(RegistrationError) as caught:
        workspace.parsers.load_bundle("nope", "2.0")
    assert str(caught.value) == "no version 2.0 of parser 'nope' is registered"
