"""What a worker does with one job: run it on a backbone it loads once, and return plain JSON.

The payload carries everything a job needs (its resolved config, its inputs), so a worker reads
no file of the sweep's and a Ray worker on another machine needs only the package and the
model. Whatever a job returns is JSON-ready, so the same job gives the same bytes whether a
local process or a Ray task ran it.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

from continual_learning.config.schema import AppConfig, ModelConfig
from continual_learning.core.backbone import Backbone
from continual_learning.harness.inputs import ComparisonInputs
from continual_learning.harness.runner import (
    ProgressCallback,
    failure_reason,
    run_one,
    seed_everything,
)
from continual_learning.harness.stream import stream_one
from continual_learning.harness.sweep.spec import SweepJob

_BACKBONES: dict[ModelConfig, Backbone] = {}
"""Per worker process: loading the model once serves every job the process runs."""


@dataclass(frozen=True, kw_only=True)
class JobPayload:
    job: SweepJob
    key: str
    config: AppConfig
    inputs: ComparisonInputs
    mode: Literal["stream", "compare"]
    episodes: int
    by: Literal["document", "source"]


def execute(payload: JobPayload, on_event: ProgressCallback | None = None) -> dict[str, Any]:
    """Run one job; an engine that fails is a result with its reason, never an exception.
    ``on_event`` gets the job's progress (learning, answering) while it runs."""
    started = time.perf_counter()
    try:
        result = _run(payload, on_event)
    except Exception as exc:  # the model would not load, the inputs were wrong: a failed row
        result = {"error": failure_reason(exc)}
    return finished(payload, result, time.perf_counter() - started)


def finished(payload: JobPayload, result: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The record a job leaves: what ran, where, how long, and its result."""
    return {
        "key": payload.key,
        "job": payload.job.describe(),
        "result": result,
        "seconds": round(seconds, 3),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "threads": payload.config.model.threads,
    }


def _run(payload: JobPayload, on_event: ProgressCallback | None) -> dict[str, Any]:
    backbone = _backbone(payload.config.model)
    original = backbone.fingerprint()
    run = payload.job.run
    try:
        if payload.mode == "stream":
            done: Any = stream_one(
                run,
                payload.inputs,
                backbone,
                payload.config,
                payload.episodes,
                seed=payload.job.seed,
                by=payload.by,
                on_event=on_event,
            )
        else:
            seed_everything(payload.job.seed)
            done = run_one(run, payload.inputs, backbone, payload.config, original, on_event)
    finally:
        changed = backbone.weights_changed(original)
        if changed:  # never hand the next job a backbone an engine left changed
            _BACKBONES.pop(payload.config.model, None)
    if changed:
        raise RuntimeError(f"{run.name} left the backbone modified after clear()")
    return asdict(done)


def _backbone(model: ModelConfig) -> Backbone:
    if model not in _BACKBONES:
        from continual_learning.core.backbone import load_backbone

        _BACKBONES.clear()  # one model in memory per worker
        _BACKBONES[model] = load_backbone(model)
    return _BACKBONES[model]
