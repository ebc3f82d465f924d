"""Replay-LoRA's own actions, the refresh wheel: ``continual-learning refresh init|add|anchor|
run|status|metrics|eval|schedule|domain`` and the menu's "Refresh: ..." items, declared once."""

from __future__ import annotations

import dataclasses
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from continual_learning.engines.actions import (
    ActionInput,
    ActionOutcome,
    Answers,
    EngineAction,
    ProgressCallback,
)
from continual_learning.types import emit

if TYPE_CHECKING:
    from continual_learning.engines.replay_lora.cycle import CycleRecord
    from continual_learning.engines.replay_lora.wheel import RefreshWheel
    from continual_learning.engines.session import Session

CYCLE_COLUMNS = (
    "#", "domain", "new", "replay", "loss", "anchor ppl", "BWT", "FWT", "KRS", "kept",
)  # fmt: skip


def _wheel(session: Session) -> RefreshWheel:
    from continual_learning.engines.replay_lora.wheel import RefreshWheel

    return RefreshWheel(session)


def _init(session: Session, _: Answers, __: ProgressCallback | None) -> ActionOutcome:
    created = _wheel(session).init()
    state = "created" if created else "already exists"
    return ActionOutcome(message=f"Refresh state {state} in {session.workspace}.")


def _add(session: Session, answers: Answers, _: ProgressCallback | None) -> ActionOutcome:
    wheel = _wheel(session)
    documents = wheel.add([Path(p).expanduser() for p in answers["paths"]])
    waiting = wheel.status().inbox_documents
    return ActionOutcome(
        message=f"Queued {len(documents)} documents; {waiting} wait for the next cycle."
    )


def _anchor(session: Session, answers: Answers, _: ProgressCallback | None) -> ActionOutcome:
    count = _wheel(session).set_anchor(Path(answers["path"]).expanduser())
    return ActionOutcome(message=f"Anchor set: {count} texts from {answers['path']}.")


def _run(session: Session, answers: Answers, on_event: ProgressCallback | None) -> ActionOutcome:
    epochs = None if answers.get("epochs") is None else int(answers["epochs"])
    wheel = _wheel(session)
    if answers.get("dry_run"):
        plan = wheel.plan(epochs=epochs)
        return ActionOutcome(
            message=f"Dry run, nothing changed: domain '{plan.domain}' would train on "
            f"{plan.new_examples} new + {plan.replayed} replayed examples, {plan.epochs} "
            f"epochs, {plan.steps} steps, EWC {'on' if plan.ewc else 'off'}.",
            data=dataclasses.asdict(plan),
        )
    record = wheel.run(epochs=epochs, on_event=on_event)
    return _cycles((record,), title="Refresh cycle", data=record.to_dict())


def _cycles(records: tuple[CycleRecord, ...], *, title: str, data: object) -> ActionOutcome:
    rolled_back = [r for r in records if r.rolled_back]
    warning = f"Rolled back: {rolled_back[-1].reason}" if rolled_back else ""
    rows = tuple(_row(r) for r in records)
    return ActionOutcome(title=title, columns=CYCLE_COLUMNS, rows=rows, warning=warning, data=data)


def _status(session: Session, _: Answers, __: ProgressCallback | None) -> ActionOutcome:
    from continual_learning.engines.replay_lora.wheel import status_rows

    status = _wheel(session).status()
    return ActionOutcome(
        title="Refresh wheel",
        columns=("", ""),
        rows=tuple(status_rows(status)),
        data=dataclasses.asdict(status),
    )


def _metrics(session: Session, answers: Answers, _: ProgressCallback | None) -> ActionOutcome:
    records = tuple(_wheel(session).metrics())
    data = [r.to_dict() for r in records]
    if not records:
        return ActionOutcome(message="No refresh cycles yet.", data=data)
    plot = answers.get("plot")
    outcome = _cycles(records, title="Refresh cycles", data=data)
    if not plot:
        return outcome
    curve_path = Path(plot).expanduser()
    return dataclasses.replace(outcome, curve=records, curve_path=curve_path)


def _eval(session: Session, _: Answers, __: ProgressCallback | None) -> ActionOutcome:
    result = _wheel(session).evaluate()
    message = f"Anchor perplexity {result.anchor_perplexity:.3f} over {result.anchor_texts} texts"
    if result.inbox_perplexity is not None:
        message += f"; queued data perplexity {result.inbox_perplexity:.3f}"
    return ActionOutcome(message=message + ".", data=dataclasses.asdict(result))


