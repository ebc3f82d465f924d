"""Doc-to-LoRA's own action: switch mode (doc / text), saved as ``config set doc2lora.mode``;
``continual-learning doc2lora mode doc|text`` and the menu's Switch Mode, declared once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from continual_learning.engines.actions import (
    ActionInput,
    ActionOutcome,
    Answers,
    EngineAction,
    ProgressCallback,
)
from continual_learning.engines.doc2lora.config import Doc2LoraConfig

if TYPE_CHECKING:
    from continual_learning.engines.session import Session

MODES = {"doc": "documents, chunked", "text": "a short task description, one chunk"}


def header_note(session: Session) -> str:
    return f"mode {_mode(session)}"


def _mode(session: Session) -> str:
    return session.config.engine_config(Doc2LoraConfig).mode


def _switch_mode(session: Session, answers: Answers, _: ProgressCallback | None) -> ActionOutcome:
    from continual_learning.config.loader import load_config, set_user_value

    mode = answers["mode"]
    set_user_value("doc2lora.mode", mode)
    session.reconfigure(load_config())
    return ActionOutcome(
        message=f"Doc-to-LoRA now reads {MODES[mode]} (mode {mode}, saved in your config)."
    )


ACTIONS = (
    EngineAction(
        command="mode",
        help="what Doc-to-LoRA reads: doc (documents, chunked) or text (a task description)",
        label="Switch Mode (doc / text)",
        run=_switch_mode,
        inputs=(
            ActionInput(
                name="mode",
                kind="choice",
                help="doc | text",
                prompt="Mode:",
                choices=lambda _: tuple(MODES),
                default=_mode,
            ),
        ),
    ),
)
