"""Step 2 of the executor: the validator built from a parser's declared contracts.

A Level 2 parser maps each output to a contract file (relative to the parser file) or ``None``.
Outputs with a contract are checked by ``casparian_engine.contracts.validate``; the others pass
through unchanged.

Runs use the APPROVED contract: when the store holds an approved version under the file's contract
name, rows are validated against that version. A parser file whose contract differs from it is
reported with both hashes and the diff: in dev (``strict=False``) as a warning, the run going on
against the approved version; in prod (``strict=True``) as a permanent error, since a worker must
never apply a contract nobody approved.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from ..contracts import ContractError, SchemaContract, validate
from .executor import ExecutionError
from .quarantine import Split, Validator, accept_all

if TYPE_CHECKING:
    from ..store.contracts import StoredContract

ApprovedLookup = Callable[[str], "StoredContract | None"]
"""The newest approved version of a contract name, e.g. ``store.contracts.latest``."""
HashLookup = Callable[[str], "StoredContract | None"]
"""The approved version with a content hash, e.g. ``store.contracts.by_hash``."""


def load_contracts(parser_dir: Path, outputs: dict[str, str | None]) -> dict[str, SchemaContract]:
    """Read each declared contract file; a missing or invalid file names itself."""
    return {output: declared.contract for output, declared in _declared(parser_dir, outputs)}


@dataclass(frozen=True)
class _Declared:
    contract: SchemaContract
    path: Path


def _declared(parser_dir: Path, outputs: dict[str, str | None]) -> list[tuple[str, _Declared]]:
    declared: list[tuple[str, _Declared]] = []
    for output, relative in outputs.items():
        if not relative:
            continue
        path = (parser_dir / relative).resolve()
        if not path.is_file():
            raise ExecutionError(
                "ContractError",
                f"output {output!r}: contract file {path} does not exist",
                path=str(path),
            )
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix == ".json":
                contract = SchemaContract.from_json(text, source=str(path))
            else:
                contract = SchemaContract.from_yaml(text, source=str(path))
        except ContractError as exc:
            raise ExecutionError("ContractError", str(exc), path=str(path)) from exc
        declared.append((output, _Declared(contract, path)))
    return declared


@dataclass(frozen=True)
class ContractChoice:
    """The contract one output is validated against, and how the parser's file relates to it."""

    output: str
    file_contract: SchemaContract
    path: Path
    approved: StoredContract | None

    @property
    def contract(self) -> SchemaContract:
        """The approved version when there is one, else the parser's file (not yet approved)."""
        return self.approved.contract if self.approved is not None else self.file_contract

    @property
    def differs(self) -> bool:
        approved = self.approved
        return approved is not None and approved.content_hash != self.file_contract.content_hash

    def mismatch(self) -> str:
        """One line naming the file, the approved version and both hashes."""
        approved = self.approved
        assert approved is not None
        return (
            f"output {self.output!r}: contract file {self.path} (hash "
            f"{self.file_contract.content_hash[:12]}) differs from approved contract "
            f"{approved.name!r} version {approved.version} (hash {approved.content_hash[:12]})"
        )

    def diff(self) -> str:
        """Unified diff from the approved version to the file."""
        approved = self.approved
        assert approved is not None
        lines = difflib.unified_diff(
            approved.contract.to_yaml().splitlines(keepends=True),
            self.file_contract.to_yaml().splitlines(keepends=True),
            f"approved version {approved.version}",
            str(self.path),
        )
        return "".join(lines)


def resolve_contracts(
    parser_dir: Path, outputs: dict[str, str | None], approved: ApprovedLookup | None
) -> dict[str, ContractChoice]:
    """Each output's declared contract file beside its newest approved version (if any)."""
    return {
        output: ContractChoice(
            output,
            declared.contract,
            declared.path,
            approved(declared.contract.name) if approved is not None else None,
        )
        for output, declared in _declared(parser_dir, outputs)
    }


