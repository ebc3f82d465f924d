from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class ClosedBookConfig:
    """The closed-book baseline has no settings: it is the backbone as shipped."""
