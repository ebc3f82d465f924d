"""Self-study: put a document into weights by distilling the model's own in-context behaviour.

The teacher is the frozen backbone *with the document in its prompt* (the in-context engine's
exact prompt); the student is the backbone with the engine's learned change and *no* document.
For prompts about the document, the teacher answers greedily, and the student is trained to
predict, token by token, what the teacher predicted: ``KL(teacher || student)`` over the
teacher's top-k tokens plus one bucket for the rest of the vocabulary (Cartridges' self-study,
arXiv 2506.06266; prompt distillation, arXiv 2412.14964; Doc-to-LoRA's objective). Plain
next-token training on the document teaches the model to *continue* the document; this teaches
it to *answer about* it, which is what it is asked to do afterwards.

The prompts come from the document itself, so no 135M writer has to be trusted: its named spans
and salient words ("What does the text say about {term}?", "Tell me about {term}."), and each
sentence's opening words to continue, so that every fact is seen in several forms (Physics of
Language Models 3.1: facts seen in one form are rarely extractable, in several they are).

The forgetting guard: general paragraphs in every update, fitted to the *frozen backbone's own*
distribution on them (``KL(base || student)``), so the change is pulled back to zero wherever the
document has nothing to say (EntiGraph mixes general text into every update for the same reason).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from continual_learning.config.self_study import SelfStudySettings
from continual_learning.core.backbone import Backbone, ChatMessage, GenerationOptions
from continual_learning.core.backbone_cache import cache_key, cached_targets
from continual_learning.core.paths import default_cache_dir
from continual_learning.core.prompts import passages_prompt
from continual_learning.core.study_target import StudyTarget
from continual_learning.types import ProgressEvent, emit

TERM_TEMPLATES = (
    "What does the text say about {term}?",
    "Tell me about {term}.",
    "What is {term}?",
)
CONTINUE_TEMPLATE = "Continue this sentence from the text: {opening}"

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# A run of capitalised words or a number: "Zorblax Quentaro", "Ember Falls", "1843", "80,000".
_NAMED_SPAN = re.compile(
    r"\b(?:[A-Z][\w'-]*(?:\s+(?:of\s+|the\s+)?[A-Z][\w'-]*)*|\d[\d,.]*\d|\d)\b"
)
_LEADING_ARTICLE = re.compile(r"^(?:The|A|An)\s+(?=[A-Z])")
_WORD = re.compile(r"[A-Za-z][a-z'-]{4,}")
_COMMON_WORDS = (
    "the a an its it this that these those his her their our your my there here then when what "
    "which who whom whose where why how and but or if on in at by for from with of to as is was "
    "were are be been every each some many most first last only"
)
_COMMON = frozenset(_COMMON_WORDS.split())


# -- prompts -------------------------------------------------------------------------------------


def salient_terms(document: str, limit: int) -> list[str]:
    """Named spans first (the most repeated first, then in order of appearance), then the
    document's repeated long words that are not part of a named span; no term twice, none that
    is only a common word."""
    spans = [_LEADING_ARTICLE.sub("", m.group()).strip() for m in _NAMED_SPAN.finditer(document)]
    spans = [s for s in spans if s.lower() not in _COMMON and len(s) > 1]
    counts = Counter(spans)
    named = sorted(dict.fromkeys(spans), key=lambda s: -counts[s])
    in_spans = {word.lower() for span in named for word in span.split()}
    words = Counter(w.lower() for w in _WORD.findall(document) if w.lower() not in _COMMON)
    frequent = [w for w, n in words.most_common() if n > 1 and w not in in_spans]
    return list(dict.fromkeys(named + frequent))[:limit]


def sentence_openings(document: str) -> list[str]:
    """Each sentence's first half (at least three words), as a prompt to continue."""
    openings = []
    for sentence in _SENTENCE_END.split(document.strip()):
        words = sentence.split()
        if len(words) >= 6:
            openings.append(" ".join(words[: max(3, len(words) // 2)]))
    return openings


def study_prompts(
    document: str, count: int, *, questions: Sequence[str] = (), seed: int = 0
) -> list[str]:
    """Up to ``count`` distinct prompts about ``document``: ``questions`` (e.g. the ones the
    model wrote itself, ``core/self_questions.py``), then the term templates and the sentence
    openings interleaved, so that a small ``count`` still covers the whole document."""
    by_term = [
        t.format(term=term) for term in salient_terms(document, count) for t in TERM_TEMPLATES
    ]
    by_sentence = [CONTINUE_TEMPLATE.format(opening=o) for o in sentence_openings(document)]
    rng = random.Random(seed)
    rng.shuffle(by_term)
    mixed = [p for pair in _zip_longest(by_sentence, by_term) for p in pair if p]
    prompts = list(dict.fromkeys([*questions, *mixed]))
    return prompts[:count]


def _zip_longest(a: list[str], b: list[str]) -> Iterator[tuple[str, str]]:
    for i in range(max(len(a), len(b))):
        yield (a[i] if i < len(a) else "", b[i] if i < len(b) else "")


# -- targets -------------------------------------------------------------------------------------


def teacher_targets(
    backbone: Backbone,
    document: str | None,
    prompts: Sequence[str],
    *,
    system_prompt: str,
    top_k: int,
    answer_tokens: int,
    batch_size: int = 8,
) -> list[StudyTarget]:
    """The teacher's greedy answers to ``prompts`` with ``document`` in view, and its top-k
    log-probabilities on every answer token; each paired with the student's prompt (no document).
    With ``document`` None the teacher sees what the student sees: the frozen model's own
    answers, which the guard holds the student to.

    Run with nothing of the engine applied: the teacher is the frozen backbone."""
    system: ChatMessage = {"role": "system", "content": system_prompt}
    options = GenerationOptions(max_new_tokens=answer_tokens, stop_repeats=True)
    targets: list[StudyTarget] = []
    for start in range(0, len(prompts), batch_size):
        chunk = list(prompts[start : start + batch_size])
        seen = [p if document is None else passages_prompt([document], p) for p in chunk]
        teacher_prompts = [
            backbone.encode_chat([system, {"role": "user", "content": text}]) for text in seen
        ]
        with backbone.precision.suspended():  # training targets: the weights' own dtype
            answers = backbone.generate_batch(teacher_prompts, options)
        kept = [(p, t, a) for p, t, a in zip(chunk, teacher_prompts, answers, strict=True) if a]
        if not kept:
            continue
        answer_ids = [_answer_ids(backbone, a) for _, _, a in kept]
        rows = [torch.cat([t, ids], dim=1) for (_, t, _), ids in zip(kept, answer_ids, strict=True)]
        with torch.inference_mode():
            logits = supervised_logits(backbone, rows, [ids.shape[1] for ids in answer_ids])
        for (prompt, _, answer), ids, scores in zip(kept, answer_ids, logits, strict=True):
            student = backbone.encode_chat([system, {"role": "user", "content": prompt}])
            top_logprobs, top_ids = F.log_softmax(scores, dim=-1).topk(top_k, dim=-1)
            targets.append(
                StudyTarget(
                    ids=torch.cat([student, ids], dim=1),
                    top_ids=top_ids,
                    top_logprobs=top_logprobs,
                    prompt=prompt,
                    answer=answer,
                )
            )
    return targets


def guard_targets(
    backbone: Backbone,
    texts: Sequence[str],
    *,
    system_prompt: str,
    top_k: int,
    answer_tokens: int,
    max_tokens: int = 128,
) -> list[StudyTarget]:
    """What the frozen backbone does on general ``texts``, for the guard to hold the student to:
    its next-token distribution over each text (cut to ``max_tokens``), and its own answers to
    study prompts about each text asked *without* the text. The second kind matters most: it has
    the form of the document's study prompts but names other things, so the student learns to
    answer from the document only when asked about what the document is about, not to recite
    it whatever it is asked. Interleaved, so every update's guard rows mix both kinds.

    Run with nothing of the engine applied."""
    plain = []
    for text in texts:
        ids = backbone.tokenizer(text, return_tensors="pt")["input_ids"][:, :max_tokens]
        if ids.shape[1] < 2:
            continue
        ids = ids.to(backbone.device)
        with torch.inference_mode():
            scores = supervised_logits(backbone, [ids], [ids.shape[1] - 1])[0]
        top_logprobs, top_ids = F.log_softmax(scores, dim=-1).topk(top_k, dim=-1)
        plain.append(StudyTarget(ids=ids, top_ids=top_ids, top_logprobs=top_logprobs))
    prompts = [p for index, text in enumerate(texts) for p in study_prompts(text, 2, seed=index)]
    chat = teacher_targets(
        backbone,
        None,
        prompts,
        system_prompt=system_prompt,
        top_k=top_k,
        answer_tokens=answer_tokens,
    )
    return [row for pair in _zip_any(chat, plain) for row in pair]


def _zip_any(a: list[StudyTarget], b: list[StudyTarget]) -> Iterator[list[StudyTarget]]:
    for i in range(max(len(a), len(b))):
        yield [row[i] for row in (a, b) if i < len(row)]


def _answer_ids(backbone: Backbone, answer: str) -> torch.Tensor:
    """The answer's tokens followed by end-of-turn, so the student also learns where to stop."""
    ids = backbone.tokenizer(answer, add_special_tokens=False)["input_ids"]
    eos = backbone.tokenizer.eos_token_id
    return torch.tensor([[*ids, eos]], dtype=torch.long, device=backbone.device)


# -- the loss ------------------------------------------------------------------------------------


Forward = Callable[[torch.Tensor, torch.Tensor], Any]
"""``(ids, attention_mask) -> model output``: the whole model, or ``FrozenPrefix.forward``."""


def supervised_logits(
    backbone: Backbone,
    rows: Sequence[torch.Tensor],
    supervised: Sequence[int],
    *,
    forward: Forward | None = None,
) -> list[torch.Tensor]:
    """For each row (1 x T), the logits that predict its last ``supervised`` tokens
    (n x vocab, float32), all rows in one right-padded forward pass (through ``forward``)."""
    ids, mask = backbone.right_padded(rows)
    if forward is None:
        logits = backbone.model(input_ids=ids, attention_mask=mask, use_cache=False).logits
    else:
        logits = forward(ids, mask).logits
    return [
        logits[index, row.shape[1] - count - 1 : row.shape[1] - 1].float()
        for index, (row, count) in enumerate(zip(rows, supervised, strict=True))
    ]


def top_k_kl(
    target_logprobs: torch.Tensor, top_ids: torch.Tensor, scores: torch.Tensor
) -> torch.Tensor:
    """Mean over positions of ``KL(target || student)`` on the target's top-k tokens plus one
    bucket holding the rest of the probability mass (so the student is not rewarded for putting
    mass on tokens the target ranks low). ``scores``: the student's logits (n x vocab)."""
    student = F.log_softmax(scores, dim=-1).gather(-1, top_ids)
    target_rest = _log_rest(target_logprobs)
    student_rest = _log_rest(student)
    target = torch.cat([target_logprobs, target_rest], dim=-1)
    student = torch.cat([student, student_rest], dim=-1)
    return (target.exp() * (target - student)).sum(-1).mean()


def _log_rest(logprobs: torch.Tensor) -> torch.Tensor:
    """log(1 - sum p) of each row, kept finite when the top-k hold (nearly) all the mass."""
    mass = logprobs.exp().sum(-1, keepdim=True).clamp(max=1.0 - 1e-6)
    return torch.log1p(-mass)


def distill_loss(
    backbone: Backbone, targets: Sequence[StudyTarget], *, forward: Forward | None = None
) -> torch.Tensor:
    """Mean over ``targets`` of their KL, differentiable in whatever the engine has applied."""
    rows, supervised = [t.ids for t in targets], [t.supervised for t in targets]
    scores = supervised_logits(backbone, rows, supervised, forward=forward)
    losses = [top_k_kl(t.top_logprobs, t.top_ids, s) for t, s in zip(targets, scores, strict=True)]
    return torch.stack(losses).mean()


def guard_count(study_rows: int, share: float) -> int:
    """Guard rows to add to ``study_rows`` so that they are ``share`` of the update (>= 1 when
    the share is above zero)."""
    if share <= 0:
        return 0
    return max(1, round(study_rows * share / (1.0 - share)))


def batches(
    targets: Sequence[StudyTarget],
    guard: Sequence[StudyTarget],
    *,
    batch_size: int,
    epochs: int,
    guard_share: float,
    seed: int = 0,
) -> list[tuple[list[StudyTarget], list[StudyTarget]]]:
    """``epochs`` shuffled passes over ``targets`` in mini-batches, each with its share of guard
    rows (taken round-robin, so every guard paragraph is used)."""
    rng = random.Random(seed)
    plan = []
    next_guard = 0
    for _ in range(epochs):
        order = list(targets)
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            extra = []
            for _ in range(guard_count(len(rows), guard_share) if guard else 0):
                extra.append(guard[next_guard % len(guard)])
                next_guard += 1
            plan.append((rows, extra))
    return plan


def study_notes(targets: Sequence[StudyTarget], limit: int = 6) -> tuple[str, ...]:
    """A few prompt -> teacher answer lines for a learn report."""
    notes = tuple(f"{t.prompt!r} -> {t.answer!r}" for t in targets[:limit])
    more = len(targets) - limit
    return notes + ((f"... and {more} more study prompts",) if more > 0 else ())


def study_transcripts(
    backbone: Backbone, system_prompt: str, targets: Sequence[StudyTarget], per_transcript: int
) -> list[str]:
    """The study prompts with the teacher's answers as multi-turn chat transcripts of
    ``per_transcript`` turns each: how an engine that replays text keeps them for later."""
    texts = []
    for start in range(0, len(targets), per_transcript):
        messages: list[ChatMessage] = [{"role": "system", "content": system_prompt}]
        for target in targets[start : start + per_transcript]:
            messages += [
                {"role": "user", "content": target.prompt},
                {"role": "assistant", "content": target.answer},
            ]
        if backbone.tokenizer.chat_template:
            texts.append(str(backbone.tokenizer.apply_chat_template(messages, tokenize=False)))
        else:
            texts.append("".join(f"{m['role']}: {m['content']}\n" for m in messages))
    return texts


def document_targets(
    backbone: Backbone,
    document: str,
    settings: SelfStudySettings,
    *,
    system_prompt: str,
    on_event: Callable[[ProgressEvent], None] | None = None,
) -> list[StudyTarget]:
    """An engine's study set for ``document``, as its section's settings ask: the teacher (the
    frozen backbone, the document in its prompt) answers the study prompts."""
    emit(on_event, "teacher answers", 0, settings.study_prompts)
    return teacher_targets(
        backbone,
        document,
        study_prompts(document, settings.study_prompts),
        system_prompt=system_prompt,
        top_k=settings.study_top_k,
        answer_tokens=settings.study_answer_tokens,
    )


def general_targets(
    backbone: Backbone,
    texts: Sequence[str],
    settings: SelfStudySettings,
    *,
    system_prompt: str,
    on_event: Callable[[ProgressEvent], None] | None = None,
) -> list[StudyTarget]:
    """An engine's guard rows on general ``texts``, as its section's settings ask (none when
    ``guard_share`` is 0): computed once per model and settings, then read from the cache
    folder (``core/backbone_cache.py``; milliseconds)."""
    if settings.guard_share <= 0:
        return []
    key = cache_key(
        fingerprint=backbone.fingerprint(),
        texts=texts,
        settings={
            "model": backbone.name,
            "top_k": settings.study_top_k,
            "answer_tokens": settings.study_answer_tokens,
            "system_prompt": system_prompt,
        },
    )
    return cached_targets(
        default_cache_dir(),
        key,
        lambda: guard_targets(
            backbone,
            texts,
            system_prompt=system_prompt,
            top_k=settings.study_top_k,
            answer_tokens=settings.study_answer_tokens,
        ),
        backbone.device,
        on_event=on_event,
    )
