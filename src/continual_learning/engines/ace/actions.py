"""ACE's menu items: List / Show / Save / Load Playbook, as ``playbook list|show|export|import``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from continual_learning.core.paths import default_playbooks_dir
from continual_learning.engines.actions import (
    ActionInput,
    ActionOutcome,
    EngineAction,
    ProgressCallback,
)

if TYPE_CHECKING:
    from continual_learning.engines.session import Session


def menu_actions(bench: Session) -> list[EngineAction]:
    folder = default_playbooks_dir(bench.config.engine("ace").playbook_dir)  # type: ignore[attr-defined]
    names = tuple(sorted(p.stem for p in folder.glob("*.json")))

    def list_playbooks(_: Mapping[str, str], __: ProgressCallback | None) -> ActionOutcome:
        from continual_learning.engines.ace.playbook import Playbook
        from continual_learning.errors import PlaybookError

        rows = []
        for name in names:
            try:
                playbook = Playbook.load(folder / f"{name}.json")
                rows.append((name, str(len(playbook)), _counts(playbook)))
            except PlaybookError as exc:
                rows.append((name, "-", str(exc)))
        if not rows:
            return ActionOutcome(message=f"No playbooks in {folder}.")
        return ActionOutcome(
            title="Playbooks", columns=("name", "bullets", "helpful / harmful"), rows=tuple(rows)
        )

    def show_playbook(_: Mapping[str, str], __: ProgressCallback | None) -> ActionOutcome:
        playbook = bench.engine("ace").playbook  # type: ignore[attr-defined]
        if not len(playbook):
            return ActionOutcome(message="The ACE playbook is empty: learn a document first.")
        rows = tuple(
            (b.id, b.section, b.text, f"+{b.helpful} / -{b.harmful}") for b in playbook.bullets
        )
        columns = ("bullet", "section", "text", "helpful / harmful")
        return ActionOutcome(title="ACE playbook", columns=columns, rows=rows)

    def save_playbook(answers: Mapping[str, str], _: ProgressCallback | None) -> ActionOutcome:
        path = bench.engine("ace").export_playbook(answers["name"])  # type: ignore[attr-defined]
        return ActionOutcome(message=f"Playbook '{answers['name']}' exported.", files=(path,))

    def load_playbook(answers: Mapping[str, str], _: ProgressCallback | None) -> ActionOutcome:
        with bench.holding("ace"):
            engine = bench.reload("ace")  # what another process learned meanwhile is kept
            loaded = engine.import_playbook(answers["name"])  # type: ignore[attr-defined]
            bench.persist(engine)
        return ActionOutcome(message=f"ACE now uses '{answers['name']}' ({len(loaded)} bullets).")

    actions = [
        EngineAction(label="List Playbooks", run=list_playbooks),
        EngineAction(label="Show Playbook", run=show_playbook),
        EngineAction(
            label="Save Playbook",
            run=save_playbook,
            inputs=(ActionInput(name="name", prompt="Save the playbook as:"),),
        ),
    ]
    if names:
        choose = ActionInput(name="name", prompt="Playbook to load:", kind="choice", choices=names)
        actions.append(EngineAction(label="Load Playbook", run=load_playbook, inputs=(choose,)))
    return actions


def _counts(playbook) -> str:  # type: ignore[no-untyped-def]
    helpful = sum(b.helpful for b in playbook.bullets)
    harmful = sum(b.harmful for b in playbook.bullets)
    return f"{helpful} / {harmful}"
