"""What depends only on the frozen backbone, kept on disk between processes.

What the frozen backbone does on fixed general paragraphs (the forgetting guard's next-token
distributions and its answers to study prompts, Replay-LoRA's anchor perplexity; TTT-E2E's
TF-IDF gate keeps its own file the same way) depends only on the model's weights, the texts and
a few settings, yet computing it costs a weight engine seconds to tens of seconds on two CPU
cores: every ``learn`` command, which is a new process, paid it again. Here it is computed once
per model and settings and read back after, as safetensors (tensors) with JSON metadata, or as
JSON: nothing is unpickled, and a damaged file is recomputed and rewritten, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from continual_learning.core.storage import atomic_write_bytes, atomic_write_json
from continual_learning.core.study_target import StudyTarget
from continual_learning.types import ProgressEvent, emit

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
"""Raise it when what ``guard_targets`` computes changes, so old files are not read."""


def cache_key(*, fingerprint: str, texts: Sequence[str], settings: dict[str, object]) -> str:
    """A file name for the targets of these weights, texts and settings."""
    payload = json.dumps(
        {"v": FORMAT_VERSION, "weights": fingerprint, "texts": list(texts), "settings": settings},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def cached_targets(
    folder: Path,
    key: str,
    compute: Callable[[], list[StudyTarget]],
    device: object,
    *,
    on_event: Callable[[ProgressEvent], None] | None = None,
) -> list[StudyTarget]:
    """The targets stored under ``key``, or ``compute()``'s, stored for next time (saying so
    to ``on_event``: a first run on a machine computes them)."""
    path = folder / "guard-targets" / f"{key}.safetensors"
    found = _read(path, device)
    if found is not None:
        return found
    emit(on_event, "guard targets (once per model)", 0, None)
    targets = compute()
    try:
        atomic_write_bytes(path, _encode(targets))
    except OSError as exc:  # a read-only or full cache costs only the time, next process
        log.info("cannot keep guard targets in %s: %s", path.parent, exc)
    return targets


def cached_number(folder: Path, kind: str, key: str, compute: Callable[[], float]) -> float:
    """The number stored under ``kind``/``key``, or ``compute()``'s, stored for next time."""
    path = folder / kind / f"{key}.json"
    if path.is_file():
        try:
            value = json.loads(path.read_text())["value"]
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
        except (OSError, ValueError, KeyError, TypeError):
            pass
        log.warning("%s is damaged: computing it again", path)
    value = compute()
    try:
        atomic_write_json(path, {"value": value})
    except OSError as exc:  # a read-only or full cache costs only the time, next process
        log.info("cannot keep %s in %s: %s", kind, path.parent, exc)
    return value


def _encode(targets: Sequence[StudyTarget]) -> bytes:
    from safetensors.torch import save

    tensors: dict[str, torch.Tensor] = {}
    for n, t in enumerate(targets):
        tensors |= {
            f"{n}.ids": t.ids.cpu().contiguous(),
            f"{n}.top_ids": t.top_ids.cpu().contiguous(),
            f"{n}.top_logprobs": t.top_logprobs.cpu().contiguous(),
        }
    texts = [{"prompt": t.prompt, "answer": t.answer} for t in targets]
    return save(tensors, metadata={"targets": json.dumps(texts)})


def _read(path: Path, device: object) -> list[StudyTarget] | None:
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as handle:
            texts = json.loads((handle.metadata() or {})["targets"])
            targets = [
                StudyTarget(
                    ids=handle.get_tensor(f"{n}.ids").to(device),
                    top_ids=handle.get_tensor(f"{n}.top_ids").to(device),
                    top_logprobs=handle.get_tensor(f"{n}.top_logprobs").to(device),
                    prompt=row["prompt"],
                    answer=row["answer"],
                )
                for n, row in enumerate(texts)
            ]
    except (SafetensorError, OSError, KeyError, TypeError, ValueError) as exc:
        log.warning("guard targets %s are damaged (%s): computing them again", path, exc)
        return None
    return targets
