"""Step 2 of the executor: the validator built from a parser's declared contracts.

A Level 2 parser maps each output to a contract file (relative to the parser file) or ``None``.
Outputs with a contract are checked by ``casparian_engine.contracts.validate``; the others pass
through unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from ..contracts import ContractError, SchemaContract, validate
from .executor import ExecutionError
from .quarantine import Split, Validator, accept_all


def load_contracts(parser_dir: Path, outputs: dict[str, str | None]) -> dict[str, SchemaContract]:
    """Read each declared contract file; a missing or invalid file names itself."""
    contracts: dict[str, SchemaContract] = {}
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
        contracts[output] = contract
    return contracts


def contract_validator(parser_dir: Path, outputs: dict[str, str | None]) -> Validator:
    """A validator that applies each output's contract (if it has one)."""
    contracts = load_contracts(parser_dir, outputs)
    if not contracts:
        return accept_all

    def check(output: str, table: pa.Table) -> Split:
        contract = contracts.get(output)
        if contract is None:
            return accept_all(output, table)
        result = validate(table, contract)
        return Split(valid=result.valid, quarantined=result.quarantined)

    return check
