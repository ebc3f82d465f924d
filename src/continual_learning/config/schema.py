"""The workbench's own config sections (engines declare theirs in ``engines/<key>/config.py``).

Each section maps to a top-level key of ``configs/default.yaml``. Fields carry their defaults,
ranges and a one-line help text; the YAML file must agree with them (a test checks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

from continual_learning.config.fields import setting
from continual_learning.errors import ConfigError

AnswerStyle = Literal["sentence", "short"]
"""How a benchmark asks its questions (``core/answer_style.py``)."""

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Which backbone to load and where it runs."""

    name: str = setting(
        "smollm2-135m-instruct", help="catalogue name, local folder, .gguf or hub id"
    )
    device: Literal["auto", "cuda", "mps", "cpu"] = setting("auto", help="where the model runs")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = setting(
        "auto", help="auto: float32 on CPU, bfloat16 on GPUs that support it"
    )
    answer_dtype: Literal["auto", "weights", "bfloat16"] = setting(
        "weights",
        help="dtype answers are decoded in (learning keeps the weights' own); auto: bfloat16 "
        "on CPUs with bfloat16 instructions",
    )
    models_dir: str = setting("", help="where fetched models live; empty: <project>/models")
    threads: int = setting(
        0, minimum=0, maximum=1024, help="torch intra-op threads; 0: the machine's physical cores"
    )
    reuse_freed_memory: bool = setting(  # measured: docs/speed.md#freed-memory
        True,
        help="keep freed memory for reuse (glibc) instead of fresh zeroed pages at every "
        "decoding step; the process keeps its peak memory until it exits",
    )


@dataclass(frozen=True, kw_only=True)
class GenerationConfig:
    """How answers are generated. Greedy by default so that every comparison is repeatable."""

    max_new_tokens: int = setting(64, minimum=1, maximum=8192, help="tokens per answer")
    min_new_tokens: int = setting(
        0, minimum=0, maximum=8192, help="end-of-answer is ignored before this many tokens"
    )
    do_sample: bool = setting(False, help="sample instead of greedy decoding")
    stop_repeats: bool = setting(
        True, help="end an answer once it falls into a loop; keep each sentence once"
    )
    repetition_penalty: float = setting(
        1.0, minimum=1.0, maximum=3.0, help="transformers' penalty on tokens already seen; 1: off"
    )
    no_repeat_ngram_size: int = setting(
        0, minimum=0, maximum=64, help="forbid repeating any n-gram of this size; 0: off"
    )
    temperature: float = setting(0.7, minimum=0.01, maximum=5.0, help="used only when sampling")
    top_p: float = setting(0.95, minimum=0.01, maximum=1.0, help="used only when sampling")
    seed: int = setting(0, minimum=0, help="random seed for sampling")
    system_prompt: str = setting(
        "You are a helpful assistant. Answer the question briefly, in a few words.",
        help="system message for question answering",
    )


@dataclass(frozen=True, kw_only=True)
class DocumentsConfig:
    """Limits on what the document readers accept."""

    max_file_bytes: int = setting(
        10_000_000, minimum=1, help="larger files are refused, not truncated"
    )


@dataclass(frozen=True, kw_only=True)
class SquadConfig:
    """Where the SQuAD JSON comes from."""

    path: str = setting(
        "", help="SQuAD v1.1/v2.0 JSON; empty: cached download of the official dev set"
    )
    url: str = setting(
        "https://rajpurkar.github.io/SQuAD-explorer/dataset/dev-v2.0.json",
        help="official address used when no path is set and the machine is online",
    )


@dataclass(frozen=True, kw_only=True)
class HarnessConfig:
    """How comparisons and benchmarks measure."""

    batch_size: int = setting(
        32,
        minimum=1,
        maximum=1024,
        help="questions answered together in one generate call; 1: one at a time",
    )
    answer_style: AnswerStyle = setting(
        "sentence",
        help="sentence: the model's own reply; short: asked for the answer alone (exact match)",
    )


CORE_SECTIONS: Mapping[str, type] = {
    "model": ModelConfig,
    "generation": GenerationConfig,
    "documents": DocumentsConfig,
    "squad": SquadConfig,
    "harness": HarnessConfig,
}


@dataclass(frozen=True, kw_only=True)
class AppConfig:
    """The whole, validated configuration: core sections plus one section per engine."""

    model: ModelConfig
    generation: GenerationConfig
    documents: DocumentsConfig
    squad: SquadConfig
    harness: HarnessConfig
    engines: Mapping[str, DataclassInstance]

    def engine_config(self, cls: type[T]) -> T:
        """The engine config section of class ``cls`` (an engine's own ``<Name>Config``), typed."""
        for section in self.engines.values():
            if isinstance(section, cls):
                return section
        raise ConfigError(f"no config section of type {cls.__name__}")

    def engine(self, key: str) -> DataclassInstance:
        """The config section of engine ``key`` (its own ``<Name>Config`` dataclass)."""
        try:
            return self.engines[key]
        except KeyError:
            raise ConfigError(f"no config section for engine '{key}'") from None
