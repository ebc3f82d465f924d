"""Training the hypernetwork by context distillation, resumably, on one CPU or many GPUs.

Data: SQuAD paragraphs with their answerable questions (``squad_examples``), plus questions the
teacher writes itself about some of them (``teacher_examples``); whole articles are held out
(``core.squad.split_by_article``), so the paragraphs the benchmark learns were never trained on.
Each step takes one example in a seeded order, computes ``distillation_loss`` and updates the
hypernetwork with AdamW and a cosine schedule with warmup (transformers'). accelerate places the
work on whatever the machine has.

Every ``checkpoint_every`` steps the run folder gets ``last.safetensors`` (the hypernetwork and
AdamW's moments) and ``trainer.json`` (step, schedule, losses); ``resume=True`` continues from
them exactly: the example order is a function of the seed and the step. Every ``eval_every``
steps the mean loss on held-out examples is measured; the loss of the untrained hypernetwork
(whose LoRA is zero: the plain backbone) is measured first, as the baseline.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from continual_learning.core.backbone import Backbone, ChatMessage, GenerationOptions
from continual_learning.core.prompts import passages_prompt
from continual_learning.core.self_questions import questions_about
from continual_learning.core.squad import SquadParagraph
from continual_learning.core.storage import atomic_write_bytes, atomic_write_json, read_json
from continual_learning.engines.doc2lora.distillation import (
    DistillationExample,
    distillation_loss,
)
from continual_learning.engines.doc2lora.hypernetwork import PerceiverHypernetwork
from continual_learning.errors import StateError
from continual_learning.types import ProgressEvent

CHECKPOINT = "last.safetensors"
TRAINER_STATE = "trainer.json"


@dataclass(frozen=True, kw_only=True)
class TrainingPlan:
    steps: int = 1000
    learning_rate: float = 3e-4
    warmup_steps: int = 50
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    eval_every: int = 100
    checkpoint_every: int = 100
    eval_examples: int = 24
    seed: int = 0


@dataclass(kw_only=True)
class TrainingLog:
    """What a run did; saved in ``trainer.json`` and summarised on the hypernetwork's card."""

    step: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    evaluations: list[dict[str, float]] = field(default_factory=list)
    """``{"step", "heldout_kl"}`` at each evaluation; step 0 is the untrained baseline."""


def squad_examples(
    paragraphs: Sequence[SquadParagraph], *, max_questions: int = 4, unanswerable: bool = False
) -> list[DistillationExample]:
    """One example per paragraph: its answerable questions (at most ``max_questions``), each
    with its first gold answer. ``unanswerable`` adds the paragraph's unanswerable questions with
    an empty answer, for ``teacher_answered`` to fill (they have no gold answer to train on)."""
    examples = []
    for paragraph in paragraphs:
        pairs = [(q.question, q.answers[0]) for q in paragraph.answerable]
        if unanswerable:
            pairs += [(q.question, "") for q in paragraph.unanswerable]
        if pairs:
            examples.append(
                DistillationExample(
                    document=paragraph.context, qa_pairs=tuple(pairs[:max_questions])
                )
            )
    return examples


