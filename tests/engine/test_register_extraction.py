"""Bundle safety: extraction refuses absolute paths, '..', symlinks, big members and zip bombs."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from casparian_engine.parsers.bundle import BundleError, ExtractionLimits, extract_bundle
from casparian_engine.parsers.registration import RegistrationError
from casparian_engine.workspace import Workspace

LABEL = "parser 'evil' 1.0"


def zip_of(members: list[tuple[str, bytes]], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("blob", "limits", "expected"),
    [
        (
            zip_of([("/etc/cron.d/evil.py", b"x")]),
            ExtractionLimits(),
            "refused member '/etc/cron.d/evil.py': absolute path",
        ),
        (
            zip_of([("../../outside.py", b"x")]),
            ExtractionLimits(),
            "refused member '../../outside.py': path escapes the bundle ('..')",
        ),
        (
            zip_of([("ok.py", b"x")], symlink="link.py"),
            ExtractionLimits(),
            "refused member 'link.py': symbolic link",
        ),
        (
            zip_of([("big.json", b"[" + b"1," * 3000 + b"1]")]),
            ExtractionLimits(max_member_bytes=4096, max_compression_ratio=10_000),
            "refused member 'big.json': member of 6003 bytes exceeds the 4096-byte cap",
        ),
        (
            zip_of([("bomb.json", b"\0" * 2_000_000)]),
            ExtractionLimits(),
            "refused member 'bomb.json': compression ratio 1024:1 exceeds 100:1",
        ),
        (
            zip_of([(f"m{i}.py", bytes(range(256)) * 4) for i in range(5)]),
            ExtractionLimits(max_total_bytes=4096),
            "expands to 5120 bytes, more than the cap of 4096 (zip bomb?)",
        ),
        (
            zip_of([(f"m{i}.py", b"x") for i in range(4)]),
            ExtractionLimits(max_members=3),
            "has 4 members, more than the cap of 3",
        ),
        (b"PK\x03\x04 not really a zip", ExtractionLimits(), "is not a valid ZIP: "),
    ],
    ids=["absolute", "dotdot", "symlink", "oversized", "ratio-bomb", "total", "count", "not-zip"],
)
def test_hostile_bundles_are_refused_and_nothing_is_written(
    tmp_path: Path, blob: bytes, limits: ExtractionLimits, expected: str
) -> None:
    dest = tmp_path / "dest"
    with pytest.raises(BundleError) as caught:
        extract_bundle(blob, dest, LABEL, limits)
    message = str(caught.value)
    separator = " " if expected.startswith(("expands", "has", "is not")) else ": "
    assert message.startswith(f"bundle of {LABEL}{separator}{expected}")
    assert not dest.exists() or list(dest.rglob("*")) == []
    assert not (tmp_path / "outside.py").exists()


def test_a_member_that_lies_about_its_size_is_refused(tmp_path: Path) -> None:
    blob = bytearray(zip_of([("a.py", b"print('hello world')\n")]))
    # Patch the central directory's uncompressed size (offset 24 in the entry) down to 5 bytes.
    central = blob.rfind(b"PK\x01\x02")
    blob[central + 24 : central + 28] = (5).to_bytes(4, "little")
    with pytest.raises(BundleError) as caught:
        extract_bundle(bytes(blob), tmp_path / "dest", LABEL)
    assert str(caught.value) == (
        f"bundle of {LABEL}: member 'a.py' is corrupt: Bad CRC-32 for file 'a.py'"
    )


def test_registering_a_hostile_zip_is_refused(tmp_path: Path, workspace: Workspace) -> None:
    hostile = tmp_path / "evil.zip"
    hostile.write_bytes(zip_of([("../escape.py", b"x")]))
    with pytest.raises(RegistrationError) as caught:
        workspace.parsers.register(hostile)
    assert str(caught.value) == (
        f"bundle of {hostile}: refused member '../escape.py': path escapes the bundle ('..')"
    )
    assert workspace.parsers.list() == []
