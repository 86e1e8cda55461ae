"""Schema contracts: the model, discovery, vectorised validation and quarantine."""

from ..quarantine_rows import QUARANTINE_SCHEMA
from .model import ColumnSpec, ContractError, SchemaContract, arrow_type, type_name_of
from .validate import (
    StructuralMismatch,
    ValidationResult,
    check_structure,
    validate,
)

__all__ = [
    "QUARANTINE_SCHEMA",
    "ColumnSpec",
    "ContractError",
    "SchemaContract",
    "StructuralMismatch",
    "ValidationResult",
    "arrow_type",
    "check_structure",
    "type_name_of",
    "validate",
]
