"""The ACE engine on real models: the backbone in-process, and llama.cpp through both HTTP
backends (the Ollama one via the stand-in)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from continual_learning.core.backbone import Backbone
from continual_learning.engines.ace.adaptation import _still_valid
from continual_learning.engines.ace.engine import AceEngine
from continual_learning.engines.ace.playbook import DeltaOp, Playbook
from continual_learning.engines.ace.reflector import reflect
from continual_learning.engines.registry import create_engine
from continual_learning.errors import LLMError, PlaybookError, WorkbenchError
from continual_learning.types import QAItem

from helpers import make_config
from ollama_standin import OllamaStandIn

DOC = (
    "Velmoria is a small island republic. Its capital is Zorblax Quentaro, founded in 1843 by "
    "the explorer Ardent Plume. Velmorians pay with the drem, and their most important export "
    "is saltpetal tea."
)


def _ace(backbone: Backbone, **settings) -> AceEngine:  # type: ignore[no-untyped-def]
    # A question, a verdict with its lesson, one edit: 48 tokens each (the default is 96).
    settings = {"role_max_tokens": 48} | settings
    config = make_config(ace=settings, generation={"max_new_tokens": 24})
    return create_engine("ace", backbone, config)  # type: ignore[return-value]


def _with_bullet(engine: AceEngine, text: str) -> None:
    engine.playbook.apply([DeltaOp(op="add", section="facts", text=text)])


@pytest.mark.real_model
def test_the_generator_reads_the_playbook(real_backbone: Backbone) -> None:
    engine = _ace(real_backbone)
    question = "What is the capital of the Republic of Kestrand?"
    assert "Ostrava" not in engine.generate(question)
    _with_bullet(engine, "The capital of the Republic of Kestrand is Ostrava Minor.")
    assert "Ostrava" in engine.generate(question)


@pytest.mark.slow
@pytest.mark.real_model
def test_loops_turn_a_wrong_answer_into_bullets_and_tag_them(real_backbone: Backbone) -> None:
    engine = _ace(real_backbone, num_loops=2)
    # The reference disagrees with the document, so the first answer is judged wrong and the
    # Reflector must write a lesson; the second pass is answered with that lesson in view.
    item = QAItem(id="q1", question="Who founded Zorblax Quentaro?", answers=("Mirela Vost",))
    report = engine.learn_with_questions(DOC, [item], doc_id="velmoria")
    assert [r.doc_id for r in engine.history] == [report.doc_id] == ["velmoria"]
    records = engine.loops
    assert [r.loop for r in records] == [1, 2]
    assert records[0].correct == 0
    assert sum(records[0].curator.values()) == 1
    assert records[0].added + records[0].merged >= 1 and len(engine.playbook) >= 1
    assert records[1].helpful_tags + records[1].harmful_tags >= 1  # the lesson was judged
    tagged = sum(b.helpful + b.harmful for b in engine.playbook.bullets)
    assert tagged == records[1].helpful_tags + records[1].harmful_tags


@pytest.mark.real_model
def test_learn_writes_its_own_questions(real_backbone: Backbone) -> None:
    engine = _ace(real_backbone, num_loops=1, questions_per_document=2)
    report = engine.learn(DOC, doc_id="velmoria")
    figures = {f.name: f.value for f in report.figures}
    assert 1 <= figures["questions written"] <= 2
    assert figures["loops run"] == 1 and len(engine.loops) == 1
    assert engine.loops[0].questions == figures["questions written"]
    assert "Zorblax Quentaro" in engine.generate("What is the capital of Velmoria?")


@pytest.mark.real_model
def test_without_a_reference_the_document_judges_the_answer(real_backbone: Backbone) -> None:
    engine = _ace(real_backbone)
    reflection = reflect(
        engine.llm,
        question="What do Velmorians pay with?",
        answer="the drem",
        references=(),
        document=DOC,
        used=("b1",),
        max_tokens=48,
    )
    assert reflection.judged_by == "document"
    assert reflection.tags == (
        DeltaOp(op="tag", bullet_id="b1", tag="helpful" if reflection.correct else "harmful"),
    )


@pytest.mark.real_model
def test_named_playbooks_export_and_import(real_backbone: Backbone, tmp_path: Path) -> None:
    engine = _ace(real_backbone, playbook_dir=str(tmp_path / "books"))
    _with_bullet(engine, "The capital of Velmoria is Zorblax Quentaro.")
    path = engine.export_playbook("velmoria")
    assert path == tmp_path / "books" / "velmoria.json"
    assert json.loads(path.read_text())["bullets"][0]["text"].startswith("The capital")
    fresh = _ace(real_backbone, playbook_dir=str(tmp_path / "books"))
    fresh.import_playbook("velmoria")
    assert fresh.playbook.to_json() == engine.playbook.to_json()
    with pytest.raises(WorkbenchError, match="invalid playbook name"):
        fresh.export_playbook("../outside")
    (tmp_path / "books" / "broken.json").write_text('{"schema": "continual-learning/ace')
    with pytest.raises(PlaybookError):
        fresh.import_playbook("broken")
    assert fresh.playbook.to_json() == engine.playbook.to_json()  # unchanged


def test_the_openai_backend_learns_through_llama_cpp(
    llama_server: str, tiny_backbone: Backbone
) -> None:
    engine = _ace(
        tiny_backbone,  # only counts tokens here: every role runs on the llama.cpp server
        backend="openai",
        model="smollm2",
        base_url=f"{llama_server}/v1",
        num_loops=1,
        questions_per_document=2,
        questions_per_step=2,  # the two questions' role calls as concurrent requests
        role_max_tokens=48,  # a question, a verdict, a bullet: the server's tokens cost most here
    )
    report = engine.learn(DOC, doc_id="velmoria")
    assert {f.name: f.value for f in report.figures}["questions written"] >= 1
    assert engine.info().details[0].value == "openai:smollm2"
    assert "Zorblax" in engine.generate("What is the capital of Velmoria?")


def test_a_server_failing_mid_loop_leaves_everything_as_it_was(
    ollama_standin: OllamaStandIn, tiny_backbone: Backbone
) -> None:
    engine = _ace(
        tiny_backbone,
        backend="ollama",
        model=ollama_standin.model,
        base_url=ollama_standin.url,
        max_retries=0,
        num_loops=3,
        questions_per_document=2,
    )
    _with_bullet(engine, "Zorblax Quentaro was founded in 1843.")
    before = engine.playbook.to_json()
    ollama_standin.faults.fail_after = 2  # both questions are written, then the server breaks
    with pytest.raises(LLMError, match="HTTP 503"):
        engine.learn(DOC, doc_id="velmoria")
    assert engine.playbook.to_json() == before
    assert (engine.documents, engine.loops, engine.history) == ([], [], [])


def test_a_dead_ollama_fails_the_learn_with_a_clear_error(tiny_backbone: Backbone) -> None:
    engine = _ace(
        tiny_backbone, backend="ollama", base_url="http" + "://127.0.0.1:9", max_retries=0
    )
    with pytest.raises(LLMError, match="ollama serve"):
        engine.learn(DOC)
    assert engine.history == [] and len(Playbook()) == len(engine.playbook) == 0


@pytest.mark.slow
@pytest.mark.real_model
def test_a_batched_step_asks_each_role_once_for_all_its_questions(
    real_backbone: Backbone,
) -> None:
    engine = _ace(real_backbone, num_loops=1, questions_per_step=2)
    conversations = [
        [{"role": "user", "content": "What is the capital of France?"}],
        [{"role": "user", "content": "Name a colour of the sky."}],
    ]
    batched = engine.llm.chat_many(conversations, max_tokens=12)
    assert batched == [engine.llm.chat(c, max_tokens=12) for c in conversations]
    # Two references that disagree with the document: both answers are judged wrong, both
    # lessons are curated against the same (empty) playbook, and both edits land.
    items = [
        QAItem(id="q1", question="Who founded Zorblax Quentaro?", answers=("Mirela Vost",)),
        QAItem(id="q2", question="What do Velmorians pay with?", answers=("the kroll",)),
    ]
    engine.learn_with_questions(DOC, items, doc_id="velmoria")
    (record,) = engine.loops
    assert record.questions == 2 and record.correct == 0
    assert sum(record.curator.values()) == 2
    assert record.added + record.merged >= 2 and len(engine.playbook) >= 1


def test_edits_naming_a_bullet_another_question_removed_are_dropped() -> None:
    playbook = Playbook()
    playbook.apply([DeltaOp(op="add", section="facts", text="Velmoria pays with the drem.")])
    ops = [
        DeltaOp(op="tag", bullet_id="b1", tag="helpful"),
        DeltaOp(op="remove", bullet_id="b1"),
        DeltaOp(op="update", bullet_id="b1", text="Velmoria pays with the kroll."),
        DeltaOp(op="tag", bullet_id="b9", tag="harmful"),
        DeltaOp(op="add", section="facts", text="Velmoria exports saltpetal tea."),
    ]
    kept = _still_valid(ops, playbook)
    assert kept == [ops[0], ops[1], ops[4]]
    playbook.apply(kept)  # would raise on the update of a removed bullet
    assert [b.text for b in playbook.bullets] == ["Velmoria exports saltpetal tea."]
