from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class OracleContextConfig:
    """The oracle-context baseline has no settings: its prompt is the in-context engine's wording
    around exactly one document, cut to the context window."""
