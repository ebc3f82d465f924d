"""Doc-to-LoRA measured: does the trained hypernetwork beat closed-book on paragraphs it never saw,
and is learning as cheap as a forward pass?

One run, on the default model with the shipped (or ``--hypernetwork``) hypernetwork, its one
pass alone (``lora_source: hypernetwork``, ``refine_steps: 0``; refinement is measured by
``scripts/bench_self_study.py``):

1. **Held-out SQuAD**: paragraphs from the articles the trainer held out, each learned alone and
   then asked its answerable questions (episodes of one paragraph), through the comparison
   harness: closed-book, in-context, doc2lora; exact match, F1, contains.
2. **Fictional facts**: the twelve documents learned together, 48 questions, same harness.
3. **Answer likelihood**: on the same held-out paragraphs, the mean negative log-likelihood of
   each gold answer's tokens after its question: closed-book, in-context (the paragraph in the
   prompt) and with the paragraph's LoRA. Greedy answers of a 135M model are a coarse
   yardstick; this shows whether the adapter carries the paragraph at all.
4. **Speed**: for each held-out paragraph, one forward pass of the backbone over it, then
   ``learn`` of the same paragraph, timed side by side; the median ratio is reported.

    .venv/bin/python scripts/bench_doc2lora.py --squad ../shared/data/squad/dev-v2.0.json \\
        --paragraphs 40 --json assets/doc2lora.json --plot assets/doc2lora.png

``--split trained`` asks the same of paragraphs the hypernetwork was trained on (a diagnostic:
a hypernetwork that fails there too is not fitting its data, rather than failing to generalise).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from continual_learning.config.loader import load_config
from continual_learning.core.backbone import Backbone, ChatMessage, load_backbone
from continual_learning.core.perplexity import answer_nll
from continual_learning.core.prompts import passages_prompt
from continual_learning.core.squad import HELDOUT_ARTICLES, load_squad, split_by_article
from continual_learning.engines.base import Engine
from continual_learning.engines.registry import create_engine
from continual_learning.harness import ComparisonInputs, EngineRun, compare, fictional_fact_inputs
from continual_learning.harness.outputs import reproducing_command, write_plot
from continual_learning.types import ComparisonReport
from continual_learning.ui.progress import progress_bars
from continual_learning.ui.render import comparison_table

REPO = Path(__file__).resolve().parents[1]


def squad_paragraph_inputs(
    path: Path, *, paragraphs: int, heldout_articles: int, split: str
) -> ComparisonInputs:
    """The first ``paragraphs`` answerable paragraphs of the held-out articles, or (``split`` =
    "trained") of the articles the hypernetwork trained on: the gap between the two shows
    whether it fails to fit its data or fails to generalise beyond it."""
    trained, held = split_by_article(load_squad(path), heldout_articles)
    pool = held if split == "heldout" else trained
    chosen = [p for p in pool if p.answerable][:paragraphs]
    where = "held-out articles" if split == "heldout" else "training articles"
    return ComparisonInputs(
        dataset=f"squad:{path.name}:{where}:{len(chosen)} paragraphs",
        documents=tuple(p.as_document() for p in chosen),
        questions=tuple(q for p in chosen for q in p.answerable),
        episode_size=1,
    )


def learn_vs_forward(backbone: Backbone, engine: Engine, texts: list[str]) -> dict[str, float]:
    """Seconds of one no-grad forward pass and of ``learn`` on the same text, side by side."""
    forwards, learns = [], []
    for text in texts:
        ids = backbone.tokenizer(text, return_tensors="pt")["input_ids"].to(backbone.device)
        started = time.perf_counter()
        with torch.inference_mode():
            backbone.model(input_ids=ids, use_cache=False)
        forwards.append(time.perf_counter() - started)
        started = time.perf_counter()
        engine.learn(text)
        learns.append(time.perf_counter() - started)
        engine.clear()
    ratios = [learn / forward for learn, forward in zip(learns, forwards, strict=True)]
    return {
        "documents": len(texts),
        "forward_seconds_median": round(statistics.median(forwards), 4),
        "learn_seconds_median": round(statistics.median(learns), 4),
        "learn_over_forward_median": round(statistics.median(ratios), 3),
    }


def as_chat(system_prompt: str, user: str) -> list[ChatMessage]:
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": user}]


def answer_likelihood(
    backbone: Backbone, engine: Engine, inputs: ComparisonInputs, system_prompt: str
) -> dict[str, float]:
    """Gold-answer NLL per question: closed-book, in-context and with the paragraph's LoRA."""
    closed, in_context, learned = [], [], []
    for document in inputs.documents:
        asked = [q for q in inputs.questions if q.doc_id == document.id]
        for q in asked:
            closed.append(answer_nll(backbone, as_chat(system_prompt, q.question), q.answers[0]))
            with_text = passages_prompt([document.text], q.question)
            in_context.append(answer_nll(backbone, as_chat(system_prompt, with_text), q.answers[0]))
        engine.learn(document.text, doc_id=document.id)
        with engine.applied():
            for q in asked:
                learned.append(
                    answer_nll(backbone, as_chat(system_prompt, q.question), q.answers[0])
                )
        engine.clear()
    better = sum(d < c for d, c in zip(learned, closed, strict=True))
    return {
        "questions": len(closed),
        "closed_book_nll": round(statistics.fmean(closed), 4),
        "in_context_nll": round(statistics.fmean(in_context), 4),
        "doc2lora_nll": round(statistics.fmean(learned), 4),
        "doc2lora_below_closed_book": better,
    }


