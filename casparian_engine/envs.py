"""EnvManager: parser environments built with ``uv`` from a lockfile, cached by the lockfile's hash.

An environment lives at ``$CASPARIAN_HOME/venvs/<lockfile sha256>``. It is built once, exactly as
the lockfile says (``uv sync --frozen``: no re-resolution), reused while it exists, and pruned least
recently used first. ``vendor`` copies the locked wheels into ``$CASPARIAN_HOME/wheelhouse``;
``offline=True`` then builds from that wheelhouse alone (``--offline --no-index --find-links``).
The guest shim needs pyarrow and pyzmq, which a parser's lockfile need not list: the host's own
copies are exposed to every environment through one ``.pth`` file (the parser's own pins win).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .digests import file_sha256
from .errors import CasparianError
from .parsers.bundle import LOCKFILE_NAME

MARKER_NAME = "casparian-env.json"
LAST_USED_NAME = ".casparian-last-used"
RUNTIME_DISTRIBUTIONS = ("pyarrow", "pyzmq")
REQUIREMENTS_NAME = "casparian-requirements.txt"


class EnvError(CasparianError, RuntimeError):
    """An environment could not be built or vendored; the message says what to do."""


@dataclass(frozen=True)
class Environment:
    """A ready parser environment."""

    lockfile_hash: str
    path: Path
    python: Path
    built: bool
    last_used: float


@dataclass(frozen=True)
class VendorResult:
    """What ``vendor`` put in the wheelhouse."""

    wheelhouse: Path
    copied: tuple[str, ...]
    already_present: tuple[str, ...]


def find_uv() -> str:
    """The ``uv`` executable installed with Casparian (the ``uv`` package), else the one on PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if not found:
            raise EnvError(
                "uv is not installed: `pip install uv` in Casparian's environment"
            ) from None
        return found


def venv_python(env_dir: Path) -> Path:
    """The interpreter inside a virtual environment."""
    if os.name == "nt":
        return env_dir / "Scripts" / "python.exe"
    return env_dir / "bin" / "python"


def _site_packages(env_dir: Path) -> Path:
    if os.name == "nt":
        return env_dir / "Lib" / "site-packages"
    return env_dir / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


def _python_tag() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def _platform_fits(platform_tag: str) -> bool:
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if platform_tag == "any":
        return True
    if sys.platform.startswith("linux"):
        return platform_tag.startswith(("manylinux", "linux")) and platform_tag.endswith(arch)
    if sys.platform == "darwin":
        return platform_tag.startswith("macosx") and platform_tag.endswith((machine, "universal2"))
    if os.name == "nt":
        return platform_tag == {"x86_64": "win_amd64", "aarch64": "win_arm64"}.get(arch, "win32")
    return False


def wheel_fits(filename: str) -> bool:
    """Whether a wheel's tags suit this interpreter (CPython ``major.minor``, OS, machine)."""
    parts = filename[: -len(".whl")].split("-")
    if len(parts) < 5:
        return False
    python_tags, abi_tags, platform_tags = (p.split(".") for p in parts[-3:])
    major, minor = sys.version_info[0], sys.version_info[1]
    cpython = f"cp{major}{minor}"
    python_ok = any(
        tag in (f"py{major}", f"py{major}{minor}", cpython)
        or (tag.startswith(f"cp{major}") and "abi3" in abi_tags and int(tag[3:] or 0) <= minor)
        for tag in python_tags
    )
    abi_ok = any(tag in ("none", "abi3", cpython) for tag in abi_tags)
    return python_ok and abi_ok and any(_platform_fits(tag) for tag in platform_tags)


