"""Train the Doc-to-LoRA hypernetwork for a backbone by context distillation.

Teacher: the frozen backbone with the paragraph in its prompt. Student: the backbone with the
LoRA the hypernetwork writes from that paragraph, and no paragraph. Loss: KL on the answer's
tokens (``engines/doc2lora/distillation.py``): SQuAD's gold span, or with ``--answers teacher``
the teacher's own reply (written once, in batches, and kept in the run folder as
``teacher_answers.json``). Data: SQuAD 2.0 paragraphs and their answerable questions (with
``--include-unanswerable`` the unanswerable ones too, teacher replies only), plus questions the
backbone writes itself about ``--teacher-questions`` of the training paragraphs (written once,
kept in the run folder as ``teacher_questions.json``, so a resumed run, or a run on another
machine given the folder, trains on the same ones); the last
``--heldout-articles`` articles are never trained on (the benchmark learns those). Resumable
(``--resume``): the run folder keeps the last checkpoint. ``--init-from FILE`` starts from a
trained hypernetwork instead of random weights (a fresh schedule; the card keeps FILE's card).
On one CPU, one GPU or several (``accelerate launch scripts/train_hypernetwork.py ...``).

    .venv/bin/python scripts/train_hypernetwork.py --squad ../shared/data/squad/dev-v2.0.json \\
        --steps 1500 --run-dir /tmp/d2l-run

``--output`` defaults to ``checkpoints/doc2lora/<model>.safetensors``, where the engine looks. The
output is the hypernetwork (safetensors, its shape in the header) and a JSON card beside
it: this command, the steps, the data, the seconds, the held-out KL before and after.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import torch
from rich.console import Console

from continual_learning.config.loader import load_config
from continual_learning.config.schema import AppConfig
from continual_learning.core.backbone import Backbone, GenerationOptions, load_backbone
from continual_learning.core.squad import (
    HELDOUT_ARTICLES,
    SquadParagraph,
    load_squad,
    split_by_article,
)
from continual_learning.core.storage import atomic_write_json, read_json
from continual_learning.engines.doc2lora.config import Doc2LoraConfig
from continual_learning.engines.doc2lora.distillation import DistillationExample
from continual_learning.engines.doc2lora.hypernetwork import PerceiverHypernetwork
from continual_learning.engines.doc2lora.injection import configured_shape
from continual_learning.engines.doc2lora.trainer import (
    HypernetworkTrainer,
    TrainingPlan,
    squad_examples,
    teacher_answered,
    teacher_examples,
)
from continual_learning.engines.doc2lora.weights_file import (
    HypernetworkCard,
    check_fits,
    load_hypernetwork,
    save_hypernetwork,
    shipped_hypernetwork_path,
)
from continual_learning.harness.outputs import reproducing_command
from continual_learning.ui.progress import progress_bars

TEACHER_QUESTIONS = "teacher_questions.json"
TEACHER_ANSWERS = "teacher_answers.json"
HELDOUT_ANSWERS = "heldout_teacher_answers.json"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", type=Path, required=True, help="SQuAD v1.1/v2.0 JSON file")
    parser.add_argument("--heldout-articles", type=int, default=HELDOUT_ARTICLES)
    parser.add_argument(
        "--train-paragraphs",
        type=int,
        default=0,
        help="train on the first N answerable training paragraphs only (0: all); with "
        "bench_doc2lora.py --split trained --paragraphs N, a check that it can fit them at all",
    )
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--warmup-steps", type=int, default=50)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--checkpoint-every", type=int, default=0, help="default: --eval-every")
    parser.add_argument("--eval-examples", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--teacher-questions",
        type=int,
        default=0,
        help="training paragraphs the backbone writes its own questions about",
    )
    parser.add_argument(
        "--answers",
        choices=("gold", "teacher"),
        default="gold",
        help="distil on SQuAD's gold answer spans, or on the teacher's own replies (paragraph "
        "in view), written once in batches and kept in the run folder",
    )
    parser.add_argument("--questions-per-paragraph", type=int, default=4)
    parser.add_argument(
        "--include-unanswerable",
        action="store_true",
        help="also ask SQuAD 2.0's unanswerable questions (needs --answers teacher)",
    )
    parser.add_argument("--teacher-batch", type=int, default=32, help="replies per generate call")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="stop this session after this long (checkpointed; continue with --resume)",
    )
    parser.add_argument("--run-dir", type=Path, required=True, help="checkpoints while training")
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    parser.add_argument("--output", type=Path, default=None, help="default: the shipped path")
    parser.add_argument(
        "--init-from",
        type=Path,
        default=None,
        help="start from this trained hypernetwork (a fresh schedule; its card is kept)",
    )
    args = parser.parse_args()
    if args.include_unanswerable and args.answers != "teacher":
        parser.error("--include-unanswerable needs --answers teacher (no gold answer to train on)")
    return args


def main() -> int:
    args = parse_args()
    console = Console()
    config = load_config()
    settings: Doc2LoraConfig = config.engine("doc2lora")  # type: ignore[assignment]
    backbone = load_backbone(config.model)
    torch.manual_seed(args.seed)
    shape = configured_shape(backbone.model, settings)
    network = PerceiverHypernetwork(shape)
    started_from = _initialise(network, args.init_from) if args.init_from else {}
    train_paragraphs, heldout_paragraphs = split_by_article(
        load_squad(args.squad), args.heldout_articles
    )
    if args.train_paragraphs:
        train_paragraphs = [p for p in train_paragraphs if p.answerable][: args.train_paragraphs]
    asked = {
        "max_questions": args.questions_per_paragraph,
        "unanswerable": args.include_unanswerable,
    }
    examples = squad_examples(train_paragraphs, **asked)
    # The trainer evaluates on the first --eval-examples only; asking the teacher about the
    # rest of the held-out articles would cost minutes of generation on a CPU for nothing.
    heldout = squad_examples(heldout_paragraphs, **asked)[: args.eval_examples]
    args.run_dir.mkdir(parents=True, exist_ok=True)
    written = _teacher_questions(backbone, train_paragraphs, args)
    examples += written
    squad_count = _questions(examples) - _questions(written)
    if args.answers == "teacher":
        examples = _teacher_replies(backbone, examples, TEACHER_ANSWERS, config, args)
        heldout = _teacher_replies(backbone, heldout, HELDOUT_ANSWERS, config, args)
    if not examples:
        console.print(f"[red]no training questions in {args.squad} outside the held-out articles")
        return 2
    plan = TrainingPlan(
        steps=args.steps,
        learning_rate=args.learning_rate,
        warmup_steps=args.warmup_steps,
        eval_every=args.eval_every,
        checkpoint_every=args.checkpoint_every or args.eval_every,
        eval_examples=args.eval_examples,
        seed=args.seed,
    )
    trainer = HypernetworkTrainer(
        backbone, network, plan, run_dir=args.run_dir, system_prompt=config.generation.system_prompt
    )
    console.print(
        f"{backbone.name}: hypernetwork of {network.parameter_count():,} parameters, "
        f"{len(examples)} training paragraphs ({_questions(examples)} questions), "
        f"{len(heldout)} held-out paragraphs evaluated (of {len(heldout_paragraphs)} in the "
        f"last {args.heldout_articles} articles), "
        f"on {trainer.accelerator.device}"
    )
    started = time.perf_counter()
    with progress_bars() as on_event:
        log = trainer.train(
            examples,
            heldout,
            resume=args.resume,
            stop_after_seconds=args.max_seconds,
            on_event=on_event,
        )
    output = args.output or shipped_hypernetwork_path(backbone.name)
    card = HypernetworkCard(
        backbone=backbone.name,
        command=reproducing_command(),
        steps=log.step,
        seconds=round(log.seconds, 1),
        device=str(trainer.accelerator.device),
        data=(
            f"{args.squad.name}: {squad_count} SQuAD questions "
            f"and {_questions(written)} written by the backbone on {len(written)} of the "
            f"{len(train_paragraphs)} training paragraphs"
            + (" (the first answerable ones only)" if args.train_paragraphs else "")
            + "; "
            f"last {args.heldout_articles} articles held out; distilled on "
            + (
                f"the teacher's own replies ({_questions(examples)} non-empty)"
                if args.answers == "teacher"
                else "the gold answer spans"
            )
        ),
        evaluation={"heldout_kl": log.evaluations, "final_train_loss": _mean_tail(log.losses)},
        started_from=started_from,
    )
    save_hypernetwork(output, trainer.hypernetwork, card)
    for row in log.evaluations:
        console.print(f"step {row['step']:>6}: held-out KL {row['heldout_kl']:.4f}")
    console.print(f"saved {output} ({time.perf_counter() - started:.0f} s this session)")
    return 0


def _initialise(network: PerceiverHypernetwork, path: Path) -> dict[str, object]:
    """Copy a trained hypernetwork's weights into ``network``; its card, for the new card."""
    trained, card = load_hypernetwork(path)
    check_fits(trained.shape, network.shape, path)
    network.load_state_dict(trained.state_dict(), strict=True)
    return card.to_json()