def _schedule(
    session: Session, answers: Answers, on_event: ProgressCallback | None
) -> ActionOutcome:
    """Until SIGINT or SIGTERM: a cycle in progress finishes and is saved first."""
    stop = threading.Event()
    records: list[CycleRecord] = []

    def request_stop(signum: int, _frame: object) -> None:
        stopping = f"{signal.Signals(signum).name}: stopping after the current step"
        emit(on_event, "refresh schedule", len(records), None, stopping)
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C aborts

    def on_cycle(record: CycleRecord) -> None:
        records.append(record)
        kept = "rolled back" if record.rolled_back else "kept"
        done = f"cycle {record.index}: BWT {record.bwt:+.3f}, {kept}"
        emit(on_event, "refresh schedule", len(records), None, done)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    wheel = _wheel(session)
    wheel.init()
    hours = float(answers["every"])
    waiting = f"every {hours:g} h when data is queued in {wheel.inbox}; Ctrl-C stops"
    emit(on_event, "refresh schedule", 0, None, waiting)
    wheel.schedule(hours, stop=stop, on_cycle=on_cycle, on_event=on_event)
    outcome = _cycles(tuple(records), title="Refresh cycles", data=[r.to_dict() for r in records])
    message = f"Stopped after {len(records)} cycles; state saved in {session.workspace}."
    return dataclasses.replace(outcome, message=message)


def _domain(session: Session, answers: Answers, _: ProgressCallback | None) -> ActionOutcome:
    wheel = _wheel(session)
    if answers.get("name"):
        wheel.switch_domain(answers["name"])
        return ActionOutcome(message=f"Active domain: {answers['name']}.")
    status = wheel.status()
    rows = tuple(("*" if name == status.domain else "", name) for name in status.domains)
    data = {"active": status.domain, "domains": list(status.domains)}
    return ActionOutcome(title="Domains", columns=("active", "domain"), rows=rows, data=data)


def _default_curve(session: Session) -> str:
    return str(session.workspace / "reports" / "forgetting-curve.png")


ACTIONS = (
    EngineAction(command="init", help="create the refresh state in the workspace", run=_init),
    EngineAction(
        command="add",
        help="queue documents for the next cycle (nothing trains yet)",
        label="Refresh: Add Data",
        run=_add,
        inputs=(
            ActionInput(
                name="paths",
                kind="paths",
                help="documents: files or folders",
                prompt="File or folder:",
            ),
        ),
    ),
    EngineAction(
        command="anchor",
        help="set the anchor set forgetting is measured on",
        label="Refresh: Set Anchor",
        run=_anchor,
        inputs=(
            ActionInput(
                name="path",
                kind="path",
                help="general text, paragraphs split by blank lines",
                prompt="Anchor file:",
            ),
        ),
    ),
    EngineAction(
        command="run",
        help="train one cycle on the queued documents",
        label="Refresh: Run a Cycle",
        run=_run,
        inputs=(
            ActionInput(
                name="epochs",
                kind="number",
                optional=True,
                help="override replay_lora.epochs for this cycle",
            ),
            ActionInput(name="dry_run", kind="flag", help="say what would be trained, only"),
        ),
    ),
    EngineAction(
        command="status",
        help="domain, queue, buffer, cycles, KRS",
        label="Refresh: Status",
        run=_status,
    ),
    EngineAction(
        command="metrics",
        help="BWT, FWT and KRS of every cycle",
        label="Refresh: Metrics and Forgetting Curve",
        run=_metrics,
        inputs=(
            ActionInput(
                name="plot",
                kind="path",
                optional=True,
                as_option=True,
                must_exist=False,
                help="save the forgetting curve (PNG) here",
                prompt="Save the curve to:",
                default=_default_curve,
            ),
        ),
    ),
    EngineAction(
        command="eval",
        help="anchor-set perplexity now",
        label="Refresh: Anchor Perplexity",
        run=_eval,
    ),
    EngineAction(
        command="schedule",
        help="run a cycle every N hours when new data was added (Ctrl-C stops)",
        run=_schedule,
        inputs=(ActionInput(name="every", kind="number", help="hours between checks"),),
    ),
    EngineAction(
        command="domain",
        help="list the domains, or switch to (create) one",
        label="Refresh: Switch Domain",
        run=_domain,
        inputs=(
            ActionInput(
                name="name",
                optional=True,
                help="switch to (or create) this domain",
                prompt="Domain (new or existing):",
            ),
        ),
    ),
)


def _row(r: CycleRecord) -> tuple[str, ...]:
    return (
        str(r.index),
        r.domain,
        str(r.new_examples),
        str(r.replayed),
        f"{r.first_loss:.3f} -> {r.final_loss:.3f}",
        f"{r.anchor_before:.2f} -> {r.anchor_after:.2f}",
        f"{r.bwt:+.3f}",
        "-" if r.fwt is None else f"{r.fwt:+.3f}",
        f"{r.krs:.1f}",
        "rolled back" if r.rolled_back else "yes",
    )
