"""The Python API: one backbone, the engines built on it, and the workspace that keeps their state.

::

    from continual_learning import Workbench

    bench = Workbench()                       # config from configs/default.yaml + your changes
    engine = bench.engine("in-context")       # restored from the workspace if it was saved there
    engine.learn(open("fact.txt").read(), doc_id="fact")
    bench.persist(engine)                     # a later process sees what was learned
    print(engine.generate("What does the fact say?"))

The CLI and the menu are thin layers over this class. The backbone is loaded once, on first use,
and shared. Only one weight-changing engine may hold the backbone at a time: switching away from
one saves it to the workspace and clears it, so no engine's learning leaks into another.

Several processes may share a workspace (a menu, a CLI call, a refresh schedule). Whatever
changes an engine's saved state does it under that state's lock (``core/locks.py``), and reads
the state again once it holds the lock: two ``learn`` commands at once both end up learned.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from continual_learning.config.loader import load_config
from continual_learning.config.schema import AppConfig
from continual_learning.core.backbone import Backbone, load_backbone
from continual_learning.core.documents import read_documents
from continual_learning.core.locks import exclusive_lock
from continual_learning.core.paths import default_checkpoints_dir, default_workspace
from continual_learning.core.storage import require_folder
from continual_learning.core.threads import thread_usage
from continual_learning.engines.base import Engine
from continual_learning.engines.checkpoints import CheckpointInfo, CheckpointManager
from continual_learning.engines.registry import create_engine, get_spec
from continual_learning.engines.state import STATE_META
from continual_learning.errors import StateError
from continual_learning.types import Document, LearnReport, ProgressEvent

log = logging.getLogger(__name__)


class Workbench:
    """Config + backbone + workspace. Everything here is lazy: constructing it loads nothing."""

    def __init__(
        self,
        config: AppConfig | None = None,
        *,
        workspace: Path | str | None = None,
        checkpoints: Path | str | None = None,
        backbone: Backbone | None = None,
        wait: bool = True,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        """``wait``: when another process is changing an engine's state, wait for it rather than
        fail with :class:`BusyError`. ``on_notice`` (by default the log) hears that, and that
        other workbench processes share the machine's cores when the model loads."""
        self.config = config or load_config()
        self.wait = wait
        self.on_notice = on_notice or log.warning
        self.workspace = Path(workspace).expanduser() if workspace else default_workspace()
        root = Path(checkpoints).expanduser() if checkpoints else default_checkpoints_dir()
        self.checkpoints = CheckpointManager(root)
        self._backbone = backbone
        self._engines: dict[str, Engine] = {}
        self._active: str | None = None
        self._saved: dict[str, int] = {}
        """Documents each engine held when it was last loaded or saved here."""

    @property
    def backbone(self) -> Backbone:
        if self._backbone is None:
            self._backbone = load_backbone(self.config.model)
            shared = thread_usage().notice()
            if shared:
                self.on_notice(shared)
        return self._backbone

    @property
    def backbone_loaded(self) -> bool:
        return self._backbone is not None

    def state_dir(self, name: str) -> Path:
        return self.workspace / "engines" / get_spec(name).key

    @contextmanager
    def holding(self, name: str) -> Iterator[None]:
        """Inside: this process alone may change engine ``name``'s saved state."""
        key = get_spec(name).key
        folder = self.workspace / "engines"
        require_folder(folder, what="workspace")
        holder = f"{key} in workspace {self.workspace}"
        with exclusive_lock(
            folder / f"{key}.lock", holder=holder, wait=self.wait, on_wait=self.on_notice
        ):
            yield

    def has_saved_state(self, name: str) -> bool:
        return (self.state_dir(name) / STATE_META).is_file()

    def engine(self, name: str, *, restore: bool = True) -> Engine:
        """Engine ``name`` on the shared backbone, restored from the workspace if saved there."""
        key = get_spec(name).key
        self._switch_to(key)
        if key not in self._engines:
            engine = create_engine(key, self.backbone, self.config)
            if restore and self.has_saved_state(key):
                engine.load(self.state_dir(key))
            self._engines[key] = engine
            self._saved[key] = len(engine.history)
        return self._engines[key]

    def reload(self, name: str) -> Engine:
        """Engine ``name`` rebuilt from the workspace, dropping what this process held of it.

        For state another process may have changed since it was loaded (the refresh wheel).
        """
        key = get_spec(name).key
        if key in self._engines:
            self._drop(self._engines[key])
        return self.engine(key)

    def _switch_to(self, key: str) -> None:
        previous = self._engines.get(self._active) if self._active else None
        if previous is not None and key != self._active and previous.changes_weights:
            self._persist_if_unsaved(previous)
            previous.clear()
            del self._engines[previous.key]
        self._active = key

    def _persist_if_unsaved(self, engine: Engine) -> None:
        """Save what was learned here since the last save; never write back an unchanged copy,
        which would undo what another process saved meanwhile."""
        if len(engine.history) != self._saved.get(engine.key):
            with self.holding(engine.key):
                self.persist(engine)

    def persist(self, engine: Engine) -> Path:
        """Save ``engine`` into the workspace (atomically) and return the folder."""
        folder = self.state_dir(engine.key)
        try:
            engine.save(folder)
        except OSError as exc:
            raise StateError(
                f"cannot save {engine.key} to {folder}: {exc.strerror or exc}; "
                "the state saved before is kept"
            ) from None
        self._saved[engine.key] = len(engine.history)
        return folder

    def forget(self, name: str) -> None:
        """Clear engine ``name`` and delete its saved state from the workspace."""
        key = get_spec(name).key
        with self.holding(key):
            if key in self._engines:
                self._engines[key].clear()
            shutil.rmtree(self.state_dir(key), ignore_errors=True)

    def learn_files(
        self,
        name: str,
        paths: Iterable[Path | str],
        *,
        on_event: Callable[[ProgressEvent], None] | None = None,
    ) -> list[LearnReport]:
        """Read every document first (all or nothing), learn them, then save the engine.

        If reading or learning fails part-way, the workspace keeps its previous state.
        """
        documents = read_documents(paths, max_file_bytes=self.config.documents.max_file_bytes)
        with self.holding(name):
            return self._learn_documents(name, documents, on_event)

    def _learn_documents(
        self,
        name: str,
        documents: list[Document],
        on_event: Callable[[ProgressEvent], None] | None,
    ) -> list[LearnReport]:
        engine = self.reload(name)  # what another process saved while we waited counts
        reports = []
        try:
            for index, document in enumerate(documents):
                if on_event is not None:
                    on_event(
                        ProgressEvent(
                            task="documents",
                            completed=index,
                            total=len(documents),
                            message=document.id,
                        )
                    )
                reports.append(engine.learn(document.text, doc_id=document.id, on_event=on_event))
        except BaseException:
            self._drop(engine)
            raise
        if on_event is not None:
            on_event(
                ProgressEvent(task="documents", completed=len(documents), total=len(documents))
            )
        self.persist(engine)
        return reports

    def _drop(self, engine: Engine) -> None:
        """Discard a half-taught engine: clear it so the backbone is clean, reload on next use."""
        engine.clear()
        self._engines.pop(engine.key, None)

    def reconfigure(self, config: AppConfig) -> None:
        """Use ``config`` from now on: engines are rebuilt (from the workspace) on next use, and
        the backbone is reloaded only if the model settings changed."""
        for engine in self._engines.values():
            if engine.changes_weights:
                self._persist_if_unsaved(engine)
                engine.clear()
        self._engines.clear()
        self._active = None
        if config.model != self.config.model:
            self._backbone = None
        self.config = config

    def save_checkpoint(
        self, engine_name: str, name: str, *, overwrite: bool = False
    ) -> CheckpointInfo:
        """Snapshot engine ``engine_name`` (as the workspace has it) as checkpoint ``name``."""
        return self.checkpoints.save(self.engine(engine_name), name, overwrite=overwrite)

    def load_checkpoint(self, name: str) -> Engine:
        """Restore checkpoint ``name`` into its engine, and make that the workspace state."""
        key = self.checkpoints.engine_of(name)
        with self.holding(key):
            engine = self.engine(key, restore=False)
            self.checkpoints.load(engine, name)
            self.persist(engine)
        return engine

    def ask(self, name: str, question: str, *, max_new_tokens: int | None = None) -> str:
        return self.engine(name).generate(question, max_new_tokens=max_new_tokens)
