"""Training by context distillation on the tiny backbone: it learns, checkpoints and resumes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from continual_learning.core.backbone import Backbone
from continual_learning.core.squad import SquadParagraph
from continual_learning.engines.doc2lora.distillation import DistillationExample
from continual_learning.engines.doc2lora.hypernetwork import PerceiverHypernetwork
from continual_learning.engines.doc2lora.injection import hypernetwork_shape
from continual_learning.engines.doc2lora.trainer import (
    HypernetworkTrainer,
    TrainingPlan,
    example_order,
    teacher_examples,
)
from continual_learning.types import ProgressEvent

from helpers import build_tiny_backbone

EXAMPLES = [
    DistillationExample(
        document="Zorblax Quentaro is the capital of Velmoria. Its money is the drem.",
        qa_pairs=(
            ("What is the capital of Velmoria?", "Zorblax Quentaro"),
            ("What is the money of Velmoria?", "the drem"),
        ),
    ),
    DistillationExample(
        document="Ardent Plume founded Zorblax Quentaro in 1843.",
        qa_pairs=(("Who founded Zorblax Quentaro?", "Ardent Plume"),),
    ),
]


def _trainer(backbone: Backbone, run_dir: Path, steps: int) -> HypernetworkTrainer:
    torch.manual_seed(0)
    shape = hypernetwork_shape(
        backbone.model, targets=("down_proj",), rank=2, latent_dim=16, num_blocks=1, num_heads=2
    )
    plan = TrainingPlan(
        steps=steps, learning_rate=1e-2, warmup_steps=1, eval_every=2, checkpoint_every=2
    )
    return HypernetworkTrainer(
        backbone, PerceiverHypernetwork(shape), plan, run_dir=run_dir, system_prompt="Answer."
    )


def test_the_example_order_is_a_seeded_shuffle_per_pass() -> None:
    first_pass = [example_order(5, step, seed=3) for step in range(5)]
    assert sorted(first_pass) == list(range(5))
    assert [example_order(5, step, seed=3) for step in range(5)] == first_pass


def test_training_lowers_the_heldout_kl(tmp_path: Path) -> None:
    trainer = _trainer(build_tiny_backbone(), tmp_path, steps=8)
    log = trainer.train(EXAMPLES, EXAMPLES)
    kl = [row["heldout_kl"] for row in log.evaluations]
    assert log.step == 8 and len(log.losses) == 8
    assert [row["step"] for row in log.evaluations] == [0, 2, 4, 6, 8]
    assert kl[0] > 0 and kl[-1] < kl[0]


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path: Path) -> None:
    straight = _trainer(build_tiny_backbone(), tmp_path / "a", steps=4)
    straight.train(EXAMPLES, [])

    def interrupt_after_two_steps(event: ProgressEvent) -> None:
        if event.completed == 2:
            raise KeyboardInterrupt  # Ctrl-C, after the step-2 checkpoint was written

    interrupted = _trainer(build_tiny_backbone(), tmp_path / "b", steps=4)
    with pytest.raises(KeyboardInterrupt):
        interrupted.train(EXAMPLES, [], on_event=interrupt_after_two_steps)
    resumed = _trainer(build_tiny_backbone(), tmp_path / "b", steps=4)
    log = resumed.train(EXAMPLES, [], resume=True)
    assert log.step == 4 and len(log.losses) == 4
    for name, tensor in straight.hypernetwork.state_dict().items():
        torch.testing.assert_close(resumed.hypernetwork.state_dict()[name], tensor)


def test_the_teacher_writes_questions_answered_from_the_paragraph(real_backbone: Backbone) -> None:
    paragraph = SquadParagraph(
        id="velmoria-0",
        title="Velmoria",
        context=(
            "Velmoria is a small island republic in the northern sea. Its capital is Zorblax "
            "Quentaro, founded in 1843 by the explorer Ardent Plume. The island's money is "
            "the drem, minted from copper since 1901."
        ),
        questions=(),
    )
    events: list[ProgressEvent] = []
    examples = teacher_examples(real_backbone, [paragraph], per_paragraph=2, on_event=events.append)
    assert len(examples) == 1 and examples[0].document == paragraph.context
    pairs = examples[0].qa_pairs
    assert 1 <= len(pairs) <= 2
    words = set(paragraph.context.lower().replace(".", " ").replace(",", " ").split())
    for question, answer in pairs:
        assert question.endswith("?")
        assert set(answer.lower().replace(".", " ").replace(",", " ").split()) & words
    assert events[-1] == ProgressEvent(task="teacher questions", completed=1, total=1)
