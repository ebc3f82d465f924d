"""The refresh wheel: keep a model fresh from a workspace, one Replay-LoRA cycle at a time.

::

    wheel = RefreshWheel(Session(workspace="ws"))
    wheel.add(["news/monday.txt"])          # queued on disk; nothing is trained yet
    wheel.set_anchor("anchor.txt")          # text the model must keep predicting
    record = wheel.run()                    # one cycle: new data + replay, BWT, maybe rollback
    print(wheel.status().krs, [c.bwt for c in wheel.metrics()])

New data waits in an *inbox* of JSON files under ``<workspace>/refresh/inbox/``, one file per
``add``, each written atomically and never rewritten. ``run`` (and ``schedule``) take the inbox,
train, save the engine, and only then delete the files they consumed, all under a lock file:
``refresh add`` in one terminal and ``refresh schedule`` in another never lose each other's
work, and a run killed half-way leaves the inbox as it was.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

from continual_learning.core.corpus import general_paragraphs
from continual_learning.core.documents import read_documents
from continual_learning.core.locks import exclusive_lock
from continual_learning.core.perplexity import perplexity
from continual_learning.core.storage import atomic_write_json, read_json
from continual_learning.engines.replay_lora.buffers import BufferStats, ReplayExample
from continual_learning.engines.replay_lora.cycle import CyclePlan, CycleRecord
from continual_learning.errors import DocumentError, StateError, WorkbenchError
from continual_learning.types import Document, ProgressCallback

if TYPE_CHECKING:
    from continual_learning.engines.replay_lora.engine import ReplayLoraEngine
    from continual_learning.engines.session import Session

ENGINE = "replay-lora"


@dataclass(frozen=True, kw_only=True)
class WheelStatus:
    """What ``refresh status`` shows."""

    initialised: bool
    domain: str
    domains: tuple[str, ...]
    inbox_documents: int
    buffer: BufferStats
    cycles: int
    rollbacks: int
    krs: float
    last_cycle: CycleRecord | None
    anchor: str


def status_rows(status: WheelStatus) -> list[tuple[str, str]]:
    """``refresh status`` as label / value rows (the CLI's table and the menu's item)."""
    buffer, last = status.buffer, status.last_cycle
    return [
        ("state", "saved in the workspace" if status.initialised else "not created yet"),
        ("domain", f"{status.domain} (of {', '.join(status.domains)})"),
        ("queued documents", str(status.inbox_documents)),
        ("replay buffer", f"{buffer.kind}: {buffer.size}/{buffer.max_size} ({buffer.seen} seen)"),
        ("cycles", f"{status.cycles} ({status.rollbacks} rolled back)"),
        ("KRS", f"{status.krs:.1f}"),
        ("last BWT", "-" if last is None else f"{last.bwt:+.3f}"),
        ("anchor set", status.anchor),
    ]


@dataclass(frozen=True, kw_only=True)
class WheelEvaluation:
    """Perplexities of the active domain's model now (``refresh eval``)."""

    anchor_perplexity: float
    anchor_texts: int
    inbox_perplexity: float | None
    """On the data waiting in the inbox: how new it still is to the model."""


