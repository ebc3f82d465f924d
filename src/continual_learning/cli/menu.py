"""The interactive menu (Questionary + Rich). Every item here does what it says.

Ctrl-C at the main menu exits cleanly; at a sub-prompt or during long work it returns to the
main menu. Items appear only when something real stands behind them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import questionary
from rich.panel import Panel

from continual_learning.engines.actions import ActionInput, EngineAction
from continual_learning.errors import WorkbenchError
from continual_learning.ui.console import console, print_error
from continual_learning.workbench import Workbench

if TYPE_CHECKING:
    from continual_learning.harness import EngineRun
    from continual_learning.harness.inputs import ComparisonInputs
    from continual_learning.types import ComparisonReport


class BackToMenu(Exception):
    """A sub-prompt was cancelled: return to the main menu."""


def _ask_fact_set() -> str:
    choices = [
        questionary.Choice("shipped: the 12 documents the defaults were chosen on", "shipped"),
        questionary.Choice("tuning half of the 45-document set (22)", "tuning"),
        questionary.Choice("test half of the 45-document set (23): report, do not tune", "test"),
    ]
    return str(_ask(questionary.select("Fact set:", choices=choices)))


def _ask(question: questionary.Question) -> object:
    """Run a prompt; Ctrl-C or an empty cancel becomes :class:`BackToMenu`."""
    try:
        answer = question.unsafe_ask()
    except KeyboardInterrupt:
        raise BackToMenu from None
    if answer is None:
        raise BackToMenu
    return answer


class Menu:
    """State of one menu session: the workbench and the active engine."""

    def __init__(self, bench: Workbench, engine: str = "in-context") -> None:
        self.bench = bench
        self.engine_name = engine
        self.last_report: ComparisonReport | None = None

    def items(self) -> dict[str, Callable[[], None]]:
        """The main menu; View Forgetting Metrics appears once a comparison has run, and the
        active engine's own actions (``engines/actions.py``) while it is active."""
        forgetting: dict[str, Callable[[], None]] = {}
        if self.last_report:
            forgetting["View Forgetting Metrics"] = self.view_forgetting
        return {
            "Ask a Question": self.ask_question,
            "Chat with Model": self.chat,
            "Learn from Document": self.learn_document,
            "Learn from Directory": self.learn_directory,
            "Select Engine": self.select_engine,
            "Model Info": self.model_info,
            "Learning History": self.learning_history,
            **self.engine_items(),
            "Compare All Engines": self.compare_engines,
            "Run Benchmarks": self.run_benchmarks,
            **forgetting,
            "Save Checkpoint": self.save_checkpoint,
            "Load Checkpoint": self.load_checkpoint,
            "List Checkpoints": self.list_checkpoints,
            "Delete Checkpoint": self.delete_checkpoint,
            "Clear Engine": self.clear_engine,
            "Configure": self.configure,
        }

    def engine_items(self) -> dict[str, Callable[[], None]]:
        from continual_learning.engines.registry import get_spec

        actions = get_spec(self.engine_name).actions()
        return {action.label: self._runner(action) for action in actions if action.label}

    def _runner(self, action: EngineAction) -> Callable[[], None]:
        """Ask for the action's inputs (those with a prompt), run it, show what it reports."""

        def run() -> None:
            from continual_learning.ui.progress import progress_bars
            from continual_learning.ui.render import show_outcome

            asked = [item for item in action.inputs if item.prompt]
            if any(item.choices and not item.choices(self.bench) for item in asked):
                console.print("Nothing to choose from yet.")
                return
            answers = {item.name: None for item in action.inputs}
            answers |= {item.name: _input(item, self.bench) for item in asked}
            with progress_bars() as on_event:
                outcome = action.run(self.bench, answers, on_event)
            show_outcome(outcome)

        return run

    def header(self) -> Panel:
        from continual_learning.engines.registry import get_spec

        note = get_spec(self.engine_name).header_note(self.bench)
        return Panel(
            f"model [bold]{self.bench.config.model.name}[/]   engine [bold]{self.engine_name}[/]"
            + (f" ({note})" if note else ""),
            title="continual-learning",
        )

    # -- items -----------------------------------------------------------------------------

    def ask_question(self) -> None:
        question = str(_ask(questionary.text("Question:", validate=_not_blank)))
        with console.status("thinking..."):
            answer = self.bench.ask(self.engine_name, question)
        console.print(f"[bold]Answer:[/] {answer}", highlight=False)

    def chat(self) -> None:
        console.print("Multi-turn chat with the active engine. An empty line returns to the menu.")
        engine = self.bench.engine(self.engine_name)
        turns: list[dict[str, str]] = []
        while True:
            message = str(_ask(questionary.text("You:")))
            if not message.strip():
                return
            with console.status("thinking..."):
                reply = engine.generate(message, history=turns)
            console.print(f"[bold]Model:[/] {reply}", highlight=False)
            turns += [{"role": "user", "content": message}, {"role": "assistant", "content": reply}]

    def learn_document(self) -> None:
        path = _ask(questionary.path("Document (.txt, .md, .jsonl):", validate=_existing_file))
        self._learn([Path(str(path)).expanduser()])

    def learn_directory(self) -> None:
        path = _ask(questionary.path("Folder:", only_directories=True, validate=_existing_dir))
        self._learn([Path(str(path)).expanduser()])

    def _learn(self, paths: list[Path]) -> None:
        from continual_learning.ui.progress import progress_bars
        from continual_learning.ui.render import learn_table

        try:
            with progress_bars() as on_event:
                reports = self.bench.learn_files(self.engine_name, paths, on_event=on_event)
        except KeyboardInterrupt:
            console.print("Learning stopped; the workspace keeps its previous state.")
            return
        console.print(learn_table(reports))

    def select_engine(self) -> None:
        from continual_learning.engines.registry import engine_specs

        choices = [
            questionary.Choice(f"{s.display_name}: {s.summary}", value=s.display_name)
            for s in engine_specs()
        ]
        self.engine_name = str(_ask(questionary.select("Engine:", choices=choices)))

    def model_info(self) -> None:
        from continual_learning.core.backbone import describe_backbone
        from continual_learning.ui.render import backbone_table, info_table

        engine = self.bench.engine(self.engine_name)
        console.print(backbone_table(describe_backbone(self.bench.backbone)))
        console.print(info_table(engine.info()))

    def learning_history(self) -> None:
        from continual_learning.ui.render import learn_table

        engine = self.bench.engine(self.engine_name)
        if not engine.history:
            console.print(f"{self.engine_name} has learned nothing yet.")
            return
        title = f"Learning history of {self.engine_name}"
        console.print(learn_table(engine.history, title=title, notes=False))

    def compare_engines(self) -> None:
        from continual_learning.harness.inputs import file_inputs

        documents = _ask(questionary.path("Documents (file or folder):", validate=_existing_path))
        questions = _ask(questionary.path("Questions (.jsonl):", validate=_existing_file))
        inputs = file_inputs(
            [Path(str(documents)).expanduser()],
            Path(str(questions)).expanduser(),
            max_file_bytes=self.bench.config.documents.max_file_bytes,
        )
        self._compare(inputs)

    def run_benchmarks(self) -> None:
        from continual_learning.core.squad import HELDOUT_ARTICLES, resolve_squad_path
        from continual_learning.harness import fictional_fact_inputs, squad_inputs

        choices = ["Fictional facts", "Fictional facts as a stream (accuracy matrix)", "SQuAD"]
        choice = _ask(questionary.select("Benchmark:", choices=choices))
        if choice in choices[:2]:
            inputs = fictional_fact_inputs(fact_set=_ask_fact_set())
            self._compare(inputs) if choice == choices[0] else self._stream(inputs)
            return
        n = int(
            str(_ask(questionary.text("Paragraphs to learn:", default="50", validate=_positive)))
        )
        articles = _ask(
            questionary.select(
                "Draw the paragraphs from:",
                choices=[
                    questionary.Choice("every article", value=0),
                    questionary.Choice(
                        f"the last {HELDOUT_ARTICLES} articles only "
                        "(never seen by Doc-to-LoRA's trained hypernetwork)",
                        value=HELDOUT_ARTICLES,
                    ),
                ],
            )
        )
        path = resolve_squad_path(self.bench.config.squad)
        self._compare(squad_inputs(path, n=n, episode_size=10, last_articles=int(str(articles))))

    def _compare(self, inputs: ComparisonInputs) -> None:
        from continual_learning.cli.report_files import show_comparison
        from continual_learning.harness import compare
        from continual_learning.ui.progress import progress_bars

        runs = self._chosen_runs()
        try:
            with progress_bars() as on_event:
                report = compare(
                    runs, inputs, self.bench.backbone, self.bench.config, on_event=on_event
                )
        except KeyboardInterrupt:
            console.print("Comparison stopped.")
            return
        self.last_report = report
        show_comparison(report)
        question = "Save the report (JSON, chart, HTML page, predictions)?"
        if _ask(questionary.confirm(question, default=False)):
            self._save_report(report)

    def _stream(self, inputs: ComparisonInputs) -> None:
        """Episodes and orders asked for, then the stream's table, and its files on request."""
        from continual_learning.cli.report_files import ReportFiles, save_stream, show_stream
        from continual_learning.harness.stream import stream
        from continual_learning.ui.progress import progress_bars

        episodes = int(str(_ask(questionary.text("Episodes:", default="4", validate=_positive))))
        seeds = int(
            str(_ask(questionary.text("Document orders:", default="1", validate=_positive)))
        )
        runs = self._chosen_runs()
        try:
            with progress_bars() as on_event:
                report = stream(
                    runs,
                    inputs,
                    self.bench.backbone,
                    self.bench.config,
                    episodes=episodes,
                    seeds=seeds,
                    on_event=on_event,
                )
        except KeyboardInterrupt:
            console.print("Stream stopped.")
            return
        show_stream(report)
        if not _ask(
            questionary.confirm("Save the report (JSON, heat maps, HTML page)?", default=False)
        ):
            return
        stamp = report.created.replace(":", "").replace("-", "")[:15]
        default = self.bench.workspace / "reports" / f"stream-{stamp}"
        folder = Path(
            str(_ask(questionary.path("Folder:", default=str(default), validate=_not_a_file)))
        ).expanduser()
        save_stream(report, ReportFiles.in_folder(folder, "stream"))

    def _chosen_runs(self) -> list[EngineRun]:
        from continual_learning.engines.registry import engine_specs
        from continual_learning.harness import BASELINES, EngineRun

        names = _ask(
            questionary.checkbox(
                f"Engines ({', '.join(BASELINES)} always run):",
                choices=[s.display_name for s in engine_specs()],
            )
        )
        return [EngineRun(engine=str(name)) for name in cast(list[str], names)]

    def _save_report(self, report: ComparisonReport) -> None:
        """What ``--report``, ``--plot``, ``--html`` and ``--predictions`` write, in one folder."""
        from continual_learning.cli.report_files import ReportFiles, save_comparison

        stamp = report.created.replace(":", "").replace("-", "")[:15]
        default = self.bench.workspace / "reports" / stamp
        folder = Path(
            str(_ask(questionary.path("Folder:", default=str(default), validate=_not_a_file)))
        ).expanduser()
        if (folder / "report.json").exists():
            question = questionary.confirm(f"Replace the report in {folder}?", default=False)
            if not _ask(question):
                return
        save_comparison(report, ReportFiles.in_folder(folder, "report"))

    def view_forgetting(self) -> None:
        from continual_learning.ui.render import forgetting_table

        console.print(forgetting_table(self.last_report))

    def save_checkpoint(self) -> None:
        name = str(_ask(questionary.text("Checkpoint name:", validate=_valid_name)))
        overwrite = False
        if self.bench.checkpoints.exists(name):
            overwrite = bool(
                _ask(questionary.confirm(f"Replace checkpoint '{name}'?", default=False))
            )
            if not overwrite:
                return
        info = self.bench.save_checkpoint(self.engine_name, name, overwrite=overwrite)
        console.print(
            f"Saved checkpoint '{info.name}' ({info.engine}, {info.total_bytes:,} bytes)."
        )

    def _pick_checkpoint(self, prompt: str) -> str | None:
        names = [i.name for i in self.bench.checkpoints.list()]
        if not names:
            console.print(f"No checkpoints in {self.bench.checkpoints.root}.")
            return None
        return str(_ask(questionary.select(prompt, choices=names)))

    def load_checkpoint(self) -> None:
        name = self._pick_checkpoint("Checkpoint to load:")
        if name:
            engine = self.bench.load_checkpoint(name)
            self.engine_name = engine.key.replace("_", "-")
            console.print(f"Loaded '{name}' into {self.engine_name}.")

    def list_checkpoints(self) -> None:
        from continual_learning.ui.render import checkpoints_table

        infos = self.bench.checkpoints.list()
        if not infos:
            console.print(f"No checkpoints in {self.bench.checkpoints.root}.")
            return
        console.print(checkpoints_table(infos))

    def delete_checkpoint(self) -> None:
        name = self._pick_checkpoint("Checkpoint to delete:")
        if name and _ask(questionary.confirm(f"Delete checkpoint '{name}'?", default=False)):
            self.bench.checkpoints.delete(name)
            console.print(f"Deleted '{name}'.")

    def clear_engine(self) -> None:
        prompt = f"Forget everything {self.engine_name} learned (and its saved state)?"
        if _ask(questionary.confirm(prompt, default=False)):
            self.bench.forget(self.engine_name)
            console.print(f"{self.engine_name} cleared.")

    def configure(self) -> None:
        from continual_learning.config.loader import (
            config_rows,
            load_config,
            read_layers,
            set_user_value,
        )

        rows = config_rows(read_layers())
        choices = [questionary.Choice(f"{k} = {v!r} ({src})", value=k) for k, v, src in rows]
        key = str(_ask(questionary.select("Setting to change:", choices=choices)))
        value = str(_ask(questionary.text(f"New value for {key}:")))
        set_user_value(key, value)
        console.print(f"{key} saved to your user config (the tracked defaults are unchanged).")
        self.bench.reconfigure(load_config())


