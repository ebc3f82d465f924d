"""The playbook alone: delta operations all-or-nothing, merging, the budget, the JSON file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from continual_learning.engines.ace.playbook import DeltaOp, Playbook
from continual_learning.errors import PlaybookError


def _words(text: str) -> int:
    return len(text.split())


def _playbook(*texts: str) -> Playbook:
    playbook = Playbook("test")
    playbook.apply([DeltaOp(op="add", section="facts", text=t) for t in texts])
    return playbook


def test_delta_operations_add_update_tag_remove() -> None:
    playbook = _playbook("Velmoria's capital is Zorblax Quentaro.", "Answer with the name only.")
    assert [b.id for b in playbook.bullets] == ["b1", "b2"]
    result = playbook.apply(
        [
            DeltaOp(op="update", bullet_id="b2", text="Answer with the shortest name."),
            DeltaOp(op="tag", bullet_id="b1", tag="helpful"),
            DeltaOp(op="tag", bullet_id="b1", tag="helpful"),
            DeltaOp(op="tag", bullet_id="b2", tag="harmful"),
            DeltaOp(op="add", section="mistakes", text="Do not repeat the question."),
            DeltaOp(op="remove", bullet_id="b2"),
        ]
    )
    assert (result.updated, result.removed, result.added) == (("b2",), ("b2",), ("b3",))
    assert [(b.id, b.helpful, b.harmful) for b in playbook.bullets] == [("b1", 2, 0), ("b3", 0, 0)]
    assert "Mistakes:\n[b3] Do not repeat the question." in playbook.render()


def test_a_batch_with_one_bad_operation_changes_nothing() -> None:
    playbook = _playbook("Velmoria's capital is Zorblax Quentaro.")
    before = playbook.to_json()
    for bad in (
        DeltaOp(op="remove", bullet_id="b99"),
        DeltaOp(op="add", section="poems", text="Roses are red."),
        DeltaOp(op="update", bullet_id="b1", text="   "),
        DeltaOp(op="add", section="facts", text="x" * 401),
    ):
        ops = [DeltaOp(op="add", section="facts", text="The drem is the currency."), bad]
        with pytest.raises(PlaybookError):
            playbook.apply(ops)
        assert playbook.to_json() == before


def test_near_duplicates_merge_into_the_existing_bullet() -> None:
    playbook = _playbook("The capital of Velmoria is Zorblax Quentaro.")
    playbook.apply([DeltaOp(op="tag", bullet_id="b1", tag="helpful")])
    result = playbook.apply(
        [
            DeltaOp(
                op="add",
                section="facts",
                text="The capital of Velmoria is Zorblax Quentaro, since 1843.",
            )
        ],
        dedup_threshold=0.8,
    )
    assert result.merged == ("b1",) and not result.added
    assert len(playbook) == 1
    assert playbook.bullets[0].text.endswith("since 1843.")  # the fuller wording is kept
    assert playbook.bullets[0].helpful == 1  # and so are the counters
    distinct = playbook.apply(
        [DeltaOp(op="add", section="facts", text="Ardent Plume founded the city.")],
        dedup_threshold=0.8,
    )
    assert distinct.added == ("b2",)


def test_the_budget_evicts_the_least_useful_bullets_first() -> None:
    playbook = _playbook(
        "Fact one is here.", "Fact two is here.", "Fact three is here.", "Fact four."
    )
    playbook.apply(
        [
            DeltaOp(op="tag", bullet_id="b1", tag="helpful"),
            DeltaOp(op="tag", bullet_id="b2", tag="harmful"),
            DeltaOp(op="tag", bullet_id="b4", tag="helpful"),
            DeltaOp(op="tag", bullet_id="b4", tag="helpful"),
        ]
    )
    evicted = playbook.enforce_budget(max_bullets=2, count_tokens=_words)
    assert [b.id for b in evicted] == ["b2", "b3"]  # harmful first, then never helpful
    assert [b.id for b in playbook.bullets] == ["b1", "b4"]
    evicted = playbook.enforce_budget(max_bullets=10, max_tokens=4, count_tokens=_words)
    assert [b.id for b in evicted] == ["b1"] and [b.id for b in playbook.bullets] == ["b4"]


def test_save_and_load_round_trip_and_ids_stay_unique(tmp_path: Path) -> None:
    playbook = _playbook("Fact one is here.", "Fact two is here.")
    playbook.apply(
        [DeltaOp(op="remove", bullet_id="b2"), DeltaOp(op="tag", bullet_id="b1", tag="helpful")]
    )
    playbook.save(tmp_path / "p.json")
    loaded = Playbook.load(tmp_path / "p.json")
    assert loaded.to_json() == playbook.to_json()
    loaded.apply([DeltaOp(op="add", section="strategies", text="A new strategy here.")])
    assert loaded.bullets[-1].id == "b3"  # b2 was removed, never reused


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"bullets": [', "corrupt"),
        ('{"schema": "something-else", "version": 1}', "not an ACE playbook"),
        ('{"schema": "continual-learning/ace-playbook", "version": 9}', "version 9"),
        (
            '{"schema": "continual-learning/ace-playbook", "version": 1, "next_id": 2, "bullets": '
            '[{"id": "b1", "section": "facts", "text": "x", "helpful": -1}]}',
            "bullet 1 is malformed",
        ),
        (
            '{"schema": "continual-learning/ace-playbook", "version": 1, "next_id": 2, "bullets": '
            '[{"id": "b1", "section": "facts", "text": "a"}, '
            '{"id": "b1", "section": "facts", "text": "b"}]}',
            "not unique",
        ),
    ],
)
def test_malformed_playbook_files_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(PlaybookError, match=message):
        Playbook.load(path)


def test_missing_playbook_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="missing"):
        Playbook.load(tmp_path / "nope.json")
    json.dumps(Playbook().to_json())  # an empty playbook is valid JSON too
