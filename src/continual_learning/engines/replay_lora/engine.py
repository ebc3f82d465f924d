"""Replay-LoRA: LoRA fine-tuning that replays the past, consolidates with EWC and rolls back.

Learning is done in *refresh cycles* (``cycle.py``). A cycle, on the active domain:

1. takes the new examples (document chunks, plus self-edits when ``self_edit`` is on; with
   ``objective`` distill or mixed, the self-study prompts with the teacher's answers, fitted
   token by token to the teacher and kept as transcripts for later cycles to replay) and a
   replay sample from the domain's buffer, so that replay is at least ``min_replay_ratio`` of
   the training set (``buffers.py``); ``guard_share`` adds general text fitted to the frozen
   model to every step;
2. measures perplexity on the anchor set (text the model must keep predicting) and on the new
   data, with the adapter as it stands;
3. trains the domain's peft LoRA adapter on both (``trainer.py``), with the online-EWC penalty
   when ``ewc`` is on (``ewc.py``);
4. measures again: ``BWT = anchor_before - anchor_after``. Below ``rollback_bwt`` (with
   ``auto_rollback``), the pre-cycle weights are kept, bit for bit, and the reason recorded;
5. otherwise keeps the new weights, updates the Fisher, refreshes the replayed examples' losses
   and adds the new examples to the buffer.

``learn(text)`` is one cycle on that document. :meth:`ReplayLoraEngine.cycle` runs one on any
examples; ``wheel.py`` builds the refresh wheel on it (new data queued on disk, trained later).

With ``adapters: per_cycle`` a cycle starts a new adapter from zero and trains it on its own
examples alone (nothing replayed, no EWC: no other cycle shares its weights); every kept cycle's
adapter is kept apart, and a prompt is answered by the adapter of the cycle that learned the
passage most like it (``core/scope.py``), as Knowledge Modules train a module per document.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from continual_learning.config.schema import GenerationConfig
from continual_learning.core.backbone import Backbone
from continual_learning.core.backbone_cache import cache_key, cached_number
from continual_learning.core.chunking import Chunk, chunk_text
from continual_learning.core.corpus import general_paragraphs
from continual_learning.core.forgetting import (
    knowledge_retention_score,
    perplexity_bwt,
    perplexity_fwt,
)
from continual_learning.core.lora import (
    LoraWeights,
    check_targets,
    initial_weights,
    lora_applied,
    lora_config,
    lora_folded,
    read_weights,
    stacked,
)
from continual_learning.core.paths import default_cache_dir
from continual_learning.core.peft_export import LoraAdapter
from continual_learning.core.perplexity import PERPLEXITY_TOKENS, perplexity
from continual_learning.core.scope import Scope
from continual_learning.core.self_edit import write_self_edits
from continual_learning.core.self_study import (
    StudyTarget,
    document_targets,
    general_targets,
    study_notes,
    study_transcripts,
)
from continual_learning.core.storage import atomic_write_json, read_json, safe_name
from continual_learning.core.weight_folding import FoldCache
from continual_learning.engines.base import ALL_LEARNED, Engine, LearnOutcome, ProgressCallback
from continual_learning.engines.replay_lora.buffers import (
    ReplayExample,
    make_buffer,
    replay_count,
)
from continual_learning.engines.replay_lora.config import ReplayLoraConfig
from continual_learning.engines.replay_lora.cycle import (
    CyclePlan,
    CycleRecord,
    CycleRun,
    Domain,
)
from continual_learning.engines.replay_lora.domain_files import (
    read_domain,
    scope_owners,
    write_domain,
)
from continual_learning.engines.replay_lora.ewc import OnlineEwc
from continual_learning.engines.replay_lora.trainer import (
    TrainResult,
    TrainSettings,
    batch_loss,
    example_losses,
    train,
)
from continual_learning.errors import DocumentError, StateError
from continual_learning.types import Figure, InfoItem, emit

DEFAULT_DOMAIN = "default"
STATE_FILE = "replay_lora.json"
DOMAINS_DIR = "domains"
TURNS_PER_TRANSCRIPT = 4
"""Study prompts per replayed transcript: four short turns fit one ``chunk_tokens`` example."""


class ReplayLoraEngine(Engine):
    key = "replay_lora"
    summary = "Replay-LoRA: LoRA fine-tuning with a replay buffer, EWC and automatic rollback"
    changes_weights = True

    def __init__(
        self, backbone: Backbone, config: ReplayLoraConfig, *, generation: GenerationConfig
    ) -> None:
        super().__init__(backbone, config, generation=generation)
        check_targets(backbone.model, config.target_modules, section="replay_lora")
        self.peft_config = lora_config(
            config.rank, config.lora_alpha, config.lora_dropout, config.target_modules
        )
        self.domains: dict[str, Domain] = {DEFAULT_DOMAIN: self._new_domain(DEFAULT_DOMAIN)}
        self.active = DEFAULT_DOMAIN
        self.anchor: list[str] | None = None
        """Set with :meth:`set_anchor`; None means ``anchor_corpus`` from the config."""
        self._initial: LoraWeights | None = None
        self._folds = FoldCache()
        self.scope = Scope(config.scope_threshold)
        self.scope_owners: list[tuple[str, int]] = []
        """``per_cycle``: the domain and cycle adapter of each of the scope's passages."""

    @property
    def per_cycle(self) -> bool:
        return self.config.adapters == "per_cycle"

    # -- the refresh wheel's verbs --------------------------------------------------------------

    @property
    def domain(self) -> Domain:
        return self.domains[self.active]

    def switch_domain(self, name: str) -> Domain:
        """Make ``name`` the domain that learns and answers; created empty if new."""
        safe_name(name, what="domain name")
        if name not in self.domains:
            self.domains[name] = self._new_domain(name)
        self.active = name
        return self.domains[name]

    def set_anchor(self, texts: Sequence[str]) -> None:
        """The fixed texts every cycle's BWT is measured on."""
        texts = [t for t in texts if t.strip()]
        if len(texts) < 1:
            raise DocumentError("the anchor set needs at least one non-empty text")
        self.anchor = list(texts)

    def anchor_texts(self) -> list[str]:
        if self.anchor is not None:
            return self.anchor
        c = self.config
        return general_paragraphs(
            c.anchor_corpus, c.anchor_samples, config_key="replay_lora.anchor_corpus"
        )

    def anchor_source(self) -> str:
        if self.anchor is not None:
            return f"{len(self.anchor)} texts set with 'refresh anchor'"
        return f"{self.config.anchor_samples} paragraphs of '{self.config.anchor_corpus}' (config)"

    def plan(self, examples: int, *, epochs: int | None = None) -> CyclePlan:
        """What :meth:`cycle` would train on for ``examples`` new examples, changing nothing."""
        replayed = replay_count(examples, self.config.min_replay_ratio, len(self.domain.buffer))
        replayed = 0 if self.per_cycle else replayed
        settings = self._settings(epochs)
        batches = -(-(examples + replayed) // settings.batch_size)
        steps = -(-(settings.epochs * batches) // settings.gradient_accumulation)
        return CyclePlan(
            domain=self.active,
            new_examples=examples,
            replayed=replayed,
            epochs=settings.epochs,
            steps=steps,
            ewc=self.config.ewc,
        )

    def cycle(
        self,
        examples: Sequence[ReplayExample],
        *,
        epochs: int | None = None,
        on_event: ProgressCallback | None = None,
    ) -> CycleRecord:
        """One refresh cycle on ``examples`` (from :meth:`new_examples`) plus replay."""
        if not examples:
            raise DocumentError("nothing to refresh: no new examples")
        record, _ = self._cycle(examples, epochs=epochs, on_event=on_event)
        return record

    def anchor_perplexity(self) -> float:
        """Perplexity of the active domain's model on the anchor set, now."""
        with self.applied():
            return perplexity(self.backbone, self.anchor_texts())

    def cycles(self) -> list[CycleRecord]:
        """Every domain's cycles, oldest first."""
        return sorted((c for d in self.domains.values() for c in d.cycles), key=lambda c: c.index)

    # -- learning ---------------------------------------------------------------------------------

    def _learn(self, text: str, *, doc_id: str, on_event: ProgressCallback | None) -> LearnOutcome:
        system = self.generation.system_prompt
        study = (
            document_targets(
                self.backbone, text, self.config, system_prompt=system, on_event=on_event
            )
            if self.config.objective != "nll"
            else []
        )
        examples = self.new_examples(text, source=doc_id, on_event=on_event, study=study)
        record, result = self._cycle(examples, epochs=None, on_event=on_event, study=study)
        return LearnOutcome(
            tokens=self.backbone.count_tokens(text),
            chunks=record.new_examples,
            losses=result.losses,
            figures=(
                Figure(name="replayed", value=record.replayed),
                Figure(name="anchor ppl before", value=round(record.anchor_before, 3)),
                Figure(name="anchor ppl after", value=round(record.anchor_after, 3)),
                Figure(name="BWT", value=round(record.bwt, 3)),
                Figure(name="KRS", value=round(record.krs, 2)),
                Figure(name="EWC penalty", value=record.ewc_penalty),
                Figure(name="rolled back", value=int(record.rolled_back)),
                Figure(name="study prompts", value=len(study)),
            ),
            notes=study_notes(study),
        )

    def _transcripts(self, study: Sequence[StudyTarget]) -> list[str]:
        system = self.generation.system_prompt
        return study_transcripts(self.backbone, system, study, TURNS_PER_TRANSCRIPT)

    def _guard_targets(self) -> list[StudyTarget]:
        """The frozen backbone's own distribution on general paragraphs the anchor does not
        hold (the anchor measures BWT; training on it would flatter the measure)."""
        c = self.config
        texts = general_paragraphs(
            c.anchor_corpus,
            c.anchor_samples + c.guard_samples,
            config_key="replay_lora.anchor_corpus",
        )
        unseen = [t for t in texts if t not in set(self.anchor_texts())]
        system = self.generation.system_prompt
        return general_targets(self.backbone, unseen or texts, c, system_prompt=system)

    def chunks(self, text: str, *, source: str) -> list[Chunk]:
        """``text`` cut into the ``chunk_tokens`` windows that become training examples."""
        return chunk_text(
            self.backbone.tokenizer,
            text,
            doc_id=source,
            max_tokens=self.config.chunk_tokens,
            overlap=self.config.chunk_overlap,
        )

    def new_examples(
        self,
        text: str,
        *,
        source: str,
        first: int = 0,
        on_event: ProgressCallback | None = None,
        study: Sequence[StudyTarget] = (),
    ) -> list[ReplayExample]:
        """The document's token chunks (unless ``objective`` is distill), the study prompts with
        the teacher's answers as chat transcripts (what later cycles replay of this document),
        then (with ``self_edit``) what the backbone wrote."""
        if not text.strip():
            raise DocumentError(f"cannot learn an empty document ({source})")
        # Unique across cycles: "<source>#<cycle>.<position in the cycle's new data>".
        prefix = f"{source}#{len(self.cycles()) + 1}."
        texts = (
            []
            if study and self.config.objective == "distill"
            else [c.text for c in self.chunks(text, source=source)]
        )
        texts += self._transcripts(study)
        examples = [
            ReplayExample(id=f"{prefix}{first + i}", text=t, source=source)
            for i, t in enumerate(texts)
        ]
        if self.config.self_edit:
            emit(on_event, "write self-edits", 0, 1)
            edits = write_self_edits(
                self.backbone, text, max_new_tokens=self.config.self_edit_tokens
            )
            texts = edits.training_texts(self.backbone, self.generation.system_prompt)
            examples += [
                ReplayExample(id=f"{prefix}{first + len(examples) + i}", text=t, source=source)
                for i, t in enumerate(texts)
            ]
            emit(on_event, "write self-edits", 1, 1)
        return examples

    def _cycle(
        self,
        new: Sequence[ReplayExample],
        *,
        epochs: int | None,
        on_event: ProgressCallback | None,
        study: Sequence[StudyTarget] = (),
    ) -> tuple[CycleRecord, TrainResult]:
        """Train on ``new`` (with replay), measure, then keep the result or roll it back."""
        started = time.perf_counter()
        domain = self.domain
        replayed = replay_count(len(new), self.config.min_replay_ratio, len(domain.buffer))
        replay = [] if self.per_cycle else domain.buffer.sample(replayed)
        run = self._train_and_measure(new, replay, epochs, study, on_event)
        if not run.rolled_back:
            self._keep(domain, new, replay, run)
        record = self._record(domain, new, replay, run, started)
        domain.cycles.append(record)
        return record, run.result

    def _train_and_measure(
        self,
        new: Sequence[ReplayExample],
        replay: Sequence[ReplayExample],
        epochs: int | None,
        study: Sequence[StudyTarget],
        on_event: ProgressCallback | None,
    ) -> CycleRun:
        """One cycle's training inside the adapter, with the anchor's and the new data's
        perplexity before and after; a cycle past ``rollback_bwt`` is marked rolled back."""
        domain = self.domain
        new_texts = [e.text for e in new]
        # This cycle's study transcripts are fitted token by token to the teacher instead.
        studied = set(self._transcripts(study))
        training = [t for t in new_texts if t not in studied] + [e.text for e in replay]
        anchor = self.anchor_texts()
        settings = self._settings(epochs, cycle=len(self.cycles()))
        start = self._initial_weights() if self.per_cycle else domain.weights
        # What depends only on the backbone is read before the adapter wraps its layers.
        guard = self._guard_targets()
        emit(on_event, "measure", 0, 2)
        no_op_start = self.per_cycle or not start
        anchor_before = self._backbone_anchor_perplexity(anchor) if no_op_start else None
        with lora_applied(
            self.backbone.model, self.peft_config, start or self._initial_weights()
        ) as parameters:
            if anchor_before is None:
                anchor_before = perplexity(self.backbone, anchor)
            new_before = perplexity(self.backbone, new_texts)
            result = train(
                self.backbone,
                parameters,
                training,
                settings,
                penalty=lambda: domain.ewc.penalty(parameters),
                study=study,
                guard=guard,
                on_event=on_event,
            )
            emit(on_event, "measure", 1, 2)
            anchor_after = perplexity(self.backbone, anchor)
            new_after = perplexity(self.backbone, new_texts)
            emit(on_event, "measure", 2, 2)
            bwt = perplexity_bwt(anchor_before, anchor_after)
            run = CycleRun(
                result=result,
                epochs=settings.epochs,
                anchor=(anchor_before, anchor_after),
                new=(new_before, new_after),
                bwt=bwt,
                rolled_back=self.config.auto_rollback and bwt < self.config.rollback_bwt,
            )
            if not run.rolled_back:
                run.trained = read_weights(parameters)
                if self.config.ewc:
                    domain.ewc.update(
                        parameters,
                        new_texts[: self.config.fisher_samples],
                        lambda t: batch_loss(self.backbone, [t], settings.max_tokens),
                    )
                texts = new_texts + [e.text for e in replay]
                run.losses = example_losses(self.backbone, texts, settings.max_tokens)
        return run

    def _keep(
        self,
        domain: Domain,
        new: Sequence[ReplayExample],
        replay: Sequence[ReplayExample],
        run: CycleRun,
    ) -> None:
        """The cycle's adapter becomes the domain's; its examples join the scope and buffer."""
        domain.weights = run.trained
        if self.per_cycle:
            domain.episodes.append(run.trained)
        for example in new:
            self.scope.add(example.text)
            self.scope_owners.append((domain.name, len(domain.episodes) - 1))
        loss_by_id = {e.id: loss for e, loss in zip([*new, *replay], run.losses, strict=True)}
        domain.buffer.update_losses(loss_by_id)
        domain.buffer.add(
            ReplayExample(id=e.id, text=e.text, source=e.source, loss=loss_by_id[e.id]) for e in new
        )

    def _record(
        self,
        domain: Domain,
        new: Sequence[ReplayExample],
        replay: Sequence[ReplayExample],
        run: CycleRun,
        started: float,
    ) -> CycleRecord:
        (anchor_before, anchor_after), (new_before, new_after) = run.anchor, run.new
        reason = ""
        if run.rolled_back:
            # domain.weights was never replaced: the pre-cycle tensors are still the adapter's.
            reason = (
                f"BWT {run.bwt:.3f} < rollback_bwt {self.config.rollback_bwt}: anchor perplexity "
                f"rose from {anchor_before:.3f} to {anchor_after:.3f}"
            )
        previous = domain.cycles[-1] if domain.cycles else None
        kept_bwts = domain.kept_bwts() + ([] if run.rolled_back else [run.bwt])
        return CycleRecord(
            index=len(self.cycles()) + 1,
            domain=domain.name,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            new_examples=len(new),
            replayed=len(replay),
            epochs=run.epochs,
            steps=run.result.steps,
            first_loss=run.result.losses[0],
            final_loss=run.result.losses[-1],
            ewc_penalty=run.result.penalties[-1],
            anchor_before=round(anchor_before, 4),
            anchor_after=round(anchor_after, 4),
            bwt=round(run.bwt, 4),
            new_before=round(new_before, 4),
            new_after=round(new_after, 4),
            fwt=None
            if previous is None
            else round(perplexity_fwt(previous.new_before, new_before), 4),
            krs=round(knowledge_retention_score(kept_bwts, self.config.krs_lambda), 4),
            rolled_back=run.rolled_back,
            reason=reason,
            seconds=round(time.perf_counter() - started, 3),
        )

    def _backbone_anchor_perplexity(self, anchor: list[str]) -> float:
        """The anchor's perplexity before a cycle whose adapter starts as a no-op (B = 0: every
        per-cycle adapter, a shared one's first): the backbone's own, which depends only on its
        weights and the anchor, so it is computed once per model and anchor and kept on disk."""
        settings = {"measure": "perplexity", "max_tokens": PERPLEXITY_TOKENS}
        key = cache_key(fingerprint=self.backbone.fingerprint(), texts=anchor, settings=settings)
        return cached_number(
            default_cache_dir(), "anchor-perplexity", key, lambda: perplexity(self.backbone, anchor)
        )

    def _settings(self, epochs: int | None, *, cycle: int = 0) -> TrainSettings:
        c = self.config
        return TrainSettings(
            epochs=epochs or c.epochs,
            batch_size=c.batch_size,
            gradient_accumulation=c.gradient_accumulation,
            learning_rate=c.learning_rate,
            warmup_ratio=c.warmup_ratio,
            max_tokens=c.chunk_tokens,
            seed=c.seed + cycle,
            study_batch=c.study_batch,
            guard_share=c.guard_share,
        )

    def _initial_weights(self) -> LoraWeights:
        if self._initial is None:
            self._initial = initial_weights(self.backbone.model, self.peft_config, self.config.seed)
        return self._initial

    def _new_domain(self, name: str) -> Domain:
        c = self.config
        buffer = make_buffer(c.buffer, c.buffer_size, seed=c.seed, buckets=c.diverse_buckets)
        return Domain(name=name, buffer=buffer, ewc=OnlineEwc(c.ewc_lambda, c.ewc_decay))

    # -- the engine interface -------------------------------------------------------------------

    def applied(self) -> AbstractContextManager[Any]:
        if not self.domain.weights:
            return nullcontext()
        return lora_folded(self.backbone.model, self.peft_config, self.domain.weights, self._folds)

    def lora_adapter(self) -> LoraAdapter | None:
        """The active domain's adapter, with its cycles' forgetting figures for the card; with
        ``per_cycle``, the mean of its cycles' adapters (the engine routes; peft cannot)."""
        if not self.domain.weights:
            return None
        if self.per_cycle:
            return self._mean_of_cycles()
        c = self.config
        card = tuple(
            f"cycle {r.index}: anchor perplexity {r.anchor_before:.2f} -> {r.anchor_after:.2f} "
            f"(BWT {r.bwt:.2f}, KRS {r.krs:.1f})" + (" rolled back" if r.rolled_back else "")
            for r in self.domain.cycles
        )
        if c.scope_threshold > 0:
            card += (
                "the engine applies this adapter only to prompts with a TF-IDF similarity of at "
                f"least {c.scope_threshold:g} to what it learned; loaded with peft it applies to "
                "every prompt, so answers to questions about anything else can differ",
            )
        return LoraAdapter(
            weights=dict(self.domain.weights),
            rank=c.rank,
            alpha=c.lora_alpha,
            target_modules=c.target_modules,
            card=(f"domain '{self.active}', objective {c.objective}", *card),
        )

    def _mean_of_cycles(self) -> LoraAdapter:
        """Every cycle's adapter stacked (rank ``rank x cycles``) at ``lora_alpha``: peft scales
        by alpha / rank, so the update is the mean of the cycles' updates."""
        c, episodes = self.config, self.domain.episodes
        card = (
            f"domain '{self.active}', objective {c.objective}, adapters per_cycle: "
            f"{len(episodes)} cycle adapters of rank {c.rank}",
            "the engine answers each prompt with the adapter of the cycle that learned the "
            f"passage most like it, and none below a TF-IDF similarity of {c.scope_threshold:g}; "
            "this folder is their mean; loaded with peft it applies to every prompt, so "
            "answers can differ from the engine's",
        )
        return LoraAdapter(
            weights=stacked(episodes),
            rank=c.rank * len(episodes),
            alpha=c.lora_alpha,
            target_modules=c.target_modules,
            card=card,
        )

    def route(self, prompt: str) -> Hashable | None:
        """``per_cycle``: the active domain's cycle that learned the passage most like
        ``prompt`` (None below ``scope_threshold`` or when another domain learned it)."""
        if not self.per_cycle:
            return ALL_LEARNED if self.scope.covers(prompt) else None
        passage = self.scope.nearest(prompt)
        if passage is None:
            return None
        domain, cycle = self.scope_owners[passage]
        return cycle if domain == self.active else None

    def applied_for(self, route: Hashable | None) -> AbstractContextManager[Any]:
        if isinstance(route, int):
            weights = self.domain.episodes[route]
            return lora_folded(self.backbone.model, self.peft_config, weights, self._folds)
        return super().applied_for(route)

    def _clear_state(self) -> None:
        self.scope.clear()
        self.scope_owners = []
        self._folds.clear()
        self.domains = {DEFAULT_DOMAIN: self._new_domain(DEFAULT_DOMAIN)}
        self.active = DEFAULT_DOMAIN

    def _save_state(self, directory: Path) -> None:

        for domain in self.domains.values():
            write_domain(directory / DOMAINS_DIR / domain.name, domain)
        atomic_write_json(
            directory / STATE_FILE,
            {
                "active": self.active,
                "domains": list(self.domains),
                "anchor": self.anchor,
                "adapters": self.config.adapters,
                "scope_owners": self.scope_owners,
            },
        )
        self.scope.save(directory)

    def _load_state(self, directory: Path) -> None:
        state = read_json(directory / STATE_FILE, what="Replay-LoRA state")
        try:
            names = [safe_name(str(n), what="domain name") for n in state["domains"]]
            active = str(state["active"])
            anchor = state["anchor"]
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"Replay-LoRA state in {directory} is malformed: {exc}") from None
        if active not in names or (anchor is not None and not isinstance(anchor, list)):
            raise StateError(f"Replay-LoRA state in {directory} is inconsistent")
        if state.get("adapters", "shared") != self.config.adapters:
            raise StateError(
                f"Replay-LoRA state in {directory} was learned with adapters "
                f"'{state.get('adapters', 'shared')}'; the config says '{self.config.adapters}' "
                "(set replay_lora.adapters to load it)"
            )
        reference = self._initial_weights()
        domains = {
            name: read_domain(directory / DOMAINS_DIR / name, self._new_domain(name), reference)
            for name in names
        }
        scope = Scope(self.config.scope_threshold)
        scope.load(directory)
        owners = scope_owners(state.get("scope_owners", []), domains, len(scope.documents))
        if self.per_cycle and (owners is None or len(owners) != len(scope.documents)):
            raise StateError(f"Replay-LoRA state in {directory}: 'scope_owners' is malformed")
        self.scope, self.scope_owners = scope, owners or []
        self.domains, self.active = domains, active
        self.anchor = None if anchor is None else [str(t) for t in anchor]

    def _details(self) -> list[InfoItem]:
        c = self.config
        domain = self.domain
        stats = domain.buffer.stats()
        kept = [x for x in domain.cycles if not x.rolled_back]
        last = domain.cycles[-1] if domain.cycles else None
        return [
            InfoItem(
                label="domain",
                value=f"{self.active} (of {', '.join(self.domains)})",
            ),
            InfoItem(
                label="adapter",
                value=f"LoRA r={c.rank} alpha={c.lora_alpha:g} on {', '.join(c.target_modules)}; "
                + (
                    f"{sum(t.numel() for t in domain.weights.values()):,} weights"
                    if domain.weights
                    else "untrained"
                ),
            ),
            InfoItem(
                label="replay buffer",
                value=f"{stats.kind}: {stats.size}/{stats.max_size} examples ({stats.seen} seen); "
                + (
                    f"per_cycle: nothing replayed, {len(domain.episodes)} cycle adapters kept "
                    "apart, a prompt gets its nearest cycle's"
                    if self.per_cycle
                    else f"replay >= {c.min_replay_ratio:.0%} of each cycle"
                ),
            ),
            InfoItem(
                label="EWC",
                value=f"on, lambda {c.ewc_lambda:g}, decay {c.ewc_decay:g}, "
                f"{domain.ewc.updates} updates"
                if c.ewc
                else "off",
            ),
            InfoItem(
                label="cycles",
                value=f"{len(domain.cycles)} ({len(kept)} kept, {domain.rollbacks} rolled back); "
                f"KRS {domain.krs(c.krs_lambda):.1f}"
                + (f"; last BWT {last.bwt:+.3f}" if last else ""),
            ),
            InfoItem(label="anchor set", value=self.anchor_source()),
        ]
