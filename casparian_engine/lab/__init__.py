"""The Parser Lab: draft a parser folder from sample files, try it, and hand it to a person.

``deterministic_draft`` writes what discovery alone can infer; ``write_draft`` puts a draft in a
folder the user owns (never over an existing file unless asked); ``try_parser`` runs it on the
samples through the dev executor. Approving the contract and registering stay a person's acts.
"""

from __future__ import annotations

from .draft import (
    ORIGIN_INFERRED,
    ORIGIN_MODEL,
    PARSER_FILE,
    Draft,
    DraftFile,
    WrittenDraft,
    deterministic_draft,
    existing_files,
    write_draft,
)
from .samples import LabError, SampleFacts, gather_facts, tagged_samples
from .trial import OutputTry, Reason, TryResult, find_parser_file, try_parser

__all__ = [
    "ORIGIN_INFERRED",
    "ORIGIN_MODEL",
    "PARSER_FILE",
    "Draft",
    "DraftFile",
    "LabError",
    "OutputTry",
    "Reason",
    "SampleFacts",
    "TryResult",
    "WrittenDraft",
    "deterministic_draft",
    "existing_files",
    "find_parser_file",
    "gather_facts",
    "tagged_samples",
    "try_parser",
    "write_draft",
]