def _teacher_questions(
    backbone: Backbone, paragraphs: list[SquadParagraph], args: argparse.Namespace
) -> list[DistillationExample]:
    """The backbone's own questions about ``--teacher-questions`` seeded-random paragraphs,
    read from the run folder when an earlier run wrote them."""
    cache = args.run_dir / TEACHER_QUESTIONS
    if cache.is_file():
        return _read_examples(cache, "teacher-written questions")
    if not args.teacher_questions:
        return []
    count = min(args.teacher_questions, len(paragraphs))
    chosen = random.Random(args.seed).sample(paragraphs, count)
    with progress_bars() as on_event:
        written = teacher_examples(backbone, chosen, on_event=on_event)
    _write_examples(cache, written)
    return written


def _teacher_replies(
    backbone: Backbone,
    examples: list[DistillationExample],
    cache_name: str,
    config: AppConfig,
    args: argparse.Namespace,
) -> list[DistillationExample]:
    """``examples`` answered by the teacher (``teacher_answered``), read from the run folder
    when an earlier session wrote them, so a resumed run trains on the same replies."""
    cache = args.run_dir / cache_name
    if cache.is_file():
        return _read_examples(cache, "teacher answers")
    with progress_bars() as on_event:
        answered = teacher_answered(
            backbone,
            examples,
            system_prompt=config.generation.system_prompt,
            options=GenerationOptions.from_config(config.generation),
            batch_size=args.teacher_batch,
            on_event=on_event,
        )
    _write_examples(cache, answered)
    return answered


def _read_examples(path: Path, what: str) -> list[DistillationExample]:
    return [
        DistillationExample(document=row["document"], qa_pairs=tuple(map(tuple, row["qa"])))
        for row in read_json(path, what=what)
    ]


def _write_examples(path: Path, examples: list[DistillationExample]) -> None:
    rows = [{"document": e.document, "qa": [list(pair) for pair in e.qa_pairs]} for e in examples]
    atomic_write_json(path, rows)


def _questions(examples: list[DistillationExample]) -> int:
    return sum(len(e.qa_pairs) for e in examples)


def _mean_tail(values: list[float], n: int = 50) -> float:
    tail = values[-n:]
    return round(sum(tail) / len(tail), 4) if tail else 0.0


if __name__ == "__main__":
    raise SystemExit(main())
