"""A trained hypernetwork on disk: safetensors weights, its shape in the header, a JSON card.

``NAME.safetensors`` holds the tensors and, in the safetensors metadata, the
:class:`HypernetworkShape` and the backbone it was trained for, so a file can be checked
against the running backbone before any tensor is used. ``NAME.json`` beside it is the card a
person reads: the training command, steps, data, and the evaluation measured after training.
Nothing is unpickled; a file that does not fit is refused with the reason.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from continual_learning.core.paths import project_root, user_data_dir
from continual_learning.core.storage import atomic_write_json, read_json, safe_name
from continual_learning.engines.doc2lora.hypernetwork import (
    HypernetworkShape,
    PerceiverHypernetwork,
)
from continual_learning.errors import StateError

FORMAT = "continual-learning/doc2lora-hypernetwork"
SHIPPED_FOLDER = Path("checkpoints") / "doc2lora"


@dataclass(frozen=True, kw_only=True)
class HypernetworkCard:
    """What a person needs to trust a trained hypernetwork: how it was made and how it scored."""

    backbone: str
    command: str = ""
    steps: int = 0
    seconds: float = 0.0
    device: str = ""
    data: str = ""
    evaluation: dict[str, Any] = field(default_factory=dict)
    # The card of the hypernetwork this run started from (``--init-from``), empty for a fresh
    # start: a continued run is only reproducible with its whole lineage.
    started_from: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def shipped_hypernetwork_path(backbone_name: str) -> Path:
    """Where the hypernetwork trained for ``backbone_name`` ships: the checkout, else user data."""
    root = project_root() or user_data_dir()
    return root / SHIPPED_FOLDER / f"{safe_name(backbone_name, what='backbone name')}.safetensors"


def save_hypernetwork(path: Path, network: PerceiverHypernetwork, card: HypernetworkCard) -> None:
    """Weights and card, each written to a temporary file and renamed into place."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        "format": FORMAT,
        "backbone": card.backbone,
        "shape": json.dumps(network.shape.to_json()),
    }
    tensors = {k: v.detach().contiguous().cpu() for k, v in network.state_dict().items()}
    temporary = path.with_suffix(".safetensors.tmp")
    save_file(tensors, str(temporary), metadata=metadata)
    os.replace(temporary, path)
    atomic_write_json(path.with_suffix(".json"), card.to_json())


def load_hypernetwork(path: Path) -> tuple[PerceiverHypernetwork, HypernetworkCard]:
    """The network (in eval mode, on CPU) and its card; StateError if the file is not one."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    if not path.is_file():
        raise StateError(f"no hypernetwork file at {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        if metadata.get("format") != FORMAT:
            raise StateError(f"{path} is not a Doc-to-LoRA hypernetwork (no '{FORMAT}' header)")
        shape = HypernetworkShape.from_json(json.loads(metadata["shape"]))
        network = PerceiverHypernetwork(shape)
        network.load_state_dict(load_file(str(path)), strict=True)
    except SafetensorError as exc:
        raise StateError(f"hypernetwork file {path} is corrupt: {exc}") from None
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise StateError(f"hypernetwork file {path} does not match its header: {exc}") from None
    card = _read_card(path.with_suffix(".json"), backbone=metadata["backbone"])
    return network.eval(), card


def _read_card(path: Path, *, backbone: str) -> HypernetworkCard:
    if not path.is_file():
        return HypernetworkCard(backbone=backbone)
    data = read_json(path, what="hypernetwork card")
    try:
        return HypernetworkCard(**{**data, "backbone": backbone})
    except TypeError as exc:
        raise StateError(f"hypernetwork card {path} is malformed: {exc}") from None


def check_fits(shape: HypernetworkShape, expected: HypernetworkShape, path: Path) -> None:
    """Refuse a hypernetwork built for another backbone or other settings, naming the mismatch."""
    mine, theirs = shape.to_json(), expected.to_json()
    differences = [
        f"{k} {mine[k]} (backbone/config: {theirs[k]})" for k in mine if mine[k] != theirs[k]
    ]
    if differences:
        raise StateError(
            f"hypernetwork {path} does not fit this backbone and config: " + "; ".join(differences)
        )
