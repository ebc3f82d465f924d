"""How the short style asks (``core/answer_style.py``), without a model: what the engines send."""

from __future__ import annotations

from continual_learning.core.answer_style import SHORT_INSTRUCTION, styled_messages, styled_reply
from continual_learning.core.prompts import passages_prompt

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
EARLIER = [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi"}]


def test_sentence_style_sends_the_messages_as_they_were() -> None:
    messages = [SYSTEM, {"role": "user", "content": "What is the capital of Velmoria?"}]
    assert styled_messages(messages, "sentence") is messages


def test_worked_examples_come_in_the_questions_own_form() -> None:
    bare = styled_messages([SYSTEM, *EARLIER, {"role": "user", "content": "Who?"}], "short")
    read = passages_prompt(["Zorblax Quentaro is the capital."], "Capital?")
    reading = styled_messages([SYSTEM, {"role": "user", "content": read}], "short")
    for styled, question in ((bare, "Who?"), (reading, read)):
        assert styled[0] == SYSTEM and styled[-1]["content"] == f"{question}\n{SHORT_INSTRUCTION}"
        examples = [m for m in styled[1:-1] if m not in EARLIER]
        assert [m["role"] for m in examples][:2] == ["user", "assistant"]
        asked = [m["content"] for m in examples if m["role"] == "user"]
        assert all(a.endswith(SHORT_INSTRUCTION) for a in asked)
    assert bare[-3:-1] == EARLIER  # the conversation's own turns stay next to its question
    assert not any("Document 1" in m["content"] for m in bare)
    assert all("Document 1" in m["content"] for m in reading[1:] if m["role"] == "user")


def test_a_short_reply_is_its_first_line_without_the_full_stop() -> None:
    assert (
        styled_reply(" Zorblax Quentaro.\nIt was founded in 1843.", "short") == "Zorblax Quentaro"
    )
    assert styled_reply("It is Zorblax Quentaro.\n", "sentence") == "It is Zorblax Quentaro.\n"
