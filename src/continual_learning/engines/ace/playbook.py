"""The playbook: sections of bullets that ACE grows instead of changing weights.

ACE (Zhang et al., 2025, arXiv 2510.04618) keeps what it learns as itemised bullets, each with a
stable id and helpful/harmful counters, and changes them only through small *delta operations*.
Rewriting the whole context each time is what the paper calls "context collapse": a model asked
to restate a long playbook drops details. So the only ways in are :class:`DeltaOp`\\ s, applied all
or nothing by :meth:`Playbook.apply`; near-duplicates are merged there, and a budget evicts the
least useful bullets by their counters.

Saved as JSON with a schema tag and version, checked field by field on load.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from continual_learning.core.storage import atomic_write_json, read_json
from continual_learning.errors import PlaybookError, StateError

SCHEMA = "continual-learning/ace-playbook"
SCHEMA_VERSION = 1
SECTIONS = ("facts", "strategies", "mistakes")
"""Facts the documents state, answering strategies, and mistakes to avoid."""
MAX_BULLET_CHARS = 400

OpKind = Literal["add", "update", "remove", "tag"]
Tag = Literal["helpful", "harmful"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(kw_only=True)
class Bullet:
    """One itemised piece of the playbook."""

    id: str
    section: str
    text: str
    helpful: int = 0
    harmful: int = 0
    created: str = field(default_factory=_now)
    updated: str = field(default_factory=_now)

    @property
    def usefulness(self) -> int:
        return self.helpful - self.harmful


@dataclass(frozen=True, kw_only=True)
class DeltaOp:
    """One edit: ``add`` (section, text), ``update`` (bullet_id, text), ``remove`` (bullet_id)
    or ``tag`` (bullet_id, tag)."""

    op: OpKind
    section: str = ""
    bullet_id: str = ""
    text: str = ""
    tag: Tag | None = None


@dataclass(frozen=True, kw_only=True)
class ApplyResult:
    """What one :meth:`Playbook.apply` did."""

    added: tuple[str, ...] = ()
    merged: tuple[str, ...] = ()
    """Ids of existing bullets that absorbed a near-duplicate ``add``."""
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    tagged: tuple[str, ...] = ()


class Playbook:
    """Bullets in sections, edited only through :meth:`apply`."""

    def __init__(self, name: str = "playbook") -> None:
        self.name = name
        self.bullets: list[Bullet] = []
        self.next_id = 1

    def __len__(self) -> int:
        return len(self.bullets)

    def get(self, bullet_id: str) -> Bullet | None:
        return next((b for b in self.bullets if b.id == bullet_id), None)

    # -- editing ---------------------------------------------------------------------------

    def apply(self, ops: Sequence[DeltaOp], *, dedup_threshold: float = 1.0) -> ApplyResult:
        """Apply every op or none: they run on a copy that replaces the bullets only at the end.

        An ``add`` whose text is at least ``dedup_threshold`` similar (see :func:`similarity`)
        to a bullet of the same section is merged into that bullet instead.
        """
        draft = copy.deepcopy(self.bullets)
        next_id = self.next_id
        changes: dict[str, list[str]] = {k: [] for k in ("added", "merged", "updated", "removed")}
        tagged: list[str] = []
        for op in ops:
            _validate(op)
            if op.op == "add":
                twin = _near_duplicate(draft, op.section, op.text, dedup_threshold)
                if twin is not None:
                    _merge(twin, op.text)
                    changes["merged"].append(twin.id)
                    continue
                bullet = Bullet(id=f"b{next_id}", section=op.section, text=op.text.strip())
                next_id += 1
                draft.append(bullet)
                changes["added"].append(bullet.id)
                continue
            target = _find(draft, op.bullet_id)
            if op.op == "update":
                target.text, target.updated = op.text.strip(), _now()
                changes["updated"].append(target.id)
            elif op.op == "remove":
                draft.remove(target)
                changes["removed"].append(target.id)
            else:
                _tag(target, op.tag)
                tagged.append(target.id)
        self.bullets, self.next_id = draft, next_id
        return ApplyResult(
            added=tuple(changes["added"]),
            merged=tuple(changes["merged"]),
            updated=tuple(changes["updated"]),
            removed=tuple(changes["removed"]),
            tagged=tuple(tagged),
        )

    def enforce_budget(
        self, *, max_bullets: int, max_tokens: int = 0, count_tokens: Callable[[str], int]
    ) -> list[Bullet]:
        """Evict the least useful bullets until both budgets hold; return what was evicted.

        Least useful first: lowest helpful-minus-harmful, then fewest helpful, then the one
        changed longest ago. A bullet nobody has tagged yet therefore outlives one marked harmful.
        """
        ranked = sorted(self.bullets, key=lambda b: (b.usefulness, b.helpful, b.updated))
        evicted: list[Bullet] = []
        tokens = sum(count_tokens(render_bullet(b)) for b in self.bullets)
        for bullet in ranked:
            over_count = len(self.bullets) - len(evicted) > max_bullets
            over_tokens = max_tokens > 0 and tokens > max_tokens
            if not (over_count or over_tokens):
                break
            evicted.append(bullet)
            tokens -= count_tokens(render_bullet(bullet))
        gone = {b.id for b in evicted}
        self.bullets = [b for b in self.bullets if b.id not in gone]
        return evicted

    def clear(self) -> None:
        self.bullets, self.next_id = [], 1

    # -- reading ---------------------------------------------------------------------------

    def render(self) -> str:
        """The playbook as the Generator sees it: sections with ``[id] text`` lines."""
        parts = []
        for section in SECTIONS:
            lines = [render_bullet(b) for b in self.bullets if b.section == section]
            if lines:
                parts.append(f"{section.capitalize()}:\n" + "\n".join(lines))
        return "\n\n".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "name": self.name,
            "next_id": self.next_id,
            "bullets": [asdict(b) for b in self.bullets],
        }

    @classmethod
    def from_json(cls, data: Any, *, where: str) -> Playbook:
        """Build a playbook from parsed JSON, or raise :class:`PlaybookError` naming the fault."""
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise PlaybookError(f"{where} is not an ACE playbook (no '{SCHEMA}' schema tag)")
        if data.get("version") != SCHEMA_VERSION:
            raise PlaybookError(
                f"{where} has playbook version {data.get('version')}; this reads {SCHEMA_VERSION}"
            )
        playbook = cls(str(data.get("name", "playbook")))
        rows = data.get("bullets")
        if not isinstance(rows, list):
            raise PlaybookError(f"{where}: 'bullets' must be a list")
        playbook.bullets = [_bullet(row, f"{where}: bullet {n}") for n, row in enumerate(rows, 1)]
        ids = [b.id for b in playbook.bullets]
        if len(set(ids)) != len(ids):
            raise PlaybookError(f"{where}: bullet ids are not unique")
        next_id = data.get("next_id")
        if not isinstance(next_id, int) or next_id < 1:
            raise PlaybookError(f"{where}: 'next_id' must be a positive integer")
        playbook.next_id = max([next_id, *(_number(i) + 1 for i in ids)])
        return playbook

    def save(self, path: Path) -> None:
        atomic_write_json(path, self.to_json())

    @classmethod
    def load(cls, path: Path) -> Playbook:
        try:
            data = read_json(path, what="ACE playbook")
        except StateError as exc:  # missing or not JSON: still a playbook problem to the caller
            raise PlaybookError(str(exc)) from None
        return cls.from_json(data, where=str(path))


def render_bullet(bullet: Bullet) -> str:
    return f"[{bullet.id}] {bullet.text}"


# -- helpers -----------------------------------------------------------------------------------


def _validate(op: DeltaOp) -> None:
    if op.op == "add":
        if op.section not in SECTIONS:
            raise PlaybookError(f"add: unknown section {op.section!r} (use {', '.join(SECTIONS)})")
        _check_text(op)
    elif op.op == "update":
        _check_text(op)
    elif op.op == "tag" and op.tag not in ("helpful", "harmful"):
        raise PlaybookError(f"tag: {op.tag!r} is neither 'helpful' nor 'harmful'")
    elif op.op not in ("remove", "tag"):
        raise PlaybookError(f"unknown operation {op.op!r}")


def _check_text(op: DeltaOp) -> None:
    text = op.text.strip()
    if not text:
        raise PlaybookError(f"{op.op}: empty bullet text")
    if len(text) > MAX_BULLET_CHARS:
        raise PlaybookError(f"{op.op}: bullet text longer than {MAX_BULLET_CHARS} characters")


def _find(bullets: list[Bullet], bullet_id: str) -> Bullet:
    for bullet in bullets:
        if bullet.id == bullet_id:
            return bullet
    raise PlaybookError(f"no bullet with id {bullet_id!r}")


def _tag(bullet: Bullet, tag: Tag | None) -> None:
    if tag == "helpful":
        bullet.helpful += 1
    else:
        bullet.harmful += 1
    bullet.updated = _now()


def _merge(bullet: Bullet, text: str) -> None:
    """Keep the bullet's id and counters; keep the more informative (longer) wording."""
    if len(text.strip()) > len(bullet.text):
        bullet.text = text.strip()
    bullet.updated = _now()


