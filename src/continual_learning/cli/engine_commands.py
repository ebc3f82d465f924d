"""The engines' own actions on the command line: ``continual-learning refresh run``,
``playbook list``, ``doc2lora mode text``. Each group and verb is generated from the actions an
engine declares (``engines/actions.py``), the same declarations the menu shows; nothing here
knows an engine."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from continual_learning.engines.actions import ActionInput, ActionOutcome, EngineAction
from continual_learning.engines.registry import engine_specs
from continual_learning.ui.console import print_json

if TYPE_CHECKING:
    from continual_learning.workbench import Workbench


def command_names() -> list[str]:
    return [spec.command for spec in engine_specs() if spec.command]


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """A command per engine that declares actions, a verb per action, an argument per input."""
    for spec in engine_specs():
        if not spec.command:
            continue
        group = commands.add_parser(spec.command, help=spec.command_help)
        verbs = group.add_subparsers(dest="action", metavar="ACTION", required=True)
        for action in spec.actions():
            verb = verbs.add_parser(action.command, help=action.help)
            for item in action.inputs:
                _add_argument(verb, item)
            verb.add_argument("--json", action="store_true", help="print the result as JSON")
            verb.set_defaults(engine_action=action)


def _add_argument(parser: argparse.ArgumentParser, item: ActionInput) -> None:
    option = f"--{item.name.replace('_', '-')}"
    if item.kind == "flag":
        parser.add_argument(option, dest=item.name, action="store_true", help=item.help)
    elif item.kind == "number" or item.as_option:
        kind = float if item.kind == "number" else str
        parser.add_argument(
            option, dest=item.name, type=kind, required=not item.optional, help=item.help
        )
    elif item.kind == "paths":
        parser.add_argument(item.name, nargs="+", metavar="PATH", help=item.help)
    else:
        nargs = "?" if item.optional else None
        metavar = "PATH" if item.kind == "path" else item.name.upper()
        parser.add_argument(item.name, nargs=nargs, metavar=metavar, help=item.help)


def run(args: argparse.Namespace, bench: Workbench) -> int:
    """Run the chosen action; show its outcome as the menu does, or print its data."""
    from continual_learning.ui.console import err_console
    from continual_learning.ui.progress import progress_bars
    from continual_learning.ui.render import save_outcome_files, show_outcome

    action: EngineAction = args.engine_action
    answers = {item.name: getattr(args, item.name) for item in action.inputs}
    with progress_bars() as on_event:
        outcome = action.run(bench, answers, on_event)
    if args.json:
        print_json(_data(outcome))
        save_outcome_files(outcome, err_console)
    else:
        show_outcome(outcome)
    return 0


def _data(outcome: ActionOutcome) -> Any:
    if outcome.data is not None:
        return outcome.data
    return [dict(zip(outcome.columns, row, strict=True)) for row in outcome.rows]
