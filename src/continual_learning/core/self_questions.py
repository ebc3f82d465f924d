"""Questions a model writes about a document itself, so learning needs no hand-typed QA pairs.

ACE runs its loops on them when ``learn(text)`` gets no questions; the Doc-to-LoRA trainer adds
them to SQuAD's own questions as distillation targets (the teacher writes what it is asked).

One call per sentence rather than one call for the whole document: asked for several pairs
at once, a 135M model writes one and then repeats itself, while a question about a single named
sentence stays on a fact. The sentences are spread across the document. A reply with a question
but no usable answer gets its answer from a second call that shows only the source sentence;
if that fails too the question is kept without one (ACE's Reflector then judges answers against
the document instead of against a reference).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from continual_learning.types import QAItem

QUESTION_PROMPT = (
    "Passage:\n{document}\n\nWrite one question about this sentence of the passage, and its "
    "short answer (a few words copied from the sentence), as 'Q: ...' and 'A: ...'.\n"
    "Sentence: {sentence}"
)

ANSWER_PROMPT = (
    "Sentence: {sentence}\nQuestion: {question}\n"
    "Answer the question with a few words copied from the sentence."
)

_ANSWER_LABEL = re.compile(r"^\s*A(?:nswer)?\s*[:.]\s*", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_QUESTION = re.compile(r"^\s*(?:Q(?:uestion)?\s*[:.]\s*)?(?P<q>[^\n]{8,}?\?)\s*$", re.M | re.I)
_ANSWER = re.compile(r"^\s*A(?:nswer)?\s*[:.]\s*(?P<a>[^\n]+?)\s*$", re.M | re.I)
_WORD = re.compile(r"[a-z0-9]{4,}")

Chat = Callable[[str], str]
"""Sends one user message to the role LLM, returns its reply."""


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if len(s.split()) >= 3]


def spread(items: list[str], count: int) -> list[str]:
    """``count`` items evenly spaced from first to last (all of them when there are fewer)."""
    if len(items) <= count:
        return items
    if count == 1:
        return items[:1]
    step = (len(items) - 1) / (count - 1)
    return [items[round(i * step)] for i in range(count)]


def read_question(reply: str, sentence: str) -> tuple[str, str] | None:
    """The reply's first question about the sentence, with the answer on the line after it
    ("" when there is none), or None when it asks nothing about the sentence.

    A question that shares no word of four letters or more with its sentence ("What is the
    answer to this question?") is a degenerate reply, not a question about the fact; an answer
    that shares none ("The answer to this question is:") is dropped and the question kept.
    """
    for match in _QUESTION.finditer(reply):
        if _shares_a_word(match["q"], sentence):
            answer = _ANSWER.match(reply, match.end() + 1)
            if answer is not None and _shares_a_word(answer["a"], sentence):
                return match["q"].strip(), answer["a"].strip()
            return match["q"].strip(), ""
    return None


def answer_from(chat: Chat, question: str, sentence: str) -> str:
    """The LLM's short answer to ``question`` with only its source sentence in view; "" if it
    shares no word with the sentence. One sentence is little enough that a small model copies
    the answer out of it, and a reference lets the Reflector score answers instead of asking."""
    reply = chat(ANSWER_PROMPT.format(sentence=sentence, question=question))
    answer = next((line.strip() for line in reply.splitlines() if line.strip()), "")
    answer = _ANSWER_LABEL.sub("", answer).strip()
    return answer if _shares_a_word(answer, sentence) else ""


def _shares_a_word(text: str, sentence: str) -> bool:
    return bool(set(_WORD.findall(text.lower())) & set(_WORD.findall(sentence.lower())))


def questions_about(chat: Chat, document: str, *, doc_id: str, count: int) -> list[QAItem]:
    """Up to ``count`` distinct questions about ``document``, one role call per sentence."""
    items: list[QAItem] = []
    seen: set[str] = set()
    for sentence in spread(split_sentences(document), count):
        pair = read_question(
            chat(QUESTION_PROMPT.format(document=document, sentence=sentence)), sentence
        )
        if pair is None or pair[0].lower() in seen:
            continue
        seen.add(pair[0].lower())
        question, answer = pair
        answer = answer or answer_from(chat, question, sentence)
        items.append(
            QAItem(
                id=f"{doc_id}-q{len(items) + 1}",
                question=question,
                answers=(answer,) if answer else (),
                doc_id=doc_id,
            )
        )
    return items
