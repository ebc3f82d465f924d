"""The one interface every engine implements, and the state framing they all share.

A new engine subclasses :class:`Engine` and must:

- set the class attributes ``key`` (its registry key, the name of its package under
  ``engines/``), ``summary`` (one line for menus) and ``changes_weights``;
- implement :meth:`_learn` (absorb one document) and, unless the prompt as asked is enough,
  :meth:`_prepare` (the chat messages and logits processors that answer a prompt using what was
  learned), :meth:`_clear_state` (forget everything; an engine
  that changes weights must return the backbone to bit-exact original outputs), and
  :meth:`_save_state` / :meth:`_load_state` (safetensors and JSON only, never pickle; load
  validates everything before changing anything);
- optionally extend :meth:`_details` for ``info()``;
- answer in batches: :meth:`generate_many` batches every engine whose answer is
  :meth:`_prepare`'s messages and processors, each processor seeing only its own row of the
  scores; an engine that answers otherwise overrides :meth:`generate_many` too, or sets
  ``batched_answering = False``.

The base class owns what is common: the learning history, timing, and saving and loading the
state in the layout every engine shares (``engines/state.py``).
"""

from __future__ import annotations

import dataclasses
import time
from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, ClassVar

from continual_learning.config.schema import GenerationConfig
from continual_learning.core.answer_style import (
    SHORT_MAX_NEW_TOKENS,
    AnswerStyle,
    styled_reply,
)
from continual_learning.core.backbone import Backbone, ChatMessage, GenerationOptions
from continual_learning.core.peft_export import LoraAdapter
from continual_learning.engines.answering import (
    ALL_LEARNED,
    PreparedPrompt,
    answer_one,
    answer_prepared,
    styled,
)
from continual_learning.engines.state import check_meta, read_history, state_meta, write_state
from continual_learning.errors import DocumentError, PromptError
from continual_learning.types import (
    EngineInfo,
    InfoItem,
    LearnReport,
    ProgressCallback,
    QAItem,
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LearnOutcome:
    """What an engine's ``_learn`` returns; the base class adds timing and identity."""

    tokens: int
    chunks: int = 1
    losses: tuple[float, ...] = ()
    figures: tuple[Any, ...] = ()
    notes: tuple[str, ...] = ()


class Engine(ABC):
    """A continual-learning method behind ``learn / generate / clear / save / load / info``."""

    key: ClassVar[str]
    summary: ClassVar[str]
    changes_weights: ClassVar[bool] = False
    state_version: ClassVar[int] = 1
    batched_answering: ClassVar[bool] = True
    """False for an engine whose answers cannot share one ``generate`` call (it is then asked
    one prompt at a time by :meth:`generate_many`)."""

    def __init__(self, backbone: Backbone, config: Any, *, generation: GenerationConfig) -> None:
        self.backbone = backbone
        self.config = config
        self.generation = generation
        self.history: list[LearnReport] = []

    # -- the interface ---------------------------------------------------------------------

    def learn(
        self, text: str, *, doc_id: str | None = None, on_event: ProgressCallback | None = None
    ) -> LearnReport:
        """Absorb one document and report what it cost."""
        if not text or not text.strip():
            raise DocumentError("cannot learn an empty document")
        doc_id = doc_id or f"doc-{len(self.history) + 1}"
        started = time.perf_counter()
        outcome = self._learn(text, doc_id=doc_id, on_event=on_event)
        report = LearnReport(
            engine=self.key,
            doc_id=doc_id,
            tokens=outcome.tokens,
            seconds=time.perf_counter() - started,
            chunks=outcome.chunks,
            losses=outcome.losses,
            figures=outcome.figures,
            notes=outcome.notes,
        )
        self.history.append(report)
        return report

    def generate(
        self,
        prompt: str,
        *,
        max_new_tokens: int | None = None,
        history: Sequence[ChatMessage] = (),
    ) -> str:
        """Answer ``prompt`` (after earlier ``history`` turns, if any) with what was learned.

        Raises :class:`PromptError` for a prompt with nothing to answer or one longer than the
        backbone reads (:meth:`check_prompt`): a person's question gets a reason, not an answer
        to nothing or an empty reply."""
        options = self.generation_options(max_new_tokens)
        self.check_prompt(prompt, options)
        return self._answer_one(prompt, options, history)

    def _answer_one(
        self,
        prompt: str,
        options: GenerationOptions,
        history: Sequence[ChatMessage] = (),
        *,
        style: AnswerStyle = "sentence",
    ) -> str:
        prepared = styled(self._prepare(prompt, history=history, options=options), style)
        return answer_one(self, prepared, self.route(prompt), options)

    def prepared_messages(self, prompt: str) -> list[ChatMessage]:
        """The chat messages :meth:`generate` sends for ``prompt`` (retrieved passages and all),
        e.g. to time the plain backbone on the very same prompt."""
        options = self.generation_options()
        return self._prepare(prompt, history=(), options=options).messages

    def generate_many(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int | None = None,
        batch_size: int = 1,
        style: AnswerStyle = "sentence",
    ) -> list[str]:
        """Answer every prompt (no earlier turns), ``batch_size`` at a time, in their order,
        asked in ``style`` (the replies as decoded; :meth:`answer` reads a short style's answer).

        One sequence decodes at the speed of reading every weight once per token; a batch reads
        them once per step for all its rows. Prompts are sorted by length first, so a batch
        pads little (as lm-evaluation-harness does), and :meth:`applied` is entered once for
        all of them. Greedy answers equal :meth:`generate`'s except in rare near-ties, where
        padding changes the arithmetic's rounding. An engine with ``batched_answering = False``
        is asked one prompt at a time.

        Unlike :meth:`generate`, prompts are answered as given: a benchmark's questions were
        checked when they were read, and one prompt past the model's window must not fail a
        whole comparison.
        """
        options = self.generation_options(max_new_tokens)
        if batch_size <= 1 or not self.batched_answering:
            return [self._answer_one(p, options, style=style) for p in prompts]
        prepared = [styled(p, style) for p in self._prepare_many(prompts, options=options)]
        routes = [self.route(p) for p in prompts]
        return answer_prepared(self, prepared, options, batch_size, routes=routes)

    def answer(
        self,
        items: Sequence[QAItem],
        *,
        max_new_tokens: int | None = None,
        batch_size: int = 1,
        style: AnswerStyle = "sentence",
    ) -> list[str]:
        """Answer benchmark questions (the harness's entry point) in ``style``
        (``core/answer_style.py``). Every engine answers from the question alone, through
        :meth:`generate_many`; only a baseline that is told which document a question is about
        (``oracle-context``) reads ``item.doc_id``."""
        prompts = [item.question for item in items]
        limit = self.style_token_limit(max_new_tokens, style)
        replies = self.generate_many(
            prompts, max_new_tokens=limit, batch_size=batch_size, style=style
        )
        return [styled_reply(reply, style) for reply in replies]

    def style_token_limit(self, max_new_tokens: int | None, style: AnswerStyle) -> int | None:
        """The new-token limit of an answer in ``style``: short answers need few."""
        if style == "sentence":
            return max_new_tokens
        return min(max_new_tokens or self.generation.max_new_tokens, SHORT_MAX_NEW_TOKENS)

    def _prepare_many(
        self, prompts: Sequence[str], *, options: GenerationOptions
    ) -> list[PreparedPrompt]:
        """:meth:`_prepare` for every prompt (no earlier turns). An engine whose preparation runs
        the model itself (JitRL Full embeds each question) overrides it to run the model once
        for all of them rather than once per prompt."""
        return [self._prepare(p, history=(), options=options) for p in prompts]

    def applied(self) -> AbstractContextManager[None]:
        """Inside this block the backbone computes with what the engine learned in weights.

        An engine whose learning lives outside the backbone's own tensors (TTT-E2E's neuron
        deltas, a LoRA adapter) puts it in here, so the backbone is untouched whenever no
        engine is computing. :meth:`generate` enters it; so must anything else that runs the
        backbone on the engine's behalf (held-out perplexity, for one). It is for inference:
        weight engines fold their change into the weights here (``core/weight_folding.py``),
        so answering costs what the backbone alone costs; training uses its own,
        differentiable path. By default there is nothing to apply.
        """
        return nullcontext()

    def route(self, prompt: str) -> Hashable | None:
        """Which part of what the engine learned answers ``prompt``: a key that
        :meth:`applied_for` understands, or None for the untouched backbone. By default all of
        it (:data:`ALL_LEARNED`); an engine that scopes its learning to prompts about what it
        learned (``core/scope.py``) returns None for the others, and one that keeps separate
        learned parts (a LoRA per chunk, deltas per document) names the part.

        Anything that runs the backbone on a text for the engine (answering, held-out
        perplexity) enters ``applied_for(route(text))``."""
        return ALL_LEARNED

    def applied_for(self, route: Hashable | None) -> AbstractContextManager[None]:
        """:meth:`applied` for the prompts :meth:`route` sends to ``route``; nothing for None."""
        return nullcontext() if route is None else self.applied()

    def lora_adapter(self) -> LoraAdapter | None:
        """What the engine learned as one LoRA adapter (``export`` writes it as a peft folder),
        or None for an engine whose learning is not a LoRA."""
        return None

    def clear(self) -> None:
        """Forget every learned document."""
        self._clear_state()
        self.history.clear()

    def info(self) -> EngineInfo:
        return EngineInfo(
            engine=self.key,
            summary=self.summary,
            backbone=self.backbone.name,
            changes_weights=self.changes_weights,
            documents_learned=len(self.history),
            tokens_learned=sum(r.tokens for r in self.history),
            details=tuple(self._details()),
        )

    def save(self, directory: Path) -> None:
        """Write the engine's whole state to ``directory``, atomically (old state kept on error;
        the layout is ``engines/state.py``'s)."""
        backbone = self.backbone
        meta = state_meta(self.key, self.state_version, backbone.name, backbone.fingerprint())
        config = dataclasses.asdict(self.config)
        write_state(directory, meta, config, self.history, self._save_state)

    def load(self, directory: Path) -> None:
        """Restore state written by :meth:`save`; on any problem, raise and change nothing."""
        check_meta(
            directory,
            engine=self.key,
            version=self.state_version,
            backbone=self.backbone.name,
            fingerprint=self.backbone.fingerprint(),
        )
        history = read_history(directory)
        self._load_state(directory)
        self.history = history

    # -- helpers for subclasses ----------------------------------------------------------------

    def check_prompt(self, prompt: str, options: GenerationOptions, *, local: bool = True) -> None:
        """Refuse a prompt with nothing to answer, or one the backbone cannot read with room
        for its answer (``local``: answered by the backbone, not a server): without this the
        model answers an empty question anyway, and an over-long one silently comes back
        empty."""
        if not prompt.strip():
            raise PromptError("the question is empty")
        if not local:
            return
        window = self.backbone.context_window
        tokens = self.backbone.count_tokens(prompt)
        if tokens + options.max_new_tokens > window:
            raise PromptError(
                f"the question is {tokens} tokens long; {self.backbone.name} reads at most "
                f"{window}, answer ({options.max_new_tokens} new tokens) included"
            )

    def generation_options(self, max_new_tokens: int | None = None) -> GenerationOptions:
        options = GenerationOptions.from_config(self.generation)
        if max_new_tokens is not None:
            options = dataclasses.replace(options, max_new_tokens=max_new_tokens)
        return options

    def qa_messages(
        self, user_content: str, *, history: Sequence[ChatMessage] = ()
    ) -> list[ChatMessage]:
        """System prompt, earlier turns, then the user's message."""
        return [
            {"role": "system", "content": self.generation.system_prompt},
            *history,
            {"role": "user", "content": user_content},
        ]

    # -- what each engine provides ---------------------------------------------------------------

    @abstractmethod
    def _learn(self, text: str, *, doc_id: str, on_event: ProgressCallback | None) -> LearnOutcome:
        """Absorb ``text``; raise before changing anything if it cannot be learned."""

    def _prepare(
        self, prompt: str, *, history: Sequence[ChatMessage], options: GenerationOptions
    ) -> PreparedPrompt:
        """What :meth:`generate` sends; by default the prompt as asked, with no processors."""
        return PreparedPrompt(messages=self.qa_messages(prompt, history=history))

    @abstractmethod
    def _clear_state(self) -> None: ...

    @abstractmethod
    def _save_state(self, directory: Path) -> None: ...

    @abstractmethod
    def _load_state(self, directory: Path) -> None: ...

    def _details(self) -> list[InfoItem]:
        return []
