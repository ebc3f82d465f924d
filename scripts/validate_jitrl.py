"""Validate JitRL MVP and Full on identical content: recall, learn and answer time, their ratio.

Both engines learn the same fictional documents and answer the same questions about them
without the documents in the question; each must recall at least ``--min-recall`` of them
(``contains``) and beat closed-book, and Full (a hidden-state store and reward-guided logits)
must cost at most ``--max-ratio`` times MVP's time to answer (the learn-time ratio is reported:
MVP's learning is a TF-IDF index, milliseconds, so that ratio says little about Full).

    .venv/bin/python scripts/validate_jitrl.py --quick
    .venv/bin/python scripts/validate_jitrl.py --device cuda --profile configs/qwen2.5-1.5b.yaml
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from continual_learning.core.backbone import load_backbone
from continual_learning.core.questions import fictional_fact_set
from continual_learning.engines.registry import create_engine
from continual_learning.harness.validation import (
    Validation,
    contains_rate,
    validation_arguments,
    validation_config,
)

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = validation_arguments(__doc__.splitlines()[0], REPO / "assets" / "validate-jitrl.json")
    parser.add_argument("--min-recall", type=float, default=0.5)
    parser.add_argument("--max-ratio", type=float, default=5.0, help="Full / MVP time, at most")
    args = parser.parse_args()
    config = validation_config(args)
    backbone = load_backbone(config.model)
    documents, questions = fictional_fact_set()
    if args.quick:
        documents = documents[:4]
        kept = {d.id for d in documents}
        questions = [q for q in questions if q.doc_id in kept]
    prompts = [q.question for q in questions]
    v = Validation(title=f"JitRL MVP and Full on {config.model.name} ({backbone.device})")
    closed = create_engine("closed-book", backbone, config).generate_many(prompts, batch_size=8)
    floor = contains_rate(closed, questions)
    v.figures["closed_book_contains"] = floor
    times = {}
    for name in ("jitrl-mvp", "jitrl-full"):
        engine = create_engine(name, backbone, config)
        started = time.perf_counter()
        for document in documents:
            engine.learn(document.text, doc_id=document.id)
        learned = time.perf_counter()
        answers = engine.generate_many(prompts, batch_size=config.harness.batch_size)
        answered = time.perf_counter()
        times[name] = (learned - started, answered - learned)
        recall = contains_rate(answers, questions)
        learn_seconds, answer_seconds = times[name]
        v.figures[name] = {"contains": recall, "learn_s": learn_seconds, "answer_s": answer_seconds}
        v.at_least(f"{name} recall (contains)", recall, args.min_recall)
        v.check(f"{name} beats closed-book", round(recall, 4), recall > floor, f"> {floor:.3f}")
        engine.clear()
    # MVP learns by indexing text (milliseconds); Full runs the backbone over every chunk. Their
    # learn-time ratio is reported, not checked: it grows with how cheap TF-IDF is, not with cost.
    v.figures["full_over_mvp_learn_time"] = round(times["jitrl-full"][0] / times["jitrl-mvp"][0], 1)
    answer_ratio = times["jitrl-full"][1] / times["jitrl-mvp"][1]
    v.at_most("Full / MVP answer time", answer_ratio, args.max_ratio)
    return v.finish(args.json, config=config, device=str(backbone.device), quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
