"""Training by context distillation on the tiny backbone: it learns, checkpoints and resumes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from continual_learning.core.backbone import Backbone, GenerationOptions
from continual_learning.core.prompts import passages_prompt
from continual_learning.core.squad import SquadParagraph
from continual_learning.engines.doc2lora.distillation import (
    DistillationExample,
    distillation_loss,
)
from continual_learning.engines.doc2lora.hypernetwork import PerceiverHypernetwork
from continual_learning.engines.doc2lora.injection import hypernetwork_shape
from continual_learning.engines.doc2lora.trainer import (
    HypernetworkTrainer,
    TrainingPlan,
    example_order,
    squad_examples,
    teacher_answered,
    teacher_examples,
)
from continual_learning.types import ProgressEvent, QAItem

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


def test_questions_of_one_paragraph_are_distilled_in_one_batch_as_if_one_by_one() -> None:
    backbone = build_tiny_backbone()
    torch.manual_seed(0)
    shape = hypernetwork_shape(
        backbone.model, targets=("down_proj",), rank=2, latent_dim=16, num_blocks=1, num_heads=2
    )
    network = PerceiverHypernetwork(shape)
    for parameter in network.parameters():  # a non-zero LoRA, so the student differs
        torch.nn.init.normal_(parameter, std=0.05)
    example = EXAMPLES[0]  # two questions whose prompts and answers differ in length
    batched = distillation_loss(backbone, network, example, system_prompt="Answer.")
    alone = [
        distillation_loss(
            backbone,
            network,
            DistillationExample(document=example.document, qa_pairs=(pair,)),
            system_prompt="Answer.",
        )
        for pair in example.qa_pairs
    ]
    assert float(batched.detach()) > 0
    torch.testing.assert_close(batched, torch.stack(alone).mean(), rtol=1e-4, atol=1e-5)


def _paragraph(questions: tuple[QAItem, ...]) -> SquadParagraph:
    return SquadParagraph(
        id="p",
        title="t",
        context="Zorblax Quentaro is the capital of Velmoria.",
        questions=questions,
    )


def test_squad_examples_add_unanswerable_questions_only_when_asked() -> None:
    answerable = QAItem(id="a", question="What is the capital?", answers=("Zorblax Quentaro",))
    impossible = QAItem(id="b", question="Who is the king?", answers=())
    paragraph = _paragraph((answerable, impossible))
    assert squad_examples([paragraph])[0].qa_pairs == (
        ("What is the capital?", "Zorblax Quentaro"),
    )
    both = squad_examples([paragraph], unanswerable=True)[0].qa_pairs
    assert both == (("What is the capital?", "Zorblax Quentaro"), ("Who is the king?", ""))
    assert squad_examples([paragraph], max_questions=1, unanswerable=True)[0].qa_pairs == both[:1]
    assert squad_examples([_paragraph((impossible,))]) == []


def test_the_teacher_answers_with_the_paragraph_in_view(real_backbone: Backbone) -> None:
    options = GenerationOptions(max_new_tokens=16)
    events: list[ProgressEvent] = []
    answered = teacher_answered(
        real_backbone,
        EXAMPLES,
        system_prompt="Answer briefly.",
        options=options,
        batch_size=2,
        on_event=events.append,
    )
    assert [e.document for e in answered] == [e.document for e in EXAMPLES]
    for example, original in zip(answered, EXAMPLES, strict=True):
        assert [q for q, _ in example.qa_pairs] == [q for q, _ in original.qa_pairs]
        for question, reply in example.qa_pairs:  # the in-context engine's own answer
            expected = real_backbone.chat(
                [
                    {"role": "system", "content": "Answer briefly."},
                    {"role": "user", "content": passages_prompt([example.document], question)},
                ],
                options,
            )
            assert reply == expected and reply
    assert [e.completed for e in events] == [2, 3]


def test_a_time_limit_checkpoints_and_a_resume_finishes(tmp_path: Path) -> None:
    first = _trainer(build_tiny_backbone(), tmp_path, steps=4)
    log = first.train(EXAMPLES, [], stop_after_seconds=0.0)
    assert log.step == 1 and (tmp_path / "last.safetensors").is_file()
    resumed = _trainer(build_tiny_backbone(), tmp_path, steps=4)
    assert resumed.train(EXAMPLES, [], resume=True).step == 4
