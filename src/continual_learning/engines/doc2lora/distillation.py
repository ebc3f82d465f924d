"""Context distillation: the objective the hypernetwork is trained on.

The teacher is the frozen backbone with the document in its prompt (the in-context engine's
own prompt); the student is the same backbone with the hypernetwork's LoRA and only the
question. On the tokens of an answer, the student should predict what the teacher predicts:
the loss is ``KL(teacher || student)`` over the vocabulary, averaged over answer tokens. Only the
hypernetwork learns; the gradient reaches it through the LoRA factors (``injection.hooked``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from continual_learning.core.backbone import Backbone, ChatMessage
from continual_learning.core.perplexity import chat_with_answer
from continual_learning.core.prompts import passages_prompt
from continual_learning.engines.doc2lora.activations import chunk_activations
from continual_learning.engines.doc2lora.hypernetwork import PerceiverHypernetwork
from continual_learning.engines.doc2lora.injection import hooked


@dataclass(frozen=True, kw_only=True)
class DistillationExample:
    """A document chunk and questions about it, each with an answer whose tokens carry the loss."""

    document: str
    qa_pairs: tuple[tuple[str, str], ...]


def _answer_logits(
    backbone: Backbone, rows: Sequence[torch.Tensor], answer_tokens: Sequence[int]
) -> list[torch.Tensor]:
    """For each row of ids, the logits that predict its last ``answer_tokens`` tokens
    (answer_tokens x vocab), all rows in one batched forward pass."""
    ids, mask = backbone.right_padded(rows)
    logits = backbone.model(input_ids=ids, attention_mask=mask, use_cache=False).logits
    return [
        logits[index, row.shape[1] - count - 1 : row.shape[1] - 1].float()
        for index, (row, count) in enumerate(zip(rows, answer_tokens, strict=True))
    ]


def _kl(teacher: torch.Tensor, student: torch.Tensor, temperature: float) -> torch.Tensor:
    """``KL(teacher || student)`` per position, averaged over positions."""
    return F.kl_div(
        F.log_softmax(student / temperature, dim=-1),
        F.log_softmax(teacher / temperature, dim=-1),
        log_target=True,
        reduction="batchmean",
    ) * (temperature**2)


def distillation_loss(
    backbone: Backbone,
    hypernetwork: PerceiverHypernetwork,
    example: DistillationExample,
    *,
    system_prompt: str,
    temperature: float = 1.0,
) -> torch.Tensor:
    """Mean over questions of ``KL(teacher || student)`` on the answer's tokens; differentiable
    in the hypernetwork, which reads the document once for all its questions. The teacher sees
    every question in one batch, the student likewise."""
    system: ChatMessage = {"role": "system", "content": system_prompt}
    factors = hypernetwork(chunk_activations(backbone, example.document))
    teacher_rows, student_rows, answer_tokens = [], [], []
    for question, answer in example.qa_pairs:
        with_document = passages_prompt([example.document], question)
        teacher_ids, count = chat_with_answer(
            backbone, [system, {"role": "user", "content": with_document}], answer
        )
        student_ids, _ = chat_with_answer(
            backbone, [system, {"role": "user", "content": question}], answer
        )
        teacher_rows.append(teacher_ids)
        student_rows.append(student_ids)
        answer_tokens.append(count)
    with torch.no_grad():
        teachers = _answer_logits(backbone, teacher_rows, answer_tokens)
    with hooked(backbone.model, factors):
        students = _answer_logits(backbone, student_rows, answer_tokens)
    losses = [_kl(t, s, temperature) for t, s in zip(teachers, students, strict=True)]
    return torch.stack(losses).mean()
