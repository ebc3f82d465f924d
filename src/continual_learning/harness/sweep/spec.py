"""A sweep's YAML spec, checked, and the grid of independent jobs it expands to.

::

    mode: stream                 # stream (the accuracy matrix) or compare
    episodes: 4                  # stream only
    by: document                 # stream only: document | source
    seeds: 3                     # K (orders / training seeds 0..K-1) or a list [0, 5]
    datasets:                    # each a separate merged report
      - facts
      - {name: squad, n: 20, last_articles: 5, episode_size: 10}
      - {name: files, documents: [docs/], questions: qs.jsonl}
    engines:
      - jitrl-mvp
      - engine: ttt-e2e
        grid: {gate_fraction: [0.1, 1.0]}       # one job per combination
      - engine: replay-lora
        label: replay-lora (no replay)
        overrides: {min_replay_ratio: 0.0}
    settings:                    # layered over your config for every job
      generation: {max_new_tokens: 32}
    heldout: 10                  # held-out SQuAD paragraphs (forgetting)
    reading: 0                   # reading-probe questions

The grid is datasets x engine variants x seeds; the baselines (closed-book, in-context,
oracle-context) join every dataset and seed once. Every mistake names its key, before any job
starts.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from continual_learning.data import FACT_SETS
from continual_learning.errors import ConfigError
from continual_learning.harness.runner import BASELINES, EngineRun

Mode = Literal["stream", "compare"]
DATASETS = ("facts", "squad", "files")
_TOP_KEYS = frozenset(
    [
        "name",
        "mode",
        "episodes",
        "by",
        "seeds",
        "datasets",
        "engines",
        "settings",
        "heldout",
        "reading",
    ]
)


@dataclass(frozen=True, kw_only=True)
class DatasetSpec:
    """What one merged report is about: ``facts``, ``squad`` (``n``, ``last_articles``,
    ``seed``, ``episode_size``: paragraphs learned that many at a time) or ``files``
    (``documents``, ``questions``, relative to the spec's folder)."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in sorted(self.options.items()) if k != "documents")
        return f"{self.name}({extra})" if extra else self.name


@dataclass(frozen=True, kw_only=True)
class SweepJob:
    """One engine variant on one dataset under one seed: the unit a worker runs."""

    dataset: DatasetSpec
    run: EngineRun
    seed: int

    @property
    def key(self) -> str:
        """A file name that is stable for the same job and changes when anything in it does."""
        digest = hashlib.sha256(json.dumps(self.describe(), sort_keys=True).encode()).hexdigest()
        slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{self.dataset.name}-{self.run.name}").strip("-")
        return f"{slug[:48]}-s{self.seed}-{digest[:10]}"

    def describe(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset.name,
            "dataset_options": dict(self.dataset.options),
            "engine": self.run.engine,
            "label": self.run.name,
            "overrides": dict(self.run.overrides),
            "seed": self.seed,
        }


@dataclass(frozen=True, kw_only=True)
class SweepSpec:
    name: str
    mode: Mode
    datasets: tuple[DatasetSpec, ...]
    runs: tuple[EngineRun, ...]
    seeds: tuple[int, ...]
    episodes: int = 4
    by: Literal["document", "source"] = "document"
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    heldout: int = 10
    reading: int = 0
    folder: Path = Path(".")
    """Where relative paths in ``datasets`` are read from (the spec file's folder)."""

    def jobs(self) -> list[SweepJob]:
        """Baselines first for each dataset and seed, then every engine variant. In compare mode
        the baselines run under seed 0 only: without training, the seed changes nothing."""
        jobs = []
        for dataset, seed in itertools.product(self.datasets, self.seeds):
            runs = list(self.runs)
            if self.mode == "stream" or seed == self.seeds[0]:
                runs = [*(EngineRun(engine=b) for b in BASELINES), *runs]
            jobs += [SweepJob(dataset=dataset, run=run, seed=seed) for run in runs]
        return jobs

    def fingerprint(self) -> str:
        """What every job's result depends on beyond the job itself (settings, protocol)."""
        shared = {
            "mode": self.mode,
            "episodes": self.episodes,
            "by": self.by,
            "settings": self.settings,
            "heldout": self.heldout,
            "reading": self.reading,
        }
        return hashlib.sha256(json.dumps(shared, sort_keys=True).encode()).hexdigest()[:12]


def read_spec(path: Path) -> SweepSpec:
    """Read and check a sweep spec; a mistake is a :class:`ConfigError` naming the key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"sweep spec not found: {path}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"sweep spec {path} cannot be read: {_first_line(exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"sweep spec {path} must be a mapping of keys (mode, engines, ...)")
    return parse_spec(data, folder=path.parent, name=path.stem)


def parse_spec(
    data: Mapping[str, Any], *, folder: Path = Path("."), name: str = "sweep"
) -> SweepSpec:
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"sweep spec: unknown key(s) {', '.join(unknown)}")
    mode = data.get("mode", "stream")
    if mode not in ("stream", "compare"):
        raise ConfigError(f"sweep spec key 'mode' must be stream or compare, not {mode!r}")
    by = data.get("by", "document")
    if by not in ("document", "source"):
        raise ConfigError(f"sweep spec key 'by' must be document or source, not {by!r}")
    return SweepSpec(
        name=str(data.get("name", name)),
        mode=mode,
        datasets=tuple(_dataset(d) for d in _list(data, "datasets", default=["facts"])),
        runs=tuple(_engine_variants(_list(data, "engines", default=None))),
        seeds=_seeds(data.get("seeds", 1)),
        episodes=_count(data, "episodes", 4, minimum=1),
        by=by,
        settings=_settings(data.get("settings") or {}),
        heldout=_count(data, "heldout", 10, minimum=0),
        reading=_count(data, "reading", 0, minimum=0),
        folder=folder,
    )


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _list(data: Mapping[str, Any], key: str, *, default: list[Any] | None) -> list[Any]:
    value = data.get(key, default)
    if value is None:
        raise ConfigError(f"sweep spec key '{key}' is required")
    if not isinstance(value, list) or not value:
        raise ConfigError(f"sweep spec key '{key}' must be a non-empty list")
    return value


def _count(data: Mapping[str, Any], key: str, default: int, *, minimum: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"sweep spec key '{key}' must be a whole number >= {minimum}")
    return value


def _seeds(value: Any) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return tuple(range(value))
    if (
        isinstance(value, list)
        and value
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value)
        and len(set(value)) == len(value)
    ):
        return tuple(value)
    raise ConfigError("sweep spec key 'seeds' must be a count >= 1 or a list of distinct seeds")


def _dataset(entry: Any) -> DatasetSpec:
    if isinstance(entry, str):
        entry = {"name": entry}
    if not isinstance(entry, dict) or entry.get("name") not in DATASETS:
        raise ConfigError(f"sweep spec 'datasets': each is one of {', '.join(DATASETS)}")
    allowed = {"facts": {"fact_set"}, "squad": {"n", "last_articles", "seed", "episode_size"}}
    allowed["files"] = {"documents", "questions"}
    options = {k: v for k, v in entry.items() if k != "name"}
    extra = sorted(set(options) - allowed[entry["name"]])
    if extra:
        raise ConfigError(
            f"sweep spec dataset '{entry['name']}': unknown key(s) {', '.join(extra)}"
        )
    if entry["name"] == "facts" and options.get("fact_set", "shipped") not in FACT_SETS:
        raise ConfigError(f"sweep spec dataset 'facts': fact_set is one of {', '.join(FACT_SETS)}")
    if entry["name"] == "files" and not {"documents", "questions"} <= set(options):
        raise ConfigError("sweep spec dataset 'files' needs 'documents' and 'questions'")
    return DatasetSpec(name=entry["name"], options=options)


def _engine_variants(entries: Sequence[Any]) -> list[EngineRun]:
    """Each entry: a name, or ``{engine, label?, overrides?, grid?}``; a grid is expanded."""
    from continual_learning.engines.registry import get_spec

    runs: list[EngineRun] = []
    for entry in entries:
        entry = {"engine": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, dict) or "engine" not in entry:
            raise ConfigError("sweep spec 'engines': each is a name or a mapping with 'engine'")
        extra = sorted(set(entry) - {"engine", "label", "overrides", "grid"})
        if extra:
            raise ConfigError(f"sweep spec engine entry: unknown key(s) {', '.join(extra)}")
        spec = get_spec(str(entry["engine"]))  # an unknown engine is an EngineError here
        if spec.display_name in BASELINES:
            raise ConfigError(f"sweep spec 'engines': {spec.display_name} always runs; omit it")
        runs += _expand(spec.display_name, entry)
    labels = [r.name for r in runs]
    twice = sorted({n for n in labels if labels.count(n) > 1})
    if twice:
        raise ConfigError(f"sweep spec 'engines': label(s) used twice: {', '.join(twice)}")
    return runs


def _expand(engine: str, entry: Mapping[str, Any]) -> list[EngineRun]:
    overrides = _mapping(entry.get("overrides") or {}, f"{engine} overrides")
    grid = _mapping(entry.get("grid") or {}, f"{engine} grid")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"sweep spec {engine} grid key '{key}' must list its values")
    combos = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    runs = []
    for combo in combos:
        suffix = " ".join(f"{k}={v}" for k, v in combo.items())
        base = entry.get("label") or engine
        run = EngineRun(
            engine=engine,
            label=f"{base} {suffix}".strip() if (suffix or entry.get("label")) else "",
            overrides={**overrides, **combo},
        )
        _check_overrides(run)
        runs.append(run)
    return runs


def _check_overrides(run: EngineRun) -> None:
    """Build the engine's section with the overrides now, so a bad key fails before any job."""
    from continual_learning.config.loader import (
        build_app_config,
        default_config_path,
        read_yaml_config,
    )

    run.config(build_app_config(read_yaml_config(default_config_path(), missing_ok=False)))


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"sweep spec {what} must be a mapping")
    return dict(value)


def _settings(value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ConfigError("sweep spec key 'settings' must map sections to mappings of settings")
    return {str(k): dict(v) for k, v in value.items()}
