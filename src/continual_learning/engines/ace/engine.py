"""ACE: Generate-Reflect-Curate loops that grow a playbook; no weight ever changes.

Learning a document stores it, has the LLM write questions and answers about it (nobody has to
type QA pairs), then runs ``num_loops`` Generate-Reflect-Curate passes over those questions
(``adaptation.py``). Answering a question later uses the same Generator prompt: the stored
documents (the most relevant when not all fit) and the playbook.

Which LLM plays the roles is ``ace.backend``: the backbone itself (``local``, the default, so ACE
is compared on the same model as every other engine), Ollama or an OpenAI-compatible server. A
role call that fails raises :class:`~continual_learning.errors.LLMError` before the playbook
changes: edits from a loop are applied only once its calls have all succeeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from continual_learning.config.schema import GenerationConfig
from continual_learning.core.answer_style import AnswerStyle, styled_reply
from continual_learning.core.backbone import Backbone, ChatMessage, GenerationOptions
from continual_learning.core.paths import default_playbooks_dir
from continual_learning.core.relevance import cut_to_tokens, fit_budget, rank_by_relevance
from continual_learning.core.self_questions import questions_about
from continual_learning.core.storage import atomic_write_json, read_json, safe_name
from continual_learning.engines.ace.adaptation import Adaptation, LoopRecord
from continual_learning.engines.ace.config import AceConfig
from continual_learning.engines.ace.generator import generator_messages, read_generation
from continual_learning.engines.ace.llm import ChatModel, make_chat_model
from continual_learning.engines.ace.playbook import Playbook
from continual_learning.engines.answering import styled
from continual_learning.engines.base import (
    Engine,
    LearnOutcome,
    PreparedPrompt,
    ProgressCallback,
)
from continual_learning.errors import StateError
from continual_learning.types import (
    Document,
    Figure,
    InfoItem,
    LearnReport,
    QAItem,
)

_PROMPT_OVERHEAD_TOKENS = 64


class AceEngine(Engine):
    key = "ace"
    summary = "ACE: Generate-Reflect-Curate loops evolve a playbook (no weight changes)"
    changes_weights = False

    def __init__(
        self, backbone: Backbone, config: AceConfig, *, generation: GenerationConfig
    ) -> None:
        super().__init__(backbone, config, generation=generation)
        self.llm: ChatModel = make_chat_model(config, backbone)
        self.playbook = Playbook()
        self.documents: list[Document] = []
        self._token_counts: list[int] = []
        self.loops: list[LoopRecord] = []
        self._given_questions: list[QAItem] | None = None

    # -- learning ----------------------------------------------------------------------------

    def learn_with_questions(
        self,
        text: str,
        questions: Sequence[QAItem],
        *,
        doc_id: str | None = None,
        on_event: ProgressCallback | None = None,
    ) -> LearnReport:
        """Learn ``text`` with loops over the given questions instead of self-written ones.

        Questions without answers are judged against the document by the Reflector.
        """
        self._given_questions = list(questions)
        try:
            return self.learn(text, doc_id=doc_id, on_event=on_event)
        finally:
            self._given_questions = None

    def _learn(self, text: str, *, doc_id: str, on_event: ProgressCallback | None) -> LearnOutcome:
        questions = self._given_questions
        if questions is None:
            questions = self.write_questions(text, doc_id=doc_id) if self.config.num_loops else []
        self.documents.append(Document(id=doc_id, text=text))
        self._token_counts.append(self.backbone.count_tokens(text))
        adaptation = Adaptation(
            llm=self.llm,
            config=self.config,
            generator_messages=lambda playbook, question: self._messages(
                playbook, question, (), self.generation_options()
            ),
            answer_tokens=self.generation_options().max_new_tokens,
            count_tokens=self.backbone.count_tokens,
        )
        try:
            self.playbook, records = adaptation.run(
                self.playbook, questions, document=text, doc_id=doc_id, on_event=on_event
            )
        except BaseException:  # a failed role call: forget the document; the playbook is as it was
            self.documents.pop()
            self._token_counts.pop()
            raise
        self.loops.extend(records)
        return LearnOutcome(
            tokens=self._token_counts[-1], figures=self._figures(questions, records)
        )

    def write_questions(self, text: str, *, doc_id: str) -> list[QAItem]:
        """Questions about ``text`` (with short answers where the LLM gave one), by the role LLM."""

        def ask(prompt: str) -> str:
            messages: list[ChatMessage] = [{"role": "user", "content": prompt}]
            return self.llm.chat(messages, max_tokens=self.config.role_max_tokens)

        return questions_about(ask, text, doc_id=doc_id, count=self.config.questions_per_document)

    # -- answering ---------------------------------------------------------------------------

    def generate(
        self,
        prompt: str,
        *,
        max_new_tokens: int | None = None,
        history: Sequence[ChatMessage] = (),
    ) -> str:
        """Answer with the role LLM: a server, greedily, or the backbone itself, with the
        workbench's generation settings like every other engine."""
        options = self.generation_options(max_new_tokens)
        local = self.config.backend == "local"  # a server knows its own context window
        self.check_prompt(prompt, options, local=local)
        return self._answer_one(prompt, options, history)

    def _answer_one(
        self,
        prompt: str,
        options: GenerationOptions,
        history: Sequence[ChatMessage] = (),
        *,
        style: AnswerStyle = "sentence",
    ) -> str:
        if self.config.backend == "local":
            reply = super()._answer_one(prompt, options, history, style=style)
        else:
            prepared = styled(self._prepare(prompt, history=history, options=options), style)
            reply = self.llm.chat(prepared.messages, max_tokens=options.max_new_tokens)
        return self._answer_in(reply, style)

    def generate_many(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int | None = None,
        batch_size: int = 1,
        style: AnswerStyle = "sentence",
    ) -> list[str]:
        """On the backbone, answers are batched as every engine's are; a server is asked one
        question at a time (its own scheduler batches concurrent requests, not ours)."""
        if batch_size <= 1 or self.config.backend != "local":
            options = self.generation_options(max_new_tokens)
            return [self._answer_one(p, options, style=style) for p in prompts]
        replies = super().generate_many(
            prompts, max_new_tokens=max_new_tokens, batch_size=batch_size, style=style
        )
        return [self._answer_in(reply, style) for reply in replies]

    def _answer_in(self, reply: str, style: AnswerStyle) -> str:
        """The answer of a reply, citations removed; a short reply's first line is read before
        its white space is folded."""
        return read_generation(styled_reply(reply, style), self.playbook).answer

    def _prepare(
        self, prompt: str, *, history: Sequence[ChatMessage], options: GenerationOptions
    ) -> PreparedPrompt:
        return PreparedPrompt(messages=self._messages(self.playbook, prompt, history, options))

    def _messages(
        self,
        playbook: Playbook,
        question: str,
        history: Sequence[ChatMessage],
        options: GenerationOptions,
    ) -> list[ChatMessage]:
        passages = self._passages(question, options)
        return generator_messages(
            self.generation.system_prompt, playbook, passages, question, history=history
        )

    def _passages(self, question: str, options: GenerationOptions) -> list[str]:
        """The learned documents, or the most relevant ones when they do not all fit.

        A server's context window is its own business (``context_tokens`` is the budget there);
        the backbone's also has to hold the playbook and the answer.
        """
        budget = self.config.context_tokens
        if self.config.backend == "local":
            room = self.backbone.context_window - options.max_new_tokens - _PROMPT_OVERHEAD_TOKENS
            budget = min(budget, room - self.config.max_playbook_tokens)
        texts = [d.text for d in self.documents]
        chosen = fit_budget(rank_by_relevance(texts, question), self._token_counts, budget)
        return [cut_to_tokens(self.backbone.tokenizer, texts[i], budget) for i in chosen]

    # -- named playbooks under playbooks/ ------------------------------------------------------

    def playbook_path(self, name: str) -> Path:
        return (
            default_playbooks_dir(self.config.playbook_dir)
            / f"{safe_name(name, what='playbook name')}.json"
        )

    def export_playbook(self, name: str) -> Path:
        """Write the playbook to ``<playbook_dir>/<name>.json`` (atomically)."""
        path = self.playbook_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.playbook.name = name
        self.playbook.save(path)
        return path

    def import_playbook(self, name: str) -> Playbook:
        """Replace the playbook with ``<playbook_dir>/<name>.json``; a bad file changes nothing."""
        self.playbook = Playbook.load(self.playbook_path(name))
        return self.playbook

    # -- state -------------------------------------------------------------------------------

    def _clear_state(self) -> None:
        self.playbook = Playbook()
        self.documents.clear()
        self._token_counts.clear()
        self.loops.clear()

    def _save_state(self, directory: Path) -> None:
        self.playbook.save(directory / "playbook.json")
        rows = [{"id": d.id, "text": d.text} for d in self.documents]
        atomic_write_json(directory / "documents.json", rows)
        atomic_write_json(directory / "loops.json", [asdict(r) for r in self.loops])

    def _load_state(self, directory: Path) -> None:
        playbook = Playbook.load(directory / "playbook.json")
        rows = read_json(directory / "documents.json", what="ACE documents")
        loop_rows = read_json(directory / "loops.json", what="ACE loop records")
        try:
            documents = [Document(id=str(r["id"]), text=str(r["text"])) for r in rows]
            loops = [LoopRecord.from_dict(r) for r in loop_rows]
        except (KeyError, TypeError) as exc:
            raise StateError(f"ACE state in {directory} is malformed: {exc}") from None
        counts = [self.backbone.count_tokens(d.text) for d in documents]
        self.playbook, self.documents, self._token_counts, self.loops = (
            playbook,
            documents,
            counts,
            loops,
        )

    def _details(self) -> list[InfoItem]:
        helpful = sum(b.helpful for b in self.playbook.bullets)
        harmful = sum(b.harmful for b in self.playbook.bullets)
        return [
            InfoItem(label="role LLM", value=self.llm.name),
            InfoItem(label="documents stored", value=str(len(self.documents))),
            InfoItem(
                label="playbook",
                value=f"{len(self.playbook)} bullets (budget {self.config.max_bullets}), "
                f"{helpful} helpful / {harmful} harmful tags",
            ),
            InfoItem(label="loops run", value=str(len(self.loops))),
            InfoItem(label="loops per document", value=str(self.config.num_loops)),
        ]

    def _figures(
        self, questions: Sequence[QAItem], records: Sequence[LoopRecord]
    ) -> tuple[Figure, ...]:
        figures = [
            Figure(name="questions written", value=len(questions)),
            Figure(name="loops run", value=len(records)),
            Figure(name="playbook bullets", value=len(self.playbook)),
        ]
        if records and questions:
            figures += [
                Figure(
                    name="first loop correct",
                    value=records[0].correct / len(questions),
                    unit="fraction",
                ),
                Figure(
                    name="last loop correct",
                    value=records[-1].correct / len(questions),
                    unit="fraction",
                ),
                Figure(
                    name="seconds per loop",
                    value=sum(r.seconds for r in records) / len(records),
                    unit="s",
                ),
            ]
        return tuple(figures)
