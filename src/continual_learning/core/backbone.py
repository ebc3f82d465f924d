"""The backbone: one loaded causal language model with its tokenizer, shared by every engine.

A model name can be a catalogue name provisioned by ``continual-learning models fetch``, a local
Hugging Face folder, a ``.gguf`` file, or a hub id. Engines receive a :class:`Backbone` and must
leave it as they found it when cleared; :meth:`Backbone.fingerprint` lets callers check that.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from continual_learning.config.schema import GenerationConfig, ModelConfig
from continual_learning.core.answer_precision import AnswerPrecision, answer_dtype
from continual_learning.errors import ModelError

if TYPE_CHECKING:
    import torch
    from transformers import (
        DynamicCache,
        LogitsProcessor,
        PreTrainedModel,
        PreTrainedTokenizerBase,
        StoppingCriteriaList,
    )
    from transformers import GenerationConfig as HFGenerationConfig

log = logging.getLogger(__name__)

ChatMessage = dict[str, str]
"""``{"role": "system" | "user" | "assistant", "content": str}``, as chat templates expect."""


@dataclass(frozen=True, kw_only=True)
class GenerationOptions:
    """Per-call generation settings, derived from :class:`GenerationConfig`."""

    max_new_tokens: int = 64
    min_new_tokens: int = 0
    do_sample: bool = False
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int = 0
    stop_repeats: bool = False
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0

    @classmethod
    def from_config(cls, config: GenerationConfig) -> GenerationOptions:
        return cls(
            max_new_tokens=config.max_new_tokens,
            min_new_tokens=config.min_new_tokens,
            do_sample=config.do_sample,
            temperature=config.temperature,
            top_p=config.top_p,
            seed=config.seed,
            stop_repeats=config.stop_repeats,
            repetition_penalty=config.repetition_penalty,
            no_repeat_ngram_size=config.no_repeat_ngram_size,
        )


@dataclass(eq=False)
class Backbone:
    """A model, its tokenizer and where it lives. Build it with :func:`load_backbone`."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    name: str
    precision: AnswerPrecision = field(default_factory=AnswerPrecision)
    """The dtype answers are decoded in (``model.answer_dtype``); learning and scores use the
    weights as they are."""
    _fingerprint: str | None = field(default=None, repr=False)

    @property
    def device(self) -> torch.device:
        return self.model.device

    @property
    def _generate(self) -> Callable[..., torch.Tensor]:
        """``model.generate``, typed (the stubs reach it through ``nn.Module.__getattr__``)."""
        return cast("Callable[..., torch.Tensor]", self.model.generate)

    @property
    def context_window(self) -> int:
        """Longest sequence the model was trained for (prompt plus answer)."""
        return int(getattr(self.model.config, "max_position_embeddings", 2048))

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode_chat(self, messages: Sequence[ChatMessage]) -> torch.Tensor:
        """Token ids for ``messages`` with the generation prompt appended; shape (1, T).

        Uses the tokenizer's chat template when it has one, otherwise a plain
        ``role: content`` transcript, so that base models without a template still work.
        """
        import torch

        if self.tokenizer.chat_template:
            encoded = self.tokenizer.apply_chat_template(
                list(messages), add_generation_prompt=True, return_dict=True
            )
            ids = cast(Mapping[str, Any], encoded)["input_ids"]
        else:
            transcript = "".join(f"{m['role']}: {m['content']}\n" for m in messages)
            ids = self.tokenizer(transcript + "assistant:", add_special_tokens=True)["input_ids"]
        return torch.tensor([ids], dtype=torch.long, device=self.device)

    def _generation_config(self, options: GenerationOptions) -> HFGenerationConfig:
        from transformers import GenerationConfig as HFGenerationConfig

        eos = self.tokenizer.eos_token_id
        return HFGenerationConfig(
            max_new_tokens=options.max_new_tokens,
            min_new_tokens=min(options.min_new_tokens, options.max_new_tokens) or None,
            do_sample=options.do_sample,
            temperature=options.temperature if options.do_sample else None,
            top_p=options.top_p if options.do_sample else None,
            top_k=None,
            repetition_penalty=options.repetition_penalty
            if options.repetition_penalty != 1
            else None,
            no_repeat_ngram_size=options.no_repeat_ngram_size or None,
            eos_token_id=eos,
            pad_token_id=self.pad_token_id,
        )

    @property
    def pad_token_id(self) -> int:
        """The tokenizer's padding id, else end-of-sequence (SmolLM2 has no separate pad)."""
        pad = self.tokenizer.pad_token_id
        return int(pad if pad is not None else self.tokenizer.eos_token_id)

    def right_padded(self, rows: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows of ids (each 1 x T) as one right-padded batch (rows x longest) and its attention
        mask, on the model's device. Right padding keeps every real token at its own position,
        so a causal model computes for each row what it computes for the row alone."""
        import torch

        longest = max(row.shape[1] for row in rows)
        ids = torch.full((len(rows), longest), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for index, row in enumerate(rows):
            ids[index, : row.shape[1]] = row[0].cpu()
            mask[index, : row.shape[1]] = 1
        return ids.to(self.device), mask.to(self.device)

    def generate_from_ids(
        self,
        input_ids: torch.Tensor,
        options: GenerationOptions,
        *,
        logits_processors: Sequence[LogitsProcessor] = (),
    ) -> str:
        """Decode a continuation of ``input_ids`` (1, T) and return only the new text."""
        import torch
        from transformers import LogitsProcessorList

        if options.do_sample:
            torch.manual_seed(options.seed)
        with torch.inference_mode(), self.precision.applied(self.model):
            output = self._generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                generation_config=self._generation_config(options),
                logits_processor=LogitsProcessorList(logits_processors),
                stopping_criteria=self._stopping(options, input_ids.shape[1]),
            )
        return self._reply(output[0, input_ids.shape[1] :], options)

    def _stopping(self, options: GenerationOptions, start: int) -> StoppingCriteriaList:
        from transformers import StoppingCriteriaList

        from continual_learning.core.repetition import RepetitionStop

        criteria = [RepetitionStop(self.tokenizer, start)] if options.stop_repeats else []
        return StoppingCriteriaList(criteria)

    def _reply(self, new_tokens: torch.Tensor, options: GenerationOptions) -> str:
        from continual_learning.core.scoring import without_repetition

        text = str(self.tokenizer.decode(new_tokens, skip_special_tokens=True)).strip()
        return without_repetition(text) if options.stop_repeats else text

    def generate_batch(
        self,
        prompts: Sequence[torch.Tensor],
        options: GenerationOptions,
        *,
        logits_processors: Sequence[LogitsProcessor] = (),
    ) -> list[str]:
        """Continuations of several prompts (each 1 x T) in one ``generate`` call.

        Decoding one sequence is memory-bound (every token reads every weight), so a batch
        reads the weights once per step for all its rows: on a CPU several answers cost little
        more than one, and on a GPU thousands of short replies (a trainer's teacher answers)
        take minutes, not hours. Prompts that begin alike (the system prompt; the in-context
        engine's documents) share that beginning: it is run once and its key/value cache
        copied to every row, the rows' own tails right-aligned after it (padding in between,
        masked; positions follow the mask), so a long shared context costs one prefill, not one
        per question. ``logits_processors`` see the whole (B, V) scores; see
        ``core/row_logits.py`` for processors that differ per row."""
        import torch
        from transformers import LogitsProcessorList

        rows = [prompt[0].tolist() for prompt in prompts]
        shared = _shared_prefix_length(rows) if len(rows) > 1 else 0
        tail = max(len(row) - shared for row in rows)
        ids = torch.full((len(rows), shared + tail), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for index, row in enumerate(rows):
            ids[index, :shared] = torch.tensor(row[:shared])
            ids[index, shared + tail - (len(row) - shared) :] = torch.tensor(row[shared:])
            mask[index, :shared] = 1
            mask[index, shared + tail - (len(row) - shared) :] = 1
        if options.do_sample:
            torch.manual_seed(options.seed)
        with torch.inference_mode(), self.precision.applied(self.model):
            extra = {"cache": self._prefix_cache(ids[:1, :shared], len(rows))} if shared else {}
            output = self._generate(
                input_ids=ids.to(self.device),
                attention_mask=mask.to(self.device),
                generation_config=self._generation_config(options),
                logits_processor=LogitsProcessorList(logits_processors),
                stopping_criteria=self._stopping(options, shared + tail),
                **extra,
            )
        return [self._reply(row[shared + tail :], options) for row in output]

    def _prefix_cache(self, prefix: torch.Tensor, rows: int) -> DynamicCache:
        """The key/value cache of ``prefix`` (1, P), repeated for ``rows`` rows."""
        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)
        self.model(input_ids=prefix.to(self.device), cache=cache, use_cache=True)
        cache.batch_repeat_interleave(rows)
        return cache

    def chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        *,
        logits_processors: Sequence[LogitsProcessor] = (),
    ) -> str:
        """Answer the last user message of ``messages``."""
        return self.generate_from_ids(
            self.encode_chat(messages), options, logits_processors=logits_processors
        )

    def fingerprint(self) -> str:
        """A short hash of the model's weights, cheap enough to take at every save and load.

        Hashing every byte of a 1.5B model would take seconds, so each tensor contributes its
        name, shape, dtype and a strided sample of up to 4,096 of its values: any realistic
        difference between two backbones (another checkpoint, a fine-tune) changes it.
        """
        if self._fingerprint is None:
            self._fingerprint = weights_fingerprint(self.model)
        return self._fingerprint

    def weights_changed(self, reference: str) -> bool:
        """Recompute the fingerprint now (not the cached one) and compare with ``reference``."""
        return weights_fingerprint(self.model) != reference


def _shared_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """Tokens every row begins with, leaving each row at least one token of its own."""
    limit = min(len(row) for row in rows) - 1
    length = 0
    while length < limit and len({row[length] for row in rows}) == 1:
        length += 1
    return length


def weights_fingerprint(model: torch.nn.Module) -> str:
    """Hash of names, shapes and sampled values of every parameter and buffer of ``model``."""
    import torch

    digest = hashlib.sha256()
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            flat = tensor.detach().reshape(-1)
            stride = max(1, flat.numel() // 4096)
            sample = flat[::stride].to(device="cpu", dtype=torch.float32).contiguous()
            digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
            digest.update(sample.numpy().tobytes())
    return digest.hexdigest()[:16]


def resolve_device(requested: str) -> str:
    """``auto`` picks CUDA, then Apple MPS, then CPU; an unavailable explicit choice is an error."""
    import torch

    available = {
        "cuda": torch.cuda.is_available(),
        "mps": bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()),
        "cpu": True,
    }
    if requested == "auto":
        return next(name for name in ("cuda", "mps", "cpu") if available[name])
    if not available[requested]:
        raise ModelError(f"config key 'model.device': {requested} is not available on this machine")
    return requested


def resolve_dtype(requested: str, device: str) -> torch.dtype:
    """``auto`` means float32 on CPU (fast and exact there) and bfloat16 on capable GPUs."""
    import torch

    if requested != "auto":
        return getattr(torch, requested)
    if device == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def load_backbone(config: ModelConfig, *, models_dir: Path | None = None) -> Backbone:
    """Load the model named by ``config.name`` (see module docstring for the accepted forms)."""
    from continual_learning.core.freed_memory import reuse_freed_memory
    from continual_learning.core.model_store import resolve_model_source
    from continual_learning.core.paths import default_models_dir
    from continual_learning.core.threads import configure_threads

    configure_threads(config.threads)
    if config.reuse_freed_memory:
        reuse_freed_memory()
    models_dir = models_dir or default_models_dir(config.models_dir)
    source = resolve_model_source(config.name, models_dir=models_dir)
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype, device)
    model, tokenizer = _load_pretrained(source.path_or_id, source.gguf_file, dtype, config.name)
    from torch import nn

    nn.Module.to(model, device)  # PreTrainedModel.to's decorator hides its signature
    model.eval()
    model.requires_grad_(False)
    precision = AnswerPrecision(answer_dtype(config.answer_dtype, device))
    log.info("loaded %s on %s as %s, answering in %s", config.name, device, dtype, precision.name)
    backbone = Backbone(model=model, tokenizer=tokenizer, name=config.name, precision=precision)
    backbone.fingerprint()  # now, as loaded: not later, inside an engine's wrapped layers
    return backbone


def _load_pretrained(
    path_or_id: str, gguf_file: str | None, dtype: torch.dtype, name: str
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    from safetensors import SafetensorError
    from transformers import AutoModelForCausalLM, AutoTokenizer

    extra = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(path_or_id, **extra)
        model = AutoModelForCausalLM.from_pretrained(path_or_id, dtype=dtype, **extra)
    except SafetensorError as exc:
        raise ModelError(
            f"the weights of {path_or_id} are damaged ({exc}); fetch or copy the model again"
        ) from None
    except (OSError, ValueError) as exc:
        if Path(path_or_id).exists():
            raise ModelError(f"cannot load model from {path_or_id}: {exc}") from None
        raise ModelError(
            f"cannot load '{name}' from the Hugging Face hub (offline, or no such model); "
            "provision one for offline use with 'continual-learning models fetch NAME' "
            "(see 'continual-learning models list')"
        ) from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def describe_backbone(backbone: Backbone) -> list[tuple[str, str]]:
    """Label/value rows for Model Info screens."""
    from continual_learning.core.threads import thread_usage

    model = backbone.model
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return [
        ("model", backbone.name),
        ("architecture", str(model.config.model_type)),
        ("layers", str(backbone.num_layers)),
        ("parameters", f"{total:,}"),
        ("trainable parameters", f"{trainable:,}"),
        ("context window", f"{backbone.context_window} tokens"),
        ("device", str(backbone.device)),
        ("torch threads", thread_usage().describe()),
        ("dtype", str(model.dtype).removeprefix("torch.")),
        ("answers decoded in", _answer_dtype_label(backbone)),
        ("weights fingerprint", backbone.fingerprint()),
    ]


def _answer_dtype_label(backbone: Backbone) -> str:
    """``bfloat16``, or the weights' own dtype said as such (``model.answer_dtype: weights``)."""
    if backbone.precision.dtype is None:
        return f"{str(backbone.model.dtype).removeprefix('torch.')} (the weights' own)"
    return backbone.precision.name
