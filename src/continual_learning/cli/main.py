"""``continual-learning``: the non-interactive command line. With no command, opens the menu.

Every command is a thin layer over :class:`~continual_learning.workbench.Workbench`. Failures the
workbench expects (bad config, missing file, unknown engine, corrupt state) print one line and
exit with the error's code; ``--json`` prints data for scripts instead of tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from continual_learning.config.schema import AnswerStyle
from continual_learning.errors import WorkbenchError

if TYPE_CHECKING:
    from continual_learning.workbench import Workbench

    Commands = argparse._SubParsersAction[argparse.ArgumentParser]
    """What ``add_subparsers`` returns: where each command's parser is added."""


EPILOG = """\
input formats:
  documents  .txt or .md (one document a file), .jsonl ({"id", "text"} a line), or folders
  questions  .jsonl: {"id", "doc_id", "question", "answers": [...]} a line ([] unanswerable;
             "kind": "paraphrase" or "neighbour" for the yardstick's probes)
  sweeps     YAML (docs/usage.md#sweeps)

exit codes:
  0 done   1 every engine of a run failed   2 a bad option or config value
  3 a bad document, dataset, question or report   4 the model   5 an engine
  6 saved state (corrupt, or another engine's)   7 busy (--no-wait)   130 interrupted

--json, on any command, prints data for scripts instead of tables.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="continual-learning",
        description="Feed a small language model new documents and measure what it absorbs and "
        "forgets. With no command, opens the interactive menu.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--workspace", type=Path, help="folder for engine state (env CL_WORKSPACE)")
    parser.add_argument("--profile", type=Path, help="a config profile layered over the defaults")
    parser.add_argument("--checkpoints", type=Path, help="checkpoints folder (env CL_CHECKPOINTS)")
    parser.add_argument("--model", help="override model.name for this run")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="fail at once, instead of waiting, when another process is changing the same state",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    _add_engine_commands(commands)
    _add_run_commands(commands)
    _add_session_commands(commands)
    from continual_learning.cli import engine_commands

    engine_commands.add_parsers(commands)  # each engine's own actions (refresh, playbook, ...)
    _add_setup_commands(commands)
    return parser


def _add_engine_commands(commands: Commands) -> None:
    """The menu, and what a person does with one engine: learn, ask, info, history, export,
    clear."""
    commands.add_parser("menu", help="open the interactive menu")

    learn = commands.add_parser("learn", help="learn documents (.txt, .md, .jsonl or folders)")
    _engine_option(learn)
    learn.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help=".txt, .md or .jsonl files, or folders of them",
    )
    learn.add_argument("--json", action="store_true", help="print the learn reports as JSON")

    ask = commands.add_parser("ask", help="ask a question of an engine")
    _engine_option(ask)
    ask.add_argument("question", help="the question, quoted")
    ask.add_argument("--max-new-tokens", type=int, help="override generation.max_new_tokens")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")

    info = commands.add_parser("info", help="show the backbone and an engine's state")
    _engine_option(info)
    info.add_argument("--json", action="store_true", help="print it as JSON")

    history = commands.add_parser("history", help="documents an engine has learned")
    _engine_option(history)
    history.add_argument("--json", action="store_true", help="print it as JSON")

    export = commands.add_parser(
        "export", help="write an engine's learned LoRA as a peft adapter folder"
    )
    from continual_learning.engines.registry import engine_specs

    exporters = [spec.display_name for spec in engine_specs() if spec.exports_lora]
    export.add_argument(
        "--engine",
        "-e",
        required=True,
        choices=exporters,
        help="the engine whose LoRA to export: " + " or ".join(exporters),
    )
    export.add_argument("directory", type=Path, metavar="DIR", help="a new or empty folder")

    clear = commands.add_parser("clear", help="make an engine forget everything it learned")
    _engine_option(clear)


def _add_run_commands(commands: Commands) -> None:
    """Comparisons, saved reports, benchmarks and sweeps."""
    compare = commands.add_parser(
        "compare", help="every engine on the same documents and questions, side by side"
    )
    _comparison_options(compare)
    compare.add_argument(
        "--documents",
        nargs="+",
        type=Path,
        required=True,
        metavar="PATH",
        help='documents to learn: .txt, .md or .jsonl files ({"id", "text"} per line), or folders',
    )
    compare.add_argument(
        "--questions", type=Path, required=True, help='JSONL: {"doc_id", "question", "answers"}'
    )
    compare.add_argument(
        "--stream",
        type=_positive_int,
        metavar="EPISODES",
        help="learn the documents as a stream of EPISODES episodes (the accuracy matrix)",
    )
    _stream_options(compare, default_episodes=None)

    report = commands.add_parser(
        "report", help="a saved comparison or stream (--report) as a table, and as one HTML page"
    )
    report.add_argument(
        "report", type=Path, metavar="REPORT.json", help="what compare or bench wrote with --report"
    )
    report.add_argument("--html", type=Path, help="write a self-contained HTML page here")
    report.add_argument(
        "--predictions",
        type=Path,
        help="folder for official SQuAD prediction files, one per engine (e.g. of a sweep)",
    )

    bench = commands.add_parser("bench", help="benchmarks on standard data")
    bench_commands = bench.add_subparsers(dest="bench_command", metavar="BENCHMARK", required=True)
    squad = bench_commands.add_parser(
        "squad", help="SQuAD paragraphs as documents, with forgetting"
    )
    _comparison_options(squad)
    squad.add_argument("--n", type=int, default=50, help="paragraphs to learn (default 50)")
    squad.add_argument("--seed", type=int, default=0, help="which paragraphs are drawn (default 0)")
    squad.add_argument("--squad", type=Path, help="SQuAD JSON (default: config squad.path)")
    squad.add_argument(
        "--last-articles",
        type=int,
        default=0,
        metavar="K",
        help="draw paragraphs only from the file's last K articles (5: those Doc-to-LoRA's "
        "hypernetwork was not trained on); default 0, every article",
    )
    squad.add_argument(
        "--episode-size",
        type=int,
        default=10,
        help="paragraphs learned per episode, engine cleared between (0: all at once)",
    )
    facts = bench_commands.add_parser("facts", help="a shipped fictional-fact set")
    _comparison_options(facts)
    _fact_set_option(facts)
    stream = bench_commands.add_parser(
        "stream",
        help="the fictional-fact set (or SQuAD articles) as a stream of episodes: the accuracy "
        "matrix, ACC, BWT, FWT",
    )
    _comparison_options(stream)
    _stream_options(stream, default_episodes=4)
    stream.add_argument(
        "--set", choices=("facts", "squad"), default="facts", help="the documents (default facts)"
    )
    _fact_set_option(stream)
    stream.add_argument("--n", type=int, default=20, help="SQuAD paragraphs (--set squad)")
    stream.add_argument("--squad", type=Path, help="SQuAD JSON (default: config squad.path)")
    stream.add_argument(
        "--last-articles", type=int, default=5, metavar="K", help="SQuAD: the last K articles"
    )

    sweep = commands.add_parser(
        "sweep",
        help="a grid of engines x overrides x seeds x datasets as independent jobs, "
        "merged into one report per dataset (local workers or Ray; resumable)",
    )
    sweep.add_argument(
        "spec",
        type=Path,
        metavar="SPEC.yaml",
        help="the grid to run (configs/sweeps/ has examples)",
    )
    sweep.add_argument(
        "--out", type=Path, help="folder for job records and reports (default: SPEC's name)"
    )
    sweep.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="local worker processes; the physical cores are split between them (default 1)",
    )
    sweep.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run the jobs as Ray tasks: a cluster address (auto, ray://HOST:PORT) or local",
    )
    sweep.add_argument(
        "--ray-cpus", type=_positive_int, default=1, help="CPUs (and threads) per Ray task"
    )
    sweep.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: merge the jobs finished so far into the reports (while a sweep runs)",
    )


def _add_session_commands(commands: Commands) -> None:
    """A chat with an engine, and checkpoints of its state."""
    chat = commands.add_parser(
        "chat", help="multi-turn chat with an engine (stdin, one line a turn)"
    )
    _engine_option(chat)

    checkpoints = commands.add_parser("checkpoints", help="save, load, list or delete checkpoints")
    ck = checkpoints.add_subparsers(dest="checkpoints_command", metavar="ACTION", required=True)
    ck_save = ck.add_parser("save", help="snapshot an engine's workspace state")
    ck_save.add_argument("name", help="a new checkpoint name (letters, digits, - and _)")
    _engine_option(ck_save)
    ck_save.add_argument(
        "--overwrite", action="store_true", help="replace a checkpoint of that name"
    )
    ck_load = ck.add_parser("load", help="restore a checkpoint into its engine's workspace state")
    ck_load.add_argument("name", help="a saved checkpoint (see checkpoints list)")
    ck_list = ck.add_parser("list", help="every checkpoint, with its engine and size")
    ck_list.add_argument("--json", action="store_true", help="print it as JSON")
    ck_delete = ck.add_parser("delete", help="delete a checkpoint")
    ck_delete.add_argument("name", help="a saved checkpoint (see checkpoints list)")


def _add_setup_commands(commands: Commands) -> None:
    """What is installed and configured: engines, models, settings."""
    engines = commands.add_parser("engines", help="list the engines")
    engines.add_argument("--json", action="store_true", help="print it as JSON")

    models = commands.add_parser("models", help="list or fetch offline models")
    model_commands = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    models_list = model_commands.add_parser("list", help="catalogue models and their hashes")
    models_list.add_argument("--json", action="store_true", help="print it as JSON")
    models_fetch = model_commands.add_parser("fetch", help="provision a catalogue model")
    models_fetch.add_argument("name", help="a catalogue name (see models list)")

    config = commands.add_parser("config", help="show or change settings")
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    config_show = config_commands.add_parser("show", help="every setting and where it comes from")
    config_show.add_argument("--json", action="store_true", help="print it as JSON")
    config_set = config_commands.add_parser("set", help="change a setting in your user config")
    config_set.add_argument("key", help="SECTION.KEY, for example generation.max_new_tokens")
    config_set.add_argument("value", help="the new value, checked against the key's type and range")


def _comparison_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engines", default="all", help="comma-separated engine names, or all")
    parser.add_argument(
        "--heldout",
        type=int,
        default=10,
        help="held-out SQuAD paragraphs for the perplexity of forgetting; default 10",
    )
    parser.add_argument(
        "--reading",
        type=int,
        default=100,
        metavar="N",
        help="held-out SQuAD questions of other paragraphs, asked before and after learning "
        "without their paragraph (held-out QA: knowledge) and with it (reading); 0: one "
        "question of each --heldout paragraph, closed-book only; default 100",
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="PATH",
        help="write the full report (every answer) as JSON here, for `report` to read back",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the full report as JSON instead of the table"
    )
    parser.add_argument("--plot", type=Path, help="save a PNG chart here")
    parser.add_argument("--html", type=Path, help="save the report as one HTML page here")
    parser.add_argument(
        "--predictions", type=Path, help="folder for official SQuAD prediction files"
    )
    parser.add_argument("--max-new-tokens", type=int, help="override generation.max_new_tokens")
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        help="override harness.batch_size (1: one question at a time)",
    )
    parser.add_argument(
        "--answer-style",
        choices=get_args(AnswerStyle),
        help="override harness.answer_style (short: asked for the answer alone, for exact match)",
    )


def _fact_set_option(parser: argparse.ArgumentParser) -> None:
    from continual_learning.data import FACT_SETS

    parser.add_argument(
        "--fact-set",
        choices=FACT_SETS,
        default="shipped",
        help="shipped: the 12 documents the defaults grew up on; tuning / test: the halves of "
        "the 45-document set (choose defaults on tuning, report them on test)",
    )


def _stream_options(parser: argparse.ArgumentParser, *, default_episodes: int | None) -> None:
    if default_episodes is not None:
        parser.add_argument(
            "--episodes", type=_positive_int, default=default_episodes, help="episodes (default 4)"
        )
    parser.add_argument(
        "--seeds",
        type=_positive_int,
        default=1,
        metavar="K",
        help="document orders (and training seeds); figures get 95%% intervals (default 1)",
    )
    parser.add_argument(
        "--by",
        choices=("document", "source"),
        default="document",
        help="split into episodes by document, or keep a source (article, domain) together",
    )


def _positive_int(text: str) -> int:
    value = int(text) if text.strip().lstrip("-").isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def _engine_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        "-e",
        default="in-context",
        help="engine name (see 'engines'); default in-context",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    _quiet_libraries(args.verbose)
    from continual_learning.ui.console import print_error

    try:
        return _dispatch(args)
    except WorkbenchError as exc:
        print_error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        print_error("interrupted; nothing was saved from the unfinished step")
        return 130


def _quiet_libraries(verbose: bool) -> None:
    """transformers' own progress bars and warnings would drown our output."""
    if not verbose:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _workbench(args: argparse.Namespace) -> Workbench:
    from continual_learning.config.loader import load_config
    from continual_learning.workbench import Workbench

    config = load_config(profile_path=args.profile)
    if args.model:
        config = dataclasses.replace(
            config, model=dataclasses.replace(config.model, name=args.model)
        )
    from continual_learning.ui.console import print_notice

    return Workbench(
        config,
        workspace=args.workspace,
        checkpoints=args.checkpoints,
        wait=not args.no_wait,
        on_notice=print_notice,
    )


def _dispatch(args: argparse.Namespace) -> int:
    from continual_learning.cli import commands, engine_commands

    if args.command in (None, "menu"):
        from continual_learning.cli.menu import run_menu

        return run_menu(_workbench(args))
    handlers: dict[str, Callable[..., int]] = {
        "learn": commands.learn,
        "ask": commands.ask,
        "info": commands.info,
        "history": commands.history,
        "export": commands.export,
        "clear": commands.clear,
        "engines": commands.engines,
        "models": commands.models,
        "config": commands.config,
        "compare": commands.compare,
        "chat": commands.chat,
        "checkpoints": commands.checkpoints,
        "bench": commands.bench,
        "report": commands.report,
        "sweep": commands.sweep,
    }
    handlers |= dict.fromkeys(engine_commands.command_names(), engine_commands.run)
    if args.command in ("engines", "models", "config", "report", "sweep"):
        return handlers[args.command](args)
    return handlers[args.command](args, _workbench(args))


if __name__ == "__main__":
    sys.exit(main())
