"""General prose, for the engines that need text unrelated to what is being learned.

TTT-E2E calibrates its TF-IDF gate on it (which neurons does *every* text use?) and Replay-LoRA
measures forgetting on it (its anchor set). Sources: ``builtin`` (40 paragraphs shipped with the
package), a ``.txt`` file (paragraphs separated by blank lines) or a SQuAD ``.json`` (its
contexts).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from continual_learning.errors import ConfigError, DatasetError

MIN_PARAGRAPH_CHARS = 40


def general_paragraphs(source: str, limit: int, *, config_key: str) -> list[str]:
    """Up to ``limit`` paragraphs of ``source``; ``config_key`` names the setting in errors."""
    if source == "builtin":
        text = resources.files("continual_learning.data").joinpath("calibration_corpus.txt")
        paragraphs = _paragraphs(text.read_text(encoding="utf-8"))
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise ConfigError(f"config key '{config_key}': no file at {path}")
        paragraphs = _squad_contexts(path) if path.suffix == ".json" else text_paragraphs(path)
    if len(paragraphs) < 2:
        raise DatasetError(f"corpus '{source}' has {len(paragraphs)} paragraphs; need 2+")
    return paragraphs[:limit]


def heldout_paragraphs(limit: int) -> list[str]:
    """Up to ``limit`` of the 12 general paragraphs shipped for measuring forgetting offline.

    They are kept apart from the ``builtin`` corpus (which TTT-E2E calibrates on and Replay-LoRA
    anchors on), so no engine has seen them when its held-out perplexity is measured.
    """
    text = resources.files("continual_learning.data").joinpath("heldout_corpus.txt")
    return _paragraphs(text.read_text(encoding="utf-8"))[:limit]


def text_paragraphs(path: Path) -> list[str]:
    """Paragraphs (blank-line separated, at least 40 characters) of a UTF-8 text file."""
    try:
        return _paragraphs(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DatasetError(f"{path} is not UTF-8 text") from None


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if len(p.strip()) >= MIN_PARAGRAPH_CHARS]


def _squad_contexts(path: Path) -> list[str]:
    from continual_learning.core.squad import load_squad

    contexts = dict.fromkeys(p.context for p in load_squad(path))
    return list(contexts)
