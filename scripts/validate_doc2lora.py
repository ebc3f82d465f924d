"""Validate Doc-to-LoRA on the configured model: the hypernetwork, the LoRA it writes, recall.

It validates the hypernetwork's one pass (``lora_source: hypernetwork``, ``refine_steps: 0``;
refinement trains each LoRA for steps of its own and is measured in
``scripts/bench_self_study.py``), each question answered with the LoRA it is routed to
(``composition``). Checks (the script exits 1 when one fails):

1. the trained hypernetwork for this backbone loads (and was trained: steps > 0);
2. learning a document writes a LoRA that changes the weights while the engine answers and is
   gone afterwards (the backbone's fingerprint);
3. on documents the hypernetwork never saw (the fictional facts; SQuAD paragraphs of the last
   five articles when the file is there), the gold answers' loss with the LoRA, asked without
   the document, is below closed-book's, and ``contains`` is not below closed-book's;
4. learning a document costs at most ``--max-passes`` forward passes of the backbone over it.

    .venv/bin/python scripts/validate_doc2lora.py --quick
    .venv/bin/python scripts/validate_doc2lora.py --device cuda --profile configs/qwen2.5-1.5b.yaml
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch

from continual_learning.core.backbone import Backbone, load_backbone
from continual_learning.core.perplexity import answer_nll
from continual_learning.core.questions import fictional_fact_set
from continual_learning.engines.registry import create_engine
from continual_learning.harness import EngineRun
from continual_learning.harness.validation import (
    Validation,
    contains_rate,
    validation_arguments,
    validation_config,
)

REPO = Path(__file__).resolve().parents[1]


def forward_seconds(backbone: Backbone, text: str) -> float:
    ids = backbone.tokenizer(text, return_tensors="pt")["input_ids"].to(backbone.device)
    times = []
    with torch.inference_mode():
        for _ in range(3):
            started = time.perf_counter()
            backbone.model(input_ids=ids)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = validation_arguments(
        __doc__.splitlines()[0], REPO / "assets" / "validate-doc2lora.json"
    )
    parser.add_argument("--max-passes", type=float, default=10.0)
    args = parser.parse_args()
    one_pass = EngineRun(
        engine="doc2lora", overrides={"lora_source": "hypernetwork", "refine_steps": 0}
    )
    config = one_pass.config(validation_config(args))
    backbone = load_backbone(config.model)
    v = Validation(title=f"Doc-to-LoRA on {config.model.name} ({backbone.device})")
    engine = create_engine("doc2lora", backbone, config)
    steps = engine.card.steps  # type: ignore[attr-defined]
    v.check("trained hypernetwork loads", f"{steps} steps", steps > 0, "> 0 steps")
    documents, questions = fictional_fact_set()
    if args.quick:
        documents = documents[:4]
        questions = [q for q in questions if q.doc_id in {d.id for d in documents}]
    fingerprint = backbone.fingerprint()
    started = time.perf_counter()
    for document in documents:
        engine.learn(document.text, doc_id=document.id)
    per_document = (time.perf_counter() - started) / len(documents)
    with engine.applied():
        injected = backbone.weights_changed(fingerprint)
    v.check("the LoRA is in the weights while answering", injected, injected, "True")
    restored = not backbone.weights_changed(fingerprint)
    v.check("and gone afterwards", restored, restored, "True")
    system = {"role": "system", "content": config.generation.system_prompt}
    closed_losses, lora_losses = [], []
    for q in questions:
        messages = [system, {"role": "user", "content": q.question}]
        closed_losses.append(answer_nll(backbone, messages, q.answers[0]))
        with engine.applied_for(engine.route(q.question)):
            lora_losses.append(answer_nll(backbone, messages, q.answers[0]))
    closed_loss, lora_loss = statistics.mean(closed_losses), statistics.mean(lora_losses)
    v.figures |= {"gold_answer_loss_closed_book": closed_loss, "gold_answer_loss_lora": lora_loss}
    lower = lora_loss < closed_loss
    v.check(
        "gold answers' loss below closed-book", round(lora_loss, 4), lower, f"< {closed_loss:.4f}"
    )
    prompts = [q.question for q in questions]
    closed_book = create_engine("closed-book", backbone, config)
    floor = contains_rate(closed_book.generate_many(prompts, batch_size=8), questions)
    recall = contains_rate(engine.generate_many(prompts, batch_size=8), questions)
    v.figures |= {"contains_closed_book": floor, "contains_doc2lora": recall}
    v.at_least("contains, not below closed-book", recall, floor)
    passes = per_document / forward_seconds(backbone, documents[0].text)
    v.figures["learn_seconds_per_document"] = round(per_document, 4)
    v.at_most("learn time / one forward pass", passes, args.max_passes)
    engine.clear()
    return v.finish(args.json, config=config, device=str(backbone.device), quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
