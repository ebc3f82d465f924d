"""Reading the Curator's reply: clean JSON, JSON in prose, broken JSON, nonsense."""

from __future__ import annotations

from continual_learning.engines.ace.curator import read_curation
from continual_learning.engines.ace.playbook import DeltaOp, Playbook
from continual_learning.engines.ace.reflector import first_sentence

LESSON = "The capital of Velmoria is Zorblax Quentaro."


def _playbook() -> Playbook:
    playbook = Playbook()
    playbook.apply([DeltaOp(op="add", section="facts", text="Velmoria uses the drem.")])
    return playbook


def test_clean_json_is_parsed() -> None:
    reply = '[{"op": "add", "section": "facts", "text": "Zorblax Quentaro is the capital."}]'
    curation = read_curation(reply, _playbook(), lesson=LESSON, fallback=True)
    assert curation.outcome == "parsed"
    assert curation.ops == (
        DeltaOp(op="add", section="facts", text="Zorblax Quentaro is the capital."),
    )


def test_json_in_prose_and_fences_with_aliases_is_read() -> None:
    reply = (
        "Sure! Here are the operations:\n```json\n"
        '{"operations": [{"operation": "update", "id": "[b1]",'
        ' "content": "Velmoria pays in drem."},'
        ' {"op": "add", "section": "Facts", "text": "Ardent Plume founded it."}]}\n```'
    )
    curation = read_curation(reply, _playbook(), lesson=LESSON, fallback=True)
    assert curation.outcome == "parsed"
    assert [op.op for op in curation.ops] == ["update", "add"]
    assert curation.ops[0].bullet_id == "b1" and curation.ops[1].section == "facts"


def test_broken_json_is_repaired_and_bad_operations_dropped() -> None:
    reply = (
        '[{"op": "add", "section": "strategies", "text": "Quote the document.",}, '
        '{"op": "remove", "bullet_id": "b7"'
    )
    curation = read_curation(reply, _playbook(), lesson=LESSON, fallback=True)
    assert curation.outcome == "repaired"
    assert curation.ops == (DeltaOp(op="add", section="strategies", text="Quote the document."),)
    assert curation.dropped == 1  # b7 does not exist


def test_nonsense_falls_back_to_the_lesson_or_is_rejected() -> None:
    reply = "The playbook should add the capital of Velmoria."
    fallback = read_curation(reply, _playbook(), lesson=LESSON, fallback=True)
    assert fallback.outcome == "fallback"
    assert fallback.ops == (DeltaOp(op="add", section="facts", text=LESSON),)
    rejected = read_curation(reply, _playbook(), lesson=LESSON, fallback=False)
    assert (rejected.outcome, rejected.ops) == ("rejected", ())


def test_first_sentence_of_a_reflection() -> None:
    assert first_sentence("- The capital is Zorblax Quentaro. It was founded in 1843.") == (
        "The capital is Zorblax Quentaro."
    )
    assert first_sentence('"Velmoria pays in drem"\nmore') == "Velmoria pays in drem"
    assert first_sentence("Yes.") == ""
