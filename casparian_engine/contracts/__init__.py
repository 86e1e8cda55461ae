"""Schema contracts: the model, discovery, vectorised validation and quarantine."""

from .model import ColumnSpec, ContractError, SchemaContract, arrow_type, type_name_of
from .validate import (
    QUARANTINE_SCHEMA,
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
