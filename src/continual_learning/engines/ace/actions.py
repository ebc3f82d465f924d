"""ACE's own actions, its named playbooks: ``continual-learning playbook list|show|export|
import`` and the menu's List / Show / Save / Load Playbook, declared once. ``list`` and ``show``
read the files without loading a model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from continual_learning.core.paths import default_playbooks_dir
from continual_learning.engines.ace.config import AceConfig
from continual_learning.engines.actions import (
    ActionInput,
    ActionOutcome,
    Answers,
    EngineAction,
    ProgressCallback,
)

if TYPE_CHECKING:
    from continual_learning.engines.ace.engine import AceEngine
    from continual_learning.engines.ace.playbook import Playbook
    from continual_learning.engines.session import Session


def _folder(session: Session) -> Path:
    return default_playbooks_dir(session.config.engine_config(AceConfig).playbook_dir)


def _saved_names(session: Session) -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in _folder(session).glob("*.json")))


def _list(session: Session, _: Answers, __: ProgressCallback | None) -> ActionOutcome:
    from continual_learning.engines.ace.playbook import Playbook
    from continual_learning.errors import PlaybookError

    summaries = []
    for name in _saved_names(session):
        try:
            summaries.append(_summary(name, Playbook.load(_folder(session) / f"{name}.json")))
        except PlaybookError as exc:  # list the others; say which file is broken
            summaries.append({"name": name, "error": str(exc)})
    if not summaries:
        return ActionOutcome(message=f"No playbooks in {_folder(session)}.", data=[])
    rows = tuple(
        (s["name"], s["error"], "", "")
        if "error" in s
        else (s["name"], str(s["bullets"]), str(s["helpful"]), str(s["harmful"]))
        for s in summaries
    )
    columns = ("name", "bullets", "helpful", "harmful")
    return ActionOutcome(title="Playbooks", columns=columns, rows=rows, data=summaries)


def _summary(name: str, playbook: Playbook) -> dict[str, Any]:
    return {
        "name": name,
        "bullets": len(playbook),
        "helpful": sum(b.helpful for b in playbook.bullets),
        "harmful": sum(b.harmful for b in playbook.bullets),
    }


def _show(session: Session, answers: Answers, _: ProgressCallback | None) -> ActionOutcome:
    from continual_learning.core.storage import safe_name
    from continual_learning.engines.ace.playbook import Playbook

    name = answers.get("name")
    if name:
        path = _folder(session) / f"{safe_name(name, what='playbook name')}.json"
    else:
        path = session.state_dir("ace") / "playbook.json"
        if not path.is_file():
            return ActionOutcome(message="The workspace's ACE engine has learned nothing yet.")
    playbook = Playbook.load(path)
    if not len(playbook):
        return ActionOutcome(message="The playbook is empty.", data=playbook.to_json())
    rows = tuple(
        (b.id, b.section, b.text, str(b.helpful), str(b.harmful))
        for b in sorted(playbook.bullets, key=lambda b: b.section)
    )
    title = f"{name or 'workspace ACE playbook'}: {len(playbook)} bullets"
    columns = ("id", "section", "bullet", "helpful", "harmful")
    return ActionOutcome(title=title, columns=columns, rows=rows, data=playbook.to_json())


def _export(session: Session, answers: Answers, _: ProgressCallback | None) -> ActionOutcome:
    engine = cast("AceEngine", session.engine("ace"))
    path = engine.export_playbook(answers["name"])
    return ActionOutcome(message=f"Saved the playbook as '{answers['name']}'.", files=(path,))


def _import(session: Session, answers: Answers, _: ProgressCallback | None) -> ActionOutcome:
    name = answers["name"]
    with session.holding("ace"):
        engine = cast("AceEngine", session.reload("ace"))
        loaded = engine.import_playbook(name)  # what another process learned meanwhile is kept
        session.persist(engine)
    return ActionOutcome(
        message=f"The workspace ACE engine now uses '{name}' ({len(loaded)} bullets)."
    )


ACTIONS = (
    EngineAction(
        command="list",
        help="the named playbooks and their sizes",
        label="List Playbooks",
        run=_list,
    ),
    EngineAction(
        command="show",
        help="a named playbook's bullets (no NAME: the workspace's)",
        label="Show Playbook",
        run=_show,
        inputs=(
            ActionInput(
                name="name", optional=True, help="a saved playbook; default: the active one"
            ),
        ),
    ),
    EngineAction(
        command="export",
        help="save the workspace ACE playbook as NAME",
        label="Save Playbook",
        run=_export,
        inputs=(
            ActionInput(
                name="name",
                help="save the active playbook under this name",
                prompt="Save the playbook as:",
            ),
        ),
    ),
    EngineAction(
        command="import",
        help="replace the workspace ACE playbook with NAME",
        label="Load Playbook",
        run=_import,
        inputs=(
            ActionInput(
                name="name",
                kind="choice",
                help="a saved playbook (see playbook list)",
                prompt="Playbook to load:",
                choices=_saved_names,
            ),
        ),
    ),
)