class RefreshWheel:
    """init / add / anchor / run / status / metrics / eval / schedule over a workspace."""

    def __init__(self, bench: Session) -> None:
        self.bench = bench
        self.folder = bench.workspace / "refresh"
        self.inbox = self.folder / "inbox"

    @property
    def engine(self) -> ReplayLoraEngine:
        return cast("ReplayLoraEngine", self.bench.engine(ENGINE))

    @property
    def initialised(self) -> bool:
        return self.bench.has_saved_state(ENGINE)

    # -- verbs ------------------------------------------------------------------------------------

    def init(self) -> bool:
        """Create the wheel's state in the workspace; False if it was already there."""
        if self.initialised:
            return False
        with self._lock():
            self.inbox.mkdir(parents=True, exist_ok=True)
            self.bench.persist(self.engine)
        return True

    def add(self, paths: Iterable[Path | str]) -> list[Document]:
        """Queue documents (read and checked now, all or nothing) for the next cycle."""
        documents = read_documents(paths, max_file_bytes=self.bench.config.documents.max_file_bytes)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        self.inbox.mkdir(parents=True, exist_ok=True)
        atomic_write_json(
            self.inbox / f"{stamp}-{time.monotonic_ns()}.json",
            [{"id": d.id, "text": d.text, "source": d.source} for d in documents],
        )
        return documents

    def set_anchor(self, path: Path | str) -> int:
        """Make the paragraphs of ``path`` (.txt, .md, .jsonl or a SQuAD .json) the anchor set."""
        texts = _anchor_texts(Path(path), self.bench.config.documents.max_file_bytes)
        with self._lock():
            engine = self._fresh_engine()
            engine.set_anchor(texts)
            self.bench.persist(engine)
        return len(texts)

    def switch_domain(self, name: str) -> None:
        """Learn into and answer from domain ``name`` (a new, empty adapter if new)."""
        with self._lock():
            engine = self._fresh_engine()
            engine.switch_domain(name)
            self.bench.persist(engine)

    def plan(self, *, epochs: int | None = None) -> CyclePlan:
        """What :meth:`run` would train on the inbox now; nothing changes."""
        with self._lock():
            files = self._queued()
            engine = self._fresh_engine()
            documents = [d for f in files for d in _read_inbox(f)]
            # Chunks only: a dry run must not generate self-edits.
            chunks = sum(len(engine.chunks(d.text, source=d.id)) for d in documents)
            return engine.plan(chunks, epochs=epochs)

    def _queued(self) -> list[Path]:
        files = self._inbox_files()
        if not files:
            raise DocumentError("nothing to refresh: the inbox is empty (refresh add FILE)")
        return files

    def run(
        self, *, epochs: int | None = None, on_event: ProgressCallback | None = None
    ) -> CycleRecord:
        """Train one cycle on the inbox."""
        with self._lock():
            files = self._queued()
            engine = self._fresh_engine()
            documents = [d for f in files for d in _read_inbox(f)]
            examples: list[ReplayExample] = []
            for document in documents:
                examples += engine.new_examples(
                    document.text, source=document.id, first=len(examples), on_event=on_event
                )
            record = engine.cycle(examples, epochs=epochs, on_event=on_event)
            self.bench.persist(engine)
            for file in files:
                file.unlink()
        return record

    def status(self) -> WheelStatus:
        engine = self.engine
        domain = engine.domain
        return WheelStatus(
            initialised=self.initialised,
            domain=engine.active,
            domains=tuple(engine.domains),
            inbox_documents=sum(len(_read_inbox(f)) for f in self._inbox_files()),
            buffer=domain.buffer.stats(),
            cycles=len(domain.cycles),
            rollbacks=domain.rollbacks,
            krs=domain.krs(engine.config.krs_lambda),
            last_cycle=domain.cycles[-1] if domain.cycles else None,
            anchor=engine.anchor_source(),
        )

    def metrics(self) -> list[CycleRecord]:
        """Every cycle of every domain, oldest first."""
        return self.engine.cycles()

    def evaluate(self) -> WheelEvaluation:
        engine = self.engine
        inbox = [d.text for f in self._inbox_files() for d in _read_inbox(f)]
        anchor = engine.anchor_texts()
        with engine.applied():
            anchor_ppl = perplexity(engine.backbone, anchor)
            inbox_ppl = perplexity(engine.backbone, inbox) if inbox else None
        return WheelEvaluation(
            anchor_perplexity=anchor_ppl, anchor_texts=len(anchor), inbox_perplexity=inbox_ppl
        )

    def schedule(
        self,
        every_hours: float,
        *,
        stop: threading.Event,
        on_cycle: Callable[[CycleRecord], None] | None = None,
        on_event: ProgressCallback | None = None,
    ) -> int:
        """Every ``every_hours``, run a cycle if new data was added; until ``stop`` is set.

        ``stop`` is checked between cycles (a signal handler sets it), so a cycle in progress
        finishes and is saved before this returns. Returns the number of cycles run.
        """
        if every_hours <= 0:
            raise WorkbenchError(f"--every must be a positive number of hours, got {every_hours}")
        cycles = 0
        while not stop.is_set():
            if self._inbox_files():
                record = self.run(on_event=on_event)
                cycles += 1
                if on_cycle is not None:
                    on_cycle(record)
            stop.wait(every_hours * 3600)
        return cycles

    # -- helpers ---------------------------------------------------------------------------------

    def _fresh_engine(self) -> ReplayLoraEngine:
        """The engine as the workspace has it now: another process may have changed it."""
        self.bench.reload(ENGINE)
        return self.engine

    def _inbox_files(self) -> list[Path]:
        if not self.inbox.is_dir():
            return []
        return sorted(p for p in self.inbox.glob("*.json") if not p.name.startswith("."))

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """One refresh at a time (a second one fails at once: it would find the inbox taken),
        and the engine's state held like every other command that changes it."""
        with (
            exclusive_lock(
                self.folder / "lock",
                holder=f"the refresh wheel of workspace {self.bench.workspace}",
                wait=False,
            ),
            self.bench.holding(ENGINE),
        ):
            yield


def _read_inbox(path: Path) -> list[Document]:
    rows = read_json(path, what="refresh inbox file")
    try:
        return [
            Document(id=str(r["id"]), text=str(r["text"]), source=str(r["source"])) for r in rows
        ]
    except (KeyError, TypeError) as exc:
        raise StateError(f"refresh inbox file {path} is malformed: {exc}") from None


def _anchor_texts(path: Path, max_file_bytes: int) -> list[str]:
    """A SQuAD .json gives its contexts; other documents their paragraphs (blank-line split)."""
    if path.suffix == ".json":
        if not path.is_file():
            raise DocumentError(f"no such file: {path}")
        return general_paragraphs(str(path), 100_000, config_key="refresh anchor")
    documents = read_documents([path], max_file_bytes=max_file_bytes)
    return [p.strip() for d in documents for p in d.text.split("\n\n") if p.strip()]