def teacher_answered(
    backbone: Backbone,
    examples: Sequence[DistillationExample],
    *,
    system_prompt: str,
    options: GenerationOptions,
    batch_size: int = 32,
    on_event: Callable[[ProgressEvent], None] | None = None,
) -> list[DistillationExample]:
    """The examples with each answer replaced by the teacher's own reply: the backbone, the
    document in view, answering as the in-context engine does (same prompt, same decoding).

    Distilling on these tokens, rather than on a short gold span, trains the student on what it
    will actually generate: the whole reply the teacher gives, a few dozen tokens per question
    instead of two or three. Questions the teacher leaves unanswered (an empty reply) are dropped.
    """
    system: ChatMessage = {"role": "system", "content": system_prompt}
    prompts = [
        backbone.encode_chat(
            [system, {"role": "user", "content": passages_prompt([example.document], question)}]
        )
        for example in examples
        for question, _ in example.qa_pairs
    ]
    replies = [""] * len(prompts)  # in the order of the examples' questions
    # Similar lengths in a batch waste less padding.
    by_length = sorted(range(len(prompts)), key=lambda i: prompts[i].shape[1])
    for start in range(0, len(by_length), batch_size):
        batch = by_length[start : start + batch_size]
        with backbone.precision.suspended():  # training targets: the weights' own dtype
            generated = backbone.generate_batch([prompts[i] for i in batch], options)
        for position, reply in zip(batch, generated, strict=True):
            replies[position] = reply
        if on_event:
            done = min(start + batch_size, len(prompts))
            on_event(ProgressEvent(task="teacher answers", completed=done, total=len(prompts)))
    answered, next_reply = [], iter(replies)
    for example in examples:
        pairs = [(question, next(next_reply)) for question, _ in example.qa_pairs]
        kept = tuple((question, reply) for question, reply in pairs if reply)
        if kept:
            answered.append(DistillationExample(document=example.document, qa_pairs=kept))
    return answered


def teacher_examples(
    backbone: Backbone,
    paragraphs: Sequence[SquadParagraph],
    *,
    per_paragraph: int = 2,
    on_event: Callable[[ProgressEvent], None] | None = None,
) -> list[DistillationExample]:
    """One example per paragraph with questions the backbone writes about it (the passage in
    view) and answers it copies from the source sentence; questions left unanswered are dropped.
    Unlike SQuAD's crowd questions these ask what the teacher itself reads in the paragraph."""
    options = GenerationOptions(max_new_tokens=48)

    def ask(message: str) -> str:
        with backbone.precision.suspended():  # training data: the weights' own dtype
            return backbone.chat([{"role": "user", "content": message}], options)

    examples = []
    for done, paragraph in enumerate(paragraphs, start=1):
        items = questions_about(ask, paragraph.context, doc_id=paragraph.id, count=per_paragraph)
        pairs = tuple((item.question, item.answers[0]) for item in items if item.answers)
        if pairs:
            examples.append(DistillationExample(document=paragraph.context, qa_pairs=pairs))
        if on_event:
            on_event(ProgressEvent(task="teacher questions", completed=done, total=len(paragraphs)))
    return examples


def example_order(count: int, step: int, seed: int) -> int:
    """The example index for ``step``: a fresh seeded shuffle every pass over the data."""
    epoch, position = divmod(step, count)
    order = list(range(count))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return order[position]


