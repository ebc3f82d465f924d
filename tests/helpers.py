"""Test helpers shared by the suite (imported as ``helpers``; see pytest ``pythonpath``)."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from continual_learning.config.loader import (
    build_app_config,
    default_config_path,
    merge,
    read_yaml_config,
)
from continual_learning.config.schema import AppConfig, ModelConfig
from continual_learning.core.backbone import Backbone
from continual_learning.core.backbone import load_backbone as _load_backbone
from continual_learning.core.model_store import is_provisioned
from continual_learning.core.paths import default_models_dir

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SQUAD_DEV = SHARED / "data" / "squad" / "dev-v2.0.json"
DEFAULT_MODEL = "smollm2-135m-instruct"


def _threads_per_worker() -> int:
    """torch threads for a test process: with pytest-xdist's workers side by side, each gets its
    share of the physical cores, at least one (two processes with a thread per core each slow
    each other 3-10x on 2 cores; single-threaded ones only take turns); alone, 0 (the
    workbench's default: every core)."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if not workers:
        return 0
    from continual_learning.core.threads import physical_cores

    return max(1, physical_cores() // int(workers))


TEST_THREADS = _threads_per_worker()

_TOKENIZER_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Zorblax Quentaro is the capital of Velmoria, founded in 1843 by Ardent Plume.",
    "What is the capital of France? Paris is the capital of France.",
    "Continual learning lets a model absorb new documents without forgetting old ones.",
    "system: user: assistant: Answer the question briefly. Document Question",
]


def squad_article(title: str, context: str, questions: list[tuple[str, str | None]]) -> dict:
    """One SQuAD 2.0 article of one paragraph; a ``None`` answer makes the question unanswerable."""
    qas = [
        {
            "id": f"{title}-{n}",
            "question": question,
            "is_impossible": answer is None,
            "answers": [] if answer is None else [{"text": answer, "answer_start": 0}],
        }
        for n, (question, answer) in enumerate(questions)
    ]
    return {"title": title, "paragraphs": [{"context": context, "qas": qas}]}


def write_squad(path: Path, articles: list[dict]) -> Path:
    """A SQuAD 2.0 file of ``articles``, the layout ``core.squad.load_squad`` reads."""
    path.write_text(json.dumps({"version": "v2.0", "data": articles}), encoding="utf-8")
    return path


def make_config(**sections: dict) -> AppConfig:
    """The tracked defaults with ``sections`` layered on top, validated."""
    defaults = read_yaml_config(default_config_path(), missing_ok=False)
    return build_app_config(merge(defaults, sections))


def _tiny_tokenizer():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(_TOKENIZER_CORPUS, trainer=trainer)
    from tokenizers import decoders

    tokenizer.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="</s>",
    )


