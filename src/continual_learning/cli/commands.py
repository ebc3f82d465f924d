"""One function per CLI command: parse nothing, print results, return an exit code."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from continual_learning.ui.console import console, print_json, print_notice
from continual_learning.workbench import Workbench

if TYPE_CHECKING:
    from continual_learning.cli.report_files import ReportFiles
    from continual_learning.config.schema import AppConfig
    from continual_learning.harness import EngineRun
    from continual_learning.harness.inputs import ComparisonInputs

T = TypeVar("T")


def learn(args: argparse.Namespace, bench: Workbench) -> int:
    from continual_learning.engines.registry import get_spec
    from continual_learning.ui.progress import progress_bars
    from continual_learning.ui.render import learn_table

    get_spec(args.engine)  # an unknown engine fails before the model loads
    with progress_bars() as on_event:
        reports = bench.learn_files(args.engine, args.paths, on_event=on_event)
    if args.json:
        print_json([r.to_dict() for r in reports])
    else:
        console.print(learn_table(reports))
        console.print(f"saved to workspace {bench.state_dir(args.engine)}")
    return 0


def ask(args: argparse.Namespace, bench: Workbench) -> int:
    from continual_learning.engines.registry import get_spec

    spec = get_spec(args.engine)
    answer = bench.ask(args.engine, args.question, max_new_tokens=args.max_new_tokens)
    if args.json:
        print_json({"engine": spec.display_name, "question": args.question, "answer": answer})
    else:
        console.print(answer, highlight=False, markup=False)
    return 0


def info(args: argparse.Namespace, bench: Workbench) -> int:
    from continual_learning.core.backbone import describe_backbone
    from continual_learning.ui.render import backbone_table, info_table

    engine = bench.engine(args.engine)
    backbone = describe_backbone(bench.backbone)
    if args.json:
        print_json({"backbone": dict(backbone), "engine": engine.info().to_dict()})
    else:
        console.print(backbone_table(backbone))
        console.print(info_table(engine.info()))
    return 0


def export(args: argparse.Namespace, bench: Workbench) -> int:
    import dataclasses

    from continual_learning.core.model_store import exported_base
    from continual_learning.core.peft_export import export_peft
    from continual_learning.engines.registry import get_spec
    from continual_learning.errors import EngineError

    get_spec(args.engine)
    engine = bench.engine(args.engine)
    adapter = engine.lora_adapter()
    if adapter is None:
        learned = "has learned nothing yet" if not engine.history else "holds no LoRA adapter"
        raise EngineError(f"{args.engine} {learned}: nothing to export")
    base, note = exported_base(bench.config.model.name)
    if note:
        adapter = dataclasses.replace(adapter, card=(*adapter.card, note))
    learned_ids = [r.doc_id for r in engine.history]
    path = export_peft(
        adapter, args.directory, base_model=base, engine=args.engine, learned=learned_ids
    )
    console.print(f"wrote a peft adapter (rank {adapter.rank}) to {path}")
    return 0


def history(args: argparse.Namespace, bench: Workbench) -> int:
    from continual_learning.ui.render import learn_table

    engine = bench.engine(args.engine)
    if args.json:
        print_json([r.to_dict() for r in engine.history])
    elif not engine.history:
        console.print(f"{args.engine} has learned nothing yet")
    else:
        console.print(
            learn_table(engine.history, title=f"Learning history of {args.engine}", notes=False)
        )
    return 0


def clear(args: argparse.Namespace, bench: Workbench) -> int:
    from continual_learning.engines.registry import get_spec

    spec = get_spec(args.engine)
    bench.forget(spec.key)
    console.print(f"{spec.display_name}: cleared, and its saved state removed from the workspace")
    return 0


def engines(args: argparse.Namespace) -> int:
    from rich.table import Table

    from continual_learning.engines.registry import engine_specs

    specs = engine_specs()
    if args.json:
        print_json([{"engine": s.display_name, "summary": s.summary} for s in specs])
        return 0
    table = Table(title="Engines")
    table.add_column("engine")
    table.add_column("what it does")
    for spec in specs:
        table.add_row(spec.display_name, spec.summary)
    console.print(table)
    return 0


def models(args: argparse.Namespace) -> int:
    from continual_learning.config.loader import load_config
    from continual_learning.core import model_store
    from continual_learning.core.paths import default_models_dir

    models_dir = default_models_dir(load_config(profile_path=args.profile).model.models_dir)
    if args.models_command == "fetch":
        from continual_learning.ui.progress import progress_bars

        with progress_bars() as on_event:
            path = model_store.fetch_model(args.name, models_dir=models_dir, on_event=on_event)
        console.print(f"{args.name}: ready at {path} (sha256 verified)")
        return 0
    statuses = model_store.list_models(models_dir)
    if args.json:
        print_json(
            [
                {
                    "name": s.name,
                    "provisioned": s.provisioned,
                    "verified": s.verified,
                    "gguf_sha256": s.gguf_sha256,
                    "path": str(s.path),
                    "description": s.description,
                }
                for s in statuses
            ]
        )
    else:
        from continual_learning.ui.render import models_table

        console.print(models_table(statuses))
        console.print(f"models folder: {models_dir}")
    mismatched = [s.name for s in statuses if s.provisioned and not s.verified]
    return 1 if mismatched else 0


def config(args: argparse.Namespace) -> int:
    from continual_learning.config.loader import config_rows, read_layers, set_user_value

    if args.config_command == "set":
        set_user_value(args.key, args.value)
        layers = read_layers(profile_path=args.profile)
        console.print(f"{args.key} set in {layers.user_path}")
        return 0
    layers = read_layers(profile_path=args.profile)
    rows = config_rows(layers)
    if args.json:
        print_json({key: value for key, value, _ in rows})
    else:
        from continual_learning.ui.render import config_table

        console.print(config_table(rows))
        console.print(f"user config file: {layers.user_path}")
    return 0


def _engine_runs(text: str) -> list[EngineRun]:
    from continual_learning.engines.registry import engine_specs, get_spec
    from continual_learning.harness import EngineRun

    names = [s.display_name for s in engine_specs()] if text.strip() == "all" else text.split(",")
    return [EngineRun(engine=get_spec(n).display_name) for n in names if n.strip()]


def _squad_path_or_none(bench: Workbench) -> Path | None:
    from continual_learning.core.squad import resolve_squad_path
    from continual_learning.errors import DatasetError

    try:
        return resolve_squad_path(bench.config.squad)
    except DatasetError as exc:
        print_notice(
            f"no held-out SQuAD questions ({exc}): forgetting is measured as perplexity "
            "on the shipped held-out paragraphs"
        )
        return None


def _comparison_config(args: argparse.Namespace, bench: Workbench) -> AppConfig:
    """The workbench's config with this command's --max-new-tokens, --batch-size and
    --answer-style."""
    import dataclasses

    config = bench.config
    if args.max_new_tokens:
        generation = dataclasses.replace(config.generation, max_new_tokens=args.max_new_tokens)
        config = dataclasses.replace(config, generation=generation)
    harness = config.harness
    if args.batch_size is not None:
        harness = dataclasses.replace(harness, batch_size=args.batch_size)
    if getattr(args, "answer_style", None):
        harness = dataclasses.replace(harness, answer_style=args.answer_style)
    return dataclasses.replace(config, harness=harness)


def _run_comparison(args: argparse.Namespace, bench: Workbench, inputs: ComparisonInputs) -> int:
    from continual_learning.cli.report_files import save_comparison, show_comparison
    from continual_learning.harness import compare
    from continual_learning.ui.progress import progress_bars

    runs = _engine_runs(args.engines)
    config = _comparison_config(args, bench)
    with progress_bars() as on_event:
        report = compare(runs, inputs, bench.backbone, config, on_event=on_event)
    if args.json:
        print_json(report.to_dict())
    else:
        show_comparison(report)
    save_comparison(report, _files(args))
    return 1 if all(r.failed for r in report.engines) else 0


def _files(args: argparse.Namespace) -> ReportFiles:
    from continual_learning.cli.report_files import ReportFiles

    return ReportFiles(
        report=args.report, plot=args.plot, html=args.html, predictions=args.predictions
    )


def _run_stream(
    args: argparse.Namespace, bench: Workbench, inputs: ComparisonInputs, episodes: int
) -> int:
    from continual_learning.cli.report_files import save_stream, show_stream
    from continual_learning.harness.stream import stream
    from continual_learning.ui.progress import progress_bars

    runs = _engine_runs(args.engines)
    config = _comparison_config(args, bench)
    with progress_bars() as on_event:
        report = stream(
            runs,
            inputs,
            bench.backbone,
            config,
            episodes=episodes,
            seeds=args.seeds,
            by=args.by,
            on_event=on_event,
        )
    if args.json:
        print_json(report.to_dict())
    else:
        show_stream(report)
    save_stream(report, _files(args))
    return 1 if all(r.failed for r in report.runs) else 0


def compare(args: argparse.Namespace, bench: Workbench) -> int:
    from continual_learning.harness.inputs import file_inputs

    inputs = file_inputs(
        args.documents,
        args.questions,
        max_file_bytes=bench.config.documents.max_file_bytes,
        squad_path=_squad_path_or_none(bench) if args.heldout or args.reading else None,
        heldout=args.heldout,
        reading=args.reading,
    )
    if args.stream:
        return _run_stream(args, bench, inputs, args.stream)
    return _run_comparison(args, bench, inputs)


def report(args: argparse.Namespace) -> int:
    """Show a saved comparison or stream report again (a sweep's merged report too), and write
    it as HTML with ``--html``; a comparison also as official SQuAD prediction files with
    ``--predictions``."""
    from continual_learning.core.storage import read_json

    data = read_json(args.report, what="report")
    if isinstance(data, dict) and "summaries" in data:
        return _stream_report(args, data)
    from continual_learning.cli.report_files import ReportFiles, save_comparison
    from continual_learning.types import ComparisonReport
    from continual_learning.ui.render import comparison_table

    loaded = _parsed(args.report, data, ComparisonReport.from_dict)
    console.print(comparison_table(loaded))
    save_comparison(loaded, ReportFiles(html=args.html, predictions=args.predictions))
    return 0


def _parsed(path: Path, data: object, parse: Callable[[dict[str, Any]], T]) -> T:
    """``parse(data)``, or a one-line error naming the file when it is not such a report."""
    from continual_learning.errors import DatasetError

    try:
        if not isinstance(data, dict):
            raise TypeError("its top level is not an object")
        return parse(data)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise DatasetError(f"{path} is not a comparison or stream report ({exc})") from None


def _stream_report(args: argparse.Namespace, data: object) -> int:
    from continual_learning.cli.report_files import ReportFiles, save_stream
    from continual_learning.errors import ConfigError
    from continual_learning.types import StreamReport
    from continual_learning.ui.render import stream_table

    if args.predictions:
        raise ConfigError("--predictions needs a comparison report; this one is a stream")
    loaded = _parsed(args.report, data, StreamReport.from_dict)
    console.print(stream_table(loaded))
    save_stream(loaded, ReportFiles(html=args.html))
    return 0


def bench(args: argparse.Namespace, workbench: Workbench) -> int:

    from continual_learning.harness import fictional_fact_inputs, squad_inputs

    if (args.bench_command == "stream" and args.set == "facts") or args.bench_command == "facts":
        squad = _squad_path_or_none(workbench) if args.heldout or args.reading else None
        inputs = fictional_fact_inputs(
            squad_path=squad, heldout=args.heldout, reading=args.reading, fact_set=args.fact_set
        )
    else:
        path = args.squad or _squad_path_or_none(workbench)
        if path is None:
            from continual_learning.errors import DatasetError

            raise DatasetError("no SQuAD file: pass --squad PATH or set config key squad.path")
        inputs = squad_inputs(
            Path(path),
            n=args.n,
            seed=getattr(args, "seed", 0),
            heldout=args.heldout,
            reading=args.reading,
            episode_size=getattr(args, "episode_size", 0),
            last_articles=args.last_articles,
        )
    if args.bench_command == "stream":
        return _run_stream(args, workbench, inputs, args.episodes)
    return _run_comparison(args, workbench, inputs)


def sweep(args: argparse.Namespace) -> int:
    """Run a sweep spec; the workers load their own backbones, so this process loads none."""
    from continual_learning.harness.sweep import (
        LocalPool,
        RayExecutor,
        read_spec,
        run_sweep,
        sweep_config,
    )
    from continual_learning.types import StreamReport
    from continual_learning.ui.progress import progress_bars
    from continual_learning.ui.render import comparison_table, stream_table

    spec = read_spec(args.spec)
    config = sweep_config(spec, profile_path=args.profile)
    if args.model:
        import dataclasses

        model = dataclasses.replace(config.model, name=args.model)
        config = dataclasses.replace(config, model=model)
    executor = RayExecutor(args.ray, cpus=args.ray_cpus) if args.ray else LocalPool(args.workers)
    folder = args.out or args.spec.with_name(f"{args.spec.stem}-sweep")
    with progress_bars() as on_event:
        result = run_sweep(
            spec,
            folder,
            config=config,
            executor=executor,
            on_event=on_event,
            run_jobs=not args.report_only,
        )
    for report in result.reports.values():
        table = stream_table if isinstance(report, StreamReport) else comparison_table
        console.print(table(report))
    from continual_learning.harness.sweep.run import NOT_RUN

    for job in (j for j in result.failed if j["result"]["error"] != NOT_RUN):
        described = job["job"]
        console.print(
            f"[red]{described['label']} (seed {described['seed']}) failed:[/] "
            f"{job['result']['error']}"
        )
    ran = len(result.jobs) - result.kept
    if not result.ran:
        console.print(
            f"{len(result.jobs)} jobs: {result.kept} finished so far, merged; "
            f"{ran} not run yet; reports in {folder}"
        )
        return 0
    console.print(
        f"{len(result.jobs)} jobs: {ran} ran on {executor.name} "
        f"({executor.threads} threads each), {result.kept} kept from an earlier run, "
        f"{len(result.failed)} failed; reports and job records in {folder}"
    )
    return 1 if len(result.failed) == len(result.jobs) else 0


def chat(args: argparse.Namespace, bench: Workbench) -> int:
    """Read a turn per line from stdin; an empty line or end of input ends the chat."""
    import sys

    engine = bench.engine(args.engine)
    turns: list[dict[str, str]] = []
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            console.print("[bold]You:[/] ", end="")
        line = sys.stdin.readline()
        if not line.strip():
            return 0
        reply = engine.generate(line.strip(), history=turns)
        console.print(f"[bold]Model:[/] {reply}" if interactive else reply, highlight=False)
        turns += [
            {"role": "user", "content": line.strip()},
            {"role": "assistant", "content": reply},
        ]


def checkpoints(args: argparse.Namespace, bench: Workbench) -> int:
    action = args.checkpoints_command
    if action == "save":
        info = bench.save_checkpoint(args.engine, args.name, overwrite=args.overwrite)
        console.print(f"saved checkpoint '{info.name}' ({info.engine}, {info.total_bytes:,} bytes)")
    elif action == "load":
        engine = bench.load_checkpoint(args.name)
        console.print(
            f"loaded checkpoint '{args.name}' into {engine.key.replace('_', '-')} "
            f"({engine.info().documents_learned} documents); it is now the workspace state"
        )
    elif action == "delete":
        bench.checkpoints.delete(args.name)
        console.print(f"deleted checkpoint '{args.name}'")
    else:
        _list_checkpoints(args, bench)
    return 0


def _list_checkpoints(args: argparse.Namespace, bench: Workbench) -> None:
    import dataclasses

    from continual_learning.ui.render import checkpoints_table

    infos = bench.checkpoints.list()
    if args.json:
        print_json([dataclasses.asdict(i) for i in infos])
    elif not infos:
        console.print(f"no checkpoints in {bench.checkpoints.root}")
    else:
        console.print(checkpoints_table(infos))
