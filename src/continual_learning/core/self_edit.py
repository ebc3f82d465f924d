"""Self-generated training data: the backbone restates a document before it is trained on.

This is the "self-edit" of SEAL (Zweiger et al., 2025, arXiv 2506.10943): knowledge written as a
passage is hard to retrieve as an answer; the same knowledge restated by the model itself (its
implications, question-answer pairs) is easier. SEAL measured it on no-context SQuAD with
Qwen2.5-7B: training on the raw passage 33.5%, on the model's own implications 39.7%.

The weight-changing engines (TTT-E2E, Replay-LoRA) train on the raw document plus these texts.
Question-answer pairs are rendered through the chat template, in the same conversation format the
engines are later asked questions in, so the training text looks like the test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from continual_learning.core.backbone import Backbone, ChatMessage, GenerationOptions

FACTS_PROMPT = (
    "Read the passage below. Then list every fact it states, one short sentence per line. "
    "Name the subject in every sentence.\n\nPassage:\n{document}"
)
QUESTIONS_PROMPT = (
    "Read the passage below. Then write questions about its facts, each followed by its short "
    "answer, as lines 'Q: ...' and 'A: ...'.\n\nPassage:\n{document}"
)
_QA_LINE = re.compile(r"^\s*Q\s*[:.]\s*(?P<q>.+?)\s*\n\s*A\s*[:.]\s*(?P<a>.+?)\s*$", re.M | re.I)


@dataclass(frozen=True, kw_only=True)
class SelfEdits:
    """What the backbone wrote about one document, ready to be trained on."""

    facts: tuple[str, ...]
    """Restated facts, one sentence each."""
    qa_pairs: tuple[tuple[str, str], ...]
    """(question, answer) pairs."""

    def training_texts(self, backbone: Backbone, system_prompt: str) -> list[str]:
        """The facts as one paragraph, and each pair as a one-turn chat transcript."""
        texts = [" ".join(self.facts)] if self.facts else []
        texts += [qa_transcript(backbone, system_prompt, q, a) for q, a in self.qa_pairs]
        return texts


def write_self_edits(backbone: Backbone, document: str, *, max_new_tokens: int) -> SelfEdits:
    """Ask the backbone, with ``document`` in its context, for facts and for QA pairs."""
    options = GenerationOptions(max_new_tokens=max_new_tokens)
    with backbone.precision.suspended():  # training text: the weights' own dtype
        facts_text = backbone.chat(_ask(FACTS_PROMPT, document), options)
        questions_text = backbone.chat(_ask(QUESTIONS_PROMPT, document), options)
    return SelfEdits(facts=parse_facts(facts_text), qa_pairs=parse_qa_pairs(questions_text))


def parse_facts(text: str) -> tuple[str, ...]:
    """Non-empty lines, list markers stripped; a line cut off by the token limit is dropped."""
    lines = [
        re.sub(r"^\s*(?:[-*\u2022]|\d+[.)])\s*", "", line).strip() for line in text.splitlines()
    ]
    lines = [line for line in lines if len(line.split()) >= 3]
    if lines and not lines[-1].endswith((".", "!", "?")):
        lines.pop()
    return tuple(dict.fromkeys(lines))


def parse_qa_pairs(text: str) -> tuple[tuple[str, str], ...]:
    pairs = [(m["q"], m["a"]) for m in _QA_LINE.finditer(text)]
    return tuple(dict.fromkeys((q, a) for q, a in pairs if q and a))


def qa_transcript(backbone: Backbone, system_prompt: str, question: str, answer: str) -> str:
    messages: list[ChatMessage] = [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": question},
        {"role": "assistant", "content": answer},
    ]
    if backbone.tokenizer.chat_template:
        return str(backbone.tokenizer.apply_chat_template(messages, tokenize=False))
    return "".join(f"{m['role']}: {m['content']}\n" for m in messages)


def _ask(template: str, document: str) -> list[ChatMessage]:
    return [{"role": "user", "content": template.format(document=document)}]