def _input(item: ActionInput, session: Workbench) -> Any:
    """The menu's answer to one input; one path where the command line takes several."""
    default = item.default(session) if item.default else ""
    if item.kind == "choice":
        choices = list(item.choices(session)) if item.choices else []
        return str(_ask(questionary.select(item.prompt, choices=choices, default=default or None)))
    if item.kind in ("path", "paths"):
        validate = _existing_path if item.must_exist else _not_blank
        answer = str(_ask(questionary.path(item.prompt, default=default, validate=validate)))
        return [answer] if item.kind == "paths" else answer
    return str(_ask(questionary.text(item.prompt, default=default, validate=_not_blank)))


def _not_blank(text: str) -> bool | str:
    return bool(text.strip()) or "Please type something."


def _existing_file(text: str) -> bool | str:
    return Path(text).expanduser().is_file() or "No such file."


def _valid_name(text: str) -> bool | str:
    from continual_learning.core.storage import safe_name

    try:
        safe_name(text, what="checkpoint name")
    except WorkbenchError as exc:
        return str(exc)
    return True


def _existing_path(text: str) -> bool | str:
    return Path(text).expanduser().exists() or "No such file or folder."


def _positive(text: str) -> bool | str:
    return (text.isdigit() and int(text) > 0) or "A whole number above 0, please."


def _not_a_file(text: str) -> bool | str:
    return not Path(text).expanduser().is_file() or "That is a file; name a folder."


def _existing_dir(text: str) -> bool | str:
    return Path(text).expanduser().is_dir() or "No such folder."


def run_menu(bench: Workbench) -> int:
    """The main loop. Returns the process exit code."""
    menu = Menu(bench)
    while True:
        console.print(menu.header())
        names = [*menu.items(), "Exit"]
        try:
            choice = questionary.select("What would you like to do?", choices=names).unsafe_ask()
        except KeyboardInterrupt:
            choice = None
        if choice in (None, "Exit"):
            console.print("Bye.")
            return 0
        try:
            menu.items()[choice]()
        except BackToMenu:
            continue
        except KeyboardInterrupt:
            console.print("Stopped.")
        except WorkbenchError as exc:
            print_error(str(exc))
