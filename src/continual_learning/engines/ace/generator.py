"""The Generator: answers from the learned documents and the playbook, and names the bullets used.

The prompt is the one every passage-reading engine uses (``core/prompts.py``) with the playbook
in front, so ACE differs from the in-context ceiling only by its playbook. The same prompt is
used inside the learning loops and at question time: the playbook is tuned on exactly the
prompt it will later be read in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from continual_learning.core.backbone import ChatMessage
from continual_learning.core.prompts import passages_prompt
from continual_learning.engines.ace.playbook import Playbook

_CITATION = re.compile(r"\[(b\d+)\]")


@dataclass(frozen=True, kw_only=True)
class Generation:
    """One answer and the bullets behind it."""

    answer: str
    shown: tuple[str, ...]
    """Ids of every bullet that was in the prompt."""
    cited: tuple[str, ...]
    """Ids the model wrote as ``[b12]`` in its reply."""

    @property
    def used(self) -> tuple[str, ...]:
        """The cited bullets; when the model cites none, every bullet it was shown.

        Small models rarely cite; crediting (or blaming) what was in the prompt is then the
        honest attribution: the answer was produced with exactly those bullets in view.
        """
        return self.cited or self.shown


def generator_messages(
    system_prompt: str,
    playbook: Playbook,
    passages: Sequence[str],
    question: str,
    *,
    history: Sequence[ChatMessage] = (),
) -> list[ChatMessage]:
    rendered = playbook.render()
    user = passages_prompt(passages, question)
    if rendered:
        user = (
            "Playbook (lessons from earlier questions; cite a bullet's [id] if you use it):\n"
            f"{rendered}\n\n{user}"
        )
    return [
        {"role": "system", "content": system_prompt},
        *history,
        {"role": "user", "content": user},
    ]


def read_generation(reply: str, playbook: Playbook) -> Generation:
    """Split the reply into the answer (citations removed) and the bullet ids it cited."""
    known = {b.id for b in playbook.bullets}
    cited = tuple(dict.fromkeys(i for i in _CITATION.findall(reply) if i in known))
    answer = " ".join(_CITATION.sub("", reply).split())
    return Generation(answer=answer, shown=tuple(b.id for b in playbook.bullets), cited=cited)