def _near_duplicate(
    bullets: list[Bullet], section: str, text: str, threshold: float
) -> Bullet | None:
    """The most similar bullet of ``section`` if its similarity reaches ``threshold``."""
    candidates = [b for b in bullets if b.section == section]
    if not candidates or threshold >= 1.0 + 1e-9:
        return None
    scores = similarity(text, [b.text for b in candidates])
    best = max(range(len(candidates)), key=scores.__getitem__)
    return candidates[best] if scores[best] >= threshold else None


def similarity(text: str, others: Sequence[str]) -> list[float]:
    """Cosine of ``text`` with each of ``others`` over character 3-5-gram frequencies.

    Character n-grams see "Zorblax Quentaro is the capital of Velmoria" and "The capital of
    Velmoria is Zorblax Quentaro." as near-duplicates (0.90), which word counts over a handful of
    words would not. No IDF: fitted on a few bullets it would swing with the playbook's size.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import linear_kernel

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), use_idf=False)
    try:
        matrix = vectorizer.fit_transform([text, *others])
    except ValueError:  # nothing but whitespace or very short strings
        return [float(text.strip().lower() == o.strip().lower()) for o in others]
    return [float(s) for s in linear_kernel(matrix[0], matrix[1:]).ravel()]


def _bullet(row: Any, where: str) -> Bullet:
    if not isinstance(row, dict):
        raise PlaybookError(f"{where} is not an object")
    try:
        bullet = Bullet(
            id=_string(row["id"]),
            section=_string(row["section"]),
            text=_string(row["text"]),
            helpful=_count(row.get("helpful", 0)),
            harmful=_count(row.get("harmful", 0)),
            created=_string(row.get("created", _now())),
            updated=_string(row.get("updated", _now())),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PlaybookError(f"{where} is malformed: {exc}") from None
    if bullet.section not in SECTIONS:
        raise PlaybookError(f"{where}: unknown section {bullet.section!r}")
    if _number(bullet.id) < 1 or not bullet.text.strip():
        raise PlaybookError(f"{where}: needs an id like 'b12' and non-empty text")
    return bullet


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"expected a count >= 0, got {value!r}")
    return value


def _number(bullet_id: str) -> int:
    """12 for ``"b12"``; 0 for anything that is not such an id."""
    digits = bullet_id[1:]
    return int(digits) if bullet_id.startswith("b") and digits.isdigit() else 0