def headline(reports: dict[str, ComparisonReport]) -> Table:
    table = Table(title="Doc-to-LoRA: closed-book, in-context and the hypernetwork's LoRA")
    for column in ("data", "engine", "EM", "F1", "contains", "learn s", "eval s"):
        table.add_column(column, justify="left" if column in ("data", "engine") else "right")
    for data, report in reports.items():
        for row in report.engines:
            if row.failed:
                table.add_row(data, row.label, "failed", row.error or "", "", "", "")
                continue
            table.add_row(
                data,
                row.label,
                f"{row.exact_match:.3f}",
                f"{row.f1:.3f}",
                f"{row.contains:.3f}",
                f"{row.learn_seconds:.1f}",
                f"{row.eval_seconds:.1f}",
            )
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, required=True)
    parser.add_argument("--paragraphs", type=int, default=40)
    parser.add_argument(
        "--heldout-articles", type=int, default=HELDOUT_ARTICLES, help="as in training"
    )
    parser.add_argument(
        "--split",
        choices=("heldout", "trained"),
        default="heldout",
        help="learn paragraphs of the held-out articles (the measurement) or of the training "
        "articles (a diagnostic: does the hypernetwork fit its own training data?)",
    )
    parser.add_argument("--no-facts", action="store_true", help="skip the fictional-fact run")
    parser.add_argument("--hypernetwork", default="", help="default: the shipped one")
    parser.add_argument("--json", type=Path, default=REPO / "assets" / "doc2lora.json")
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()

    console = Console()
    config = load_config()
    backbone = load_backbone(config.model)
    one_pass = {"hypernetwork": args.hypernetwork, "lora_source": "hypernetwork", "refine_steps": 0}
    run = EngineRun(engine="doc2lora", overrides=one_pass)
    squad = squad_paragraph_inputs(
        args.squad,
        paragraphs=args.paragraphs,
        heldout_articles=args.heldout_articles,
        split=args.split,
    )
    squad_name = "held-out SQuAD" if args.split == "heldout" else "SQuAD it trained on"
    reports: dict[str, ComparisonReport] = {}
    with progress_bars() as on_event:
        reports[squad_name] = compare([run], squad, backbone, config, on_event=on_event)
        if not args.no_facts:
            facts = fictional_fact_inputs()
            reports["fictional facts"] = compare([run], facts, backbone, config, on_event=on_event)
    engine = create_engine("doc2lora", backbone, run.config(config))
    likelihood = answer_likelihood(backbone, engine, squad, config.generation.system_prompt)
    speed = learn_vs_forward(backbone, engine, [d.text for d in squad.documents])
    console.print(headline(reports))
    console.print(
        f"gold-answer NLL over {likelihood['questions']} questions ({squad_name}): closed-book "
        f"{likelihood['closed_book_nll']:.3f}, in-context {likelihood['in_context_nll']:.3f}, "
        f"doc2lora {likelihood['doc2lora_nll']:.3f} (below closed-book on "
        f"{likelihood['doc2lora_below_closed_book']})"
    )
    console.print(
        f"learn / one forward pass, median over {speed['documents']} paragraphs: "
        f"{speed['learn_over_forward_median']:.2f}x ({speed['learn_seconds_median']:.3f} s vs "
        f"{speed['forward_seconds_median']:.3f} s)"
    )
    engine_info = {i.label: i.value for i in engine.info().details}
    output = {
        "command": reproducing_command(),
        "model": config.model.name,
        "device": str(backbone.device),
        "torch_threads": torch.get_num_threads(),
        "hypernetwork": engine_info,
        "card": engine.card.to_json(),  # type: ignore[attr-defined]
        "answer_nll": likelihood,
        "speed": speed,
        "reports": {name: report.to_dict() for name, report in reports.items()},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(output, indent=2, ensure_ascii=False) + "\n")
    console.print(f"wrote {args.json}")
    if args.plot:
        write_plot(reports[squad_name], args.plot)
        console.print(f"wrote {args.plot}")
    for name, report in reports.items():
        console.print(comparison_table(report), name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
