"""SQuAD v1.1 / v2.0 in the official JSON layout, grouped so that a paragraph is a document.

``load_squad`` reads a file the user names. ``resolve_squad_path`` finds one: the configured
path, else a cached copy of the official dev set, else (when the machine is online) a download
from the official address into the cache. The workbench's tests and benchmarks pass the copy in
``../shared/data/squad/`` explicitly when it exists.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from continual_learning.config.schema import SquadConfig
from continual_learning.core.paths import default_cache_dir
from continual_learning.core.storage import atomic_write_bytes
from continual_learning.errors import DatasetError
from continual_learning.types import Document, QAItem


@dataclass(frozen=True, kw_only=True)
class SquadParagraph:
    """One context paragraph with every question asked about it."""

    id: str
    title: str
    context: str
    questions: tuple[QAItem, ...]

    def as_document(self) -> Document:
        return Document(id=self.id, text=self.context, source=f"squad:{self.title}")

    @property
    def answerable(self) -> tuple[QAItem, ...]:
        return tuple(q for q in self.questions if not q.is_impossible)

    @property
    def unanswerable(self) -> tuple[QAItem, ...]:
        return tuple(q for q in self.questions if q.is_impossible)


def load_squad(path: Path) -> list[SquadParagraph]:
    """Parse a SQuAD JSON file; any layout problem is a :class:`DatasetError` naming the spot."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"SQuAD file not found: {path}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"SQuAD file {path} is not valid JSON: {exc}") from None
    try:
        return [
            _paragraph(article, a_index, p_index, paragraph)
            for a_index, article in enumerate(raw["data"])
            for p_index, paragraph in enumerate(article["paragraphs"])
        ]
    except (KeyError, TypeError) as exc:
        raise DatasetError(
            f"SQuAD file {path} does not have the official layout: {exc!r}"
        ) from None


def _paragraph(article: dict, a_index: int, p_index: int, paragraph: dict) -> SquadParagraph:
    paragraph_id = f"{a_index:03d}-{p_index:03d}"
    questions = tuple(
        QAItem(
            id=str(qa["id"]),
            question=str(qa["question"]),
            # v1.1 has no is_impossible; deduplicate golds but keep their order.
            answers=()
            if qa.get("is_impossible", False)
            else tuple(dict.fromkeys(str(a["text"]) for a in qa["answers"])),
            doc_id=paragraph_id,
        )
        for qa in paragraph["qas"]
    )
    return SquadParagraph(
        id=paragraph_id,
        title=str(article.get("title", "")),
        context=str(paragraph["context"]),
        questions=questions,
    )


def sample_paragraphs(
    paragraphs: list[SquadParagraph], n: int, *, seed: int = 0, require_answerable: bool = True
) -> list[SquadParagraph]:
    """``n`` paragraphs drawn with a fixed seed (those with an answerable question, by default)."""
    pool = [p for p in paragraphs if p.answerable] if require_answerable else list(paragraphs)
    if n > len(pool):
        raise DatasetError(f"asked for {n} SQuAD paragraphs, only {len(pool)} are available")
    return random.Random(seed).sample(pool, n)


HELDOUT_ARTICLES = 5
"""The dev file's last articles that the Doc-to-LoRA trainer never trains on by default, so that
its benchmark and ``bench squad --last-articles`` can learn paragraphs it has never seen."""


def split_by_article(
    paragraphs: Sequence[SquadParagraph], last_articles: int
) -> tuple[list[SquadParagraph], list[SquadParagraph]]:
    """(the rest, the last ``last_articles`` articles of the file). Whole articles are split, not
    paragraphs, so nothing on the held side shares a topic page with the rest: the Doc-to-LoRA
    trainer trains on the rest and ``bench squad --last-articles`` learns the held side."""
    titles = list(dict.fromkeys(p.title for p in paragraphs))
    held = set(titles[max(0, len(titles) - last_articles) :]) if last_articles > 0 else set()
    return (
        [p for p in paragraphs if p.title not in held],
        [p for p in paragraphs if p.title in held],
    )


def resolve_squad_path(config: SquadConfig, *, cache_dir: Path | None = None) -> Path:
    """The configured file, else the cached official dev set, downloading it once if online."""
    if config.path:
        path = Path(config.path).expanduser()
        if not path.is_file():
            raise DatasetError(f"SQuAD file not found: {path} (config key squad.path)")
        return path
    cached = (cache_dir or default_cache_dir()) / "squad" / Path(config.url).name
    if cached.is_file():
        return cached
    return _download(config.url, cached)


def _download(url: str, target: Path) -> Path:
    import requests

    try:
        response = requests.get(url, timeout=(10, 120))
        response.raise_for_status()
        json.loads(response.content)
    except (requests.RequestException, ValueError) as exc:
        raise DatasetError(
            f"cannot download SQuAD from {url} ({type(exc).__name__}); "
            "set config key squad.path to a local SQuAD JSON file"
        ) from None
    atomic_write_bytes(target, response.content)
    return target