def _older_approved(choice: ContractChoice, by_hash: HashLookup | None) -> StoredContract | None:
    """The older approved version of the same name whose body equals the parser's file, if any."""
    if by_hash is None or choice.approved is None:
        return None
    found = by_hash(choice.file_contract.content_hash)
    if found is None or found.name != choice.approved.name:
        return None
    return found if found.version < choice.approved.version else None


def _stale(choice: ContractChoice, older: StoredContract) -> str:
    """'output …: contract file … matches approved 'x' version 1, but version 2 is now current'."""
    current = choice.approved.version if choice.approved is not None else 0
    return (
        f"output {choice.output!r}: contract file {choice.path} matches approved {older.name!r} "
        f"version {older.version}, but version {current} is now current"
    )


def contract_validator(
    parser_dir: Path,
    outputs: dict[str, str | None],
    *,
    approved: ApprovedLookup | None = None,
    strict: bool = False,
    on_warning: Callable[[str], None] | None = None,
    approved_by_hash: HashLookup | None = None,
) -> Validator:
    """A validator that applies each output's contract (the approved version when one exists).

    A parser file that differs from the approved version — or, when ``strict`` (prod), has no
    approved version at all — raises a permanent ``ExecutionError("ContractNotApproved")``; in dev
    a difference goes to ``on_warning`` with the diff, and the approved version is used. With
    ``approved_by_hash``, a file equal to an OLDER approved version is told so, rather than being
    advised to re-approve (which would lock the old content as the newest version).
    """
    choices = resolve_contracts(parser_dir, outputs, approved)
    for choice in choices.values():
        if strict and approved is not None and choice.approved is None:
            raise ExecutionError(
                "ContractNotApproved",
                f"output {choice.output!r}: contract {choice.file_contract.name!r} "
                f"({choice.path}) has no approved version; {_approve_hint(choice)}",
                path=str(choice.path),
            )
        if choice.differs:
            _refuse_or_warn(choice, strict, on_warning, approved_by_hash)
    contracts = {output: choice.contract for output, choice in choices.items()}
    if not contracts:
        return accept_all

    def check(output: str, table: pa.Table) -> Split:
        contract = contracts.get(output)
        if contract is None:
            return accept_all(output, table)
        result = validate(table, contract)
        return Split(valid=result.valid, quarantined=result.quarantined)

    return check


def _approve_hint(choice: ContractChoice) -> str:
    return f"approve it with `casparian schema approve {choice.path}`"


def _refuse_or_warn(
    choice: ContractChoice,
    strict: bool,
    on_warning: Callable[[str], None] | None,
    approved_by_hash: HashLookup | None,
) -> None:
    """A parser's contract file that differs from the approved version: refused when
    ``strict`` (prod), else told to ``on_warning`` with the diff (the approved one is used)."""
    older = _older_approved(choice, approved_by_hash)
    current = choice.approved.version if choice.approved is not None else 0
    re_approve = (
        f"re-approve version {older.version}'s content on purpose with "
        f"`casparian schema approve {choice.path}`"
        if older is not None
        else ""
    )
    if strict and older is not None:
        raise ExecutionError(
            "ContractNotApproved",
            f"{_stale(choice, older)}: register a parser version built against version "
            f"{current} (or {re_approve})",
            path=str(choice.path),
        )
    if strict:
        raise ExecutionError(
            "ContractNotApproved",
            f"{choice.mismatch()}; {_approve_hint(choice)}",
            path=str(choice.path),
        )
    if on_warning is not None and older is not None:
        on_warning(
            f"{_stale(choice, older)}; validating against version {current} (update the "
            f"file to it, or {re_approve}):\n{choice.diff()}"
        )
    elif on_warning is not None:
        on_warning(
            f"{choice.mismatch()}; validating against the approved version "
            f"(to use the file, {_approve_hint(choice)}):\n{choice.diff()}"
        )
