"""Replay-LoRA's menu items: the refresh wheel (`refresh add|anchor|run|status|metrics|domain`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from continual_learning.engines.actions import (
    ActionInput,
    ActionOutcome,
    EngineAction,
    ProgressCallback,
)

if TYPE_CHECKING:
    from continual_learning.engines.replay_lora.cycle import CycleRecord
    from continual_learning.engines.session import Session

CYCLE_COLUMNS = ("#", "domain", "new", "replay", "anchor ppl", "BWT", "FWT", "KRS", "kept")


def menu_actions(bench: Session) -> list[EngineAction]:
    from continual_learning.engines.replay_lora.wheel import RefreshWheel

    wheel = RefreshWheel(bench)

    def add_data(answers: Mapping[str, str], _: ProgressCallback | None) -> ActionOutcome:
        documents = wheel.add([Path(answers["path"]).expanduser()])
        waiting = wheel.status().inbox_documents
        return ActionOutcome(
            message=f"Queued {len(documents)} documents; {waiting} wait for the next cycle."
        )

    def set_anchor(answers: Mapping[str, str], _: ProgressCallback | None) -> ActionOutcome:
        count = wheel.set_anchor(Path(answers["path"]).expanduser())
        return ActionOutcome(message=f"Anchor set: {count} texts from {answers['path']}.")

    def run_cycle(_: Mapping[str, str], on_event: ProgressCallback | None) -> ActionOutcome:
        record = wheel.run(on_event=on_event)
        warning = f"Rolled back: {record.reason}" if record.rolled_back else ""
        return ActionOutcome(
            title="Refresh cycle", columns=CYCLE_COLUMNS, rows=(_row(record),), warning=warning
        )

    def status(_: Mapping[str, str], __: ProgressCallback | None) -> ActionOutcome:
        from continual_learning.engines.replay_lora.wheel import status_rows

        rows = tuple(status_rows(wheel.status()))
        return ActionOutcome(title="Refresh wheel", columns=("", ""), rows=rows)

    def metrics(answers: Mapping[str, str], _: ProgressCallback | None) -> ActionOutcome:
        records = wheel.metrics()
        if not records:
            return ActionOutcome(message="No refresh cycles yet.")
        return ActionOutcome(
            title="Refresh cycles",
            columns=CYCLE_COLUMNS,
            rows=tuple(_row(r) for r in records),
            curve=tuple(records),
            curve_path=Path(answers["plot"]).expanduser(),
        )

    def switch_domain(answers: Mapping[str, str], _: ProgressCallback | None) -> ActionOutcome:
        wheel.switch_domain(answers["name"])
        return ActionOutcome(message=f"Active domain: {answers['name']}.")

    path = ActionInput(name="path", prompt="File or folder:", kind="path")
    default_plot = str(bench.workspace / "reports" / "forgetting-curve.png")
    return [
        EngineAction(label="Refresh: Add Data", run=add_data, inputs=(path,)),
        EngineAction(
            label="Refresh: Set Anchor",
            run=set_anchor,
            inputs=(ActionInput(name="path", prompt="Anchor file:", kind="path"),),
        ),
        EngineAction(label="Refresh: Run a Cycle", run=run_cycle),
        EngineAction(label="Refresh: Status", run=status),
        EngineAction(
            label="Refresh: Metrics and Forgetting Curve",
            run=metrics,
            inputs=(ActionInput(name="plot", prompt="Save the curve to:", default=default_plot),),
        ),
        EngineAction(
            label="Refresh: Switch Domain",
            run=switch_domain,
            inputs=(ActionInput(name="name", prompt="Domain (new or existing):"),),
        ),
    ]


def _row(r: CycleRecord) -> tuple[str, ...]:
    return (
        str(r.index),
        r.domain,
        str(r.new_examples),
        str(r.replayed),
        f"{r.anchor_before:.2f} -> {r.anchor_after:.2f}",
        f"{r.bwt:+.3f}",
        "-" if r.fwt is None else f"{r.fwt:+.3f}",
        f"{r.krs:.1f}",
        "rolled back" if r.rolled_back else "yes",
    )
