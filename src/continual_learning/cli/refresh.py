"""``continual-learning refresh ...``: the refresh wheel (Replay-LoRA) from the command line."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import threading
from typing import TYPE_CHECKING, Any

from continual_learning.ui.console import console, err_console, print_json

if TYPE_CHECKING:
    from continual_learning.workbench import Workbench


def add_parser(commands: Any) -> None:
    refresh = commands.add_parser(
        "refresh", help="keep the model fresh: Replay-LoRA cycles with replay, EWC and rollback"
    )
    verbs = refresh.add_subparsers(dest="refresh_command", metavar="ACTION", required=True)
    verbs.add_parser("init", help="create the refresh state in the workspace")
    add = verbs.add_parser("add", help="queue documents for the next cycle (nothing trains yet)")
    add.add_argument(
        "paths", nargs="+", metavar="PATH", type=_path, help="documents: files or folders"
    )
    anchor = verbs.add_parser("anchor", help="set the anchor set forgetting is measured on")
    anchor.add_argument(
        "path", metavar="FILE", type=_path, help="general text, paragraphs split by blank lines"
    )
    run = verbs.add_parser("run", help="train one cycle on the queued documents")
    run.add_argument("--epochs", type=int, help="override replay_lora.epochs for this cycle")
    run.add_argument("--dry-run", action="store_true", help="say what would be trained, only")
    run.add_argument("--json", action="store_true", help="print the cycle as JSON")
    status = verbs.add_parser("status", help="domain, queue, buffer, cycles, KRS")
    status.add_argument("--json", action="store_true", help="print it as JSON")
    metrics = verbs.add_parser("metrics", help="BWT, FWT and KRS of every cycle")
    metrics.add_argument("--json", action="store_true", help="print them as JSON")
    metrics.add_argument("--plot", type=_path, help="save the forgetting curve (PNG) here")
    evaluate = verbs.add_parser("eval", help="anchor-set perplexity now")
    evaluate.add_argument("--json", action="store_true", help="print it as JSON")
    schedule = verbs.add_parser(
        "schedule", help="run a cycle every N hours when new data was added (Ctrl-C stops)"
    )
    schedule.add_argument(
        "--every", type=float, required=True, metavar="HOURS", help="hours between checks"
    )
    domain = verbs.add_parser("domain", help="list the domains, or switch to (create) one")
    domain.add_argument("name", nargs="?", help="switch to (or create) this domain")


def _path(text: str):  # type: ignore[no-untyped-def]
    from pathlib import Path

    return Path(text)


def refresh(args: argparse.Namespace, bench: Workbench) -> int:
    from continual_learning.engines.replay_lora.wheel import RefreshWheel

    wheel = RefreshWheel(bench)
    handler = {
        "init": _init,
        "add": _add,
        "anchor": _anchor,
        "run": _run,
        "status": _status,
        "metrics": _metrics,
        "eval": _eval,
        "schedule": _schedule,
        "domain": _domain,
    }[args.refresh_command]
    return handler(args, wheel)


def _init(args: argparse.Namespace, wheel) -> int:  # type: ignore[no-untyped-def]
    created = wheel.init()
    where = wheel.bench.workspace
    console.print(f"refresh state {'created' if created else 'already exists'} in {where}")
    return 0


def _add(args: argparse.Namespace, wheel) -> int:  # type: ignore[no-untyped-def]
    documents = wheel.add(args.paths)
    waiting = wheel.status().inbox_documents
    console.print(f"queued {len(documents)} documents; {waiting} wait for the next cycle")
    return 0


def _anchor(args: argparse.Namespace, wheel) -> int:  # type: ignore[no-untyped-def]
    count = wheel.set_anchor(args.path)
    console.print(f"anchor set: {count} texts from {args.path}")
    return 0


def _run(args: argparse.Namespace, wheel) -> int:  # type: ignore[no-untyped-def]
    from continual_learning.engines.replay_lora.cycle import CyclePlan
    from continual_learning.ui.progress import progress_bars
    from continual_learning.ui.render import cycles_table

    if args.dry_run:
        plan: CyclePlan = wheel.run(epochs=args.epochs, dry_run=True)
        if args.json:
            print_json(dataclasses.asdict(plan))
        else:
            console.print(
                f"dry run, nothing changed: domain '{plan.domain}' would train on "
                f"{plan.new_examples} new + {plan.replayed} replayed examples, "
                f"{plan.epochs} epochs, {plan.steps} steps, EWC {'on' if plan.ewc else 'off'}"
            )
        return 0
    with progress_bars() as on_event:
        record = wheel.run(epochs=args.epochs, on_event=on_event)
    if args.json:
        print_json(record.to_dict())
        return 0
    console.print(cycles_table([record], title="Refresh cycle"))
    if record.rolled_back:
        console.print(f"[yellow]rolled back:[/] {record.reason}")
    return 0


def _status(args: argparse.Namespace, wheel) -> int:  # type: ignore[no-untyped-def]
    from continual_learning.ui.render import wheel_status_table

    status = wheel.status()
    if args.json:
        print_json(dataclasses.asdict(status))
    else:
        console.print(wheel_status_table(status))
    return 0


def _metrics(args: argparse.Namespace, wheel) -> int:  # type: ignore[no-untyped-def]
    from continual_learning.ui.render import cycles_table

    records = wheel.metrics()
    if args.json:
        print_json([r.to_dict() for r in records])
    elif not records:
        console.print("no refresh cycles yet")
    else:
        console.print(cycles_table(records))
    if args.plot and records:
        from continual_learning.ui.plots import forgetting_curve

        forgetting_curve(records, args.plot)
        (err_console if args.json else console).print(f"chart: {args.plot}")  # keep JSON clean
    return 0


def _eval(args: argparse.Namespace, wheel) -> int:  # type: ignore[no-untyped-def]
    result = wheel.evaluate()
    if args.json:
        print_json(dataclasses.asdict(result))
        return 0
    console.print(
        f"anchor perplexity {result.anchor_perplexity:.3f} over {result.anchor_texts} texts"
    )
    if result.inbox_perplexity is not None:
        console.print(f"queued data perplexity {result.inbox_perplexity:.3f}")
    return 0


def _schedule(args: argparse.Namespace, wheel) -> int:  # type: ignore[no-untyped-def]
    from continual_learning.ui.render import cycles_table

    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        err_console.print(f"{signal.Signals(signum).name}: stopping after the current step")
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C aborts

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    wheel.init()
    console.print(
        f"refreshing every {args.every:g} h when new data is queued in {wheel.inbox}; Ctrl-C stops"
    )
    cycles = wheel.schedule(
        args.every,
        stop=stop,
        on_cycle=lambda record: console.print(cycles_table([record], title="Refresh cycle")),
    )
    console.print(f"stopped after {cycles} cycles; state saved in {wheel.bench.workspace}")
    return 0


def _domain(args: argparse.Namespace, wheel) -> int:  # type: ignore[no-untyped-def]
    if args.name:
        wheel.switch_domain(args.name)
        console.print(f"active domain: {args.name}")
        return 0
    status = wheel.status()
    for name in status.domains:
        console.print(f"{'*' if name == status.domain else ' '} {name}")
    return 0
