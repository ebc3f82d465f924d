"""A Replay-LoRA domain on disk: its adapter, its cycle adapters, its EWC state, its replay
buffer and cycle records (safetensors and JSON; ``domains/<name>/`` of the engine's state)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from continual_learning.core.lora import LoraWeights, check_weights
from continual_learning.core.storage import atomic_write_json, read_json
from continual_learning.engines.replay_lora.buffers import buffer_from_json
from continual_learning.engines.replay_lora.cycle import Domain, cycles_from_json
from continual_learning.errors import StateError

ADAPTER_FILE = "adapter.safetensors"
EPISODES_FILE = "cycle_adapters.safetensors"
EWC_FILE = "ewc.safetensors"
DOMAIN_FILE = "domain.json"


def write_domain(folder: Path, domain: Domain) -> None:
    from safetensors.torch import save_file

    folder.mkdir(parents=True)
    if domain.weights:
        save_file(domain.weights, str(folder / ADAPTER_FILE))
    if domain.ewc.fisher:
        save_file(domain.ewc.tensors(), str(folder / EWC_FILE))
    if domain.episodes:
        episodes = {
            f"cycle{k}.{name}": t for k, ws in enumerate(domain.episodes) for name, t in ws.items()
        }
        save_file(episodes, str(folder / EPISODES_FILE))
    atomic_write_json(
        folder / DOMAIN_FILE,
        {
            "buffer": domain.buffer.to_json(),
            "ewc_updates": domain.ewc.updates,
            "cycles": [c.to_dict() for c in domain.cycles],
        },
    )


def read_domain(folder: Path, fresh: Domain, reference: LoraWeights) -> Domain:
    """``fresh`` (a new domain of that name) filled from ``folder``; every adapter checked
    against ``reference`` (the engine's initial weights: the same names and shapes)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    data = read_json(folder / DOMAIN_FILE, what=f"Replay-LoRA domain '{fresh.name}'")
    if not isinstance(data, dict):
        raise StateError(f"Replay-LoRA domain in {folder} is not a JSON object")
    domain = fresh
    domain.buffer = buffer_from_json(data.get("buffer"), where=str(folder))
    domain.cycles = cycles_from_json(data.get("cycles"), where=str(folder))
    try:
        if (folder / ADAPTER_FILE).exists():
            domain.weights = load_file(str(folder / ADAPTER_FILE))
            check_weights(domain.weights, reference)
        if (folder / EPISODES_FILE).exists():
            domain.episodes = _episodes(load_file(str(folder / EPISODES_FILE)))
            for weights in domain.episodes:
                check_weights(weights, reference)
        if (folder / EWC_FILE).exists():
            domain.ewc.load(load_file(str(folder / EWC_FILE)), int(data["ewc_updates"]))
    except SafetensorError as exc:
        raise StateError(f"Replay-LoRA domain in {folder} is corrupt: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError(f"Replay-LoRA domain in {folder} is malformed: {exc}") from None
    return domain


def _episodes(tensors: dict[str, Any]) -> list[LoraWeights]:
    """The ``cycle<k>.<peft name>`` tensors of an episodes file, as one adapter per cycle."""
    cycles: dict[int, LoraWeights] = {}
    for key, tensor in tensors.items():
        cycle, _, name = key.partition(".")
        if not cycle.startswith("cycle") or not cycle[5:].isdigit() or not name:
            raise ValueError(f"unexpected tensor '{key}' among the cycle adapters")
        cycles.setdefault(int(cycle[5:]), {})[name] = tensor
    if sorted(cycles) != list(range(len(cycles))):
        raise ValueError("cycle adapters are not numbered 0..n-1")
    return [cycles[k] for k in range(len(cycles))]


def scope_owners(
    data: Any, domains: dict[str, Domain], passages: int
) -> list[tuple[str, int]] | None:
    """The saved owners of the scope's passages, if each names a kept cycle adapter."""
    if not isinstance(data, list) or (data and len(data) != passages):
        return None
    owners = []
    for item in data:
        if not (isinstance(item, list) and len(item) == 2 and item[0] in domains):
            return None
        domain, cycle = item
        if not isinstance(cycle, int) or not -1 <= cycle < len(domains[domain].episodes):
            return None
        owners.append((domain, cycle))
    return owners
