"""Question-answering scores: the official SQuAD metrics, ``contains``, and abstention.

Normalisation, exact match and token F1 follow the official SQuAD v2.0 evaluation script
(lower-case, strip punctuation and the articles a/an/the, collapse white space; F1 over bag of
tokens; for an unanswerable question, 1 only for an empty prediction). Small chat models rarely
answer with an empty string, so :func:`is_abstention` maps refusals such as "I don't know" or
"not mentioned" to the empty answer first; the scores are then exactly what the official script
gives on the predictions file.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterator, Sequence

from continual_learning.types import QAScore, QASummary

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)
_ABSTENTION = re.compile(
    r"^(unanswerable|no answer|none|n/?a|unknown)\W*$"
    r"|\b(i (do not|don't|cannot|can't) (know|answer|tell|say|find))"
    r"|\b(cannot|can't|can not) be (answered|determined|found)"
    r"|\b(not (mentioned|stated|specified|given|provided) in)"
    r"|\b(does not|doesn't) (say|mention|specify|provide|state)"
    r"|\bno (information|answer) (about|on|in|is)",
    re.IGNORECASE,
)


_SENTENCE_END = re.compile(r"[.!?;\n]\s+")
_WORD = re.compile(r"\S+")
_REPEAT_RUN_WORDS = 6
_LOOP_RUN_WORDS = 12


def first_repeat(answer: str, *, finished: bool = True) -> int | None:
    """Where an answer first says again what it already said, or None: a sentence of three
    words or more that occurs again, or a run of six words that occurs again. The character
    offset of the earliest second occurrence. While an answer is still being written
    (``finished=False``) its last, unterminated sentence is not compared.
    """
    found: list[int] = []
    seen: set[str] = set()
    for start, _, sentence in _sentences(answer, finished=finished):
        if sentence in seen:
            found.append(start)
            break
        seen.add(sentence)
    run = _repeated_run(answer, _REPEAT_RUN_WORDS)
    if run is not None:
        found.append(run)
    return min(found) if found else None


def repeats_itself(answer: str) -> bool:
    """True when an answer says the same thing twice (see :func:`first_repeat`)."""
    return first_repeat(answer) is not None


def loop_start(answer: str, *, finished: bool = True) -> int | None:
    """Where an answer falls into a loop, or None: the start of the first of two sentences in a
    row that each repeat an earlier one, or of the second occurrence of a twelve-word run
    (loops without punctuation).

    One repeated sentence followed by something new is a stutter, not a loop: small models
    often restate a fact and then go on to the next one ("The course is 88 km long. The course
    is 88 km long. The record was set by Aksel Brandt."), and the answer is in what follows.
    """
    found: list[int] = []
    seen: set[str] = set()
    pending: int | None = None  # start of a repeated sentence, not yet known to be a loop
    for start, _, sentence in _sentences(answer, finished=finished):
        if sentence not in seen:
            seen.add(sentence)
            pending = None
        elif pending is None:
            pending = start
        else:
            found.append(pending)
            break
    run = _repeated_run(answer, _LOOP_RUN_WORDS)
    if run is not None:
        found.append(run)
    return min(found) if found else None


def without_repetition(answer: str) -> str:
    """The answer up to where it falls into a loop, each sentence said once, and cut where
    it still says something twice (a run of words shared by two sentences)."""
    offset = loop_start(answer)
    text = answer if offset is None else answer[:offset]
    kept, seen, cursor = [], set(), 0
    for start, end, sentence in _sentences(text, finished=True):
        kept.append(text[cursor:start])  # what lies between sentences (short ones included)
        if sentence not in seen:
            seen.add(sentence)
            kept.append(text[start:end])
        cursor = end
    kept.append(text[cursor:])
    once = "".join(kept)
    offset = first_repeat(once)
    return (once if offset is None else once[:offset]).rstrip()


def _sentences(answer: str, *, finished: bool) -> Iterator[tuple[int, int, str]]:
    """(start, end, normalised text) of each sentence of three words or more; the last,
    unterminated one only when the answer is ``finished``."""
    ends = [m.end() for m in _SENTENCE_END.finditer(answer)] + ([len(answer)] if finished else [])
    start = 0
    for end in ends:
        sentence = normalize_answer(answer[start:end])
        if len(sentence.split()) >= 3:
            yield start, end, sentence
        start = end


def _repeated_run(answer: str, length: int) -> int | None:
    """Offset of the earliest second occurrence of a run of ``length`` words, or None."""
    words = [(m.start(), normalize_answer(m.group())) for m in _WORD.finditer(answer)]
    words = [(offset, word) for offset, word in words if word]
    runs: set[tuple[str, ...]] = set()
    for i in range(len(words) - length + 1):
        run = tuple(word for _, word in words[i : i + length])
        if run in runs:
            return words[i][0]
        runs.add(run)
    return None


def normalize_answer(text: str) -> str:
    """The official SQuAD normalisation."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def is_abstention(prediction: str) -> bool:
    """True for an empty answer or an explicit refusal to answer."""
    return not normalize_answer(prediction) or bool(_ABSTENTION.search(prediction.strip()))


def official_prediction(prediction: str) -> str:
    """The string to write into an official SQuAD predictions file ('' for an abstention)."""
    return "" if is_abstention(prediction) else prediction


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = Counter(pred_tokens) & Counter(gold_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(pred_tokens)
    recall = overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def contains(prediction: str, gold: str) -> float:
    """1 when the normalised gold answer appears, as whole words, in the normalised prediction."""
    gold_norm = normalize_answer(gold)
    if not gold_norm:
        return 0.0
    return float(f" {gold_norm} " in f" {normalize_answer(prediction)} ")


def score_answer(prediction: str, answers: Sequence[str]) -> QAScore:
    """Score one prediction against its gold answers; no answers means unanswerable."""
    abstained = is_abstention(prediction)
    if not answers:
        hit = float(abstained)
        return QAScore(exact_match=hit, f1=hit, contains=hit, abstained=abstained)
    official = official_prediction(prediction)
    return QAScore(
        exact_match=max(exact_match(official, g) for g in answers),
        f1=max(token_f1(official, g) for g in answers),
        contains=max(contains(prediction, g) for g in answers),
        abstained=abstained,
    )


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default): unlike p +- z*se it stays
    inside [0, 1] and is honest for a few dozen trials and proportions near 0 or 1."""
    if trials <= 0:
        return (0.0, 1.0)
    p = successes / trials
    scale = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / scale
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / scale
    return (round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4))


def summarize(scores: Sequence[QAScore]) -> QASummary:
    """Mean scores as fractions in [0, 1], and how often the model abstained."""
    n = len(scores)
    if n == 0:
        return QASummary(count=0, exact_match=0.0, f1=0.0, contains=0.0, abstention_rate=0.0)
    return QASummary(
        count=n,
        exact_match=sum(s.exact_match for s in scores) / n,
        f1=sum(s.f1 for s in scores) / n,
        contains=sum(s.contains for s in scores) / n,
        abstention_rate=sum(s.abstained for s in scores) / n,
    )