class EnvManager:
    """Builds, reuses, vendors and cleans parser environments under one home."""

    def __init__(self, venvs_dir: Path, wheelhouse_dir: Path, python: str | None = None) -> None:
        self.venvs_dir = venvs_dir
        self.wheelhouse_dir = wheelhouse_dir
        self.python = python or sys.executable

    # -- building ----------------------------------------------------------------------------
    def ensure(self, project_dir: Path, offline: bool = False) -> Environment:
        """The environment for a parser folder's ``uv.lock``: reused if present, else built."""
        lockfile = project_dir / LOCKFILE_NAME
        if not lockfile.is_file():
            raise EnvError(f"{project_dir}: no {LOCKFILE_NAME}; run `uv lock` in that folder")
        lockfile_hash = hashlib.sha256(lockfile.read_bytes()).hexdigest()
        target = self.venvs_dir / lockfile_hash
        if self._usable(target):
            return self._touch(target, lockfile_hash, built=False)
        if target.exists():
            shutil.rmtree(target)
        self.venvs_dir.mkdir(parents=True, exist_ok=True)
        staging = self.venvs_dir / f".building-{lockfile_hash[:16]}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            self._build(project_dir, staging, offline)
            (staging / MARKER_NAME).write_text(
                json.dumps(
                    {
                        "lockfile_hash": lockfile_hash,
                        "python": _python_tag(),
                        "built_at": time.time(),
                        "offline": offline,
                    }
                ),
                encoding="utf-8",
            )
            try:
                os.rename(staging, target)
            except OSError:
                if not self._usable(target):  # another worker finished first: use theirs
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return self._touch(target, lockfile_hash, built=True)

    def _usable(self, env_dir: Path) -> bool:
        marker = env_dir / MARKER_NAME
        if not marker.is_file() or not venv_python(env_dir).exists():
            return False
        try:
            return bool(json.loads(marker.read_text(encoding="utf-8"))["python"] == _python_tag())
        except (ValueError, KeyError):
            return False

    def _touch(self, env_dir: Path, lockfile_hash: str, built: bool) -> Environment:
        stamp = env_dir / LAST_USED_NAME
        stamp.touch()
        return Environment(
            lockfile_hash, env_dir, venv_python(env_dir), built, stamp.stat().st_mtime
        )

    def _run_uv(self, args: list[str], cwd: Path, offline: bool, env_dir: Path) -> None:
        environment = dict(os.environ)
        environment["UV_PROJECT_ENVIRONMENT"] = str(env_dir)
        environment.pop("VIRTUAL_ENV", None)
        if offline:
            environment["UV_OFFLINE"] = "1"
        completed = subprocess.run(
            [find_uv(), *args], cwd=cwd, env=environment, capture_output=True, text=True
        )
        if completed.returncode != 0:
            detail = (completed.stderr or completed.stdout).strip()
            raise EnvError(f"`uv {args[0]} {args[1]}` failed for {cwd}: {detail}")

    def _build(self, project_dir: Path, env_dir: Path, offline: bool) -> None:
        self._run_uv(
            ["venv", "--no-config", "--relocatable", "--quiet", "--python", self.python,
             str(env_dir)],
            self.venvs_dir, offline, env_dir,
        )  # fmt: skip
        if not offline:
            self._run_uv(
                ["sync", "--frozen", "--no-install-project", "--no-dev", "--inexact", "--quiet"],
                project_dir, offline, env_dir,
            )  # fmt: skip
        else:
            if not self.wheelhouse_dir.is_dir():
                raise EnvError(
                    f"no wheelhouse at {self.wheelhouse_dir}: run `casparian vendor <parser>` "
                    "on a machine with network access first, then build with --offline"
                )
            requirements = env_dir / REQUIREMENTS_NAME
            self._run_uv(
                ["export", "--frozen", "--no-emit-project", "--no-dev", "--quiet",
                 "--format", "requirements-txt", "--output-file", str(requirements)],
                project_dir, offline, env_dir,
            )  # fmt: skip
            if any(
                line.strip() and not line.lstrip().startswith(("#", "--"))
                for line in requirements.read_text(encoding="utf-8").splitlines()
            ):
                self._run_uv(
                    ["pip", "sync", "--no-config", "--offline", "--no-index", "--find-links",
                     str(self.wheelhouse_dir), "--python", str(venv_python(env_dir)),
                     "--quiet", str(requirements)],
                    self.wheelhouse_dir, offline, env_dir,
                )  # fmt: skip
        self._link_runtime(env_dir)

    def _link_runtime(self, env_dir: Path) -> None:
        """Expose the host's pyarrow/pyzmq (what the guest shim needs) through one .pth file."""
        runtime = self.runtime_dir()
        site_packages = _site_packages(env_dir)
        site_packages.mkdir(parents=True, exist_ok=True)
        (site_packages / "_casparian_runtime.pth").write_text(f"{runtime}\n", encoding="utf-8")

    def runtime_dir(self) -> Path:
        """A folder of links to the host's runtime distributions, made once per their versions."""
        distributions = [importlib.metadata.distribution(n) for n in RUNTIME_DISTRIBUTIONS]
        versions = "-".join(f"{d.metadata['Name']}{d.version}" for d in distributions)
        key = hashlib.sha256(f"{sys.executable}|{_python_tag()}|{versions}".encode()).hexdigest()
        runtime = self.venvs_dir / f".runtime-{_python_tag()}-{key[:16]}"
        if runtime.is_dir():
            return runtime
        staging = runtime.with_name(runtime.name + f".tmp{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for distribution in distributions:
            tops = {Path(str(f)).parts[0] for f in distribution.files or ()}
            for top in sorted(tops):
                source = Path(str(distribution.locate_file(top)))
                if source.exists() and top not in ("..", "__pycache__"):
                    (staging / top).symlink_to(source)
        try:
            os.rename(staging, runtime)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
        return runtime

    # -- listing and cleanup -----------------------------------------------------------------
    def environments(self) -> list[Environment]:
        """Every built environment, least recently used first."""
        if not self.venvs_dir.is_dir():
            return []
        found: list[Environment] = []
        for env_dir in self.venvs_dir.iterdir():
            if env_dir.name.startswith(".") or not (env_dir / MARKER_NAME).is_file():
                continue
            stamp = env_dir / LAST_USED_NAME
            last_used = stamp.stat().st_mtime if stamp.exists() else 0.0
            found.append(Environment(env_dir.name, env_dir, venv_python(env_dir), False, last_used))
        return sorted(found, key=lambda e: (e.last_used, e.lockfile_hash))

    def cleanup(self, keep: int, protect: tuple[str, ...] = ()) -> list[str]:
        """Keep the ``keep`` most recently used (and any protected); returns the removed hashes."""
        environments = self.environments()
        older = environments[: max(0, len(environments) - keep)]
        removed: list[str] = []
        for environment in (e for e in older if e.lockfile_hash not in protect):
            shutil.rmtree(environment.path)
            removed.append(environment.lockfile_hash)
        return removed

    # -- vendoring ---------------------------------------------------------------------------
    def vendor(self, project_dir: Path) -> VendorResult:
        """Copy every locked wheel that suits this machine into the wheelhouse, hash-checked."""
        lockfile = project_dir / LOCKFILE_NAME
        try:
            lock = tomllib.loads(lockfile.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise EnvError(f"{project_dir}: no {LOCKFILE_NAME}; run `uv lock` there") from None
        except tomllib.TOMLDecodeError as exc:
            raise EnvError(f"{lockfile}: not valid TOML: {exc}") from exc
        self.wheelhouse_dir.mkdir(parents=True, exist_ok=True)
        copied: list[str] = []
        present: list[str] = []
        for package in lock.get("package", []):
            source = package.get("source", {})
            if "registry" not in source:
                continue  # the project itself, or a local path/editable dependency
            wheels = [
                w
                for w in package.get("wheels", [])
                if wheel_fits(self._wheel_name(w.get("url") or w.get("path", "")))
            ]
            if not wheels:
                raise EnvError(
                    f"{lockfile}: package {package['name']} {package.get('version', '')} has no "
                    "wheel for this platform in the lock (source builds are not vendored); "
                    "pin a version that publishes wheels"
                )
            for wheel in wheels:
                location = wheel.get("url") or wheel["path"]
                name = self._wheel_name(location)
                target = self.wheelhouse_dir / name
                expected = str(wheel.get("hash", "")).removeprefix("sha256:")
                if target.is_file() and (not expected or file_sha256(target) == expected):
                    present.append(name)
                    continue
                self._fetch(location, Path(source["registry"]), target, expected)
                copied.append(name)
        return VendorResult(self.wheelhouse_dir, tuple(copied), tuple(present))

    @staticmethod
    def _wheel_name(location: str) -> str:
        return urllib.parse.unquote(location.rsplit("/", 1)[-1].split("#", 1)[0])

    @staticmethod
    def _fetch(location: str, registry: Path, target: Path, expected: str) -> None:
        partial = target.with_name(target.name + ".part")
        try:
            if location.startswith(("http://", "https://")):
                with urllib.request.urlopen(location, timeout=60) as response:  # noqa: S310
                    with partial.open("wb") as out:
                        shutil.copyfileobj(response, out)
            else:
                path = Path(urllib.parse.unquote(location.removeprefix("file://")))
                shutil.copyfile(path if path.is_absolute() else registry / path, partial)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise EnvError(f"cannot fetch {location} into the wheelhouse: {exc}") from exc
        actual = file_sha256(partial)
        if expected and actual != expected:
            partial.unlink()
            raise EnvError(
                f"{location}: SHA-256 {actual} does not match the lockfile's {expected}; "
                "refusing to vendor it"
            )
        os.replace(partial, target)
