"""The Curator: turns a lesson into delta operations on the playbook, as JSON from the model.

The model sees the lesson and the few bullets most like it (so it can update or remove one
instead of adding a twin) and answers with a JSON list of operations. Its reply is read
leniently: code fences and prose around the JSON are ignored, broken JSON is mended with
``json_repair``, aliases (``id`` for ``bullet_id``, ``Facts`` for ``facts``) are accepted, and an
operation that still does not make sense (an unknown id, an empty text) is dropped on its own.
What is left is applied all at once by :meth:`Playbook.apply`, or not at all.

When nothing usable is left and ``fallback`` is on, the lesson itself is added as a fact: the
Reflector already wrote it as one sentence from the document, so a playbook still grows when the
model cannot write JSON (SmolLM2-135M mostly cannot).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from json_repair import repair_json

from continual_learning.engines.ace.llm import ChatModel
from continual_learning.engines.ace.playbook import (
    MAX_BULLET_CHARS,
    SECTIONS,
    DeltaOp,
    Playbook,
    similarity,
)

RELATED_BULLETS = 5

CURATOR_PROMPT = (
    "You keep a playbook of short bullets that help answer questions about documents.\n"
    "Related bullets:\n{related}\n\n"
    "New lesson: {lesson}\n\n"
    "Reply with JSON only: a list of operations. Each is one of\n"
    '{{"op": "add", "section": "facts" or "strategies" or "mistakes", "text": "..."}}\n'
    '{{"op": "update", "bullet_id": "b1", "text": "..."}}\n'
    '{{"op": "remove", "bullet_id": "b1"}}\n'
    "Add the lesson unless a related bullet already says it."
)

Outcome = Literal["parsed", "repaired", "fallback", "rejected", "skipped"]


@dataclass(frozen=True, kw_only=True)
class Curation:
    """The operations read from one Curator reply, and how they were obtained."""

    ops: tuple[DeltaOp, ...]
    outcome: Outcome
    dropped: int = 0
    """Operations in the reply that could not be used."""
    reply: str = ""


def curate_all(
    llm: ChatModel, playbook: Playbook, lessons: Sequence[str], *, max_tokens: int, fallback: bool
) -> list[Curation]:
    """Curate several lessons against the same ``playbook``; the calls go out as one batch."""
    asked = [i for i, lesson in enumerate(lessons) if lesson]
    prompts = [
        CURATOR_PROMPT.format(related=_related(playbook, lessons[i]), lesson=lessons[i])
        for i in asked
    ]
    replies = llm.chat_many(
        [[{"role": "user", "content": prompt}] for prompt in prompts], max_tokens=max_tokens
    )
    curations = [Curation(ops=(), outcome="skipped") for _ in lessons]
    for i, reply in zip(asked, replies, strict=True):
        curations[i] = read_curation(reply, playbook, lesson=lessons[i], fallback=fallback)
    return curations


def read_curation(reply: str, playbook: Playbook, *, lesson: str, fallback: bool) -> Curation:
    """Operations from ``reply``; see the module docstring for how lenient this is."""
    items, repaired = _json_items(reply)
    ops = [op for op in (_operation(item, playbook) for item in items) if op is not None]
    dropped = len(items) - len(ops)
    if ops:
        outcome: Outcome = "repaired" if repaired or dropped else "parsed"
        return Curation(ops=tuple(ops), outcome=outcome, dropped=dropped, reply=reply)
    if fallback and lesson:
        lesson_op = DeltaOp(op="add", section="facts", text=lesson)
        return Curation(ops=(lesson_op,), outcome="fallback", dropped=dropped, reply=reply)
    return Curation(ops=(), outcome="rejected", dropped=dropped, reply=reply)


def _related(playbook: Playbook, lesson: str) -> str:
    if not playbook.bullets:
        return "(none yet)"
    scores = similarity(lesson, [b.text for b in playbook.bullets])
    ranked = sorted(range(len(scores)), key=lambda i: -scores[i])[:RELATED_BULLETS]
    return "\n".join(f"[{playbook.bullets[i].id}] {playbook.bullets[i].text}" for i in ranked)


def _json_items(reply: str) -> tuple[list[Any], bool]:
    """The list of objects in ``reply`` and whether it had to be repaired to get them."""
    text = re.sub(r"```(?:json)?", "", reply).strip()
    start = min((i for i in (text.find("["), text.find("{")) if i >= 0), default=-1)
    if start < 0:
        return [], False
    text = text[start:]
    try:
        data, repaired = json.loads(text), False
    except json.JSONDecodeError:
        try:
            data, repaired = json.loads(repair_json(text)), True
        except (json.JSONDecodeError, ValueError):
            return [], True
    if isinstance(data, dict):
        data = data.get("operations", [data])
    return (list(data) if isinstance(data, list) else []), repaired


def _operation(item: Any, playbook: Playbook) -> DeltaOp | None:
    if not isinstance(item, dict):
        return None
    kind = str(item.get("op") or item.get("operation") or item.get("type") or "").lower()
    text = item.get("text") or item.get("content") or ""
    bullet_id = str(item.get("bullet_id") or item.get("id") or "").strip("[] ")
    if not isinstance(text, str) or len(text) > MAX_BULLET_CHARS:
        return None
    text = " ".join(text.split())
    if kind == "add" and text:
        section = str(item.get("section", "")).lower().strip()
        section = section if section in SECTIONS else "facts"
        return DeltaOp(op="add", section=section, text=text)
    if playbook.get(bullet_id) is None:
        return None
    if kind == "update" and text:
        return DeltaOp(op="update", bullet_id=bullet_id, text=text)
    if kind == "remove":
        return DeltaOp(op="remove", bullet_id=bullet_id)
    return None