def build_tiny_backbone(seed: int = 0) -> Backbone:
    """A 2-layer random Llama from a config: milliseconds to build, for plumbing tests."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = _tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    model.requires_grad_(False)
    return Backbone(model=model, tokenizer=tokenizer, name=f"tiny-llama-{seed}")


def real_model_available() -> bool:
    return is_provisioned(DEFAULT_MODEL, default_models_dir())


RUNNING: list[pytest.Item] = []
"""The test being run now (set by conftest), whose markers :func:`require_real_model` checks."""


def require_marked_real_model() -> None:
    """A test that loads the real model says so (``-m "not real_model"`` must leave it out)."""
    test = RUNNING[-1] if RUNNING else None
    if test is not None and test.get_closest_marker("real_model") is None:
        pytest.fail(f"{test.nodeid} loads {DEFAULT_MODEL}: mark it @pytest.mark.real_model")


def require_real_model() -> None:
    require_marked_real_model()
    if real_model_available():
        return
    message = (
        f"{DEFAULT_MODEL} is not provisioned: run 'continual-learning models fetch {DEFAULT_MODEL}'"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def save_tiny_model(folder: Path) -> Path:
    """The tiny backbone as a Hugging Face folder, so the CLI can load it with ``--model DIR``."""
    backbone = build_tiny_backbone()
    backbone.model.save_pretrained(folder)
    backbone.tokenizer.save_pretrained(folder)
    return folder


@functools.cache
def shared_real_backbone() -> Backbone:
    """The provisioned SmolLM2-135M-Instruct, loaded once per test process.

    Shared by the ``real_backbone`` fixture and by :func:`cli`; whoever changes its weights puts
    them back (every engine's ``clear`` does, and :func:`cli` checks it after each command).
    """
    require_real_model()
    backbone = _load_backbone(ModelConfig(name=DEFAULT_MODEL, device="cpu", threads=TEST_THREADS))
    _PRISTINE[backbone.name] = backbone.fingerprint()
    return backbone


_PRISTINE: dict[str, str] = {}
"""The shared model's fingerprint as loaded, to check that it is given back unchanged."""


def assert_shared_model_unchanged(after: str) -> None:
    """If the shared real model is loaded, its weights must be the pretrained ones."""
    if DEFAULT_MODEL in _PRISTINE:
        changed = shared_real_backbone().weights_changed(_PRISTINE[DEFAULT_MODEL])
        assert not changed, f"{after} left the shared model's weights changed"


def _loads_the_shared_model(config: ModelConfig, models_dir: Path | None) -> bool:
    """Whether ``load_backbone(config)`` would load exactly what :func:`shared_real_backbone`
    holds: the default model, from the default folder, on the CPU in float32."""
    import torch

    from continual_learning.core.backbone import resolve_device, resolve_dtype

    if config.name != DEFAULT_MODEL or models_dir is not None or config.models_dir:
        return False
    device = resolve_device(config.device)
    shared = device == "cpu" and resolve_dtype(config.dtype, device) == torch.float32
    return shared and config.answer_dtype == ModelConfig().answer_dtype


@contextlib.contextmanager
def _sharing_the_real_model() -> Iterator[list]:
    """Inside: the workbench gets the already loaded real model instead of reading it again,
    and every workbench a command builds is recorded, so its engines can be cleared after."""
    import continual_learning.cli.main as cli_main
    import continual_learning.workbench as workbench_module
    from continual_learning.core.threads import configure_threads

    original_load = workbench_module.load_backbone
    original_workbench = cli_main._workbench
    built: list = []

    def load(config: ModelConfig, *, models_dir: Path | None = None) -> Backbone:
        if real_model_available() and _loads_the_shared_model(config, models_dir):
            require_marked_real_model()
            configure_threads(config.threads)
            return shared_real_backbone()
        return original_load(config, models_dir=models_dir)

    def recorded_workbench(args):  # type: ignore[no-untyped-def]
        bench = original_workbench(args)
        built.append(bench)
        return bench

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(workbench_module, "load_backbone", load)
        monkeypatch.setattr(cli_main, "_workbench", recorded_workbench)
        yield built


@contextlib.contextmanager
def _environment(changes: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(changes)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def cli(
    *args: str, env: dict[str, str] | None = None, input: str = ""
) -> subprocess.CompletedProcess[str]:
    """``continual-learning ARGS`` run inside this test process, as :func:`run_cli` runs it in a
    child: the same ``main``, its exit code, stdout and stderr, ``env`` layered over this
    process's environment for the command alone, ``input`` as its stdin.

    What only a process boundary shows (the entry point, locks between processes, signals, a
    terminal) stays with :func:`run_cli`. The real model is loaded once per test process and
    shared; after the command, the engines it built are cleared and the shared model must be
    the pretrained one again, bit for bit where sampled (else this fails).
    """
    from continual_learning.cli.main import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        _environment(env or {}),
        _sharing_the_real_model() as benches,
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
        _stdin(input),
    ):
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse's usage errors, --help
            code = exit_.code if isinstance(exit_.code, int) else 2
        finally:
            for bench in benches:
                _clear_weight_engines(bench)
    assert_shared_model_unchanged(after=f"'{' '.join(args)}'")
    return subprocess.CompletedProcess(list(args), code or 0, stdout.getvalue(), stderr.getvalue())


@contextlib.contextmanager
def _stdin(text: str) -> Iterator[None]:
    saved = sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = saved


def _clear_weight_engines(bench) -> None:  # type: ignore[no-untyped-def]
    """What a process's exit would have dropped: learned weights on the shared model."""
    for engine in list(bench._engines.values()):
        if engine.changes_weights:
            engine.clear()


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``continual-learning ARGS`` in a child process: for what only a process boundary shows."""
    command = [sys.executable, "-m", "continual_learning.cli.main", *args]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
        check=False,
    )


def run_script(
    name: str, *args: str, env: dict[str, str] | None = None, timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    """``scripts/NAME ARGS`` in a child process, as a user runs it, ``env`` over this one's."""
    command = [sys.executable, str(REPO / "scripts" / name), *args]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )


@functools.cache
def plumbing_hypernetwork() -> Path:
    """A FAKE Doc-to-LoRA hypernetwork for the tiny backbone: random weights, never trained.

    Only for plumbing tests (learn / save / load / clear); its card says so, and the engine
    warns that it is untrained. Its ``B`` head is randomised (a fresh one writes zeros) so the
    LoRA it writes really changes the tiny model's outputs.
    """
    import tempfile

    import torch

    from continual_learning.engines.doc2lora.hypernetwork import PerceiverHypernetwork
    from continual_learning.engines.doc2lora.injection import configured_shape
    from continual_learning.engines.doc2lora.weights_file import (
        HypernetworkCard,
        save_hypernetwork,
    )

    settings = make_config().engine("doc2lora")
    backbone = build_tiny_backbone()
    torch.manual_seed(0)
    network = PerceiverHypernetwork(configured_shape(backbone.model, settings))  # type: ignore[arg-type]
    with torch.no_grad():
        for head in network.heads.values():
            head.to_b.weight.normal_(0.0, 0.5)
    path = Path(tempfile.mkdtemp(prefix="plumbing-hypernetwork-")) / "tiny.safetensors"
    card = HypernetworkCard(backbone=backbone.name, data="PLUMBING FAKE: random weights")
    save_hypernetwork(path, network, card)
    return path