class HypernetworkTrainer:
    def __init__(
        self,
        backbone: Backbone,
        network: PerceiverHypernetwork,
        plan: TrainingPlan,
        *,
        run_dir: Path,
        system_prompt: str,
        accelerator: Any = None,
    ) -> None:
        from accelerate import Accelerator
        from transformers import get_cosine_schedule_with_warmup

        self.backbone, self.plan, self.run_dir = backbone, plan, run_dir
        self.system_prompt = system_prompt
        self.accelerator = accelerator or Accelerator(cpu=not torch.cuda.is_available())
        backbone.model.requires_grad_(False)
        backbone.model.to(self.accelerator.device)
        optimizer = torch.optim.AdamW(
            network.parameters(), lr=plan.learning_rate, weight_decay=plan.weight_decay
        )
        self.network, self.optimizer = self.accelerator.prepare(network.train(), optimizer)
        self.scheduler = get_cosine_schedule_with_warmup(
            self.optimizer, plan.warmup_steps, plan.steps
        )
        self.log = TrainingLog()

    @property
    def hypernetwork(self) -> PerceiverHypernetwork:
        return self.accelerator.unwrap_model(self.network)

    def loss(self, example: DistillationExample) -> torch.Tensor:
        return distillation_loss(
            self.backbone, self.network, example, system_prompt=self.system_prompt
        )

    def evaluate(self, examples: Sequence[DistillationExample]) -> float:
        self.network.eval()
        with torch.no_grad():
            value = statistics.fmean(float(self.loss(e)) for e in examples)
        self.network.train()
        return value

    def train(
        self,
        examples: Sequence[DistillationExample],
        heldout: Sequence[DistillationExample],
        *,
        resume: bool = False,
        stop_after_seconds: float | None = None,
        on_event: Callable[[ProgressEvent], None] | None = None,
    ) -> TrainingLog:
        """Train up to ``plan.steps``; with ``stop_after_seconds``, checkpoint and return early
        once this call has run that long (a lent machine's time limit), for ``resume`` later."""
        plan = self.plan
        session_start = time.perf_counter()
        heldout = list(heldout[: plan.eval_examples])
        if resume and (self.run_dir / TRAINER_STATE).is_file():
            self._restore()
        elif heldout:
            self.log.evaluations.append({"step": 0, "heldout_kl": self.evaluate(heldout)})
        started = time.perf_counter() - self.log.seconds
        while self.log.step < plan.steps:
            example = examples[example_order(len(examples), self.log.step, plan.seed)]
            self.log.losses.append(self._step(example))
            self.log.step += 1
            self.log.seconds = time.perf_counter() - started
            step = self.log.step
            if heldout and (step % plan.eval_every == 0 or step == plan.steps):
                self.log.evaluations.append({"step": step, "heldout_kl": self.evaluate(heldout)})
            out_of_time = (
                stop_after_seconds is not None
                and time.perf_counter() - session_start >= stop_after_seconds
            )
            if step % plan.checkpoint_every == 0 or step == plan.steps or out_of_time:
                self._checkpoint()
            if on_event:
                recent = statistics.fmean(self.log.losses[-20:])
                on_event(
                    ProgressEvent(task="training", completed=step, total=plan.steps, loss=recent)
                )
            if out_of_time:
                break
        return self.log

    def _step(self, example: DistillationExample) -> float:
        loss = self.loss(example)
        self.accelerator.backward(loss)
        self.accelerator.clip_grad_norm_(self.network.parameters(), self.plan.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    # -- resumable checkpoints: safetensors for tensors, JSON for the rest -----------------------

    def _checkpoint(self) -> None:
        from safetensors.torch import save

        network = self.hypernetwork.state_dict()
        tensors = {f"network.{k}": v.detach().cpu() for k, v in network.items()}
        optimizer = self.optimizer.state_dict()
        for index, moments in optimizer["state"].items():
            for name, value in moments.items():  # AdamW: step (a scalar), exp_avg, exp_avg_sq
                tensors[f"optimizer.{index}.{name}"] = (
                    value.detach().cpu().reshape(value.shape or (1,))
                )
        encoded = save({k: v.contiguous() for k, v in tensors.items()})
        atomic_write_bytes(self.run_dir / CHECKPOINT, encoded)
        atomic_write_json(
            self.run_dir / TRAINER_STATE,
            {
                "log": asdict(self.log),
                "plan": asdict(self.plan),
                "param_groups": optimizer["param_groups"],
                "scheduler": self.scheduler.state_dict(),
            },
        )

    def _restore(self) -> None:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        state = read_json(self.run_dir / TRAINER_STATE, what="hypernetwork training state")
        try:
            tensors = load_file(str(self.run_dir / CHECKPOINT))
            network = {
                k.removeprefix("network."): v
                for k, v in tensors.items()
                if k.startswith("network.")
            }
            self.hypernetwork.load_state_dict(network, strict=True)
            moments: dict[int, dict[str, torch.Tensor]] = {}
            for key, value in tensors.items():
                if key.startswith("optimizer."):
                    _, index, name = key.split(".", 2)
                    scalar = name == "step"
                    moments.setdefault(int(index), {})[name] = (
                        value.reshape(()) if scalar else value
                    )
            self.optimizer.load_state_dict(
                {"state": moments, "param_groups": state["param_groups"]}
            )
            self.scheduler.load_state_dict(state["scheduler"])
            self.log = TrainingLog(**state["log"])
        except SafetensorError as exc:
            raise StateError(f"training checkpoint in {self.run_dir} is corrupt: {exc}") from None
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise StateError(f"training checkpoint in {self.run_dir} does not fit: {exc}") from None
