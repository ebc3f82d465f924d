"""Doc-to-LoRA's menu item: Switch Mode (doc / text), saved as ``config set doc2lora.mode``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from continual_learning.engines.actions import (
    ActionInput,
    ActionOutcome,
    EngineAction,
    ProgressCallback,
)

if TYPE_CHECKING:
    from continual_learning.engines.session import Session

MODES = {"doc": "documents, chunked", "text": "a short task description, one chunk"}


def header_note(bench: Session) -> str:
    return f"mode {bench.config.engine('doc2lora').mode}"  # type: ignore[attr-defined]


def menu_actions(bench: Session) -> list[EngineAction]:
    current = bench.config.engine("doc2lora").mode  # type: ignore[attr-defined]

    def switch_mode(answers: Mapping[str, str], _: ProgressCallback | None) -> ActionOutcome:
        from continual_learning.config.loader import load_config, set_user_value

        mode = answers["mode"]
        set_user_value("doc2lora.mode", mode)
        bench.reconfigure(load_config())
        return ActionOutcome(
            message=f"Doc-to-LoRA now reads {MODES[mode]} (mode {mode}, saved in your config)."
        )

    choice = ActionInput(
        name="mode",
        prompt=f"Mode (now {current}):",
        kind="choice",
        choices=tuple(MODES),
        default=current,
    )
    return [EngineAction(label="Switch Mode (doc / text)", run=switch_mode, inputs=(choice,))]
