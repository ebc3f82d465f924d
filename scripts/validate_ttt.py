"""Validate TTT-E2E on the configured model: injection, a learned fact, the gate, forgetting.

Checks (each with its threshold; the script exits 1 when one fails):

1. the DualMLPs sit in the last quarter of the layers and, with nothing learned, change no
   logit (bit for bit);
2. after learning one fictional sentence, the answer to a question about it, asked without the
   sentence, contains the fact; closed-book did not;
3. the TF-IDF gate is calibrated and opened ``gate_fraction`` of the neurons;
4. held-out perplexity after / before stays under ``--max-forgetting``;
5. ``clear()`` gives back the exact original weights.

    .venv/bin/python scripts/validate_ttt.py --quick                       # CPU, SmolLM2-135M
    .venv/bin/python scripts/validate_ttt.py --device cuda --profile configs/qwen2.5-1.5b.yaml
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from continual_learning.core.backbone import load_backbone
from continual_learning.core.corpus import heldout_paragraphs
from continual_learning.core.perplexity import perplexity
from continual_learning.core.scoring import contains
from continual_learning.engines.registry import create_engine
from continual_learning.harness.validation import (
    Validation,
    validation_arguments,
    validation_config,
    with_section,
)

REPO = Path(__file__).resolve().parents[1]
FACT = "The Quorvel Bridge in the town of Dask is painted lime green."
QUESTION, GOLD = "What colour is the Quorvel Bridge?", "lime green"


def main() -> int:
    parser = validation_arguments(__doc__.splitlines()[0], REPO / "assets" / "validate-gpu.json")
    parser.add_argument("--max-forgetting", type=float, default=1.5, help="ppl after / before")
    args = parser.parse_args()
    config = validation_config(args)
    if args.quick:
        config = with_section(config, "ttt_e2e", calibration_samples=24)
    backbone = load_backbone(config.model)
    v = Validation(title=f"TTT-E2E on {config.model.name} ({backbone.device})")
    engine = create_engine("ttt-e2e", backbone, config)
    layers = engine.layers  # type: ignore[attr-defined]
    v.check(
        "DualMLP layers are the last quarter",
        f"{layers.start}..{layers.end - 1} of {backbone.num_layers}",
        layers.end == backbone.num_layers and layers.start >= backbone.num_layers * 3 // 4 - 1,
        "last quarter",
    )
    ids = backbone.tokenizer(FACT, return_tensors="pt")["input_ids"].to(backbone.device)
    with torch.inference_mode():
        plain = backbone.model(input_ids=ids).logits
        with engine.applied():
            injected = backbone.model(input_ids=ids).logits
    same = torch.equal(plain, injected)
    v.check("empty DualMLP changes no logit", "equal" if same else "differs", same, "bit-exact")
    fingerprint = backbone.fingerprint()
    heldout = heldout_paragraphs(4 if args.quick else 12)
    before = perplexity(backbone, heldout)
    closed = engine.generate(QUESTION)
    with v.timed("learn_seconds"):
        report = engine.learn(FACT, doc_id="bridge")
    with v.timed("generate_seconds"):
        answer = engine.generate(QUESTION)
    v.figures |= {"closed_book_answer": closed, "answer": answer}
    v.check("closed-book does not know the fact", closed[:60], not contains(closed, GOLD), "no")
    knows = bool(contains(answer, GOLD))
    v.check("the fact is answered without the document", answer[:60], knows, f"has '{GOLD}'")
    gate = next(f.value for f in report.figures if f.name == "gate open")
    fraction = engine.config.gate_fraction
    calibrated = engine.gate is not None  # type: ignore[attr-defined]
    v.check("TF-IDF gate calibrated", calibrated, calibrated, "True")
    v.check("gate opens gate_fraction", gate, abs(gate - fraction) < 0.01, f"{fraction:g} +- 0.01")
    with engine.applied():
        after = perplexity(backbone, heldout)
    v.figures |= {"heldout_perplexity_before": before, "heldout_perplexity_after": after}
    v.at_most("held-out perplexity after / before", after / before, args.max_forgetting)
    engine.clear()
    restored = backbone.fingerprint() == fingerprint
    v.check("clear() restores the weights", restored, restored, "True")
    return v.finish(args.json, config=config, device=str(backbone.device), quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
