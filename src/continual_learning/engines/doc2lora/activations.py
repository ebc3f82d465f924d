"""What the hypernetwork reads: the hidden states entering every decoder layer, for one chunk.

``hidden_states[l]`` from a transformers forward pass is the input of decoder layer ``l``
(``hidden_states[0]`` is the embeddings), which is what that layer's LoRA will act on. The
backbone runs without gradients and without any adapter: the document is read by the model
as it was pretrained.
"""

from __future__ import annotations

import torch

from continual_learning.core.backbone import Backbone


def activations_of(backbone: Backbone, input_ids: torch.Tensor) -> torch.Tensor:
    """``layers x tokens x hidden`` for ``input_ids`` of shape (1, tokens)."""
    with torch.no_grad():  # not inference_mode: training feeds these to an autograd graph
        output = backbone.model(
            input_ids=input_ids.to(backbone.device),
            output_hidden_states=True,
            use_cache=False,
        )
    layers = backbone.num_layers
    return torch.cat(output.hidden_states[:layers], dim=0).float()


def chunk_activations(backbone: Backbone, text: str) -> torch.Tensor:
    """A document chunk as plain text, the way the model read text in pretraining."""
    ids = backbone.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    return activations_of(backbone, ids)


def task_activations(backbone: Backbone, description: str, *, max_tokens: int) -> torch.Tensor:
    """A task description as one user turn of a chat (``text`` mode), cut to ``max_tokens``."""
    ids = backbone.encode_chat([{"role": "user", "content": description}])
    return activations_of(backbone, ids[:, :max_tokens])
